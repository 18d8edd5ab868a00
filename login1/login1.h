/* SPDX-License-Identifier: MIT */
/*
 * The login1 facade: for a container registered with the option Login1,
 * devnsd serves org.freedesktop.login1 on the container's own system bus
 * (found inside its root) and keeps sd-login's files under its
 * /run/systemd, so that compositors that speak logind (weston, Xorg,
 * mutter, KWin, libseat's logind backend) run unmodified. One Seat (the
 * host seat's id), one Session, one User per container.
 *
 * A transport beside dbus/ and compat/: it knows the broker only through
 * broker/events.h and the request functions of broker.h and container.h.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "broker/broker.h"
#include "broker/container.h"
#include "common/list.h"

/* The listener's name (dbus/ shows its status as the Container property
 * Login1). */
#define LOGIN1_NAME "login1"

#define LOGIN1_BUS_NAME "org.freedesktop.login1"
#define LOGIN1_PATH "/org/freedesktop/login1"
#define LOGIN1_MANAGER_INTERFACE "org.freedesktop.login1.Manager"
#define LOGIN1_SEAT_INTERFACE "org.freedesktop.login1.Seat"
#define LOGIN1_SESSION_INTERFACE "org.freedesktop.login1.Session"
#define LOGIN1_USER_INTERFACE "org.freedesktop.login1.User"

/* The session's id: one session per container, on the container's own
 * bus, so one fixed id is unique there and stable across restarts. */
#define LOGIN1_SESSION_ID "c1"
#define LOGIN1_SESSION_PATH LOGIN1_PATH "/session/" LOGIN1_SESSION_ID

/* Where the container's dbus-daemon listens, inside its root. */
#define LOGIN1_SYSTEM_BUS_SOCKET "/run/dbus/system_bus_socket"

/* A session type ("wayland", "x11", ...), and a bus daemon's unique name
 * (":1.42"), at their longest. */
#define LOGIN1_TYPE_MAX 15
#define LOGIN1_UNIQUE_NAME_MAX 255
/* Devices of a controller that a restart of devnsd keeps. */
#define LOGIN1_SAVED_MAX_DEVICES 256

/* Method calls waiting for the bus daemon's answer about their sender. */
#define LOGIN1_MAX_PENDING 32
/* Messages queued towards a container's bus daemon that does not read. */
#define LOGIN1_MAX_QUEUED 256

struct login1_transport {
	struct broker *broker;
	struct broker_listener listener;
};

struct login1_controller;

/* What the facade keeps for one container. */
struct login1_session {
	struct login1_transport *transport;
	struct container *container;

	uid_t uid;           /* Login1User, as the container sees it */
	gid_t gid;
	char user_name[64];  /* from the container's /etc/passwd */
	char type[LOGIN1_TYPE_MAX + 1]; /* SetType(): "wayland" until told otherwise */
	pid_t leader_nspid;  /* the leader's pid inside the container */

	sd_bus *bus;                /* the container's bus; NULL while waiting */
	sd_event_source *retry;     /* the next try to connect */
	bool owns_name;
	bool files_warned;
	bool foreign_bus_logged;
	struct list pending; /* calls waiting for the sender's uid */
	unsigned n_pending;
	/* Its own Activate calls whose switch is still running, and the
	 * device calls that wait for them (session.c). */
	struct list activating;
	struct list held;
	unsigned n_held;
	char seat_path[128];
	char user_path[64];
	int saved_fd; /* what outlives devnsd (restart.c); -1 without a store */
};

struct login1_session *login1_session_of(struct login1_transport *t, struct container *c);

/* manager.c: every object of the bus (Manager, Seat, Session, User). */
int login1_add_objects(struct login1_session *s);
void login1_emit_active_changed(struct login1_session *s);
void login1_emit_seat_changed(struct login1_session *s, const char *property);
int login1_emit_session_removed(struct login1_session *s);
/* A message to the container's bus was queued: a daemon that reads
 * nothing is disconnected rather than grown without bound. */
void login1_check_backlog(struct login1_session *s);

/* session.c */
extern const sd_bus_vtable login1_session_vtable[];
/* The container's bus went away: its controller with it. */
void login1_session_bus_gone(struct login1_session *s);
/* Forgets every call waiting for an answer of the bus daemon or for an
 * activation, without answering it. */
void login1_session_drop_pending(struct login1_session *s);
/* Switches the container's seat to target; m is answered when done. */
int login1_switch(struct login1_session *s, struct container *target, sd_bus_message *m,
		  sd_bus_error *error);
bool login1_session_is_active(const struct login1_session *s);
const char *login1_session_state(const struct login1_session *s);

/* Whether logind knows type as a session type. */
bool login1_type_is_valid(const char *type);
/* After a restart of devnsd: takes back the controller it had, with its
 * devices, before the bus is there. */
void login1_session_resume(struct login1_session *s);
/* The name is ours on the container's bus (again): a controller taken back
 * is checked there and told what it missed. */
void login1_session_bus_ready(struct login1_session *s);

/* What a controller was last told of its devices: a signal lost on the
 * way leaves it unsure, and a catch-up sends them all again. */
enum login1_told {
	LOGIN1_TOLD_PAUSED,
	LOGIN1_TOLD_LIVE,
	LOGIN1_TOLD_UNSURE,
};

/* restart.c: the session's state in the fd store. */
struct login1_saved {
	char controller[LOGIN1_UNIQUE_NAME_MAX + 1]; /* "" when there is none */
	char type[LOGIN1_TYPE_MAX + 1];
	enum login1_told told; /* what the controller was last told of the seat */
	unsigned n_devices;
	dev_t devices[LOGIN1_SAVED_MAX_DEVICES];
};
/* Rewrites the session's file in the store (made on first use). */
void login1_save(struct login1_session *s, const struct login1_saved *saved);
/* Drops it from the store (the container is gone). */
void login1_unsave(struct login1_session *s);
/* The file a previous devnsd stored: 1 and *ret, 0 for none, negative
 * errno when it is damaged (then it is dropped). */
int login1_take_saved(struct login1_session *s, struct login1_saved *ret);
/* The file's bytes, apart for the tests: format returns its size (0 when
 * size is too small). */
int login1_saved_parse(const void *buf, size_t size, struct login1_saved *ret);
size_t login1_saved_format(const struct login1_saved *saved, void *buf, size_t size);

/* sd-login.c: /run/systemd/{sessions,seats,users} inside the root. */
int login1_write_files(struct login1_session *s);
void login1_remove_files(struct login1_session *s);
/* The user's name and group from the container's /etc/passwd. */
void login1_read_user(struct login1_session *s);

/* transport.c */
int login1_transport_listen(struct broker *b);
/* Drops the container's bus (from the event loop, not from inside its
 * dispatch) and connects again. */
void login1_reconnect(struct login1_session *s);
