/* SPDX-License-Identifier: MIT */
/*
 * The D-Bus transport: the org.devns.broker1 objects on the system bus (or
 * --bus-address) and each container's endpoint. Vtables, property getters,
 * argument checks and signals; the logic lives in broker/ and seat/, which
 * this layer hears of through its listener (broker/events.h).
 */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "broker/broker.h"
#include "broker/container.h"

#define BROKER_BUS_NAME "org.devns.broker1"
#define BROKER_OBJECT_PATH "/org/devns/broker1"
#define SEAT_PATH_PREFIX "/org/devns/broker1/seat"
#define CONTAINER_PATH_PREFIX "/org/devns/broker1/container"
#define CONTAINER_SELF_PATH CONTAINER_PATH_PREFIX "/self"

#define MANAGER_INTERFACE "org.devns.broker1.Manager"
#define SEAT_INTERFACE "org.devns.broker1.Seat"
#define CONTAINER_INTERFACE "org.devns.broker1.Container"

/* The login1 facade's listener (login1/), whose status of a container is
 * the Container property Login1. */
#define LOGIN1_LISTENER "login1"

struct endpoint;

/* A caller on the bus whose uid is known (manager-dbus.c). */
struct sender_uid {
	char name[32]; /* a unique name; "" for a free slot */
	uid_t uid;
};

struct dbus_transport {
	struct broker *broker;
	sd_bus *bus; /* the system bus, or --bus-address */
	struct broker_listener listener;
	struct sender_uid sender_uids[16];
	unsigned sender_uids_next; /* the slot to replace next */
	/* Containers whose Devices changed since their last signal: one
	 * PropertiesChanged each, sent once the loop has nothing else to
	 * do, after the answers to the takes and releases that changed it. */
	struct list devices_changed;
	sd_event_source *devices_flush;
};

struct dbus_seat;
struct dbus_container;

/* The switch signals built once (signal-cache.h) are kept for this many
 * containers of a seat, those of its last switches: kept for every
 * container, they would cost each one some KiB, switched to again or not. */
#define DBUS_SEAT_KEPT 4

/* The userdata of the Seat vtable: the seat as the bus shows it (scope
 * NULL), or as one container's endpoint does, where that container is the
 * only one there is and the seat is read-only. */
struct dbus_seat_view {
	struct dbus_seat *seat;
	struct dbus_container *scope;
};

/* What the transport keeps with each seat and container (their listener
 * data), and the userdata of their vtables. */
struct dbus_seat {
	struct dbus_transport *transport;
	struct broker_seat *seat;
	char *path;
	struct dbus_seat_view view; /* { this, NULL } */
	/* On the bus: PropertiesChanged of ActiveContainer ("", "/"), built
	 * once (signal-cache.h). */
	sd_bus_message *active_none_changed;
	/* The containers whose switch signals are kept, the latest first. */
	struct dbus_container *kept[DBUS_SEAT_KEPT];
};

/* A PropertiesChanged with Devices, kept for one state of the container's
 * devices: its list of handles (seat_container's handles_version) with
 * every handle paused, or every one live, as the slot it is kept in says. */
struct kept_devices_changed {
	unsigned version;
	sd_bus_message *m;
};

/* The PropertiesChanged of a switch for a Container at one path, each built
 * once (signal-cache.h) and sent again when the same values recur: Active
 * alone, by its value; Devices alone, by paused; both, by both. */
struct container_changes {
	sd_bus_message *active[2];
	struct kept_devices_changed devices[2];
	struct kept_devices_changed both[2][2]; /* [active][paused] */
};

/* A container's switch signals, built once (signal-cache.h), while it is
 * one of the DBUS_SEAT_KEPT containers of its seat's last switches. */
struct dbus_container_kept {
	/* On the bus: the container's changes, and the seat's
	 * ActiveContainer naming it. */
	struct container_changes changes;
	sd_bus_message *seat_active_changed;
	/* On its endpoint: the container's changes at its full path and at
	 * .../self, and the seat's ActiveContainer by value. */
	struct container_changes endpoint_changes[2]; /* [self path] */
	sd_bus_message *endpoint_seat_active_changed[2];
};

struct dbus_container {
	struct dbus_transport *transport;
	struct container *container;
	char *path;
	struct endpoint *endpoint;       /* <endpoint dir>/bus */
	struct dbus_seat_view seat_view; /* { its seat, this } */
	struct dbus_container_kept *kept; /* NULL while none are kept */
	struct list devices_changed_link; /* in the transport's, or alone */
};

/* Connects to the system bus, or to address, and serves the objects
 * (transport.c). The bus name is requested separately, last. */
int dbus_transport_new(struct broker *b, const char *address, struct dbus_transport **ret);
/* The same on a connection set up by the caller (tests): takes bus. */
int dbus_transport_new_on_bus(struct broker *b, sd_bus *bus, struct dbus_transport **ret);
int dbus_transport_request_name(struct dbus_transport *t);
/* After broker_free(). Accepts NULL. */
void dbus_transport_free(struct dbus_transport *t);

struct dbus_seat *dbus_seat_of(struct dbus_transport *t, const struct broker_seat *bs);
struct dbus_container *dbus_container_of(struct dbus_transport *t, const struct container *c);

extern const sd_bus_vtable manager_vtable[];
extern const sd_bus_vtable seat_vtable[]; /* userdata: struct dbus_seat_view */
extern const sd_bus_vtable container_vtable[];

/* Registers every object on the broker's bus (manager-dbus.c). */
int manager_dbus_register(struct dbus_transport *t);
void manager_dbus_emit_container(struct dbus_container *dc, bool added);
void manager_dbus_emit_seat(struct dbus_seat *ds, bool added);

/* Property changes on the bus and on the endpoints that show them. */
void seat_dbus_emit_changed(struct dbus_seat *ds, const char *property);
void seat_dbus_emit_outputs_changed(struct dbus_seat *ds, struct dbus_container *dc);
void seat_dbus_emit_active_changed(struct dbus_seat *ds, struct dbus_container *old,
				   struct dbus_container *now);
void container_dbus_emit_changed(struct dbus_container *dc, const char *property);
/* Active, Devices (their paused flags) or both in one signal, from
 * messages built once: the switch's own signals. */
void container_dbus_emit_switched(struct dbus_container *dc, bool active, bool devices);
/* The message of container_dbus_emit_switched() for path, from changes
 * when kept there, else built (and kept there, if k is not NULL, unless
 * some devices are paused and others live). A new reference, or NULL if
 * it cannot be built. */
sd_bus_message *container_changes_get(struct dbus_container *dc, struct container_changes *k,
				      const char *path, bool active, bool devices);
void container_changes_clear(struct container_changes *k);

/* dc's switch signals are about to be made or sent: where they are kept,
 * made now if need be; those of the container of its seat least recently
 * kept are dropped if there is no room (transport.c). NULL when out of
 * memory: they are then made each time. */
struct dbus_container_kept *dbus_seat_keep_signals(struct dbus_container *dc);
/* Drops every signal dc keeps, on the bus, its endpoint and its
 * controller; they are built again when needed. */
void container_dbus_forget_signals(struct dbus_container *dc);
/* Accepts NULL. */
void dbus_container_kept_free(struct dbus_container_kept *k);

/* An endpoint connection closed: control ends if it was the controller. */
void container_dbus_connection_gone(struct container *c, sd_bus *bus);

/* Method-call helpers shared by the vtables. */
bool bus_is_broker_bus(struct dbus_transport *t, sd_bus_message *m);
/* 1 if the caller may change state, else AccessDenied set and < 0. */
int bus_check_privileged(struct dbus_transport *t, sd_bus_message *m, sd_bus_error *error);
/* Queues the switch and answers m when it is complete: 1, or < 0 with
 * error set if it could not be queued. ep: the endpoint m may have come
 * on (NULL for the broker's bus alone). */
int bus_switch(struct broker_seat *bs, enum seat_switch_kind kind, struct container *target,
	       sd_bus_message *m, struct endpoint *ep, sd_bus_error *error);

int seat_dbus_find(sd_bus *bus, const char *path, const char *interface,
		   void *userdata, void **found, sd_bus_error *error);
