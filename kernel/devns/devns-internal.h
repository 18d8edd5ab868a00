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
#include <linux/notifier.h>
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

/*
 * devns-shadow.c: shadow class devices. For each live namespace and each
 * real device of a class there is a shadow device of that class; a value
 * written to a shadow is kept, and applied to the real device while or
 * once its namespace is active on the module's seat.
 */
#define DEVNS_SHADOW_REAL_NAME_SIZE 64
#define DEVNS_SHADOW_NAME_SIZE 96

struct seq_file;

/* A real device the class follows; the class's own struct starts with it. */
struct devns_shadow_real {
	struct kref kref;
	struct list_head node;		/* in reals while not gone */
	const void *key;		/* identity, never dereferenced */
	bool ready;			/* may have shadows (under lock) */
	bool gone;			/* never touched again (lock and vlock) */
	char name[DEVNS_SHADOW_REAL_NAME_SIZE];
};

/* A shadow device; the class's own struct starts with it. */
struct devns_shadow {
	struct list_head node;		/* in shadows */
	char name[DEVNS_SHADOW_NAME_SIZE];
	struct devns *ns;		/* reference */
	struct devns_shadow_real *real;	/* reference */
	bool dying;			/* lock and vlock */
	/* Under vlock if the class writes them in atomic context, else lock: */
	int kept;
	bool written;
};

/**
 * struct devns_shadow_ops - what differs per class
 * @what: the class in messages ("LED")
 * @debugfs: name of the debugfs file listing reals and shadows
 * @name_size: shadow names are cut to fit, NUL included
 * @shadow_size: size of the class's shadow struct
 * @follow: start reporting reals (devns_shadow_add_real/remove_real)
 * @unfollow: stop reporting reals
 * @ready: optional; under lock, whether a real may get shadows yet (retried
 *	every 50 ms while false); without it reals are ready when added
 * @forget: optional; the real is gone, drop what the class holds of it
 * @register_shadow: register the class device of a new shadow
 * @unregister_shadow: unregister it; no lock held
 * @apply: under lock, for a shadow of a namespace that became active:
 *	apply its kept value, if devns_shadow_has_kept(), to the real device
 * @show_real: a debugfs line for a real
 */
struct devns_shadow_ops {
	const char *what;
	const char *debugfs;
	size_t name_size;
	size_t shadow_size;
	int (*follow)(void);
	void (*unfollow)(void);
	bool (*ready)(struct devns_shadow_real *real);
	void (*forget)(struct devns_shadow_real *real);
	int (*register_shadow)(struct devns_shadow *sh);
	void (*unregister_shadow)(struct devns_shadow *sh);
	void (*apply)(struct devns_shadow *sh);
	void (*show_real)(struct seq_file *m, struct devns_shadow_real *real);
};

/*
 * Class devices are registered and unregistered with @lock not held: the
 * class takes it under its own locks (the LED class's mutex, a backlight's
 * ops_lock), which registering takes too.
 */
struct devns_shadow_class {
	const struct devns_shadow_ops *ops;
	struct mutex lock;		/* lists, ready */
	spinlock_t vlock;		/* gone, dying: for atomic context */
	struct list_head reals;
	struct list_head shadows;
	struct delayed_work work;
	struct notifier_block nb;
};

/* For DEVNS_SHADOW_CLASS() only. */
void devns_shadow_reconcile(struct work_struct *work);
int devns_shadow_event(struct notifier_block *nb, unsigned long event, void *data);

/* Statically, so that each class's locks are a lock class of their own. */
#define DEVNS_SHADOW_CLASS(_name, _ops)						\
	struct devns_shadow_class _name = {					\
		.ops = (_ops),							\
		.lock = __MUTEX_INITIALIZER(_name.lock),			\
		.vlock = __SPIN_LOCK_UNLOCKED(_name.vlock),			\
		.reals = LIST_HEAD_INIT(_name.reals),				\
		.shadows = LIST_HEAD_INIT(_name.shadows),			\
		.work = __DELAYED_WORK_INITIALIZER(_name.work,			\
						   devns_shadow_reconcile, 0),	\
		.nb = { .notifier_call = devns_shadow_event },			\
	}

int devns_shadow_init(struct devns_shadow_class *sc);
void devns_shadow_exit(struct devns_shadow_class *sc);
void devns_shadow_add_real(struct devns_shadow_class *sc, struct devns_shadow_real *real);
void devns_shadow_remove_real(struct devns_shadow_class *sc, const void *key);
bool devns_shadow_keep(struct devns_shadow *sh, int value);

/* Under the lock the class keeps values under. */
static inline bool devns_shadow_has_kept(const struct devns_shadow *sh)
{
	return sh->written && !sh->dying && !sh->real->gone && sh->real->ready;
}

/* devns-led.c */
int devns_led_init(void);
void devns_led_exit(void);

/* devns-backlight.c */
int devns_backlight_init(void);
void devns_backlight_exit(void);

#endif /* _DEVNS_INTERNAL_H */
