/* SPDX-License-Identifier: MIT */
#include "ctl/props.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"

typedef int (*prop_parse_fn)(sd_bus_message *m, void *dest);

struct prop_map {
	const char *member;
	const char *signature;
	prop_parse_fn parse;
	size_t offset;
};

static int dup_into(char **dest, const char *s)
{
	char *c = strdup(s);

	if (!c)
		return -ENOMEM;
	free(*dest);
	*dest = c;
	return 0;
}

static int parse_string(sd_bus_message *m, void *dest)
{
	const char *s;
	int r;

	r = sd_bus_message_read_basic(m, 's', &s);
	if (r < 0)
		return r;
	return dup_into(dest, s);
}

static int parse_u32(sd_bus_message *m, void *dest)
{
	return sd_bus_message_read_basic(m, 'u', dest);
}

static int parse_bool(sd_bus_message *m, void *dest)
{
	int b, r;

	r = sd_bus_message_read_basic(m, 'b', &b);
	if (r < 0)
		return r;
	*(bool *)dest = b;
	return 0;
}

static int parse_name_path(sd_bus_message *m, void *dest)
{
	struct name_path *np = dest;
	const char *name, *path;
	int r;

	r = sd_bus_message_read(m, "(so)", &name, &path);
	if (r < 0)
		return r;
	r = dup_into(&np->name, name);
	if (r < 0)
		return r;
	return dup_into(&np->path, path);
}

/* Grows *items by one zeroed element of size sz. */
static void *array_append(void *items, size_t *n, size_t sz)
{
	char *p = realloc(items, (*n + 1) * sz);

	if (!p)
		return NULL;
	memset(p + *n * sz, 0, sz);
	(*n)++;
	return p;
}

static int parse_seat_containers(sd_bus_message *m, void *dest)
{
	struct name_path_list *l = dest;
	const char *name, *path;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "(so)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(m, "(so)", &name, &path)) > 0) {
		struct name_path *items, *np;

		items = array_append(l->items, &l->n,
				     sizeof(*items));
		if (!items)
			return -ENOMEM;
		l->items = items;
		np = &items[l->n - 1];
		np->name = strdup(name);
		np->path = strdup(path);
		if (!np->name || !np->path)
			return -ENOMEM;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int parse_seat_devices(sd_bus_message *m, void *dest)
{
	struct seat_device_list *l = dest;
	const char *sysname, *type;
	uint32_t major, minor;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "(suus)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(m, "(suus)", &sysname, &major, &minor,
					&type)) > 0) {
		struct seat_device *items, *d;

		items = array_append(l->items, &l->n,
				     sizeof(*items));
		if (!items)
			return -ENOMEM;
		l->items = items;
		d = &items[l->n - 1];
		d->major = major;
		d->minor = minor;
		d->sysname = strdup(sysname);
		d->type = strdup(type);
		if (!d->sysname || !d->type)
			return -ENOMEM;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int parse_seat_outputs(sd_bus_message *m, void *dest)
{
	struct seat_output_list *l = dest;
	const char *connector, *container;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "(ss)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(m, "(ss)", &connector, &container)) > 0) {
		struct seat_output *items, *o;

		items = array_append(l->items, &l->n, sizeof(*items));
		if (!items)
			return -ENOMEM;
		l->items = items;
		o = &items[l->n - 1];
		o->connector = strdup(connector);
		o->container = strdup(container);
		if (!o->connector || !o->container)
			return -ENOMEM;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int parse_container_devices(sd_bus_message *m, void *dest)
{
	struct container_device_list *l = dest;
	uint32_t major, minor;
	const char *type;
	int paused, r;

	r = sd_bus_message_enter_container(m, 'a', "(uusb)");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read(m, "(uusb)", &major, &minor, &type,
					&paused)) > 0) {
		struct container_device *items, *d;

		items = array_append(l->items, &l->n,
				     sizeof(*items));
		if (!items)
			return -ENOMEM;
		l->items = items;
		d = &items[l->n - 1];
		d->major = major;
		d->minor = minor;
		d->paused = paused;
		d->type = strdup(type);
		if (!d->type)
			return -ENOMEM;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static int parse_strv(sd_bus_message *m, void *dest)
{
	struct string_list *l = dest;
	const char *s;
	int r;

	r = sd_bus_message_enter_container(m, 'a', "s");
	if (r < 0)
		return r;
	while ((r = sd_bus_message_read_basic(m, 's', &s)) > 0) {
		char **items = array_append(l->items, &l->n, sizeof(*items));

		if (!items)
			return -ENOMEM;
		l->items = items;
		items[l->n - 1] = strdup(s);
		if (!items[l->n - 1])
			return -ENOMEM;
	}
	if (r < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

/* Calls GetAll on path and hands each property named in map to its
 * parser; properties not in the map are skipped, so a newer broker with
 * more properties still works. */
static int bus_get_all(sd_bus *bus, const char *path, const char *interface,
		       const struct prop_map *map, void *userdata,
		       sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int r;

	r = sd_bus_call_method(bus, DEVNS_BUS_NAME, path,
			       "org.freedesktop.DBus.Properties", "GetAll",
			       error, &reply, "s", interface);
	if (r < 0)
		return r;

	r = sd_bus_message_enter_container(reply, 'a', "{sv}");
	if (r < 0)
		return r;

	while ((r = sd_bus_message_enter_container(reply, 'e', "sv")) > 0) {
		const struct prop_map *p;
		const char *member;

		r = sd_bus_message_read_basic(reply, 's', &member);
		if (r < 0)
			return r;

		for (p = map; p->member; p++)
			if (strcmp(p->member, member) == 0)
				break;

		if (!p->member) {
			r = sd_bus_message_skip(reply, "v");
			if (r < 0)
				return r;
		} else {
			r = sd_bus_message_enter_container(reply, 'v',
							   p->signature);
			if (r == -ENXIO)
				return sd_bus_error_setf(error,
					SD_BUS_ERROR_INVALID_SIGNATURE,
					"Property %s of %s is not of type %s",
					member, path, p->signature);
			if (r < 0)
				return r;
			r = p->parse(reply, (char *)userdata + p->offset);
			if (r < 0)
				return r;
			r = sd_bus_message_exit_container(reply);
			if (r < 0)
				return r;
		}

		r = sd_bus_message_exit_container(reply);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return r;

	return sd_bus_message_exit_container(reply);
}

static const struct prop_map manager_map[] = {
	{ "Version", "s", parse_string,
	  offsetof(struct manager_info, version) },
	{ "KernelDevns", "b", parse_bool,
	  offsetof(struct manager_info, kernel_devns) },
	{ "RuntimeDirectory", "s", parse_string,
	  offsetof(struct manager_info, runtime_directory) },
	{}
};

static const struct prop_map seat_map[] = {
	{ "Id", "s", parse_string, offsetof(struct seat_info, id) },
	{ "ActiveContainer", "(so)", parse_name_path,
	  offsetof(struct seat_info, active_container) },
	{ "Containers", "a(so)", parse_seat_containers,
	  offsetof(struct seat_info, containers) },
	{ "Devices", "a(suus)", parse_seat_devices,
	  offsetof(struct seat_info, devices) },
	{ "CanGraphical", "b", parse_bool,
	  offsetof(struct seat_info, can_graphical) },
	{ "Outputs", "a(ss)", parse_seat_outputs,
	  offsetof(struct seat_info, outputs) },
	{}
};

static const struct prop_map container_map[] = {
	{ "Name", "s", parse_string, offsetof(struct container_info, name) },
	{ "Seat", "(so)", parse_name_path,
	  offsetof(struct container_info, seat) },
	{ "Leader", "u", parse_u32, offsetof(struct container_info, leader) },
	{ "Active", "b", parse_bool, offsetof(struct container_info, active) },
	{ "Controlled", "b", parse_bool,
	  offsetof(struct container_info, controlled) },
	{ "Devices", "a(uusb)", parse_container_devices,
	  offsetof(struct container_info, devices) },
	{ "BinderDevice", "s", parse_string,
	  offsetof(struct container_info, binder_device) },
	{ "LoopDevices", "as", parse_strv,
	  offsetof(struct container_info, loop_devices) },
	{}
};

int manager_info_get(sd_bus *bus, struct manager_info *ret,
		     sd_bus_error *error)
{
	int r;

	*ret = (struct manager_info){};
	r = bus_get_all(bus, DEVNS_MANAGER_PATH, DEVNS_MANAGER_IFACE,
			manager_map, ret, error);
	if (r < 0)
		manager_info_clear(ret);
	return r;
}

int seat_info_get(sd_bus *bus, const char *path, struct seat_info *ret,
		  sd_bus_error *error)
{
	int r;

	*ret = (struct seat_info){};
	r = bus_get_all(bus, path, DEVNS_SEAT_IFACE, seat_map, ret, error);
	if (r < 0)
		seat_info_clear(ret);
	return r;
}

int container_info_get(sd_bus *bus, const char *path,
		       struct container_info *ret, sd_bus_error *error)
{
	int r;

	*ret = (struct container_info){};
	r = bus_get_all(bus, path, DEVNS_CONTAINER_IFACE, container_map, ret,
			error);
	if (r < 0)
		container_info_clear(ret);
	return r;
}

static void name_path_clear(struct name_path *np)
{
	free(np->name);
	free(np->path);
	*np = (struct name_path){};
}

void manager_info_clear(struct manager_info *i)
{
	free(i->version);
	free(i->runtime_directory);
	*i = (struct manager_info){};
}

void seat_info_clear(struct seat_info *i)
{
	free(i->id);
	name_path_clear(&i->active_container);
	for (size_t k = 0; k < i->containers.n; k++)
		name_path_clear(&i->containers.items[k]);
	free(i->containers.items);
	for (size_t k = 0; k < i->devices.n; k++) {
		free(i->devices.items[k].sysname);
		free(i->devices.items[k].type);
	}
	free(i->devices.items);
	for (size_t k = 0; k < i->outputs.n; k++) {
		free(i->outputs.items[k].connector);
		free(i->outputs.items[k].container);
	}
	free(i->outputs.items);
	*i = (struct seat_info){};
}

void container_info_clear(struct container_info *i)
{
	free(i->name);
	name_path_clear(&i->seat);
	for (size_t k = 0; k < i->devices.n; k++)
		free(i->devices.items[k].type);
	free(i->devices.items);
	free(i->binder_device);
	for (size_t k = 0; k < i->loop_devices.n; k++)
		free(i->loop_devices.items[k]);
	free(i->loop_devices.items);
	*i = (struct container_info){};
}
