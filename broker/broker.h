/* SPDX-License-Identifier: MIT */
/*
 * The broker: owns the event loop, the bus, udev, the seats and the
 * containers, and carries out what the seat state machine decides.
 */
#pragma once

#include <libudev.h>
#include <stdbool.h>
#include <systemd/sd-event.h>

#include "broker/config.h"
#include "broker/events.h"
#include "common/list.h"
#include "seat/seat.h"

struct binder_pool;
struct container;
struct kernel_devns;
struct reaper;
struct vt;

struct broker_seat {
	struct broker *broker;
	struct seat *seat;
	sd_event_source *pause_timer;
	/* The running switch changed the active container: the change is
	 * announced once its caller has the answer. old: the previous one. */
	bool announce_active;
	struct container *announce_old;
	/* ... and paused the old one's devices, resumed the new one's. */
	bool announce_devices, announce_old_devices;
	void *listener_data[BROKER_MAX_LISTENERS];
	struct list link; /* broker->seats */
};

struct broker {
	sd_event *event;
	struct udev *udev;
	struct udev_monitor *monitor;
	sd_event_source *monitor_source;
	struct reaper *reaper;
	sd_event_source *reaper_flush; /* tells the reaper once the loop is idle */
	struct vt *vt;
	struct kernel_devns *kernel; /* NULL without the devns module */
	struct binder_pool *binder;  /* NULL without binder devices */

	struct config config;
	char *runtime_dir;
	char *containers_dir; /* runtime_dir/containers */

	bool served; /* reached the event loop */

	struct broker_listener *listeners[BROKER_MAX_LISTENERS];
	unsigned n_listeners;

	struct list seats;      /* struct broker_seat */
	struct list containers; /* struct container, registration order */
	struct list lessors;    /* devnsd's files of cards with leases (broker/outputs.c) */
	struct fb_guard *fb_guard; /* while there are lessors, if it loads */
	bool fb_guard_checked;     /* seen refusing a lessee */

	/* The state file up to the seats (broker/state.c); NULL until the
	 * first save. */
	char *state_containers;
	size_t state_containers_len;
};

struct broker_options {
	const char *config_file;
	const char *runtime_dir;
};

/* The configuration, the runtime directory, the event loop; no seat yet,
 * so that transports can add their listeners (broker/events.h). */
int broker_new(struct broker **ret, const struct broker_options *opts);
/* Seats and their devices from udev, binder devices, and the containers
 * a previous run left (broker/state.c). */
int broker_start(struct broker *b);
/* Pauses every device, removes the endpoints and frees everything; the
 * listeners are told of each container and seat that goes. */
void broker_free(struct broker *b);
int broker_run(struct broker *b);

struct broker_seat *broker_find_seat(struct broker *b, const char *id);
/* Finds or creates (announcing it) the seat of that id. */
int broker_get_seat(struct broker *b, const char *id, struct broker_seat **ret);
/* Drops a seat other than seat0 that has neither devices nor containers. */
void broker_seat_gc(struct broker_seat *bs);
struct container *broker_find_container(struct broker *b, const char *name);
/* Containers or active containers changed: the state file is rewritten
 * (broker/state.c). */
void broker_state_changed(struct broker *b);
/* Only the active container of a seat changed. */
void broker_state_active_changed(struct broker *b);

/* Called once when a switch is complete: r < 0 if it failed (the seat has
 * no active container), -ESHUTDOWN when the broker stops first, or the
 * errno of the seat (seat/seat.h) when the target went away. */
typedef void (*broker_switch_done_t)(void *userdata, int r);

/* Queues a switch of the seat. done (NULL for none) may run before this
 * returns. A negative return means done is never called. */
int broker_switch(struct broker_seat *bs, enum seat_switch_kind kind,
		  struct container *target, broker_switch_done_t done, void *userdata);

/* The active container of the seat grabbed the evdev device devnum
 * (EVIOCGRAB), so no one else, the seat's hotkeys included, receives its
 * events: its file is revoked, which ends the grab, and replaced. -ENOENT
 * when the active container holds no live file of it (the grab is someone
 * else's). */
int broker_seat_break_grab(struct broker_seat *bs, dev_t devnum);

/* udev: enumerate seat devices and follow hotplug (broker/devices.c). */
int broker_devices_start(struct broker *b);
/* fn for every device of subsystem (and sysname, a glob, unless NULL). */
struct udev_device;
int broker_udev_foreach(struct broker *b, const char *subsystem, const char *sysname,
			void (*fn)(struct broker *b, struct udev_device *ud, void *userdata),
			void *userdata);
const char *broker_device_node(const struct seat_device *d);
/* Opens a seat device's node for a container (never as the container, see
 * drm/drm.h): the fd, or -ENODEV when the node is gone or replaced. */
int broker_open_node(struct seat_device *d);
/* Makes fd, a file of the card d, master: a container's file that made
 * itself master meanwhile loses it. */
int broker_make_master(struct seat_device *d, int fd);
/* Keeps the handle's file in the fd store, replacing the one kept before
 * (broker.c). */
void broker_handle_store(struct seat_handle *h);

static inline struct broker_seat *broker_seat_of(struct seat *s)
{
	return s->userdata;
}
