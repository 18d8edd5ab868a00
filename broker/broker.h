/* SPDX-License-Identifier: MIT */
/*
 * The broker: owns the event loop, the bus, udev, the seats and the
 * containers, and carries out what the seat state machine decides.
 */
#pragma once

#include <libudev.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "broker/config.h"
#include "common/list.h"
#include "seat/seat.h"

#define BROKER_BUS_NAME "org.devns.broker1"
#define BROKER_OBJECT_PATH "/org/devns/broker1"
#define SEAT_PATH_PREFIX "/org/devns/broker1/seat"
#define CONTAINER_PATH_PREFIX "/org/devns/broker1/container"
#define CONTAINER_SELF_PATH CONTAINER_PATH_PREFIX "/self"

struct binder_pool;
struct container;
struct hotkeys;
struct kernel_devns;
struct reaper;
struct vt;

struct broker_seat {
	struct broker *broker;
	struct seat *seat;
	char *path;
	sd_event_source *pause_timer;
	struct hotkeys *hotkeys;
	/* The running switch changed the active container: the change is
	 * announced once its caller has the answer. old: the previous one. */
	bool announce_active;
	struct container *announce_old;
	struct list link; /* broker->seats */
};

/* A caller on the bus whose uid is known (dbus/manager-dbus.c). */
struct sender_uid {
	char name[32]; /* a unique name; "" for a free slot */
	uid_t uid;
};

struct broker {
	sd_event *event;
	sd_bus *bus; /* the system bus, or --bus-address */
	struct udev *udev;
	struct udev_monitor *monitor;
	sd_event_source *monitor_source;
	struct reaper *reaper;
	struct vt *vt;
	struct kernel_devns *kernel; /* NULL without the devns module */
	struct binder_pool *binder;  /* NULL without binder devices */

	struct config config;
	char *runtime_dir;
	char *containers_dir; /* runtime_dir/containers */

	bool served; /* reached the event loop */

	struct sender_uid sender_uids[16];
	unsigned sender_uids_next; /* the slot to replace next */

	struct list seats;      /* struct broker_seat */
	struct list containers; /* struct container, registration order */
};

struct broker_options {
	const char *config_file;
	const char *runtime_dir;
	const char *bus_address;
};

int broker_new(struct broker **ret, const struct broker_options *opts);
/* Pauses every device, removes the endpoints and frees everything. */
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

/* m is the D-Bus call to answer when the switch is complete, or NULL. */
int broker_switch(struct broker_seat *bs, enum seat_switch_kind kind,
		  struct container *target, sd_bus_message *m);

/* udev: enumerate seat devices and follow hotplug (broker/devices.c). */
int broker_devices_start(struct broker *b);
/* fn for every device of subsystem (and sysname, a glob, unless NULL). */
struct udev_device;
int broker_udev_foreach(struct broker *b, const char *subsystem, const char *sysname,
			void (*fn)(struct broker *b, struct udev_device *ud, void *userdata),
			void *userdata);
const char *broker_device_node(const struct seat_device *d);

static inline struct broker_seat *broker_seat_of(struct seat *s)
{
	return s->userdata;
}
