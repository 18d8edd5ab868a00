/* SPDX-License-Identifier: MIT */
/* Seat devices from udev: DRM primary nodes (card*) and evdev nodes
 * (event*), each on the seat named by its ID_SEAT property, as logind
 * assigns them. Render nodes have no master and are not brokered. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "broker/broker.h"
#include "broker/container.h"
#include "broker/outputs.h"
#include "common/log.h"
#include "seat/names.h"

static bool sysname_has_number(const char *sysname, const char *prefix)
{
	size_t n = strlen(prefix);

	if (strncmp(sysname, prefix, n) != 0 || sysname[n] == '\0')
		return false;
	return strspn(sysname + n, "0123456789") == strlen(sysname + n);
}

static int classify(struct udev_device *d, enum seat_device_type *ret)
{
	const char *subsystem = udev_device_get_subsystem(d);
	const char *sysname = udev_device_get_sysname(d);

	if (!subsystem || !sysname || !udev_device_get_devnode(d))
		return -EINVAL;
	if (strcmp(subsystem, "drm") == 0 && sysname_has_number(sysname, "card")) {
		*ret = SEAT_DEVICE_DRM;
		return 0;
	}
	if (strcmp(subsystem, "input") == 0 && sysname_has_number(sysname, "event")) {
		*ret = SEAT_DEVICE_EVDEV;
		return 0;
	}
	return -EINVAL;
}

static const char *seat_of(struct udev_device *d)
{
	const char *id = udev_device_get_property_value(d, "ID_SEAT");

	return id && seat_id_is_valid(id) ? id : "seat0";
}

const char *broker_device_node(const struct seat_device *d)
{
	return d->userdata;
}

static struct seat_device *find_device(struct broker *b, dev_t devnum)
{
	struct broker_seat *bs;

	list_for_each(bs, &b->seats, link) {
		struct seat_device *d = seat_find_device(bs->seat, devnum);
		if (d)
			return d;
	}
	return NULL;
}

static void announce_devices(struct broker_seat *bs)
{
	struct broker_event ev = { .type = BROKER_EVENT_SEAT_DEVICES, .seat = bs };

	broker_announce(bs->broker, &ev);
}

static void device_remove(struct broker *b, struct seat_device *d)
{
	struct broker_seat *bs = broker_seat_of(d->seat);
	struct container *c, **holders = NULL;
	size_t n = 0, n_holders = 0;

	/* Its holders' Devices lose it too; noted first, announced once it is
	 * gone. Without memory they go unannounced, as nothing else fails. */
	list_for_each(c, &b->containers, link)
		if (seat_container_find_handle(c->sc, d->devnum))
			n++;
	if (n > 0 && (holders = calloc(n, sizeof(*holders))))
		list_for_each(c, &b->containers, link)
			if (n_holders < n && seat_container_find_handle(c->sc, d->devnum))
				holders[n_holders++] = c;

	log_info("Device %s removed from %s", d->sysname, bs->seat->id);
	free(d->userdata);
	seat_remove_device(d);
	for (size_t i = 0; i < n_holders; i++)
		container_announce(holders[i], BROKER_EVENT_DEVICES_CHANGED);
	free(holders);
	announce_devices(bs);
	broker_seat_gc(bs);
}

static int device_add(struct broker *b, struct udev_device *ud)
{
	enum seat_device_type type;
	struct broker_seat *bs;
	struct seat_device *d;
	const char *seat_id;
	dev_t devnum;
	int r;

	if (classify(ud, &type) < 0)
		return 0;
	devnum = udev_device_get_devnum(ud);
	seat_id = seat_of(ud);

	d = find_device(b, devnum);
	if (d) {
		/* A change event may move the device to another seat, or
		 * take a connector of a card away. */
		if (strcmp(d->seat->id, seat_id) == 0) {
			if (d->type == SEAT_DEVICE_DRM && broker_card_changed(b, d) > 0)
				announce_devices(broker_seat_of(d->seat));
			return 0;
		}
		device_remove(b, d);
	}

	r = broker_get_seat(b, seat_id, &bs);
	if (r < 0)
		return log_warning_errno(r, "Cannot create %s for %s", seat_id, udev_device_get_sysname(ud));
	r = seat_add_device(bs->seat, udev_device_get_sysname(ud), devnum, type, &d);
	if (r < 0)
		return log_warning_errno(r, "Cannot add %s", udev_device_get_sysname(ud));
	d->userdata = strdup(udev_device_get_devnode(ud));
	if (!d->userdata) {
		seat_remove_device(d);
		return -ENOMEM;
	}
	log_info("Device %s (%s) on %s", d->sysname, seat_device_type_to_string(type), seat_id);
	announce_devices(bs);
	return 0;
}

static int on_udev_event(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct broker *b = userdata;
	struct udev_device *ud = udev_monitor_receive_device(b->monitor);
	const char *action;

	if (!ud)
		return 0;
	action = udev_device_get_action(ud);
	if (action && strcmp(action, "remove") == 0) {
		struct seat_device *d = find_device(b, udev_device_get_devnum(ud));
		if (d)
			device_remove(b, d);
	} else {
		device_add(b, ud);
	}
	udev_device_unref(ud);
	return 0;
}

int broker_udev_foreach(struct broker *b, const char *subsystem, const char *sysname,
			void (*fn)(struct broker *b, struct udev_device *ud, void *userdata),
			void *userdata)
{
	struct udev_enumerate *e = udev_enumerate_new(b->udev);
	struct udev_list_entry *entry;
	int r;

	if (!e)
		return -ENOMEM;
	r = udev_enumerate_add_match_subsystem(e, subsystem);
	if (r >= 0 && sysname)
		r = udev_enumerate_add_match_sysname(e, sysname);
	if (r >= 0)
		r = udev_enumerate_scan_devices(e);
	if (r < 0) {
		udev_enumerate_unref(e);
		return r;
	}
	udev_list_entry_foreach(entry, udev_enumerate_get_list_entry(e)) {
		struct udev_device *ud =
			udev_device_new_from_syspath(b->udev, udev_list_entry_get_name(entry));
		if (!ud)
			continue;
		fn(b, ud, userdata);
		udev_device_unref(ud);
	}
	udev_enumerate_unref(e);
	return 0;
}

static void enumerated(struct broker *b, struct udev_device *ud, void *userdata)
{
	device_add(b, ud);
}

static int enumerate(struct broker *b, const char *subsystem)
{
	return broker_udev_foreach(b, subsystem, NULL, enumerated, NULL);
}

int broker_devices_start(struct broker *b)
{
	int r;

	b->monitor = udev_monitor_new_from_netlink(b->udev, "udev");
	if (!b->monitor)
		return -ENOMEM;
	if ((r = udev_monitor_filter_add_match_subsystem_devtype(b->monitor, "drm", NULL)) < 0 ||
	    (r = udev_monitor_filter_add_match_subsystem_devtype(b->monitor, "input", NULL)) < 0 ||
	    (r = udev_monitor_enable_receiving(b->monitor)) < 0)
		return r;
	r = sd_event_add_io(b->event, &b->monitor_source, udev_monitor_get_fd(b->monitor),
			    EPOLLIN, on_udev_event, b);
	if (r < 0)
		return r;
	/* Listen first, then enumerate, so nothing added in between is lost. */
	if ((r = enumerate(b, "drm")) < 0 || (r = enumerate(b, "input")) < 0)
		return r;
	return 0;
}
