/* SPDX-License-Identifier: GPL-2.0 */
/*
 * devns: what the module's own parts share. Lock order, outermost first:
 * devns_switch_lock, then a part's own mutex, then devns_lock.
 */
#ifndef _DEVNS_INTERNAL_H
#define _DEVNS_INTERNAL_H

#include <linux/kref.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/pid.h>
#include <linux/spinlock.h>
#include <linux/wait.h>
#include <linux/workqueue.h>

#include "devns.h"
#include "uapi/devns.h"

struct dentry;
struct pid_namespace;

struct devns {
	struct kref kref;
	u32 id;
	char name[DEVNS_NAME_LEN];
	char seat[DEVNS_SEAT_LEN];
	struct pid_namespace *pid_ns;	/* reference */
	struct pid *reaper;		/* reference: init of @pid_ns */
	/* On @reaper's pidfd wait queue: woken when the init exits. */
	wait_queue_entry_t exit_wait;
	struct work_struct exit_work;
	/* Under devns_lock: */
	struct list_head node;		/* in devns_list while alive */
	bool alive;
	bool active;
};

extern spinlock_t devns_lock;
extern struct mutex devns_switch_lock;
extern struct dentry *devns_debugfs;

/* devns-core.c */
int devns_create(const char *name, const char *seat, struct pid *leader, u32 *ret_id);
int devns_destroy_id(u32 id);
int devns_activate(const char *seat, u32 id);
bool devns_alive(const struct devns *ns);
bool devns_drives_hw(const struct devns *ns);
struct devns *devns_find_get(u32 id);
struct devns *devns_find_next_get(u32 after);
struct devns *devns_find_active_get(const char *seat);
int devns_snapshot(struct devns ***ret);
void devns_snapshot_free(struct devns **v, int n);
bool devns_valid_name(const char *s, size_t len);
bool devns_valid_seat(const char *s, size_t len);

/* devns-ctl.c */
int devns_ctl_init(void);
void devns_ctl_exit(void);

/* devns-fb.c */
int devns_fb_init(void);
void devns_fb_exit(void);

/* devns-led.c */
int devns_led_init(void);
void devns_led_exit(void);

/* devns-backlight.c */
int devns_backlight_init(void);
void devns_backlight_exit(void);

#endif /* _DEVNS_INTERNAL_H */
