/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "broker/outputs.h"
#include "common/log.h"
#include "dbus/bus-error.h"
#include "dbus/dbus.h"
#include "dbus/endpoint.h"
#include "dbus/signal-cache.h"
#include "seat/names.h"

static int property_get_id(sd_bus *bus, const char *path, const char *interface,
			   const char *property, sd_bus_message *reply,
			   void *userdata, sd_bus_error *error)
{
	struct dbus_seat_view *v = userdata;

	return sd_bus_message_append(reply, "s", v->seat->seat->seat->id);
}

static int property_get_active(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply,
			       void *userdata, sd_bus_error *error)
{
	struct dbus_seat_view *v = userdata;
	struct seat_container *sc = v->seat->seat->seat->active;

	/* Through an endpoint, another container in front is none at all. */
	if (!sc || (v->scope && sc->userdata != v->scope->container))
		return sd_bus_message_append(reply, "(so)", "", "/");
	return sd_bus_message_append(reply, "(so)", sc->name,
				     dbus_container_of(v->seat->transport, sc->userdata)->path);
}

static int property_get_containers(sd_bus *bus, const char *path, const char *interface,
				   const char *property, sd_bus_message *reply,
				   void *userdata, sd_bus_error *error)
{
	struct dbus_seat_view *v = userdata;
	struct seat_container *sc;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "(so)");
	if (r < 0)
		return r;
	list_for_each(sc, &v->seat->seat->seat->containers, link) {
		if (v->scope && sc->userdata != v->scope->container)
			continue;
		r = sd_bus_message_append(reply, "(so)", sc->name,
					  dbus_container_of(v->seat->transport, sc->userdata)->path);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(reply);
}

static int property_get_devices(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply,
				void *userdata, sd_bus_error *error)
{
	struct dbus_seat_view *v = userdata;
	struct seat_device *d;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "(suus)");
	if (r < 0)
		return r;
	list_for_each(d, &v->seat->seat->seat->devices, link) {
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
	struct dbus_seat_view *v = userdata;

	return sd_bus_message_append(reply, "b", seat_can_graphical(v->seat->seat->seat));
}

struct outputs_reply {
	sd_bus_message *reply;
	const struct container *scope;
	int r;
};

static void append_output(const char *connector, struct container *owner, void *userdata)
{
	struct outputs_reply *o = userdata;

	/* Through an endpoint, a container sees its own outputs only. */
	if (o->r < 0 || (o->scope && owner != o->scope))
		return;
	o->r = sd_bus_message_append(o->reply, "(ss)", connector, owner ? owner->name : "");
}

static int property_get_outputs(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply,
				void *userdata, sd_bus_error *error)
{
	struct dbus_seat_view *v = userdata;
	struct outputs_reply o = {
		.reply = reply,
		.scope = v->scope ? v->scope->container : NULL,
	};
	int r;

	r = sd_bus_message_open_container(reply, 'a', "(ss)");
	if (r < 0)
		return r;
	r = outputs_foreach(v->seat->seat, append_output, &o);
	if (r < 0 || o.r < 0)
		return r < 0 ? r : o.r;
	return sd_bus_message_close_container(reply);
}

/* The seat's methods change state: root's, on the broker's bus. On an
 * endpoint the peers are the container's own processes, and switching the
 * seat is the host's business (Container.Activate is theirs). */
static int check_seat_caller(struct dbus_seat_view *v, sd_bus_message *m, sd_bus_error *error)
{
	if (v->scope)
		return bus_error_errnof(error, -EPERM, "The seat is read-only on a container endpoint");
	return bus_check_privileged(v->seat->transport, m, error);
}

static int method_switch_container(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct dbus_seat_view *v = userdata;
	struct broker_seat *bs = v->seat->seat;
	struct container *target = NULL;
	const char *name;
	int r;

	r = sd_bus_message_read(m, "s", &name);
	if (r < 0)
		return r;
	r = check_seat_caller(v, m, error);
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
	return bus_switch(bs, SEAT_SWITCH_TO, target, m, NULL, error);
}

static int method_switch_step(sd_bus_message *m, void *userdata, sd_bus_error *error,
			      enum seat_switch_kind kind)
{
	struct dbus_seat_view *v = userdata;
	int r = check_seat_caller(v, m, error);

	if (r < 0)
		return r;
	return bus_switch(v->seat->seat, kind, NULL, m, NULL, error);
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
	SD_BUS_PROPERTY("Outputs", "a(ss)", property_get_outputs, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
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
	struct dbus_transport *t = userdata;
	_cleanup_free_ char *id = NULL;
	struct broker_seat *bs;
	int r;

	r = sd_bus_path_decode(path, SEAT_PATH_PREFIX, &id);
	if (r <= 0)
		return 0;
	bs = broker_find_seat(t->broker, id);
	if (!bs)
		return 0;
	*found = &dbus_seat_of(t, bs)->view;
	return 1;
}

static void emit_on_bus(struct dbus_seat *ds, const char *property)
{
	char *names[] = { (char *)property, NULL };

	sd_bus_emit_properties_changed_strv(ds->transport->bus, ds->path, SEAT_INTERFACE, names);
}

/* A container with outputs came or went: the bus and its own endpoint. */
void seat_dbus_emit_outputs_changed(struct dbus_seat *ds, struct dbus_container *dc)
{
	emit_on_bus(ds, "Outputs");
	if (dc)
		endpoint_emit_properties_changed(dc->endpoint, ds->path, SEAT_INTERFACE, "Outputs");
}

void seat_dbus_emit_changed(struct dbus_seat *ds, const char *property)
{
	struct seat_container *sc;

	emit_on_bus(ds, property);
	/* Containers never changes on an endpoint: it shows only its own. */
	if (strcmp(property, "Containers") == 0)
		return;
	list_for_each(sc, &ds->seat->seat->containers, link) {
		struct dbus_container *dc = dbus_container_of(ds->transport, sc->userdata);
		if (dc)
			endpoint_emit_properties_changed(dc->endpoint, ds->path, SEAT_INTERFACE, property);
	}
}

/* ActiveContainer on the bus, as its getter shows it, from a message built
 * once per value: the switch toggles between the same few. */
static void emit_active_on_bus(struct dbus_seat *ds)
{
	struct seat_container *sc = ds->seat->seat->active;
	struct dbus_container *dc = sc ? dbus_container_of(ds->transport, sc->userdata) : NULL;
	int r;

	if (dc) {
		struct dbus_container_kept *k = dbus_seat_keep_signals(dc);
		sd_bus_message *once = NULL;

		r = signal_cache_send_changed(k ? &k->seat_active_changed : &once,
					      ds->transport->bus, ds->path, SEAT_INTERFACE,
					      "ActiveContainer", "(so)", sc->name, dc->path);
		sd_bus_message_unref(once);
	} else {
		r = signal_cache_send_changed(&ds->active_none_changed, ds->transport->bus,
					      ds->path, SEAT_INTERFACE, "ActiveContainer", "(so)",
					      "", "/");
	}
	if (r < 0)
		log_debug_errno(r, "Cannot announce the active container of %s", ds->seat->seat->id);
}

/* Only the two endpoints whose view changed hear of it: a container never
 * learns of switches among the others. */
void seat_dbus_emit_active_changed(struct dbus_seat *ds, struct dbus_container *old,
				   struct dbus_container *now)
{
	emit_active_on_bus(ds);
	if (old)
		endpoint_emit_seat_active_changed(old->endpoint);
	if (now && now != old)
		endpoint_emit_seat_active_changed(now->endpoint);
}
