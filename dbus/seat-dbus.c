/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "dbus/bus-error.h"
#include "dbus/dbus.h"
#include "dbus/endpoint.h"
#include "seat/names.h"

static int property_get_id(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *reply,
			   void *userdata, sd_bus_error *error)
{
	struct broker_seat *bs = userdata;

	return sd_bus_message_append(reply, "s", bs->seat->id);
}

static int property_get_active(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply,
			       void *userdata, sd_bus_error *error)
{
	struct broker_seat *bs = userdata;
	struct seat_container *sc = bs->seat->active;

	if (!sc)
		return sd_bus_message_append(reply, "(so)", "", "/");
	return sd_bus_message_append(reply, "(so)", sc->name,
				     ((struct container *)sc->userdata)->path);
}

static int property_get_containers(sd_bus *bus, const char *path, const char *interface,
				   const char *property, sd_bus_message *reply,
				   void *userdata, sd_bus_error *error)
{
	struct broker_seat *bs = userdata;
	struct seat_container *sc;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "(so)");
	if (r < 0)
		return r;
	list_for_each(sc, &bs->seat->containers, link) {
		r = sd_bus_message_append(reply, "(so)", sc->name,
					  ((struct container *)sc->userdata)->path);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(reply);
}

static int property_get_devices(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply,
				void *userdata, sd_bus_error *error)
{
	struct broker_seat *bs = userdata;
	struct seat_device *d;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "(suus)");
	if (r < 0)
		return r;
	list_for_each(d, &bs->seat->devices, link) {
		r = sd_bus_message_append(reply, "(suus)", d->sysname,
					  major(d->devnum), minor(d->devnum),
					  seat_device_type_to_string(d->type));
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(reply);
}

static int property_get_can_graphical(sd_bus *bus, const char *path, const char *interface,
				      const char *property, sd_bus_message *reply,
				      void *userdata, sd_bus_error *error)
{
	struct broker_seat *bs = userdata;
	struct seat_device *d;
	bool drm = false;

	list_for_each(d, &bs->seat->devices, link)
		drm = drm || d->type == SEAT_DEVICE_DRM;
	return sd_bus_message_append(reply, "b", drm);
}

/* Seat methods change state: root on the broker's bus, and never on a
 * container's endpoint, where the seat is shown read-only. */
static int check_seat_caller(struct broker_seat *bs, sd_bus_message *m, sd_bus_error *error)
{
	if (!bus_is_broker_bus(bs->broker, m))
		return bus_error_errnof(error, -EPERM, "The seat is read-only on a container endpoint");
	return bus_check_privileged(bs->broker, m, error);
}

static int seat_switch_reply(struct broker_seat *bs, enum seat_switch_kind kind,
			     struct container *target, sd_bus_message *m, sd_bus_error *error)
{
	int r = broker_switch(bs, kind, target, m);

	if (r < 0)
		return bus_error_errnof(error, r, "Cannot switch %s", bs->seat->id);
	return 1; /* answered when the switch is complete */
}

static int method_switch_container(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct broker_seat *bs = userdata;
	struct container *target = NULL;
	const char *name;
	int r;

	r = sd_bus_message_read(m, "s", &name);
	if (r < 0)
		return r;
	r = check_seat_caller(bs, m, error);
	if (r < 0)
		return r;
	if (name[0]) {
		if (!container_name_is_valid(name))
			return bus_error_errnof(error, -EINVAL, "Invalid container name '%s'", name);
		target = broker_find_container(bs->broker, name);
		if (!target)
			return bus_error_errnof(error, -ERRNO_NO_SUCH_CONTAINER, "No such container '%s'", name);
		if (target->seat != bs)
			return bus_error_errnof(error, -EINVAL, "Container '%s' is on %s, not %s",
						name, target->seat->seat->id, bs->seat->id);
	}
	return seat_switch_reply(bs, SEAT_SWITCH_TO, target, m, error);
}

static int method_switch_step(sd_bus_message *m, void *userdata, sd_bus_error *error,
			      enum seat_switch_kind kind)
{
	struct broker_seat *bs = userdata;
	int r = check_seat_caller(bs, m, error);

	if (r < 0)
		return r;
	return seat_switch_reply(bs, kind, NULL, m, error);
}

static int method_switch_to_next(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return method_switch_step(m, userdata, error, SEAT_SWITCH_NEXT);
}

static int method_switch_to_previous(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return method_switch_step(m, userdata, error, SEAT_SWITCH_PREVIOUS);
}

const sd_bus_vtable seat_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Id", "s", property_get_id, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("ActiveContainer", "(so)", property_get_active, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Containers", "a(so)", property_get_containers, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Devices", "a(suus)", property_get_devices, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("CanGraphical", "b", property_get_can_graphical, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD_WITH_ARGS("SwitchContainer", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
				method_switch_container, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("SwitchToNext", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
				method_switch_to_next, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("SwitchToPrevious", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
				method_switch_to_previous, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_VTABLE_END
};

int seat_dbus_find(sd_bus *bus, const char *path, const char *interface,
		   void *userdata, void **found, sd_bus_error *error)
{
	struct broker *b = userdata;
	_cleanup_free_ char *id = NULL;
	struct broker_seat *bs;
	int r;

	r = sd_bus_path_decode(path, SEAT_PATH_PREFIX, &id);
	if (r <= 0)
		return 0;
	bs = broker_find_seat(b, id);
	if (!bs)
		return 0;
	*found = bs;
	return 1;
}

void seat_dbus_emit_changed(struct broker_seat *bs, const char *property)
{
	char *names[] = { (char *)property, NULL };
	struct seat_container *sc;

	sd_bus_emit_properties_changed_strv(bs->broker->bus, bs->path, SEAT_INTERFACE, names);
	list_for_each(sc, &bs->seat->containers, link) {
		struct container *c = sc->userdata;
		if (c->endpoint)
			endpoint_emit_properties_changed(c->endpoint, bs->path, SEAT_INTERFACE, property);
	}
}
