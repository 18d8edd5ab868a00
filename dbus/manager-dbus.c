/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "common/macro.h"
#include "dbus/bus-error.h"
#include "dbus/dbus.h"
#include "seat/names.h"

bool bus_is_broker_bus(struct broker *b, sd_bus_message *m)
{
	return sd_bus_message_get_bus(m) == b->bus;
}

/* A call routed by the bus daemon carries no credentials, so sd-bus asks
 * the daemon about its sender: a synchronous round trip. The answer is kept
 * per unique name, which the daemon never hands out twice while it runs;
 * the uid it reports is the one the connection was made with. So a kept
 * answer is never stale, and the table only bounds how many are kept. */
static int sender_euid(struct broker *b, sd_bus_message *m, uid_t *ret)
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
		for (e = b->sender_uids; e < b->sender_uids + ARRAY_SIZE(b->sender_uids); e++)
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
	e = &b->sender_uids[b->sender_uids_next];
	b->sender_uids_next = (b->sender_uids_next + 1) % ARRAY_SIZE(b->sender_uids);
	strcpy(e->name, sender);
	e->uid = *ret;
	return 0;
}

int bus_check_privileged(struct broker *b, sd_bus_message *m, sd_bus_error *error)
{
	uid_t euid;
	int r;

	/* A container endpoint admitted its peer by pid namespace already. */
	if (!bus_is_broker_bus(b, m))
		return 1;
	r = sender_euid(b, m, &euid);
	if (r < 0)
		return bus_error_errnof(error, -EPERM, "Cannot determine the caller's user: %s", strerror(-r));
	if (euid != 0)
		return bus_error_errnof(error, -EPERM, "Only root may change the broker's state");
	return 1;
}

int bus_reply_switch(sd_bus_message *m, int r)
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

static int property_get_kernel_devns(sd_bus *bus, const char *path, const char *interface,
				     const char *property, sd_bus_message *reply,
				     void *userdata, sd_bus_error *error)
{
	struct broker *b = userdata;

	return sd_bus_message_append(reply, "b", b->kernel != NULL);
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

static int read_options(sd_bus_message *m, struct container_options *opts, sd_bus_error *error)
{
	int r;

	r = sd_bus_message_enter_container(m, 'a', "{sv}");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_enter_container(m, 'e', "sv")) > 0) {
		const char *key;
		int v;

		r = sd_bus_message_read(m, "s", &key);
		if (r < 0)
			return r;
		if (strcmp(key, "AllowActivate") != 0)
			return bus_error_errnof(error, -EINVAL, "Unknown option '%s'", key);
		r = sd_bus_message_enter_container(m, 'v', "b");
		if (r < 0)
			return bus_error_errnof(error, -EINVAL, "Option AllowActivate takes a boolean");
		r = sd_bus_message_read(m, "b", &v);
		if (r < 0)
			return r;
		opts->allow_activate = v;
		if ((r = sd_bus_message_exit_container(m)) < 0 ||
		    (r = sd_bus_message_exit_container(m)) < 0)
			return r;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int method_register_container(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct broker *b = userdata;
	struct container_options opts = { 0 };
	const char *name, *seat_id;
	struct broker_seat *bs;
	struct container *c;
	uint32_t leader;
	int r;

	r = sd_bus_message_read(m, "ssu", &name, &seat_id, &leader);
	if (r < 0)
		return r;
	r = bus_check_privileged(b, m, error);
	if (r < 0)
		return r;
	r = read_options(m, &opts, error);
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

	r = container_new(b, name, bs, (pid_t)leader, &opts, &c);
	if (r == -ESRCH)
		return bus_error_errnof(error, -EINVAL, "No process with pid %u", leader);
	if (r < 0)
		return bus_error_errnof(error, r, "Cannot register container '%s': %s", name, strerror(-r));
	return sd_bus_reply_method_return(m, "o", c->path);
}

static int method_unregister_container(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct broker *b = userdata;
	struct container *c;
	const char *name;
	int r;

	r = sd_bus_message_read(m, "s", &name);
	if (r < 0)
		return r;
	r = bus_check_privileged(b, m, error);
	if (r < 0)
		return r;
	r = lookup_container(b, name, error, &c);
	if (r < 0)
		return r;
	container_free(c);
	return sd_bus_reply_method_return(m, NULL);
}

static int method_get_container(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct container *c;
	const char *name;
	int r;

	r = sd_bus_message_read(m, "s", &name);
	if (r < 0)
		return r;
	r = lookup_container(userdata, name, error, &c);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, "o", c->path);
}

static int method_get_seat(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct broker_seat *bs;
	const char *id;
	int r;

	r = sd_bus_message_read(m, "s", &id);
	if (r < 0)
		return r;
	r = lookup_seat(userdata, id, error, &bs);
	if (r < 0)
		return r;
	return sd_bus_reply_method_return(m, "o", bs->path);
}

static int method_list_containers(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct broker *b = userdata;
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
					  container_is_active(c), c->path);
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
	struct broker *b = userdata;
	sd_bus_message *reply = NULL;
	struct broker_seat *bs;
	int r;

	r = sd_bus_message_new_method_return(m, &reply);
	if (r >= 0)
		r = sd_bus_message_open_container(reply, 'a', "(so)");
	list_for_each(bs, &b->seats, link) {
		if (r < 0)
			break;
		r = sd_bus_message_append(reply, "(so)", bs->seat->id, bs->path);
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
	struct broker *b = userdata;
	struct container *target = NULL;
	const char *seat_id, *name;
	struct broker_seat *bs;
	int r;

	r = sd_bus_message_read(m, "ss", &seat_id, &name);
	if (r < 0)
		return r;
	r = bus_check_privileged(b, m, error);
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
	r = broker_switch(bs, SEAT_SWITCH_TO, target, m);
	if (r < 0)
		return bus_error_errnof(error, r, "Cannot switch %s", bs->seat->id);
	return 1; /* answered when the switch is complete */
}

const sd_bus_vtable manager_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Version", "s", property_get_version, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("KernelDevns", "b", property_get_kernel_devns, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("RuntimeDirectory", "s", NULL, offsetof(struct broker, runtime_dir), SD_BUS_VTABLE_PROPERTY_CONST),
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
	_cleanup_free_ char *name = NULL;
	struct container *c;
	int r;

	r = sd_bus_path_decode(path, CONTAINER_PATH_PREFIX, &name);
	if (r <= 0)
		return 0;
	c = broker_find_container(userdata, name);
	if (!c)
		return 0;
	*found = c;
	return 1;
}

static void strv_free(char **v)
{
	for (char **p = v; p && *p; p++)
		free(*p);
	free(v);
}

/* Appends a copy of s to v, which has room for it and a NULL after it. */
static int strv_put(char **v, size_t *n, const char *s)
{
	v[*n] = strdup(s);
	if (!v[*n])
		return -ENOMEM;
	(*n)++;
	return 0;
}

static int container_enumerate(sd_bus *bus, const char *path, void *userdata,
			       char ***nodes, sd_bus_error *error)
{
	struct broker *b = userdata;
	struct container *c;
	size_t n = 0;
	char **v = calloc(list_length(&b->containers) + 1, sizeof(char *));

	if (!v)
		return -ENOMEM;
	list_for_each(c, &b->containers, link)
		if (strv_put(v, &n, c->path) < 0) {
			strv_free(v);
			return -ENOMEM;
		}
	*nodes = v;
	return 0;
}

static int seat_enumerate(sd_bus *bus, const char *path, void *userdata,
			  char ***nodes, sd_bus_error *error)
{
	struct broker *b = userdata;
	struct broker_seat *bs;
	size_t n = 0;
	char **v = calloc(list_length(&b->seats) + 1, sizeof(char *));

	if (!v)
		return -ENOMEM;
	list_for_each(bs, &b->seats, link)
		if (strv_put(v, &n, bs->path) < 0) {
			strv_free(v);
			return -ENOMEM;
		}
	*nodes = v;
	return 0;
}

int manager_dbus_register(struct broker *b)
{
	int r;

	if ((r = sd_bus_add_object_vtable(b->bus, NULL, BROKER_OBJECT_PATH, MANAGER_INTERFACE,
					  manager_vtable, b)) < 0 ||
	    (r = sd_bus_add_fallback_vtable(b->bus, NULL, SEAT_PATH_PREFIX, SEAT_INTERFACE,
					    seat_vtable, seat_dbus_find, b)) < 0 ||
	    (r = sd_bus_add_node_enumerator(b->bus, NULL, SEAT_PATH_PREFIX, seat_enumerate, b)) < 0 ||
	    (r = sd_bus_add_fallback_vtable(b->bus, NULL, CONTAINER_PATH_PREFIX, CONTAINER_INTERFACE,
					    container_vtable, container_find, b)) < 0 ||
	    (r = sd_bus_add_node_enumerator(b->bus, NULL, CONTAINER_PATH_PREFIX, container_enumerate, b)) < 0)
		return r;
	return 0;
}

void manager_dbus_emit_container(struct container *c, bool added)
{
	sd_bus_emit_signal(c->broker->bus, BROKER_OBJECT_PATH, MANAGER_INTERFACE,
			   added ? "ContainerNew" : "ContainerRemoved", "so", c->name, c->path);
}

void manager_dbus_emit_seat(struct broker_seat *bs, bool added)
{
	sd_bus_emit_signal(bs->broker->bus, BROKER_OBJECT_PATH, MANAGER_INTERFACE,
			   added ? "SeatNew" : "SeatRemoved", "so",
			   bs->seat->id, bs->path);
}
