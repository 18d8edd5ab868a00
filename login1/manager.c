/* SPDX-License-Identifier: MIT */
/*
 * The Manager, Seat and User objects of the facade, with logind's names,
 * paths and signatures. Each container's bus shows its own session only:
 * the Seat lists it alone, and the n-th container that SwitchTo(n) names
 * is never named.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "broker/peer.h"
#include "common/log.h"
#include "common/macro.h"
#include "login1/login1.h"

#define ERROR_NO_SUCH_SESSION "org.freedesktop.login1.NoSuchSession"
#define ERROR_NO_SESSION_FOR_PID "org.freedesktop.login1.NoSessionForPID"
#define ERROR_NO_SUCH_SEAT "org.freedesktop.login1.NoSuchSeat"
#define ERROR_NO_SUCH_USER "org.freedesktop.login1.NoSuchUser"

static bool is_own_session(const char *id)
{
	/* "auto" and "self": the caller's session, which on this bus can
	 * only be the container's one. */
	return strcmp(id, LOGIN1_SESSION_ID) == 0 || strcmp(id, "auto") == 0 ||
	       strcmp(id, "self") == 0;
}

static bool is_own_seat(struct login1_session *s, const char *id)
{
	return strcmp(id, s->container->seat->seat->id) == 0 || strcmp(id, "auto") == 0 ||
	       strcmp(id, "self") == 0;
}

static int method_get_session(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *id;
	int r;

	if ((r = sd_bus_message_read(m, "s", &id)) < 0)
		return r;
	if (!is_own_session(id))
		return sd_bus_error_setf(error, ERROR_NO_SUCH_SESSION, "No session '%s' known", id);
	return sd_bus_reply_method_return(m, "o", LOGIN1_SESSION_PATH);
}

/* pid as the container sees it; 0 is the caller, who is on the
 * container's bus. A pid of no process of the container has no session. */
static int method_get_session_by_pid(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;
	struct container *c = s->container;
	pid_t pids[33];
	uint32_t pid;
	int depth, r;

	if ((r = sd_bus_message_read(m, "u", &pid)) < 0)
		return r;
	if (pid != 0) {
		if (pid > INT32_MAX)
			return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Invalid pid %u", pid);
		depth = pid_nspids(c->leader, pids, ARRAY_SIZE(pids));
		r = depth < 0 ? depth : pidns_has_pid(&c->pidns, depth, (pid_t)pid);
		if (r < 0)
			return sd_bus_error_set_errnof(error, r, "Cannot look up pid %u", pid);
		if (r == 0)
			return sd_bus_error_setf(error, ERROR_NO_SESSION_FOR_PID,
						 "PID %u does not belong to any known session", pid);
	}
	return sd_bus_reply_method_return(m, "o", LOGIN1_SESSION_PATH);
}

static int method_get_seat(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;
	const char *id;
	int r;

	if ((r = sd_bus_message_read(m, "s", &id)) < 0)
		return r;
	if (!is_own_seat(s, id))
		return sd_bus_error_setf(error, ERROR_NO_SUCH_SEAT, "No seat '%s' known", id);
	return sd_bus_reply_method_return(m, "o", s->seat_path);
}

static int method_get_user(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;
	uint32_t uid;
	int r;

	if ((r = sd_bus_message_read(m, "u", &uid)) < 0)
		return r;
	if (uid != s->uid)
		return sd_bus_error_setf(error, ERROR_NO_SUCH_USER, "User ID %u is not logged in", uid);
	return sd_bus_reply_method_return(m, "o", s->user_path);
}

static int method_list_sessions(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;

	return sd_bus_reply_method_return(m, "a(susso)", 1, LOGIN1_SESSION_ID, (uint32_t)s->uid,
					  s->user_name, s->container->seat->seat->id,
					  LOGIN1_SESSION_PATH);
}

static int method_list_seats(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;

	return sd_bus_reply_method_return(m, "a(so)", 1, s->container->seat->seat->id, s->seat_path);
}

static int method_list_users(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;

	return sd_bus_reply_method_return(m, "a(uso)", 1, (uint32_t)s->uid, s->user_name,
					  s->user_path);
}

static const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("GetSession", SD_BUS_ARGS("s", session_id),
				SD_BUS_RESULT("o", object_path), method_get_session,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetSessionByPID", SD_BUS_ARGS("u", pid),
				SD_BUS_RESULT("o", object_path), method_get_session_by_pid,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetSeat", SD_BUS_ARGS("s", seat_id),
				SD_BUS_RESULT("o", object_path), method_get_seat,
				SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetUser", SD_BUS_ARGS("u", uid), SD_BUS_RESULT("o", object_path),
				method_get_user, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListSessions", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(susso)", sessions),
				method_list_sessions, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListSeats", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(so)", seats),
				method_list_seats, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListUsers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(uso)", users),
				method_list_users, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("SessionNew", SD_BUS_ARGS("s", session_id, "o", object_path), 0),
	SD_BUS_SIGNAL_WITH_ARGS("SessionRemoved", SD_BUS_ARGS("s", session_id, "o", object_path), 0),
	SD_BUS_VTABLE_END
};

/* Seat.SwitchTo(n) is Ctrl+Alt+Fn: the n-th container of the seat in
 * registration order, for a container registered with AllowActivate. */
static int method_switch_to(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;
	struct seat_container *target;
	uint32_t n;
	int r;

	if ((r = sd_bus_message_read(m, "u", &n)) < 0)
		return r;
	if (!s->container->allow_activate)
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "This container may not switch its seat (no AllowActivate)");
	if (n == 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "Sessions are counted from 1");
	target = seat_container_nth(s->container->seat->seat, n - 1);
	if (!target)
		return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "No session %u on this seat", n);
	return login1_switch(s, target->userdata, m, error);
}

static int seat_property_get_active_session(sd_bus *bus, const char *path, const char *interface,
					    const char *property, sd_bus_message *reply,
					    void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;

	if (login1_session_is_active(s))
		return sd_bus_message_append(reply, "(so)", LOGIN1_SESSION_ID, LOGIN1_SESSION_PATH);
	return sd_bus_message_append(reply, "(so)", "", "/");
}

static int property_get_sessions(sd_bus *bus, const char *path, const char *interface,
				 const char *property, sd_bus_message *reply, void *userdata,
				 sd_bus_error *error)
{
	return sd_bus_message_append(reply, "a(so)", 1, LOGIN1_SESSION_ID, LOGIN1_SESSION_PATH);
}

static int seat_property_get_bool(sd_bus *bus, const char *path, const char *interface,
				  const char *property, sd_bus_message *reply, void *userdata,
				  sd_bus_error *error)
{
	struct login1_session *s = userdata;
	bool v = false;

	if (strcmp(property, "CanGraphical") == 0)
		v = seat_can_graphical(s->container->seat->seat);
	else if (strcmp(property, "CanMultiSession") == 0)
		v = true;
	return sd_bus_message_append(reply, "b", v);
}

static int seat_property_get_id(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply, void *userdata,
				sd_bus_error *error)
{
	struct login1_session *s = userdata;

	return sd_bus_message_append(reply, "s", s->container->seat->seat->id);
}

static const sd_bus_vtable seat_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Id", "s", seat_property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("ActiveSession", "(so)", seat_property_get_active_session, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("CanTTY", "b", seat_property_get_bool, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("CanGraphical", "b", seat_property_get_bool, 0,
			SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("CanMultiSession", "b", seat_property_get_bool, 0,
			SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Sessions", "a(so)", property_get_sessions, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD_WITH_ARGS("SwitchTo", SD_BUS_ARGS("u", vtnr), SD_BUS_NO_RESULT,
				method_switch_to, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static int user_property_get(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply, void *userdata,
			     sd_bus_error *error)
{
	struct login1_session *s = userdata;
	char runtime[64];

	if (strcmp(property, "UID") == 0)
		return sd_bus_message_append(reply, "u", (uint32_t)s->uid);
	if (strcmp(property, "GID") == 0)
		return sd_bus_message_append(reply, "u", (uint32_t)s->gid);
	if (strcmp(property, "Name") == 0)
		return sd_bus_message_append(reply, "s", s->user_name);
	if (strcmp(property, "Linger") == 0)
		return sd_bus_message_append(reply, "b", false);
	if (strcmp(property, "State") == 0)
		return sd_bus_message_append(reply, "s", login1_session_state(s));
	if (strcmp(property, "Display") == 0)
		return sd_bus_message_append(reply, "(so)", LOGIN1_SESSION_ID, LOGIN1_SESSION_PATH);
	snprintf(runtime, sizeof(runtime), "/run/user/%u", (unsigned)s->uid);
	return sd_bus_message_append(reply, "s", runtime);
}

static const sd_bus_vtable user_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("UID", "u", user_property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("GID", "u", user_property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Name", "s", user_property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("RuntimePath", "s", user_property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Display", "(so)", user_property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("State", "s", user_property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Sessions", "a(so)", property_get_sessions, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	/* loginctl list-users reads it; no user lingers in a container. */
	SD_BUS_PROPERTY("Linger", "b", user_property_get, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_VTABLE_END
};

int login1_add_objects(struct login1_session *s)
{
	static const char *const session_paths[] = {
		LOGIN1_SESSION_PATH, LOGIN1_PATH "/session/auto", LOGIN1_PATH "/session/self",
	};
	const char *seat_paths[] = {
		s->seat_path, LOGIN1_PATH "/seat/auto", LOGIN1_PATH "/seat/self",
	};
	const char *user_paths[] = { s->user_path, LOGIN1_PATH "/user/self" };
	int r;

	/* The slots are the bus's: they go with it. */
	r = sd_bus_add_object_vtable(s->bus, NULL, LOGIN1_PATH, LOGIN1_MANAGER_INTERFACE,
				     manager_vtable, s);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(session_paths); i++)
		r = sd_bus_add_object_vtable(s->bus, NULL, session_paths[i], LOGIN1_SESSION_INTERFACE,
					     login1_session_vtable, s);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(seat_paths); i++)
		r = sd_bus_add_object_vtable(s->bus, NULL, seat_paths[i], LOGIN1_SEAT_INTERFACE,
					     seat_vtable, s);
	for (size_t i = 0; r >= 0 && i < ARRAY_SIZE(user_paths); i++)
		r = sd_bus_add_object_vtable(s->bus, NULL, user_paths[i], LOGIN1_USER_INTERFACE,
					     user_vtable, s);
	return r;
}

void login1_check_backlog(struct login1_session *s)
{
	uint64_t queued = 0;

	if (!s->bus || sd_bus_get_n_queued_write(s->bus, &queued) < 0 || queued <= LOGIN1_MAX_QUEUED)
		return;
	log_warning("Container %s: its system bus does not read what devnsd sends; reconnecting",
		    s->container->name);
	login1_reconnect(s);
}

void login1_emit_active_changed(struct login1_session *s)
{
	(void)sd_bus_emit_properties_changed(s->bus, LOGIN1_SESSION_PATH, LOGIN1_SESSION_INTERFACE,
					     "Active", "State", NULL);
	(void)sd_bus_emit_properties_changed(s->bus, s->seat_path, LOGIN1_SEAT_INTERFACE,
					     "ActiveSession", NULL);
	(void)sd_bus_emit_properties_changed(s->bus, s->user_path, LOGIN1_USER_INTERFACE,
					     "State", NULL);
	(void)login1_write_files(s);
	login1_check_backlog(s);
}

void login1_emit_seat_changed(struct login1_session *s, const char *property)
{
	(void)sd_bus_emit_properties_changed(s->bus, s->seat_path, LOGIN1_SEAT_INTERFACE,
					     property, NULL);
	login1_check_backlog(s);
}

int login1_emit_session_removed(struct login1_session *s)
{
	return sd_bus_emit_signal(s->bus, LOGIN1_PATH, LOGIN1_MANAGER_INTERFACE, "SessionRemoved",
				  "so", LOGIN1_SESSION_ID, LOGIN1_SESSION_PATH);
}
