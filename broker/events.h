/* SPDX-License-Identifier: MIT */
/*
 * What the broker announces, and how transports (dbus/, compat/, input's
 * hotkeys, ...) hear it. The broker knows no transport: each registers a
 * listener once, before any seat or container exists, and from then on is
 * told of every seat and container that comes and goes and of every change
 * a client could see. Requests go the other way through the plain functions
 * of broker.h and container.h, whose completions are callbacks.
 *
 * A listener may keep data of its own with each seat and container (its
 * slot, broker_listener_data()): the object path of a bus, the listening
 * socket of an endpoint.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct broker;
struct broker_seat;
struct container;

enum broker_event_type {
	BROKER_EVENT_SEAT_NEW,
	BROKER_EVENT_SEAT_REMOVED,
	BROKER_EVENT_SEAT_DEVICES,       /* a device came or went */
	BROKER_EVENT_CONTAINER_NEW,
	BROKER_EVENT_CONTAINER_REMOVED,
	/* A container of the previous devnsd, picked up after a crash or
	 * restart (after its CONTAINER_NEW): its device files are taken back
	 * and its seat's active container is as before, so a transport can
	 * take back the conversations it kept in the fd store
	 * (common/fd-store.h). */
	BROKER_EVENT_CONTAINER_PICKED_UP,
	/* A seat's active container changed, from old to the seat's active
	 * one. Announced after the switch's caller has its answer. */
	BROKER_EVENT_ACTIVE_CHANGED,
	/* A container's devices were paused or resumed (a switch, or a
	 * device refresh that failed). Within a switch that goes straight
	 * on, it comes with ACTIVE_CHANGED instead (its devices flags); on
	 * its own when the switch waits for the controller's answer. */
	BROKER_EVENT_DEVICES_PAUSED,
	BROKER_EVENT_CONTROL_CHANGED,    /* a container got or lost its controller */
	BROKER_EVENT_DEVICES_CHANGED,    /* a container took or released a device */
	BROKER_EVENT_LOOP_DEVICES_CHANGED,
	/* A listener changed its status of a container (listener). */
	BROKER_EVENT_LISTENER_STATUS,
};

struct broker_event {
	enum broker_event_type type;
	struct broker_seat *seat;
	struct container *container; /* NULL for seat events */
	struct container *old;       /* ACTIVE_CHANGED: the previous one, or NULL */
	/* ACTIVE_CHANGED: the devices of container, of old, were paused or
	 * resumed by this switch too (no DEVICES_PAUSED of their own). */
	bool devices, old_devices;
	const struct broker_listener *listener; /* LISTENER_STATUS */
};

struct broker_listener;

/* A registration option that a listener or the broker takes
 * (RegisterContainer's options, beside AllowActivate): the broker keeps its value with the
 * container, across restarts too, without knowing what it means. A value
 * not given is 0 (false). */
enum broker_option_type {
	BROKER_OPTION_BOOL,
	BROKER_OPTION_UINT32,
};

struct broker_option {
	const char *name;
	enum broker_option_type type;
};

struct broker_option_value {
	const struct broker_option *option;
	uint32_t value;
};

/* Options of all listeners together. */
#define BROKER_MAX_OPTIONS 8

struct broker_listener_ops {
	const char *name;
	/* A new seat or container, before it is announced: make what the
	 * listener needs for it. A container whose attach fails is not
	 * registered (the listeners attached before are detached). */
	int (*seat_attach)(struct broker_listener *l, struct broker_seat *bs);
	void (*seat_detach)(struct broker_listener *l, struct broker_seat *bs);
	int (*container_attach)(struct broker_listener *l, struct container *c);
	/* After its controller was released: free what attach made. */
	void (*container_detach)(struct broker_listener *l, struct container *c);
	void (*event)(struct broker_listener *l, const struct broker_event *ev);
	/* The options it takes, NULL-terminated by name (NULL for none). */
	const struct broker_option *options;
};

/* At most this many listeners: the dbus, seatd and login1 transports,
 * the hotkeys, and two to spare. */
#define BROKER_MAX_LISTENERS 6

struct broker_listener {
	const struct broker_listener_ops *ops;
	void *userdata;
	unsigned slot; /* set by broker_add_listener() */
};

/* Before the broker has seats or containers (broker_start()). -ENOSPC past
 * BROKER_MAX_LISTENERS. l must outlive the broker. */
int broker_add_listener(struct broker *b, struct broker_listener *l);

/* The listener's data for a seat or container (NULL until it sets it). */
void *broker_seat_listener_data(const struct broker_seat *bs, const struct broker_listener *l);
void broker_seat_set_listener_data(struct broker_seat *bs, const struct broker_listener *l,
				   void *data);
void *container_listener_data(const struct container *c, const struct broker_listener *l);
void container_set_listener_data(struct container *c, const struct broker_listener *l, void *data);

/* The option of that name, the broker's own (ControlUser) or some
 * listener's, or NULL. */
const struct broker_option *broker_find_option(const struct broker *b, const char *name);
/* The value the container was registered with (0 when not given). */
uint32_t container_option(const struct container *c, const char *name);
/* Whether the container was registered with the option, and its value. */
bool container_option_given(const struct container *c, const char *name, uint32_t *ret);

/* A short status a listener shows for a container (the login1 facade:
 * "waiting", "serving", ...), announced as BROKER_EVENT_LISTENER_STATUS.
 * The broker keeps a copy. */
int container_set_listener_status(struct container *c, const struct broker_listener *l,
				  const char *status);
/* The status of the listener named listener_name, NULL when it is not
 * there or has none for the container. */
const char *container_listener_status(const struct container *c, const char *listener_name);

/* Tells every listener (broker/ only). */
void broker_announce(struct broker *b, const struct broker_event *ev);
