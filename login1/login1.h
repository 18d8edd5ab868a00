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
	char type[16];       /* SetType(): "wayland" until told otherwise */
	pid_t leader_nspid;  /* the leader's pid inside the container */

	sd_bus *bus;                /* the container's bus; NULL while waiting */
	sd_event_source *retry;     /* the next try to connect */
	bool owns_name;
	bool files_warned;
	bool foreign_bus_logged;
	struct list pending; /* calls waiting for the sender's uid */
	unsigned n_pending;
	char seat_path[128];
	char user_path[64];
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
void login1_session_drop_pending(struct login1_session *s);
/* Switches the container's seat to target; m is answered when done. */
int login1_switch(struct login1_session *s, struct container *target, sd_bus_message *m,
		  sd_bus_error *error);
bool login1_session_is_active(const struct login1_session *s);
const char *login1_session_state(const struct login1_session *s);

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
