/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "dbus/bus-error.h"
#include "dbus/dbus.h"
#include "broker/outputs.h"
#include "dbus/endpoint.h"
#include "seat/names.h"

bool bus_is_broker_bus(struct dbus_transport *t, sd_bus_message *m)
{
	return sd_bus_message_get_bus(m) == t->bus;
}

/* A call routed by the bus daemon carries no credentials, so sd-bus asks
 * the daemon about its sender: a synchronous round trip. The answer is kept
 * per unique name, which the daemon never hands out twice while it runs;
 * the uid it reports is the one the connection was made with. So a kept
 * answer is never stale, and the table only bounds how many are kept. */
static int sender_euid(struct dbus_transport *t, sd_bus_message *m, uid_t *ret)
{
	const char *sender = sd_bus_message_get_sender(m);
	sd_bus_creds *creds = NULL;
	struct sender_uid *e;
	bool keep;
	int r;

	/* On a direct connection the sender field is the peer's own word. */
	keep = sender && sender[0] == ':' && strlen(sender) < sizeof(e->name) &&
	       sd_bus_is_bus_client(sd_bus_message_get_bus(m)) > 0;
	if (keep)
		for (e = t->sender_uids; e < t->sender_uids + ARRAY_SIZE(t->sender_uids); e++)
			if (strcmp(e->name, sender) == 0) {
				*ret = e->uid;
				return 0;
			}
	r = sd_bus_query_sender_creds(m, SD_BUS_CREDS_EUID, &creds);
	if (r >= 0)
		r = sd_bus_creds_get_euid(creds, ret);
	sd_bus_creds_unref(creds);
	if (r < 0 || !keep)
		return r;
	e = &t->sender_uids[t->sender_uids_next];
	t->sender_uids_next = (t->sender_uids_next + 1) % ARRAY_SIZE(t->sender_uids);
	strcpy(e->name, sender);
	e->uid = *ret;
	return 0;
}

int bus_check_privileged(struct dbus_transport *t, sd_bus_message *m, sd_bus_error *error)
{
	uid_t euid;
	int r;

	/* A container endpoint admitted its peer by pid namespace already. */
	if (!bus_is_broker_bus(t, m))
		return 1;
	r = sender_euid(t, m, &euid);
	if (r < 0)
		return bus_error_errnof(error, -EPERM, "Cannot determine the caller's user: %s", strerror(-r));
	if (euid != 0)
		return bus_error_errnof(error, -EPERM, "Only root may change the broker's state");
	return 1;
}

static int bus_reply_switch(sd_bus_message *m, int r)
{
	if (r >= 0)
		return sd_bus_reply_method_return(m, NULL);
	if (r == -ERRNO_NO_SUCH_CONTAINER)
		return sd_bus_reply_method_errorf(m, BUS_ERROR_NO_SUCH_CONTAINER,
						  "The target container was removed during the switch");
	if (r == -ESHUTDOWN)
		return sd_bus_reply_method_errorf(m, BUS_ERROR_SWITCH_FAILED,
						  "The broker is shutting down");
	return sd_bus_reply_method_errorf(m, BUS_ERROR_SWITCH_FAILED,
					  "The switch failed (%s); the seat has no active container",
					  strerror(-r));
}

static void on_switch_done(void *userdata, int r)
{
	sd_bus_message *m = userdata;

	bus_reply_switch(m, r);
	sd_bus_message_unref(m);
}

/* A switch asked for on an endpoint connection. Its answer goes out from
 * outside that connection's dispatch, so the endpoint is told of it: it
 * may have to wait for the client to read (endpoint.h). */
struct endpoint_switch_call {
	sd_bus_message *m;
	struct endpoint_conn *conn;
};

static void on_endpoint_switch_done(void *userdata, int r)
{
	struct endpoint_switch_call *call = userdata;

	bus_reply_switch(call->m, r);
	endpoint_conn_sent_unref(call->conn);
	sd_bus_message_unref(call->m);
	free(call);
}

int bus_switch(struct broker_seat *bs, enum seat_switch_kind kind, struct container *target,
	       sd_bus_message *m, struct endpoint *ep, sd_bus_error *error)
{
	struct endpoint_conn *conn = endpoint_conn_of_call(ep, m);
	struct endpoint_switch_call *call = NULL;
	int r;

	/* Referenced before: the switch may complete, and the reference be
	 * dropped, before broker_switch() returns. */
	if (conn) {
		call = malloc(sizeof(*call));
		if (!call) {
			endpoint_conn_sent_unref(conn);
			return bus_error_errnof(error, -ENOMEM, "Cannot switch %s", bs->seat->id);
		}
		*call = (struct endpoint_switch_call) { .m = sd_bus_message_ref(m), .conn = conn };
		r = broker_switch(bs, kind, target, on_endpoint_switch_done, call);
	} else {
		r = broker_switch(bs, kind, target, on_switch_done, sd_bus_message_ref(m));
	}
	if (r < 0) {
		sd_bus_message_unref(m);
		if (call) {
			endpoint_conn_sent_unref(conn);
			free(call);
		}
		return bus_error_errnof(error, r, "Cannot switch %s", bs->seat->id);
	}
	return 1; /* answered when the switch is complete */
}

static int property_get_kernel_devns(sd_bus *bus, const char *path, const char *interface,
				     const char *property, sd_bus_message *reply,
				     void *userdata, sd_bus_error *error)
{
	struct dbus_transport *t = userdata;

	return sd_bus_message_append(reply, "b", t->broker->kernel != NULL);
}

static int property_get_runtime_directory(sd_bus *bus, const char *path, const char *interface,
					 const char *property, sd_bus_message *reply,
					 void *userdata, sd_bus_error *error)
{
	struct dbus_transport *t = userdata;

	return sd_bus_message_append(reply, "s", t->broker->runtime_dir);
}

static int property_get_version(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply,
				void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", DEVNS_VERSION);
}

static int lookup_container(struct broker *b, const char *name, sd_bus_error *error,
			    struct container **ret)
{
	if (!container_name_is_valid(name))
		return bus_error_errnof(error, -EINVAL, "Invalid container name '%s'", name);
	*ret = broker_find_container(b, name);
	if (!*ret)
		return bus_error_errnof(error, -ERRNO_NO_SUCH_CONTAINER, "No such container '%s'", name);
	return 0;
}

static int lookup_seat(struct broker *b, const char *id, sd_bus_error *error,
		       struct broker_seat **ret)
{
	if (!id[0])
		id = "seat0";
	if (!seat_id_is_valid(id))
		return bus_error_errnof(error, -EINVAL, "Invalid seat name '%s'", id);
	*ret = broker_find_seat(b, id);
	if (!*ret)
		return bus_error_errnof(error, -ERRNO_NO_SUCH_SEAT, "No such seat '%s'", id);
	return 0;
}

/* One option's value, of the type the option takes. */
static int read_option_value(sd_bus_message *m, const char *key, char type, uint32_t *ret,
			     sd_bus_error *error)
{
	const char sig[2] = { type, '\0' };
	int r;

	r = sd_bus_message_enter_container(m, 'v', sig);
	if (r < 0)
		return bus_error_errnof(error, -EINVAL, "Option %s takes a %s", key,
					type == 'b' ? "boolean" : "uint32");
	if (type == 'b') {
		int v;

		r = sd_bus_message_read(m, "b", &v);
		*ret = !!v;
	} else
		r = sd_bus_message_read(m, "u", ret);
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int read_outputs(sd_bus_message *m, char ***outputs, sd_bus_error *error)
{
	int r;

	r = sd_bus_message_enter_container(m, 'v', "as");
	if (r < 0)
		return bus_error_errnof(error, -EINVAL, "Option Outputs takes an array of strings");
	strv_free(*outputs);
	*outputs = NULL;
	r = sd_bus_message_read_strv(m, outputs);
	if (r < 0)
		return r;
	/* sd-bus reads an empty array as NULL; given empty is an error. */
	if (!*outputs && !(*outputs = calloc(1, sizeof(**outputs))))
		return -ENOMEM;
	return sd_bus_message_exit_container(m);
}

/* AllowActivate and Outputs are the broker's; every other option is the
 * broker's (ControlUser) or a transport's (broker_find_option()), and an
 * unknown one is an error. */
static int read_options(struct broker *b, sd_bus_message *m, struct container_options *opts,
			char ***outputs, sd_bus_error *error)
{
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const struct broker_option *o = NULL;
		const char *key;
		uint32_t v;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		if (strcmp(key, "Outputs") == 0) {
			r = read_outputs(m, outputs, error);
			if (r >= 0)
				r = sd_bus_message_exit_container(m);
			if (r < 0)
				return r;
			continue;
		}
		if (strcmp(key, "AllowActivate") != 0 && !(o = broker_find_option(b, key)))
			return bus_error_errnof(error, -EINVAL, "Unknown option '%s'", key);
		r = read_option_value(m, key, !o || o->type == BROKER_OPTION_BOOL ? 'b' : 'u',
				      &v, error);
		if (r < 0)
			return r;
		if (!o)
			opts->allow_activate = v;
		else if (container_options_set(opts, o, v) < 0)
			return bus_error_errnof(error, -EINVAL, "Too many options");
		r = sd_bus_message_exit_container(m);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* The reasons outputs_check() refuses, as InvalidArgs a user can act on. */
static int check_outputs(struct broker *b, struct broker_seat *bs, char **outputs,
			 sd_bus_error *error)
{
	size_t n = strv_length(outputs);
	_cleanup_free_ char *card = NULL;
	struct container *owner;
	const char *bad;
	int r;

	if (n == 0)
		return bus_error_errnof(error, -EINVAL, "Outputs is empty: leave it out for none");
	r = outputs_check(b, bs, outputs, n, &card, &bad);
	switch (r) {
	case 0:
		return 0;
	case -EINVAL:
		if (n > CONTAINER_OUTPUTS_MAX)
			return bus_error_errnof(error, r, "At most %d outputs", CONTAINER_OUTPUTS_MAX);
		if (!output_name_is_valid(bad))
			return bus_error_errnof(error, r,
						"Invalid output name '%s': 1 to 32 of [A-Za-z0-9-]", bad);
		return bus_error_errnof(error, r, "Output '%s' is given twice", bad);
	case -ENOENT:
		return bus_error_errnof(error, -EINVAL, "No connector '%s' on a card of %s", bad,
					bs->seat->id);
	case -EXDEV:
		return bus_error_errnof(error, -EINVAL,
					"Output '%s' is on another card than the first: one card per container",
					bad);
	case -EBUSY:
		owner = outputs_owner(bs, bad);
		return bus_error_errnof(error, -EINVAL, "Output '%s' is leased to container '%s'",
					bad, owner ? owner->name : "?");
	}
	return bus_error_errnof(error, r, "Cannot check the outputs: %s", strerror(-r));
}

static int method_register_container(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct dbus_transport *t = userdata;
	struct broker *b = t->broker;
	struct container_options opts = { 0 };
	_cleanup_strv_free_ char **outputs = NULL;
	const char *name, *seat_id;
	struct broker_seat *bs;
	struct container *c;
	uint32_t leader;
	int r;

	r = sd_bus_message_read(m, "ssu", &name, &seat_id, &leader);
	if (r < 0)
		return r;
	r = bus_check_privileged(t, m, error);
	if (r < 0)
		return r;
	r = read_options(b, m, &opts, &outputs, error);
	if (r < 0)
		return r;
	if (!container_name_is_valid(name))
		return bus_error_errnof(error, -EINVAL,
					"Invalid container name '%s': 1 to 64 of [A-Za-z0-9_.-], not starting with '.' or '-'",
					name);
	r = lookup_seat(b, seat_id, error, &bs);
	if (r < 0)
		return r;
	if (broker_find_container(b, name))
		return bus_error_errnof(error, -ERRNO_CONTAINER_EXISTS, "Container '%s' exists already", name);
	if (leader == 0 || leader > INT32_MAX)
		return bus_error_errnof(error, -EINVAL, "Invalid leader pid %u", leader);
	if (outputs) {
		r = check_outputs(b, bs, outputs, error);
		if (r < 0)
			return r;
		opts.outputs = outputs;
		opts.n_outputs = strv_length(outputs);
	}

	r = container_new(b, name, bs, (pid_t)leader, &opts, &c);
	if (r == -ESRCH)
		return bus_error_errnof(error, -EINVAL, "No process with pid %u", leader);
	if (r < 0)
		return bus_error_errnof(error, r, "Cannot register container '%s': %s", name, strerror(-r));
	return sd_bus_reply_method_return(m, "o", dbus_container_of(t, c)->path);
}

static int method_unregister_container(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct dbus_transport *t = userdata;
	struct container *c;
	const char *name;
	int r;

	r = sd_bus_message_read(m, "s", &name);
	if (r < 0)
		return r;
	r = bus_check_privileged(t, m, error);
	if (r < 0)
		return r;
	r = lookup_container(t->broker, name, error, &c);
	if (r < 0)
		return r;
	container_free(c);
	return sd_bus_reply_method_return(m, NULL);
}

static int method_get_container(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct dbus_transport *t = userdata;
	struct container *c;
	const char *name;
	int r;

	r = sd_bus_message_read(m, "s", &name);
	if (r < 0)
		return r;
	r = lookup_container(t->broker, name, error, &c);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, "o", dbus_container_of(t, c)->path);
}

static int method_get_seat(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct dbus_transport *t = userdata;
	struct broker_seat *bs;
	const char *id;
	int r;

	r = sd_bus_message_read(m, "s", &id);
	if (r < 0)
		return r;
	r = lookup_seat(t->broker, id, error, &bs);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, "o", dbus_seat_of(t, bs)->path);
}

static int method_list_containers(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct dbus_transport *t = userdata;
	struct broker *b = t->broker;
	sd_bus_message *reply = NULL;
	struct container *c;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(ssbo)");
	list_for_each(c, &b->containers, link) {
		if (r < 0)
			break;
		r = sd_bus_message_append(reply, "(ssbo)", c->name, c->seat->seat->id,
					  container_is_active(c), dbus_container_of(t, c)->path);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

static int method_list_seats(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct dbus_transport *t = userdata;
	struct broker *b = t->broker;
	sd_bus_message *reply = NULL;
	struct broker_seat *bs;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(so)");
	list_for_each(bs, &b->seats, link) {
		if (r < 0)
			break;
		r = sd_bus_message_append(reply, "(so)", bs->seat->id, dbus_seat_of(t, bs)->path);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(reply);
	if (r >= 0)
		r = sd_bus_send(NULL, reply, NULL);
	sd_bus_message_unref(reply);
	return r;
}

static int method_switch_container(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct dbus_transport *t = userdata;
	struct broker *b = t->broker;
	struct container *target = NULL;
	const char *seat_id, *name;
	struct broker_seat *bs;
	int r;

	r = sd_bus_message_read(m, "ss", &seat_id, &name);
	if (r < 0)
		return r;
	r = bus_check_privileged(t, m, error);
	if (r < 0)
		return r;
	r = lookup_seat(b, seat_id, error, &bs);
	if (r < 0)
		return r;
	if (name[0]) {
		r = lookup_container(b, name, error, &target);
		if (r < 0)
			return r;
		if (target->seat != bs)
			return bus_error_errnof(error, -EINVAL, "Container '%s' is on %s, not %s",
						name, target->seat->seat->id, bs->seat->id);
	}
	return bus_switch(bs, SEAT_SWITCH_TO, target, m, NULL, error);
}

const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("KernelDevns", "b", property_get_kernel_devns, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("RuntimeDirectory", "s", property_get_runtime_directory, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_METHOD_WITH_ARGS("RegisterContainer",
				SD_BUS_ARGS("s", name, "s", seat, "u", leader, "a{sv}", options),
				SD_BUS_RESULT("o", container),
				method_register_container, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("UnregisterContainer", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
				method_unregister_container, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetContainer", SD_BUS_ARGS("s", name), SD_BUS_RESULT("o", container),
				method_get_container, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("GetSeat", SD_BUS_ARGS("s", id), SD_BUS_RESULT("o", seat),
				method_get_seat, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListContainers", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(ssbo)", containers),
				method_list_containers, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ListSeats", SD_BUS_NO_ARGS, SD_BUS_RESULT("a(so)", seats),
				method_list_seats, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("SwitchContainer", SD_BUS_ARGS("s", seat, "s", name), SD_BUS_NO_RESULT,
				method_switch_container, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("ContainerNew", SD_BUS_ARGS("s", name, "o", path), 0),
	SD_BUS_SIGNAL_WITH_ARGS("ContainerRemoved", SD_BUS_ARGS("s", name, "o", path), 0),
	SD_BUS_SIGNAL_WITH_ARGS("SeatNew", SD_BUS_ARGS("s", id, "o", path), 0),
	SD_BUS_SIGNAL_WITH_ARGS("SeatRemoved", SD_BUS_ARGS("s", id, "o", path), 0),
	SD_BUS_VTABLE_END
};

static int container_find(sd_bus *bus, const char *path, const char *interface,
			  void *userdata, void **found, sd_bus_error *error)
{
	struct dbus_transport *t = userdata;
	_cleanup_free_ char *name = NULL;
	struct container *c;
	int r;

	r = sd_bus_path_decode(path, CONTAINER_PATH_PREFIX, &name);
	if (r <= 0)
		return 0;
	c = broker_find_container(t->broker, name);
	if (!c)
		return 0;
	*found = dbus_container_of(t, c);
	return 1;
}

/* The object paths of a broker list (its containers or seats) for a node
 * enumerator: path_of() gives the path of an element's list link. */
static int enumerate_paths(struct dbus_transport *t, const struct list *head,
			   const char *(*path_of)(struct dbus_transport *t, const struct list *link),
			   char ***nodes)
{
	char **v = calloc(list_length(head) + 1, sizeof(char *));
	size_t n = 0;

	if (!v)
		return -ENOMEM;
	for (const struct list *l = head->next; l != head; l = l->next) {
		v[n] = strdup(path_of(t, l));
		if (!v[n]) {
			while (n > 0)
				free(v[--n]);
			free(v);
			return -ENOMEM;
		}
		n++;
	}
	*nodes = v;
	return 0;
}

static const char *container_path_of(struct dbus_transport *t, const struct list *link)
{
	return dbus_container_of(t, container_of(link, struct container, link))->path;
}

static const char *seat_path_of(struct dbus_transport *t, const struct list *link)
{
	return dbus_seat_of(t, container_of(link, struct broker_seat, link))->path;
}

static int container_enumerate(sd_bus *bus, const char *path, void *userdata,
			       char ***nodes, sd_bus_error *error)
{
	struct dbus_transport *t = userdata;

	return enumerate_paths(t, &t->broker->containers, container_path_of, nodes);
}

static int seat_enumerate(sd_bus *bus, const char *path, void *userdata,
			  char ***nodes, sd_bus_error *error)
{
	struct dbus_transport *t = userdata;

	return enumerate_paths(t, &t->broker->seats, seat_path_of, nodes);
}

int manager_dbus_register(struct dbus_transport *t)
{
	int r;

	if ((r = sd_bus_add_object_vtable(t->bus, NULL, BROKER_OBJECT_PATH, MANAGER_INTERFACE,
					  manager_vtable, t)) < 0 ||
	    (r = sd_bus_add_fallback_vtable(t->bus, NULL, SEAT_PATH_PREFIX, SEAT_INTERFACE,
					    seat_vtable, seat_dbus_find, t)) < 0 ||
	    (r = sd_bus_add_node_enumerator(t->bus, NULL, SEAT_PATH_PREFIX, seat_enumerate, t)) < 0 ||
	    (r = sd_bus_add_fallback_vtable(t->bus, NULL, CONTAINER_PATH_PREFIX, CONTAINER_INTERFACE,
					    container_vtable, container_find, t)) < 0 ||
	    (r = sd_bus_add_node_enumerator(t->bus, NULL, CONTAINER_PATH_PREFIX, container_enumerate, t)) < 0)
		return r;
	return 0;
}

void manager_dbus_emit_container(struct dbus_container *dc, bool added)
{
	sd_bus_emit_signal(dc->transport->bus, BROKER_OBJECT_PATH, MANAGER_INTERFACE,
			   added ? "ContainerNew" : "ContainerRemoved", "so",
			   dc->container->name, dc->path);
}

void manager_dbus_emit_seat(struct dbus_seat *ds, bool added)
{
	sd_bus_emit_signal(ds->transport->bus, BROKER_OBJECT_PATH, MANAGER_INTERFACE,
			   added ? "SeatNew" : "SeatRemoved", "so", ds->seat->seat->id, ds->path);
}
