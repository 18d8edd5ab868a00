/* SPDX-License-Identifier: MIT */
/*
 * The login1 transport: per container registered with Login1, a client
 * connection to the container's own system bus, made when its socket
 * appears and again whenever the bus restarts, owning
 * org.freedesktop.login1 there. The container's status (the Container
 * property Login1) says where that stands.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/socket.h>

#include "broker/events.h"
#include "broker/peer.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/root-resolve.h"
#include "login1/login1.h"

/* How often a container without a bus (or whose bus refused us) is
 * tried again. */
#define RETRY_USEC (500 * 1000ULL)

static const struct broker_option login1_options[] = {
	{ "Login1", BROKER_OPTION_BOOL },
	{ "Login1User", BROKER_OPTION_UINT32 },
	{ NULL },
};

struct login1_session *login1_session_of(struct login1_transport *t, struct container *c)
{
	return container_listener_data(c, &t->listener);
}

static void set_status(struct login1_session *s, const char *status)
{
	(void)container_set_listener_status(s->container, &s->transport->listener, status);
}

static void bus_drop(struct login1_session *s)
{
	if (!s->bus)
		return;
	login1_session_bus_gone(s);
	login1_session_drop_pending(s);
	sd_bus_detach_event(s->bus);
	s->bus = sd_bus_close_unref(s->bus);
	s->owns_name = false;
}

static int schedule_retry(struct login1_session *s, uint64_t delay)
{
	uint64_t now;
	int r;

	r = sd_event_now(s->container->broker->event, CLOCK_MONOTONIC, &now);
	if (r < 0)
		return r;
	r = sd_event_source_set_time(s->retry, now + delay);
	if (r >= 0)
		r = sd_event_source_set_enabled(s->retry, SD_EVENT_ONESHOT);
	return r;
}

void login1_reconnect(struct login1_session *s)
{
	s->owns_name = false;
	set_status(s, "waiting");
	(void)schedule_retry(s, 0);
}

static void on_name_owned(struct login1_session *s)
{
	int r;

	s->owns_name = true;
	s->foreign_bus_logged = false;
	/* The container may have been set up since it was registered. */
	login1_read_user(s);
	r = login1_write_files(s);
	if (r < 0 && !s->files_warned) {
		s->files_warned = true;
		log_warning_errno(r, "Container %s: cannot write sd-login's files under /run/systemd",
				  s->container->name);
	}
	log_info("Container %s: serving %s on its system bus", s->container->name, LOGIN1_BUS_NAME);
	set_status(s, "serving");
	login1_session_bus_ready(s);
}

/* Every message of the container's bus passes here first: the bus
 * daemon's word on our name, and sd-bus's own word that the connection
 * is gone (then the bus is dropped, from the event loop, not from inside
 * its own dispatch, and tried again). */
static int on_bus_message(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct login1_session *s = userdata;
	const char *name;

	if (sd_bus_message_is_signal(m, "org.freedesktop.DBus.Local", "Disconnected")) {
		log_info("Container %s: its system bus went away; waiting for it again",
			 s->container->name);
		login1_reconnect(s);
		return 0;
	}
	if (!sd_bus_message_has_signature(m, "s") ||
	    !sd_bus_message_get_sender(m) ||
	    strcmp(sd_bus_message_get_sender(m), "org.freedesktop.DBus") != 0)
		return 0;
	if (sd_bus_message_is_signal(m, "org.freedesktop.DBus", "NameAcquired")) {
		if (sd_bus_message_read(m, "s", &name) >= 0 && strcmp(name, LOGIN1_BUS_NAME) == 0 &&
		    !s->owns_name)
			on_name_owned(s);
		(void)sd_bus_message_rewind(m, true);
	} else if (sd_bus_message_is_signal(m, "org.freedesktop.DBus", "NameLost")) {
		if (sd_bus_message_read(m, "s", &name) >= 0 && strcmp(name, LOGIN1_BUS_NAME) == 0) {
			s->owns_name = false;
			set_status(s, "failed: " LOGIN1_BUS_NAME " was taken over by another process");
		}
		(void)sd_bus_message_rewind(m, true);
	}
	return 0;
}

static int on_request_name(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct login1_session *s = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);
	uint32_t reply;
	char status[256];

	if (e) {
		snprintf(status, sizeof(status), "failed: cannot own %s: %s", LOGIN1_BUS_NAME,
			 e->message ?: e->name);
		set_status(s, status);
		log_warning("Container %s: cannot own %s on its bus: %s", s->container->name,
			    LOGIN1_BUS_NAME, e->message ?: e->name);
		return 0;
	}
	if (sd_bus_message_read(m, "u", &reply) < 0)
		return 0;
	/* 1: primary owner; 4: already ours. 2: queued behind another
	 * owner, whose NameLost is our NameAcquired. */
	if (reply == 1 || reply == 4) {
		if (!s->owns_name)
			on_name_owned(s);
	} else {
		log_warning("Container %s: %s is owned by another process on its bus "
			    "(is its systemd-logind running?)", s->container->name, LOGIN1_BUS_NAME);
		set_status(s, "failed: " LOGIN1_BUS_NAME
			   " is owned by another process (is the container's systemd-logind running?)");
	}
	return 0;
}

/* The bus daemon must be one of the container's processes. Until the
 * container has mounted its own /run/dbus (a runtime may register it
 * first), or when a host's socket was bind-mounted into it, the socket
 * there is someone else's bus: owning login1 on it would take the name
 * on the host's bus. */
static int check_bus_daemon(struct login1_session *s, int fd)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	r = cred.pid > 0 ? pid_is_in_pidns(cred.pid, &s->container->pidns) : -ESRCH;
	if (r > 0)
		return 0;
	if (!s->foreign_bus_logged) {
		s->foreign_bus_logged = true;
		log_info("Container %s: %s is served by pid %d, outside the container; "
			 "waiting for the container's own bus", s->container->name,
			 LOGIN1_SYSTEM_BUS_SOCKET, (int)cred.pid);
	}
	return -ENOENT; /* as if the container had no bus yet */
}

static int bus_connect(struct login1_session *s)
{
	_cleanup_close_ int rootfd = -1;
	_cleanup_close_ int fd = -1;
	sd_bus *bus = NULL;
	uid_t uid;
	gid_t gid;
	int r;

	rootfd = root_open_of_pid(s->container->leader, s->container->pidfd);
	if (rootfd < 0)
		return rootfd;
	/* As the container's root: its bus daemon sees devnsd as root (who
	 * alone may own org.freedesktop.login1), also in a user namespace,
	 * where devnsd's own uid would be the overflow user. sd-bus then
	 * claims uid 0 (devnsd's) in its EXTERNAL authentication, which is
	 * what the daemon sees. */
	r = root_ids_of_pid(s->container->leader, s->container->pidfd, &uid, &gid);
	if (r < 0)
		return r;
	fd = root_connect_unix_as(rootfd, LOGIN1_SYSTEM_BUS_SOCKET, uid, gid);
	if (fd < 0)
		return fd;
	r = check_bus_daemon(s, fd);
	if (r < 0)
		return r;
	r = sd_bus_new(&bus);
	if (r < 0)
		return r;
	if ((r = sd_bus_set_fd(bus, fd, fd)) < 0)
		goto fail;
	fd = -1; /* the bus owns it now */
	if ((r = sd_bus_set_bus_client(bus, true)) < 0 ||
	    (r = sd_bus_negotiate_fds(bus, true)) < 0 ||
	    (r = sd_bus_set_description(bus, s->container->name)) < 0 ||
	    (r = sd_bus_start(bus)) < 0 ||
	    (r = sd_bus_attach_event(bus, s->container->broker->event, SD_EVENT_PRIORITY_NORMAL)) < 0 ||
	    (r = sd_bus_add_filter(bus, NULL, on_bus_message, s)) < 0)
		goto fail;
	s->bus = bus;
	r = login1_add_objects(s);
	if (r < 0)
		goto fail_drop;
	/* Asynchronous, like every call devnsd makes on a container's bus:
	 * the bus daemon is the container's, and may never answer. Queued,
	 * so that a logind of the container that leaves hands the name on. */
	r = sd_bus_request_name_async(bus, NULL, LOGIN1_BUS_NAME, SD_BUS_NAME_QUEUE,
				      on_request_name, s);
	if (r < 0)
		goto fail_drop;
	return 0;
fail_drop:
	bus_drop(s);
	return r;
fail:
	sd_bus_close_unref(bus);
	return r;
}

static int on_retry(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct login1_session *s = userdata;
	char status[256];
	int r;

	bus_drop(s);
	r = bus_connect(s);
	if (r >= 0) {
		log_info("Container %s: connected to its system bus", s->container->name);
		return 0;
	}
	switch (-r) {
	case ENOENT:
	case ECONNREFUSED:
	case EAGAIN:
		set_status(s, "waiting");
		break;
	case ESRCH:
		return 0; /* the leader is gone: the container goes with it */
	case EOVERFLOW:
		set_status(s, "failed: the container's user namespace maps no root user");
		break;
	default:
		snprintf(status, sizeof(status), "failed: cannot connect to %s: %s",
			 LOGIN1_SYSTEM_BUS_SOCKET, strerror(-r));
		set_status(s, status);
	}
	(void)schedule_retry(s, RETRY_USEC);
	return 0;
}

static int login1_container_attach(struct broker_listener *l, struct container *c)
{
	struct login1_transport *t = l->userdata;
	struct login1_session *s;
	int r;

	if (!container_option(c, "Login1"))
		return 0;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->transport = t;
	s->container = c;
	s->saved_fd = -1;
	list_init(&s->pending);
	list_init(&s->activating);
	list_init(&s->held);
	s->uid = (uid_t)container_option(c, "Login1User");
	snprintf(s->type, sizeof(s->type), "wayland");
	snprintf(s->user_path, sizeof(s->user_path), LOGIN1_PATH "/user/_%u", (unsigned)s->uid);
	{
		_cleanup_free_ char *path = NULL;

		r = sd_bus_path_encode(LOGIN1_PATH "/seat", c->seat->seat->id, &path);
		if (r < 0 || strlen(path) >= sizeof(s->seat_path)) {
			free(s);
			return r < 0 ? r : -ENAMETOOLONG;
		}
		strcpy(s->seat_path, path);
	}
	r = sd_event_add_time(c->broker->event, &s->retry, CLOCK_MONOTONIC, 0, 0, on_retry, s);
	if (r < 0) {
		free(s);
		return r;
	}
	(void)sd_event_source_set_description(s->retry, "login1-retry");
	container_set_listener_data(c, l, s);
	set_status(s, "waiting");
	return 0;
}

static void login1_container_detach(struct broker_listener *l, struct container *c)
{
	struct login1_session *s = container_listener_data(c, l);

	if (!s)
		return;
	if (s->bus && s->owns_name) {
		(void)login1_emit_session_removed(s);
		login1_remove_files(s);
	}
	bus_drop(s);
	login1_unsave(s);
	sd_event_source_disable_unref(s->retry);
	free(s);
}

static void on_event(struct broker_listener *l, const struct broker_event *ev)
{
	struct login1_transport *t = l->userdata;
	struct login1_session *s;

	switch (ev->type) {
	case BROKER_EVENT_CONTAINER_PICKED_UP:
		if ((s = login1_session_of(t, ev->container)))
			login1_session_resume(s);
		break;
	case BROKER_EVENT_ACTIVE_CHANGED:
		if (ev->old && (s = login1_session_of(t, ev->old)) && s->owns_name)
			login1_emit_active_changed(s);
		if (ev->container && (s = login1_session_of(t, ev->container)) && s->owns_name)
			login1_emit_active_changed(s);
		break;
	case BROKER_EVENT_SEAT_DEVICES: {
		struct container *c;

		list_for_each(c, &t->broker->containers, link)
			if (c->seat == ev->seat && (s = login1_session_of(t, c)) && s->owns_name) {
				login1_emit_seat_changed(s, "CanGraphical");
				(void)login1_write_files(s);
			}
		break;
	}
	default:
		break;
	}
}

static const struct broker_listener_ops login1_listener_ops = {
	.name = LOGIN1_NAME,
	.container_attach = login1_container_attach,
	.container_detach = login1_container_detach,
	.event = on_event,
	.options = login1_options,
};

int login1_transport_listen(struct broker *b)
{
	static struct login1_transport t;

	t.broker = b;
	t.listener.ops = &login1_listener_ops;
	t.listener.userdata = &t;
	return broker_add_listener(b, &t.listener);
}
