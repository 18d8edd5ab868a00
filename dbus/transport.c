/* SPDX-License-Identifier: MIT */
/* The D-Bus transport's connection and its listener: what the broker
 * announces becomes objects, signals and PropertiesChanged. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "common/macro.h"
#include "dbus/dbus.h"
#include "dbus/endpoint.h"
#include "dbus/signal-cache.h"

struct dbus_seat *dbus_seat_of(struct dbus_transport *t, const struct broker_seat *bs)
{
	return broker_seat_listener_data(bs, &t->listener);
}

struct dbus_container *dbus_container_of(struct dbus_transport *t, const struct container *c)
{
	return container_listener_data(c, &t->listener);
}

static int on_seat_attach(struct broker_listener *l, struct broker_seat *bs)
{
	struct dbus_seat *ds = calloc(1, sizeof(*ds));
	int r;

	if (!ds)
		return -ENOMEM;
	ds->transport = l->userdata;
	ds->seat = bs;
	ds->view = (struct dbus_seat_view) { .seat = ds };
	r = sd_bus_path_encode(SEAT_PATH_PREFIX, bs->seat->id, &ds->path);
	if (r < 0) {
		free(ds);
		return r;
	}
	broker_seat_set_listener_data(bs, l, ds);
	return 0;
}

static void on_seat_detach(struct broker_listener *l, struct broker_seat *bs)
{
	struct dbus_seat *ds = broker_seat_listener_data(bs, l);

	if (!ds)
		return;
	sd_bus_message_unref(ds->active_none_changed);
	free(ds->path);
	free(ds);
}

struct dbus_container_kept *dbus_seat_keep_signals(struct dbus_container *dc)
{
	struct dbus_container **kept = dc->seat_view.seat->kept, *dropped = NULL;
	size_t i;

	if (kept[0] != dc) {
		for (i = 1; i < DBUS_SEAT_KEPT && kept[i] != dc; i++)
			;
		if (i == DBUS_SEAT_KEPT)
			dropped = kept[--i];
		memmove(kept + 1, kept, i * sizeof(*kept));
		kept[0] = dc;
		if (dropped)
			container_dbus_forget_signals(dropped);
	}
	if (!dc->kept)
		dc->kept = calloc(1, sizeof(*dc->kept));
	return dc->kept;
}

static void dbus_seat_unkeep(struct dbus_container *dc)
{
	struct dbus_container **kept = dc->seat_view.seat->kept;

	for (size_t i = 0; i < DBUS_SEAT_KEPT; i++)
		if (kept[i] == dc) {
			memmove(kept + i, kept + i + 1, (DBUS_SEAT_KEPT - i - 1) * sizeof(*kept));
			kept[DBUS_SEAT_KEPT - 1] = NULL;
			return;
		}
}

static void dbus_container_free(struct dbus_container *dc)
{
	if (!dc)
		return;
	if (dc->seat_view.seat)
		dbus_seat_unkeep(dc);
	list_remove(&dc->devices_changed_link);
	endpoint_free(dc->endpoint);
	dbus_container_kept_free(dc->kept);
	free(dc->path);
	free(dc);
}

static int on_container_attach(struct broker_listener *l, struct container *c)
{
	struct dbus_container *dc = calloc(1, sizeof(*dc));
	char socket_path[PATH_MAX];
	int r;

	if (!dc)
		return -ENOMEM;
	dc->transport = l->userdata;
	dc->container = c;
	list_init(&dc->devices_changed_link);
	dc->seat_view = (struct dbus_seat_view) {
		.seat = dbus_seat_of(dc->transport, c->seat),
		.scope = dc,
	};
	r = sd_bus_path_encode(CONTAINER_PATH_PREFIX, c->name, &dc->path);
	if (r < 0)
		goto fail;
	snprintf(socket_path, sizeof(socket_path), "%s/bus", c->endpoint_dir);
	r = endpoint_new(dc, socket_path, &dc->endpoint);
	if (r < 0) {
		log_error_errno(r, "Cannot listen on %s", socket_path);
		goto fail;
	}
	container_set_listener_data(c, l, dc);
	return 0;
fail:
	dbus_container_free(dc);
	return r;
}

static void on_container_detach(struct broker_listener *l, struct container *c)
{
	dbus_container_free(container_listener_data(c, l));
}

static void flush_devices_changed(struct dbus_transport *t)
{
	struct dbus_container *dc;

	while ((dc = list_first(&t->devices_changed, struct dbus_container, devices_changed_link))) {
		list_remove(&dc->devices_changed_link);
		container_dbus_emit_changed(dc, "Devices");
	}
}

static int on_devices_flush(sd_event_source *s, void *userdata)
{
	flush_devices_changed(userdata);
	return 0;
}

/* A compositor takes or releases its devices one by one, each a round
 * trip; the signal waits until its answer is out, and tells of all the
 * changes made meanwhile at once. */
static void devices_changed(struct dbus_transport *t, struct dbus_container *dc)
{
	if (!list_empty(&dc->devices_changed_link))
		return;
	if (!t->devices_flush ||
	    sd_event_source_set_enabled(t->devices_flush, SD_EVENT_ONESHOT) < 0) {
		container_dbus_emit_changed(dc, "Devices");
		return;
	}
	list_append(&t->devices_changed, &dc->devices_changed_link);
}

static void on_event(struct broker_listener *l, const struct broker_event *ev)
{
	struct dbus_transport *t = l->userdata;
	struct dbus_seat *ds = dbus_seat_of(t, ev->seat);
	struct dbus_container *dc = ev->container ? dbus_container_of(t, ev->container) : NULL;

	/* Every other signal goes out after the Devices changes before it,
	 * in the order they were made. */
	if (ev->type != BROKER_EVENT_DEVICES_CHANGED)
		flush_devices_changed(t);
	switch (ev->type) {
	case BROKER_EVENT_SEAT_NEW:
	case BROKER_EVENT_SEAT_REMOVED:
		manager_dbus_emit_seat(ds, ev->type == BROKER_EVENT_SEAT_NEW);
		break;
	case BROKER_EVENT_SEAT_DEVICES:
		seat_dbus_emit_changed(ds, "Devices");
		seat_dbus_emit_changed(ds, "CanGraphical");
		seat_dbus_emit_changed(ds, "Outputs");
		break;
	case BROKER_EVENT_CONTAINER_NEW:
	case BROKER_EVENT_CONTAINER_REMOVED:
		manager_dbus_emit_container(dc, ev->type == BROKER_EVENT_CONTAINER_NEW);
		seat_dbus_emit_changed(ds, "Containers");
		if (ev->container->n_outputs > 0)
			seat_dbus_emit_outputs_changed(ds, dc);
		break;
	case BROKER_EVENT_ACTIVE_CHANGED: {
		struct dbus_container *old = ev->old ? dbus_container_of(t, ev->old) : NULL;

		/* The containers' Active (with their Devices when this
		 * switch paused or resumed them), then the seat's
		 * ActiveContainer. */
		if (old)
			container_dbus_emit_switched(old, true, ev->old_devices);
		if (dc)
			container_dbus_emit_switched(dc, true, ev->devices);
		seat_dbus_emit_active_changed(ds, old, dc);
		break;
	}
	case BROKER_EVENT_DEVICES_PAUSED:
		container_dbus_emit_switched(dc, false, true);
		break;
	case BROKER_EVENT_CONTAINER_PICKED_UP:
		/* The endpoint's connections did not outlive the previous
		 * devnsd: its clients connect again. */
		break;
	case BROKER_EVENT_CONTROL_CHANGED:
		container_dbus_emit_changed(dc, "Controlled");
		break;
	case BROKER_EVENT_DEVICES_CHANGED:
		devices_changed(t, dc);
		break;
	case BROKER_EVENT_LOOP_DEVICES_CHANGED:
		container_dbus_emit_changed(dc, "LoopDevices");
		break;
	case BROKER_EVENT_LISTENER_STATUS:
		if (strcmp(ev->listener->ops->name, LOGIN1_LISTENER) == 0)
			container_dbus_emit_changed(dc, "Login1");
		break;
	}
}

static const struct broker_listener_ops dbus_listener_ops = {
	.name = "D-Bus",
	.seat_attach = on_seat_attach,
	.seat_detach = on_seat_detach,
	.container_attach = on_container_attach,
	.container_detach = on_container_detach,
	.event = on_event,
};

static int bus_open(const char *address, sd_bus **ret)
{
	sd_bus *bus = NULL;
	int r;

	if (!address)
		return sd_bus_open_system_with_description(ret, "devnsd");
	r = sd_bus_new(&bus);
	if (r < 0)
		return r;
	if ((r = sd_bus_set_address(bus, address)) < 0 ||
	    (r = sd_bus_set_bus_client(bus, 1)) < 0 ||
	    (r = sd_bus_negotiate_creds(bus, 1, SD_BUS_CREDS_EUID | SD_BUS_CREDS_UID)) < 0 ||
	    (r = sd_bus_start(bus)) < 0) {
		sd_bus_unref(bus);
		return r;
	}
	*ret = bus;
	return 0;
}

int dbus_transport_new_on_bus(struct broker *b, sd_bus *bus, struct dbus_transport **ret)
{
	struct dbus_transport *t = calloc(1, sizeof(*t));
	int r;

	if (!t) {
		sd_bus_unref(bus);
		return -ENOMEM;
	}
	t->broker = b;
	t->bus = bus;
	t->listener.ops = &dbus_listener_ops;
	t->listener.userdata = t;
	list_init(&t->devices_changed);
	if ((r = sd_bus_attach_event(bus, b->event, SD_EVENT_PRIORITY_NORMAL)) < 0 ||
	    (r = sd_event_add_defer(b->event, &t->devices_flush, on_devices_flush, t)) < 0 ||
	    (r = sd_event_source_set_priority(t->devices_flush, SD_EVENT_PRIORITY_IDLE)) < 0 ||
	    (r = sd_event_source_set_enabled(t->devices_flush, SD_EVENT_OFF)) < 0 ||
	    (r = manager_dbus_register(t)) < 0 ||
	    (r = broker_add_listener(b, &t->listener)) < 0) {
		dbus_transport_free(t);
		return r;
	}
	*ret = t;
	return 0;
}

int dbus_transport_new(struct broker *b, const char *address, struct dbus_transport **ret)
{
	sd_bus *bus = NULL;
	int r = bus_open(address, &bus);

	if (r < 0)
		return log_error_errno(r, "Cannot connect to %s", address ? address : "the system bus");
	return dbus_transport_new_on_bus(b, bus, ret);
}

int dbus_transport_request_name(struct dbus_transport *t)
{
	int r = sd_bus_request_name(t->bus, BROKER_BUS_NAME, 0);

	if (r < 0)
		return log_error_errno(r, "Cannot own %s on the bus", BROKER_BUS_NAME);
	return 0;
}

void dbus_transport_free(struct dbus_transport *t)
{
	if (!t)
		return;
	sd_event_source_disable_unref(t->devices_flush);
	if (t->bus) {
		sd_bus_release_name(t->bus, BROKER_BUS_NAME);
		sd_bus_flush_close_unref(t->bus);
	}
	free(t);
}
