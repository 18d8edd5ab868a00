/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "broker/broker.h"
#include "broker/container.h"
#include "broker/peer.h"
#include "common/log.h"
#include "dbus/bus-error.h"
#include "dbus/dbus.h"
#include "dbus/endpoint.h"
#include "dbus/endpoint-input.h"
#include "dbus/signal-cache.h"

/*
 * sd-bus is not attached to the event loop here. Attached, sd-event would
 * ask every connection what it waits for (sd-bus's prepare callback) at
 * every loop iteration, so that each connection, busy or idle, cost every
 * switch. What a connection waits for changes only when it reads or sends,
 * and after each of those conn_sync() looks again: input comes through
 * endpoint-input.c, output is watched while some is queued, and sd-bus's
 * timeout (its handshake's, or at once when it is closing) is a timer.
 */
struct endpoint_conn {
	unsigned n_ref; /* the endpoint's, and each pending answer's */
	struct endpoint *ep;
	sd_bus *bus;
	struct endpoint_input *input;
	int bus_output_fd; /* sd-bus's own, for output_source */
	sd_event_source *output_source; /* made the first time output waits */
	sd_event_source *time_source;   /* while sd-bus has a timeout */
	bool output_watched;
	/* A client written for a bus (sd-bus with bus_client set) takes any
	 * message before the answer to its Hello as an error: no signal goes
	 * out before the client has called something. */
	bool spoke;
	bool driver; /* conn_add_driver() */
	unsigned id;
	uid_t uid; /* SO_PEERCRED's, for ControlUser; -1 when unknown */
	sd_event_source *free_source;
	sd_event_source *auth_source;
	sd_event_source *cut_source; /* set: being hung up on */
	bool cut_unwatched; /* for want of memory to watch it, not for its backlog */
	struct list link;
};

struct endpoint {
	struct dbus_container *dc;
	struct container *container;
	struct peer_listener *listener;
	struct list conns;
	unsigned n_conns;
	unsigned next_id;
};

/* A container's processes get this many connections at once. */
#define ENDPOINT_MAX_CONNECTIONS 64
/* Messages sd-bus may hold for a peer that does not read them (replies
 * with their fds, signals), beyond what its socket buffer took: past this,
 * the peer is hung up on, as dbus-daemon does with its own limits. */
#define ENDPOINT_MAX_QUEUED 256

/* What a bus daemon would answer, so that clients written for a bus
 * (busctl --address, sd-bus with bus_client set) work on this socket. */
static int method_hello(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct endpoint_conn *conn = userdata;
	char name[32];

	snprintf(name, sizeof(name), ":1.%u", conn->id);
	return sd_bus_reply_method_return(m, "s", name);
}

static int method_ignore_match(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	/* Every signal of this connection is meant for the peer anyway;
	 * the client filters with its own local matches. */
	return sd_bus_reply_method_return(m, NULL);
}

static bool name_is_served(const char *name)
{
	return strcmp(name, "org.freedesktop.DBus") == 0 || strcmp(name, BROKER_BUS_NAME) == 0;
}

static int method_get_name_owner(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *name;
	int r = sd_bus_message_read(m, "s", &name);

	if (r < 0)
		return r;
	if (!name_is_served(name))
		return sd_bus_error_setf(error, "org.freedesktop.DBus.Error.NameHasNoOwner",
					 "No such name '%s' on this endpoint", name);
	return sd_bus_reply_method_return(m, "s", name);
}

static int method_name_has_owner(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *name;
	int r = sd_bus_message_read(m, "s", &name);

	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, "b", name_is_served(name));
}

static int method_list_names(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	sd_bus_message *reply = NULL;
	int r = sd_bus_message_new_method_return(m, &reply);

	if (r >= 0)
		r = sd_bus_message_append(reply, "as", 2, "org.freedesktop.DBus", BROKER_BUS_NAME);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

static const sd_bus_vtable driver_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_METHOD_WITH_ARGS("Hello", SD_BUS_NO_ARGS, SD_BUS_RESULT("s", name),
				method_hello, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("AddMatch", SD_BUS_ARGS("s", rule), SD_BUS_NO_RESULT,
				method_ignore_match, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("RemoveMatch", SD_BUS_ARGS("s", rule), SD_BUS_NO_RESULT,
				method_ignore_match, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetNameOwner", SD_BUS_ARGS("s", name), SD_BUS_RESULT("s", owner),
				method_get_name_owner, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("NameHasOwner", SD_BUS_ARGS("s", name), SD_BUS_RESULT("b", has_owner),
				method_name_has_owner, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListNames", SD_BUS_NO_ARGS, SD_BUS_RESULT("as", names),
				method_list_names, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

static void conn_unref(struct endpoint_conn *conn)
{
	if (--conn->n_ref == 0)
		free(conn);
}

static void conn_stop_watching(struct endpoint_conn *conn)
{
	conn->output_source = sd_event_source_disable_unref(conn->output_source);
	conn->time_source = sd_event_source_disable_unref(conn->time_source);
	conn->output_watched = false;
}

/* Closes a connection already out of its endpoint's list; its memory goes
 * with the last reference. */
static void conn_destroy(struct endpoint_conn *conn)
{
	conn->ep = NULL;
	conn->auth_source = sd_event_source_disable_unref(conn->auth_source);
	conn->cut_source = sd_event_source_disable_unref(conn->cut_source);
	conn->free_source = sd_event_source_disable_unref(conn->free_source);
	/* Before sd-bus closes the fd they watch. */
	conn_stop_watching(conn);
	/* No flush: it would wait, without bound, for a peer that does not
	 * read or has not finished its handshake. */
	conn->bus = sd_bus_close_unref(conn->bus);
	endpoint_input_free(conn->input);
	conn->input = NULL;
	conn_unref(conn);
}

static int conn_free_deferred(sd_event_source *s, void *userdata)
{
	conn_destroy(userdata);
	return 0;
}

static void conn_drop(struct endpoint_conn *conn)
{
	struct container *c = conn->ep->container;
	int r;

	list_remove(&conn->link);
	conn->ep->n_conns--;
	conn->auth_source = sd_event_source_disable_unref(conn->auth_source);
	container_dbus_connection_gone(c, conn->bus);
	conn_stop_watching(conn);
	conn->ep = NULL;
	/* This may run inside the connection's own dispatch: free it once
	 * that has returned. */
	r = sd_event_add_defer(c->broker->event, &conn->free_source, conn_free_deferred, conn);
	if (r < 0) {
		sd_bus_close(conn->bus);
		log_warning_errno(r, "Cannot defer closing an endpoint connection; leaking it");
	}
}

static int conn_cut_deferred(sd_event_source *s, void *userdata)
{
	struct endpoint_conn *conn = userdata;

	conn->cut_source = sd_event_source_disable_unref(conn->cut_source);
	if (conn->ep) {
		if (conn->cut_unwatched)
			log_warning("Endpoint of %s: cannot watch a client's connection; hanging up on it",
				    conn->ep->container->name);
		else
			log_info("Endpoint of %s: a client does not read what it is sent; hanging up on it",
				 conn->ep->container->name);
		conn_drop(conn);
	}
	return 0;
}

/* The hang-up runs from the event loop: dropping a controller announces
 * changes, which are sent through this same endpoint. */
static void conn_cut(struct endpoint_conn *conn, bool unwatched)
{
	if (conn->cut_source)
		return;
	conn->cut_unwatched = unwatched;
	if (sd_event_add_defer(conn->ep->container->broker->event, &conn->cut_source,
			       conn_cut_deferred, conn) < 0)
		log_warning("Endpoint of %s: cannot hang up on a client", conn->ep->container->name);
}

static int conn_process(struct endpoint_conn *conn);

static int on_conn_output(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	(void)conn_process(userdata);
	return 0;
}

static int on_conn_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	(void)conn_process(userdata);
	return 0;
}

static int conn_watch_output(struct endpoint_conn *conn, bool on)
{
	int r;

	if (on == conn->output_watched)
		return 0;
	if (!conn->output_source)
		r = sd_event_add_io(conn->ep->container->broker->event, &conn->output_source,
				    conn->bus_output_fd, EPOLLOUT, on_conn_output, conn);
	else
		r = sd_event_source_set_enabled(conn->output_source, on ? SD_EVENT_ON : SD_EVENT_OFF);
	if (r < 0)
		return r;
	conn->output_watched = on;
	return 0;
}

/* until: CLOCK_MONOTONIC, as sd_bus_get_timeout() gives it; UINT64_MAX for
 * none. The timer exists only while there is one. */
static int conn_set_timer(struct endpoint_conn *conn, uint64_t until)
{
	int r;

	if (until == UINT64_MAX) {
		conn->time_source = sd_event_source_disable_unref(conn->time_source);
		return 0;
	}
	if (!conn->time_source)
		return sd_event_add_time(conn->ep->container->broker->event, &conn->time_source,
					 CLOCK_MONOTONIC, until, 0, on_conn_timeout, conn);
	r = sd_event_source_set_time(conn->time_source, until);
	if (r >= 0)
		r = sd_event_source_set_enabled(conn->time_source, SD_EVENT_ONESHOT);
	return r;
}

/* After sd-bus read or was asked to send anything: what it waits for
 * now, and the backlog of a peer that does not read. */
static void conn_sync(struct endpoint_conn *conn)
{
	uint64_t queued, until;
	int events, r;

	if (!conn->ep)
		return;
	events = sd_bus_get_events(conn->bus);
	if (events < 0)
		return; /* closed: its Disconnected was dispatched */
	r = conn_watch_output(conn, events & POLLOUT);
	if (r >= 0) {
		r = sd_bus_get_timeout(conn->bus, &until);
		if (r >= 0)
			r = conn_set_timer(conn, r > 0 ? until : UINT64_MAX);
	}
	if (r < 0) {
		conn_cut(conn, true);
		return;
	}
	if (sd_bus_get_n_queued_write(conn->bus, &queued) >= 0 && queued > ENDPOINT_MAX_QUEUED)
		conn_cut(conn, false);
}

/* After a send: conn_sync() unless all of it went to the socket, as it
 * usually does, and the connection is up, as it was. */
static void conn_sent(struct endpoint_conn *conn)
{
	uint64_t queued;

	if (conn->ep && !conn->output_watched &&
	    sd_bus_get_n_queued_write(conn->bus, &queued) >= 0 && queued == 0 &&
	    sd_bus_is_open(conn->bus) > 0)
		return;
	conn_sync(conn);
}

void endpoint_check_backlog(struct endpoint *ep)
{
	struct endpoint_conn *conn;

	list_for_each(conn, &ep->conns, link)
		conn_sent(conn);
}

/* The bus driver's object, made when the client first calls something at
 * its path (a client written for a bus sends Hello first). Others, such as
 * sd-bus clients of a direct connection, never do, and a connection's
 * objects cost it memory. */
static void conn_add_driver(struct endpoint_conn *conn)
{
	int r = sd_bus_add_object_vtable(conn->bus, NULL, "/org/freedesktop/DBus",
					 "org.freedesktop.DBus", driver_vtable, conn);

	if (r < 0)
		log_warning_errno(r, "Endpoint of %s: cannot serve org.freedesktop.DBus",
				  conn->ep->container->name);
	else
		conn->driver = true;
}

/* The connection's one filter: it sees every message sd-bus dispatches,
 * its Disconnected too, before anything else does. (A filter costs less
 * memory than a match, and every connection has one.) */
static int on_dispatched(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct endpoint_conn *conn = userdata;
	const char *path;

	endpoint_input_dispatched(conn->input, m);
	if (sd_bus_message_is_method_call(m, NULL, NULL)) {
		conn->spoke = true;
		path = sd_bus_message_get_path(m);
		if (!conn->driver && conn->ep && path && strcmp(path, "/org/freedesktop/DBus") == 0)
			conn_add_driver(conn);
	} else if (conn->ep && sd_bus_message_is_signal(m, "org.freedesktop.DBus.Local", "Disconnected")) {
		conn_drop(conn);
	}
	return 0;
}

static int find_container(sd_bus *bus, const char *path, const char *interface, void *userdata,
			  void **found, sd_bus_error *error)
{
	struct dbus_container *dc = userdata;

	if (strcmp(path, CONTAINER_SELF_PATH) != 0 && strcmp(path, dc->path) != 0)
		return 0;
	*found = dc;
	return 1;
}

static int enumerate_container(sd_bus *bus, const char *prefix, void *userdata, char ***nodes,
			       sd_bus_error *error)
{
	struct dbus_container *dc = userdata;
	bool self = strcmp(dc->path, CONTAINER_SELF_PATH) == 0;
	char **v = calloc(3, sizeof(char *));

	if (!v)
		return -ENOMEM;
	v[0] = strdup(CONTAINER_SELF_PATH);
	v[1] = self ? NULL : strdup(dc->path);
	if (!v[0] || (!self && !v[1])) {
		free(v[0]);
		free(v[1]);
		free(v);
		return -ENOMEM;
	}
	*nodes = v;
	return 0;
}

static int conn_add_objects(struct endpoint_conn *conn)
{
	struct dbus_container *dc = conn->ep->dc;
	int r;

	r = sd_bus_add_filter(conn->bus, NULL, on_dispatched, conn);
	if (r < 0)
		return r;

	/* The container at its path and at .../self: one fallback vtable
	 * serves both. sd-bus keeps an entry per member, path and connection,
	 * and two objects cost every connection about 2 KiB more. */
	r = sd_bus_add_fallback_vtable(conn->bus, NULL, CONTAINER_PATH_PREFIX, CONTAINER_INTERFACE,
				       container_vtable, find_container, dc);
	if (r < 0)
		return r;
	r = sd_bus_add_node_enumerator(conn->bus, NULL, CONTAINER_PATH_PREFIX, enumerate_container,
				       dc);
	if (r < 0)
		return r;
	/* The seat, read-only and as this container alone sees it. */
	return sd_bus_add_object_vtable(conn->bus, NULL, dc->seat_view.seat->path, SEAT_INTERFACE,
					seat_vtable, &dc->seat_view);
}

/* Lets sd-bus read and dispatch all it has. Returns -ENOTCONN once the
 * connection is dropped (its memory stays until the deferred free). */
static int conn_process(struct endpoint_conn *conn)
{
	int r;

	if (!conn->ep)
		return -ENOTCONN;
	do
		r = sd_bus_process(conn->bus, NULL);
	while (r > 0 && conn->ep);
	if (!conn->ep)
		return -ENOTCONN; /* it hung up meanwhile: on_dispatched() dropped it */
	if (r < 0) {
		/* A failed handshake leaves sd-bus stuck authenticating:
		 * hang up rather than keep the client waiting. */
		log_debug_errno(r, "Endpoint of %s: connection failed", conn->ep->container->name);
		conn_drop(conn);
		return r;
	}
	conn_sync(conn);
	return 0;
}

/* sd-bus (252) leaves a message that arrives in the same read as the
 * client's BEGIN in its buffer until it is asked to process again, and a
 * client that waits for the Hello reply sends nothing more that would ask
 * (libdbus). So until the connection is running, process it after every
 * loop iteration. */
static int conn_process_auth(sd_event_source *s, void *userdata)
{
	struct endpoint_conn *conn = userdata;

	if (conn_process(conn) >= 0 && sd_bus_is_ready(conn->bus) > 0)
		conn->auth_source = sd_event_source_disable_unref(conn->auth_source);
	return 0;
}

static int input_process(void *userdata)
{
	return conn_process(userdata);
}

static void input_hang_up(void *userdata, const char *why)
{
	struct endpoint_conn *conn = userdata;

	if (!conn->ep)
		return;
	log_debug("Endpoint of %s: hanging up on a client: %s", conn->ep->container->name, why);
	conn_drop(conn);
}

static const struct endpoint_input_ops input_ops = {
	.process = input_process,
	.hang_up = input_hang_up,
};

static int conn_new(struct endpoint *ep, int fd)
{
	struct container *c = ep->container;
	struct endpoint_conn *conn;
	sd_id128_t id;
	int bus_in, bus_out, r;

	conn = calloc(1, sizeof(*conn));
	if (!conn) {
		close(fd);
		return -ENOMEM;
	}
	conn->n_ref = 1;
	conn->ep = ep;
	conn->bus_output_fd = -1;
	conn->id = ++ep->next_id;
	if (peer_uid(fd, &conn->uid) < 0)
		conn->uid = (uid_t)-1;

	r = sd_bus_new(&conn->bus);
	if (r < 0)
		goto fail_fd;
	/* sd-bus reads through us (endpoint-input.h) and writes to the client. */
	r = endpoint_input_new(c->broker->event, fd, &input_ops, conn, &conn->input, &bus_in, &bus_out);
	fd = -1;
	if (r < 0)
		goto fail;
	r = sd_bus_set_fd(conn->bus, bus_in, bus_out);
	if (r < 0) {
		close(bus_in);
		close(bus_out);
		goto fail;
	}
	conn->bus_output_fd = bus_out;
	(void)sd_id128_randomize(&id);
	if ((r = sd_bus_set_server(conn->bus, 1, id)) < 0 ||
	    /* Uids inside user namespaces mean nothing here; the pid
	     * namespace check above is the authentication. */
	    (r = sd_bus_set_anonymous(conn->bus, 1)) < 0 ||
	    (r = sd_bus_negotiate_fds(conn->bus, 1)) < 0 ||
	    (r = sd_bus_set_sender(conn->bus, BROKER_BUS_NAME)) < 0 ||
	    (r = sd_bus_set_description(conn->bus, c->name)) < 0 ||
	    (r = conn_add_objects(conn)) < 0 ||
	    (r = sd_bus_start(conn->bus)) < 0 ||
	    (r = sd_event_add_post(c->broker->event, &conn->auth_source, conn_process_auth, conn)) < 0)
		goto fail;

	list_append(&ep->conns, &conn->link);
	ep->n_conns++;
	conn_sync(conn); /* the handshake's timeout */
	return 0;

fail_fd:
	if (fd >= 0)
		close(fd);
fail:
	conn_destroy(conn);
	return r;
}

static void on_accepted(void *userdata, int fd, pid_t pid)
{
	struct endpoint *ep = userdata;
	int r = conn_new(ep, fd);

	if (r < 0)
		log_warning_errno(r, "Endpoint of %s: cannot set up connection", ep->container->name);
}

int endpoint_new(struct dbus_container *dc, const char *socket_path, struct endpoint **ret)
{
	struct container *c = dc->container;
	struct endpoint *ep;
	int r;

	ep = calloc(1, sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	ep->dc = dc;
	ep->container = c;
	list_init(&ep->conns);
	r = peer_listener_new(c->broker->event, &(struct peer_listener_args) {
		.path = socket_path, .ns = &c->pidns, .kind = "Endpoint", .name = c->name,
		.n_conns = &ep->n_conns, .max_conns = ENDPOINT_MAX_CONNECTIONS,
		.accepted = on_accepted, .userdata = ep, .stored = true,
	}, &ep->listener);
	if (r < 0) {
		free(ep);
		return r;
	}
	*ret = ep;
	return 0;
}

struct endpoint_conn *endpoint_conn_of_call(struct endpoint *ep, sd_bus_message *m)
{
	sd_bus *bus = sd_bus_message_get_bus(m);
	struct endpoint_conn *conn;

	if (!ep)
		return NULL;
	list_for_each(conn, &ep->conns, link)
		if (conn->bus == bus) {
			conn->n_ref++;
			return conn;
		}
	return NULL;
}

void endpoint_conn_sent_unref(struct endpoint_conn *conn)
{
	if (!conn)
		return;
	conn_sent(conn);
	conn_unref(conn);
}

int endpoint_peer_uid(struct endpoint *ep, sd_bus *bus, uid_t *ret)
{
	struct endpoint_conn *conn;

	if (!ep)
		return -ENOTCONN;
	list_for_each(conn, &ep->conns, link)
		if (conn->bus == bus) {
			if (conn->uid == (uid_t)-1)
				return -ENODATA;
			*ret = conn->uid;
			return 0;
		}
	return -ENOTCONN;
}

void endpoint_free(struct endpoint *ep)
{
	struct endpoint_conn *conn, *tmp;

	if (!ep)
		return;
	list_for_each_safe(conn, tmp, &ep->conns, link) {
		list_remove(&conn->link);
		conn_destroy(conn);
	}
	peer_listener_free(ep->listener);
	free(ep);
}

void endpoint_emit_properties_changed(struct endpoint *ep, const char *path,
				      const char *interface, const char *property)
{
	char *names[] = { (char *)property, NULL };
	struct endpoint_conn *conn;

	list_for_each(conn, &ep->conns, link)
		if (conn->spoke) {
			sd_bus_emit_properties_changed_strv(conn->bus, path, interface, names);
			conn_sent(conn);
		}
}

static bool endpoint_has_listeners(struct endpoint *ep)
{
	struct endpoint_conn *conn;

	list_for_each(conn, &ep->conns, link)
		if (conn->spoke)
			return true;
	return false;
}

static void endpoint_send(struct endpoint *ep, sd_bus_message *m)
{
	struct endpoint_conn *conn;

	list_for_each(conn, &ep->conns, link)
		if (conn->spoke) {
			(void)sd_bus_send(conn->bus, m, NULL);
			conn_sent(conn);
		}
}

/* Sends *slot to every connection that may hear signals, building it on
 * the broker's bus first when it is NULL: the same message goes to each
 * connection, and again at the next change to the same value. */
static void endpoint_send_changed(struct endpoint *ep, sd_bus_message **slot, const char *path,
				  const char *interface, const char *property, const char *type, ...)
{
	va_list ap;
	int r;

	if (!endpoint_has_listeners(ep))
		return;
	if (!*slot) {
		va_start(ap, type);
		r = properties_changed_newv(ep->dc->transport->bus, slot, path, interface, property,
					    type, ap);
		va_end(ap);
		if (r < 0) {
			log_debug_errno(r, "Endpoint of %s: cannot announce %s", ep->container->name,
					  property);
			return;
		}
	}
	endpoint_send(ep, *slot);
}

void endpoint_emit_switched(struct endpoint *ep, bool active, bool devices)
{
	const char *paths[] = { ep->dc->path, CONTAINER_SELF_PATH };
	struct dbus_container_kept *k;

	if (!endpoint_has_listeners(ep))
		return;
	k = dbus_seat_keep_signals(ep->dc);
	for (size_t i = 0; i < ARRAY_SIZE(paths); i++) {
		sd_bus_message *m = container_changes_get(ep->dc, k ? &k->endpoint_changes[i] : NULL,
							  paths[i], active, devices);

		if (!m) {
			log_debug("Endpoint of %s: cannot announce its switch", ep->container->name);
			return;
		}
		endpoint_send(ep, m);
		sd_bus_message_unref(m);
	}
}

/* The endpoint's seat shows its own container or none (seat-dbus.c). */
void endpoint_emit_seat_active_changed(struct endpoint *ep)
{
	struct dbus_container *dc = ep->dc;
	bool active = container_is_active(ep->container);
	struct dbus_container_kept *k;
	sd_bus_message *once = NULL, **slot;

	if (!endpoint_has_listeners(ep))
		return;
	k = dbus_seat_keep_signals(dc);
	slot = k ? &k->endpoint_seat_active_changed[active] : &once;
	if (active)
		endpoint_send_changed(ep, slot, dc->seat_view.seat->path, SEAT_INTERFACE,
				      "ActiveContainer", "(so)", ep->container->name, dc->path);
	else
		endpoint_send_changed(ep, slot, dc->seat_view.seat->path, SEAT_INTERFACE,
				      "ActiveContainer", "(so)", "", "/");
	sd_bus_message_unref(once);
}
