/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "broker/binder.h"
#include "broker/loop.h"
#include "common/log.h"
#include "common/macro.h"
#include "dbus/bus-error.h"
#include "dbus/dbus.h"
#include "dbus/endpoint.h"
#include "dbus/signal-cache.h"

static struct container *container_of_data(void *userdata)
{
	return ((struct dbus_container *)userdata)->container;
}

static int property_get_name(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply,
			     void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", container_of_data(userdata)->name);
}

static int property_get_leader(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply,
			       void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "u", (uint32_t)container_of_data(userdata)->leader);
}

static int property_get_seat(sd_bus *bus, const char *path, const char *interface,
			     const char *property, sd_bus_message *reply,
			     void *userdata, sd_bus_error *error)
{
	struct dbus_container *dc = userdata;
	struct broker_seat *bs = dc->container->seat;

	return sd_bus_message_append(reply, "(so)", bs->seat->id,
				     dbus_seat_of(dc->transport, bs)->path);
}

static int property_get_active(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply,
			       void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "b", container_is_active(container_of_data(userdata)));
}

static int property_get_controlled(sd_bus *bus, const char *path, const char *interface,
				   const char *property, sd_bus_message *reply,
				   void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "b", container_of_data(userdata)->sc->controlled);
}

/* A device being paused (waiting for the controller) counts as paused, as
 * TakeDevice's inactive does. */
static int devices_append(sd_bus_message *m, const struct container *c)
{
	struct seat_handle *h;
	int r;

	r = sd_bus_message_open_container(m, 'a', "(uusb)");
	if (r < 0)
		return r;
	list_for_each(h, &c->sc->handles, link) {
		r = sd_bus_message_append(m, "(uusb)",
					  major(h->device->devnum), minor(h->device->devnum),
					  seat_device_type_to_string(h->device->type),
					  h->state != SEAT_HANDLE_LIVE);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(m);
}

static int property_get_devices(sd_bus *bus, const char *path, const char *interface,
				const char *property, sd_bus_message *reply,
				void *userdata, sd_bus_error *error)
{
	return devices_append(reply, container_of_data(userdata));
}

static int property_get_binder_device(sd_bus *bus, const char *path, const char *interface,
				      const char *property, sd_bus_message *reply,
				      void *userdata, sd_bus_error *error)
{
	return sd_bus_message_append(reply, "s", container_binder_node(container_of_data(userdata)));
}

static int property_get_loop_devices(sd_bus *bus, const char *path, const char *interface,
				     const char *property, sd_bus_message *reply,
				     void *userdata, sd_bus_error *error)
{
	struct container *c = container_of_data(userdata);
	struct loop_device *l;
	int r;

	r = sd_bus_message_open_container(reply, 'a', "s");
	if (r < 0)
		return r;
	list_for_each(l, &c->loops, link) {
		char name[32];

		snprintf(name, sizeof(name), "loop%u", l->number);
		r = sd_bus_message_append(reply, "s", name);
		if (r < 0)
			return r;
	}
	return sd_bus_message_close_container(reply);
}

/* What the login1 facade (a transport of its own) does for the container. */
static int property_get_login1(sd_bus *bus, const char *path, const char *interface,
			       const char *property, sd_bus_message *reply,
			       void *userdata, sd_bus_error *error)
{
	const char *status = container_listener_status(container_of_data(userdata), LOGIN1_LISTENER);

	return sd_bus_message_append(reply, "s", status ?: "off");
}

/* A controller on D-Bus: a connection to the broker's bus (identified by its
 * unique name, followed with sd_bus_track) or to the container's endpoint
 * (the connection itself; no names there). */
struct dbus_controller {
	struct dbus_container *dc;
	struct container *container;
	sd_bus *bus;
	char *sender;
	sd_bus_track *track;
	/* PauseDevice of each device and type, built once: every switch
	 * away from the container sends the same ones (signal-cache.h).
	 * Made with the container's other kept signals, and dropped with
	 * them (dbus_seat_keep_signals()). */
	struct kept_pause {
		dev_t devnum;
		enum seat_pause_type type;
		sd_bus_message *m;
	} *pauses; /* [KEPT_PAUSES] */
};

#define KEPT_PAUSES 8

static void dbus_controller_forget_pauses(struct dbus_controller *dc)
{
	if (!dc->pauses)
		return;
	for (size_t i = 0; i < KEPT_PAUSES; i++)
		sd_bus_message_unref(dc->pauses[i].m);
	free(dc->pauses);
	dc->pauses = NULL;
}

static void dbus_controller_free(struct dbus_controller *dc)
{
	if (!dc)
		return;
	dbus_controller_forget_pauses(dc);
	sd_bus_track_unref(dc->track);
	sd_bus_unref(dc->bus);
	free(dc->sender);
	free(dc);
}

/* Signals go to the controller only, as logind's do. */
static int controller_signal_new(struct dbus_controller *dc, const char *member,
				 sd_bus_message **ret)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_signal(dc->bus, &m, dc->dc->path, CONTAINER_INTERFACE, member);
	if (r < 0)
		return r;
	if (dc->sender) {
		r = sd_bus_message_set_destination(m, dc->sender);
		if (r < 0) {
			sd_bus_message_unref(m);
			return r;
		}
	}
	*ret = m;
	return 0;
}

static int controller_send(struct dbus_controller *dc, sd_bus_message *m)
{
	int r = sd_bus_send(dc->bus, m, NULL);

	/* On the container's endpoint nobody else bounds what a controller
	 * that never reads is sent. */
	if (!dc->sender)
		endpoint_check_backlog(dc->dc->endpoint);
	return r;
}

static int pause_signal_new(struct dbus_controller *dc, dev_t devnum, enum seat_pause_type type,
			    sd_bus_message **ret)
{
	sd_bus_message *m = NULL;
	int r = controller_signal_new(dc, "PauseDevice", &m);

	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "uus", major(devnum), minor(devnum),
				  seat_pause_type_to_string(type));
	if (r < 0) {
		sd_bus_message_unref(m);
		return r;
	}
	*ret = m;
	return 0;
}

/* The kept PauseDevice of devnum and type, made now if there is room;
 * NULL when it could not be made. A new reference. */
static sd_bus_message *pause_signal(struct dbus_controller *dc, dev_t devnum,
				    enum seat_pause_type type)
{
	sd_bus_message *m = NULL;
	size_t i = KEPT_PAUSES;

	if (dbus_seat_keep_signals(dc->dc) && !dc->pauses)
		dc->pauses = calloc(KEPT_PAUSES, sizeof(*dc->pauses));
	if (dc->pauses)
		for (i = 0; i < KEPT_PAUSES && dc->pauses[i].m; i++)
			if (dc->pauses[i].devnum == devnum && dc->pauses[i].type == type)
				return sd_bus_message_ref(dc->pauses[i].m);
	if (pause_signal_new(dc, devnum, type, &m) < 0)
		return NULL;
	if (i < KEPT_PAUSES) {
		dc->pauses[i].devnum = devnum;
		dc->pauses[i].type = type;
		dc->pauses[i].m = sd_bus_message_ref(m);
	}
	return m;
}

static void dbus_controller_pause(struct container *c, void *data, struct seat_handle *h,
				  enum seat_pause_type type)
{
	struct dbus_controller *dc = data;
	sd_bus_message *m = pause_signal(dc, h->device->devnum, type);
	int r = m ? controller_send(dc, m) : -ENOMEM;

	sd_bus_message_unref(m);
	if (r < 0)
		log_warning_errno(r, "Cannot send PauseDevice for %s to the controller of %s",
				  h->device->sysname, c->name);
}

/* Never kept: each carries the file of its moment (a fresh one for evdev). */
static void dbus_controller_resume(struct container *c, void *data, struct seat_handle *h)
{
	struct dbus_controller *dc = data;
	dev_t devnum = h->device->devnum;
	sd_bus_message *m = NULL;
	uint32_t maj = major(devnum), min = minor(devnum);
	int r;

	r = controller_signal_new(dc, "ResumeDevice", &m);
	if (r >= 0 &&
	    (r = sd_bus_message_append_basic(m, 'u', &maj)) >= 0 &&
	    (r = sd_bus_message_append_basic(m, 'u', &min)) >= 0 &&
	    (r = sd_bus_message_append_basic(m, 'h', &h->fd)) >= 0)
		r = controller_send(dc, m);
	sd_bus_message_unref(m);
	if (r < 0)
		log_warning_errno(r, "Cannot send ResumeDevice for %s to the controller of %s",
				  h->device->sysname, c->name);
}

static void dbus_controller_released(struct container *c, void *data)
{
	dbus_controller_free(data);
}

static const struct controller_ops dbus_controller_ops = {
	.name = "D-Bus",
	.pause = dbus_controller_pause,
	.resume = dbus_controller_resume,
	.released = dbus_controller_released,
};

static int on_controller_gone(sd_bus_track *track, void *userdata)
{
	struct dbus_controller *dc = userdata;
	struct container *c = dc->container;

	if (container_controlled_by(c, &dbus_controller_ops, dc)) {
		log_info("Controller of container %s left the bus", c->name);
		container_release_control(c);
	}
	return 0;
}

static struct dbus_controller *dbus_controller_of(struct container *c, sd_bus *bus,
						  const char *sender)
{
	struct dbus_controller *dc = c->controller_data;

	if (c->controller_ops != &dbus_controller_ops || dc->bus != bus ||
	    !dc->sender != !sender || (sender && strcmp(sender, dc->sender) != 0))
		return NULL;
	return dc;
}

void container_dbus_connection_gone(struct container *c, sd_bus *bus)
{
	if (dbus_controller_of(c, bus, NULL)) {
		log_info("Controller of container %s disconnected", c->name);
		container_release_control(c);
	}
}

/* On the broker's bus, Container methods are for root; on the container's
 * own endpoint the connection was admitted by pid namespace already. */
static int check_caller(struct dbus_container *dc, sd_bus_message *m, sd_bus_error *error,
			const char **sender)
{
	int r = bus_check_privileged(dc->transport, m, error);

	if (r < 0)
		return r;
	*sender = bus_is_broker_bus(dc->transport, m) ? sd_bus_message_get_sender(m) : NULL;
	return 0;
}

static int check_controller(struct dbus_container *dcont, sd_bus_message *m, sd_bus_error *error)
{
	struct container *c = dcont->container;
	const char *sender;
	int r = check_caller(dcont, m, error, &sender);

	if (r < 0)
		return r;
	if (!dbus_controller_of(c, sd_bus_message_get_bus(m), sender))
		return bus_error_errnof(error, -ERRNO_NOT_IN_CONTROL,
					"You are not the controller of container '%s'", c->name);
	return 0;
}

/* On the endpoint, ControlUser narrows control to one user of the
 * container and its root; on the broker's bus the caller is host root. */
static int check_control_user(struct dbus_container *dcont, sd_bus_message *m,
			      sd_bus_error *error)
{
	struct container *c = dcont->container;
	uid_t uid;

	if (bus_is_broker_bus(dcont->transport, m))
		return 0;
	/* A peer whose uid is not known matches no ControlUser. */
	if (endpoint_peer_uid(dcont->endpoint, sd_bus_message_get_bus(m), &uid) < 0)
		uid = (uid_t)-1;
	if (container_check_control_uid(c, uid) < 0)
		return bus_error_errnof(error, -EPERM,
					"Only the control user of container '%s' or its root may take control",
					c->name);
	return 0;
}

static int method_take_control(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct container *c = container_of_data(userdata);
	sd_bus *bus = sd_bus_message_get_bus(m);
	struct dbus_controller *dc;
	const char *sender;
	int force, r;

	r = sd_bus_message_read(m, "b", &force);
	if (r < 0)
		return r;
	r = check_caller(userdata, m, error, &sender);
	if (r < 0)
		return r;
	r = check_control_user(userdata, m, error);
	if (r < 0)
		return r;
	if (dbus_controller_of(c, bus, sender))
		return sd_bus_reply_method_return(m, NULL);

	dc = calloc(1, sizeof(*dc));
	if (!dc)
		return -ENOMEM;
	dc->dc = userdata;
	dc->container = c;
	dc->bus = sd_bus_ref(bus);
	if (sender) {
		r = sd_bus_track_new(bus, &dc->track, on_controller_gone, dc);
		if (r >= 0)
			r = sd_bus_track_add_name(dc->track, sender);
		if (r >= 0 && !(dc->sender = strdup(sender)))
			r = -ENOMEM;
		if (r < 0) {
			dbus_controller_free(dc);
			return r;
		}
	}
	r = container_take_control(c, &dbus_controller_ops, dc, force);
	if (r < 0) {
		dbus_controller_free(dc);
		if (r == -ERRNO_ALREADY_CONTROLLED)
			return bus_error_errnof(error, r, "Container '%s' already has a controller; use force to replace it", c->name);
		return bus_error_errnof(error, r, "Cannot take control of container '%s'", c->name);
	}
	return sd_bus_reply_method_return(m, NULL);
}

static int method_release_control(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct container *c = container_of_data(userdata);
	int r = check_controller(userdata, m, error);

	if (r < 0)
		return r;
	container_release_control(c);
	return sd_bus_reply_method_return(m, NULL);
}

static int read_devnum(sd_bus_message *m, dev_t *ret)
{
	uint32_t maj, min;
	int r = sd_bus_message_read(m, "uu", &maj, &min);

	if (r < 0)
		return r;
	*ret = makedev(maj, min);
	return 0;
}

static int device_error(struct container *c, sd_bus_error *error, int r, dev_t devnum)
{
	unsigned maj = major(devnum), min = minor(devnum);

	switch (-r) {
	case ERRNO_NO_SUCH_DEVICE:
		return bus_error_errnof(error, r, "Device %u:%u is not a brokered DRM card or evdev node of %s", maj, min, c->seat->seat->id);
	case ERRNO_DEVICE_IS_TAKEN:
		return bus_error_errnof(error, r, "Device %u:%u is already taken", maj, min);
	case ERRNO_DEVICE_NOT_TAKEN:
		return bus_error_errnof(error, r, "Device %u:%u is not taken", maj, min);
	default:
		return bus_error_errnof(error, r, "Cannot open device %u:%u: %s", maj, min, strerror(-r));
	}
}

static int method_take_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct container *c = container_of_data(userdata);
	struct seat_handle *h;
	dev_t devnum;
	int r;

	r = read_devnum(m, &devnum);
	if (r < 0)
		return r;
	r = check_controller(userdata, m, error);
	if (r < 0)
		return r;
	r = container_take_device(c, devnum, &h);
	if (r < 0)
		return device_error(c, error, r, devnum);
	/* The reply carries a dup; the broker keeps its own reference. */
	return sd_bus_reply_method_return(m, "hb", h->fd, h->state != SEAT_HANDLE_LIVE);
}

/* ReleaseDevice and PauseDeviceComplete: a device number from the
 * controller, an action on it, an empty reply. */
static int device_method(sd_bus_message *m, struct dbus_container *dc, sd_bus_error *error,
			 int (*action)(struct container *c, dev_t devnum))
{
	struct container *c = dc->container;
	dev_t devnum;
	int r;

	r = read_devnum(m, &devnum);
	if (r < 0)
		return r;
	r = check_controller(dc, m, error);
	if (r < 0)
		return r;
	r = action(c, devnum);
	if (r < 0)
		return device_error(c, error, r, devnum);
	return sd_bus_reply_method_return(m, NULL);
}

static int method_release_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return device_method(m, userdata, error, container_release_device);
}

static int method_pause_device_complete(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	return device_method(m, userdata, error, container_pause_device_complete);
}

static int method_activate(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct dbus_container *dc = userdata;
	struct container *c = dc->container;
	int r;

	r = bus_check_privileged(dc->transport, m, error);
	if (r < 0)
		return r;
	if (!c->allow_activate)
		return bus_error_errnof(error, -EPERM, "Container '%s' was registered without AllowActivate", c->name);
	return bus_switch(c->seat, SEAT_SWITCH_TO, c, m, dc->endpoint, error);
}

/* A failure of the kernel (an ioctl, an open): Failed with its reason,
 * never the broker's error that happens to share the errno. */
_printf_(3, 4)
static int kernel_error(sd_bus_error *error, int r, const char *fmt, ...)
{
	_cleanup_free_ char *what = NULL;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&what, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	sd_bus_error_setf(error, SD_BUS_ERROR_FAILED, "%s: %s", what, strerror(-r));
	return r;
}

/* Loop devices are not compositor business: any process of the container
 * may use them on its endpoint, root on the broker's bus. */
static int loop_error(struct container *c, sd_bus_error *error, int r, const char *name)
{
	switch (-r) {
	case EINVAL:
		return bus_error_errnof(error, r, "Invalid loop device name '%s'", name);
	case ERRNO_NO_SUCH_DEVICE:
		return bus_error_errnof(error, r, "%s is not a loop device attached for a container", name);
	case ERRNO_DEVICE_NOT_OWNED:
		return bus_error_errnof(error, r, "%s belongs to another container", name);
	default:
		return kernel_error(error, r, "Cannot use %s for container '%s'", name, c->name);
	}
}

static int method_attach_loop_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct dbus_container *dc = userdata;
	struct container *c = dc->container;
	_cleanup_close_ int fd = -1;
	char name[32];
	unsigned number;
	int file, read_only, r;

	r = sd_bus_message_read(m, "hb", &file, &read_only);
	if (r < 0)
		return r;
	r = bus_check_privileged(dc->transport, m, error);
	if (r < 0)
		return r;
	r = container_attach_loop(c, file, read_only, &fd, &number);
	if (r == -EINVAL)
		return bus_error_errnof(error, r, "The backing file must be a regular file opened for reading, and for writing unless read_only is set, not for appending");
	if (r == -ERRNO_LIMIT_EXCEEDED)
		return bus_error_errnof(error, r, "Container '%s' holds %u loop devices, as many as it may",
					c->name, c->broker->config.loop_devices_per_container);
	if (r < 0)
		return kernel_error(error, r, "Cannot attach a loop device for container '%s'", c->name);
	snprintf(name, sizeof(name), "loop%u", number);
	return sd_bus_reply_method_return(m, "hs", fd, name);
}

static int method_open_loop_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct dbus_container *dc = userdata;
	struct container *c = dc->container;
	_cleanup_close_ int fd = -1;
	const char *name;
	unsigned number;
	int r;

	r = sd_bus_message_read(m, "s", &name);
	if (r < 0)
		return r;
	r = bus_check_privileged(dc->transport, m, error);
	if (r < 0)
		return r;
	r = loop_parse_name(name, &number);
	if (r >= 0)
		r = container_open_loop(c, number, &fd);
	if (r < 0)
		return loop_error(c, error, r, name);
	return sd_bus_reply_method_return(m, "h", fd);
}

static int method_detach_loop_device(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct dbus_container *dc = userdata;
	struct container *c = dc->container;
	const char *name;
	unsigned number;
	int r;

	r = sd_bus_message_read(m, "s", &name);
	if (r < 0)
		return r;
	r = bus_check_privileged(dc->transport, m, error);
	if (r < 0)
		return r;
	r = loop_parse_name(name, &number);
	if (r >= 0)
		r = container_detach_loop(c, number);
	if (r < 0)
		return loop_error(c, error, r, name);
	return sd_bus_reply_method_return(m, NULL);
}

const sd_bus_vtable container_vtable[] = {
	SD_BUS_VTABLE_START(0),
	SD_BUS_PROPERTY("Name", "s", property_get_name, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Seat", "(so)", property_get_seat, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Leader", "u", property_get_leader, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("Active", "b", property_get_active, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Controlled", "b", property_get_controlled, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Devices", "a(uusb)", property_get_devices, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("BinderDevice", "s", property_get_binder_device, 0, SD_BUS_VTABLE_PROPERTY_CONST),
	SD_BUS_PROPERTY("LoopDevices", "as", property_get_loop_devices, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_PROPERTY("Login1", "s", property_get_login1, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
	SD_BUS_METHOD_WITH_ARGS("TakeControl", SD_BUS_ARGS("b", force), SD_BUS_NO_RESULT,
				method_take_control, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ReleaseControl", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
				method_release_control, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("TakeDevice", SD_BUS_ARGS("u", major, "u", minor),
				SD_BUS_RESULT("h", fd, "b", inactive),
				method_take_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("ReleaseDevice", SD_BUS_ARGS("u", major, "u", minor), SD_BUS_NO_RESULT,
				method_release_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("PauseDeviceComplete", SD_BUS_ARGS("u", major, "u", minor), SD_BUS_NO_RESULT,
				method_pause_device_complete, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("Activate", SD_BUS_NO_ARGS, SD_BUS_NO_RESULT,
				method_activate, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("AttachLoopDevice", SD_BUS_ARGS("h", file, "b", read_only),
				SD_BUS_RESULT("h", fd, "s", name),
				method_attach_loop_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("OpenLoopDevice", SD_BUS_ARGS("s", name), SD_BUS_RESULT("h", fd),
				method_open_loop_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_METHOD_WITH_ARGS("DetachLoopDevice", SD_BUS_ARGS("s", name), SD_BUS_NO_RESULT,
				method_detach_loop_device, SD_BUS_VTABLE_UNPRIVILEGED),
	SD_BUS_SIGNAL_WITH_ARGS("PauseDevice", SD_BUS_ARGS("u", major, "u", minor, "s", type), 0),
	SD_BUS_SIGNAL_WITH_ARGS("ResumeDevice", SD_BUS_ARGS("u", major, "u", minor, "h", fd), 0),
	SD_BUS_VTABLE_END
};

void container_dbus_emit_changed(struct dbus_container *dc, const char *property)
{
	char *names[] = { (char *)property, NULL };

	sd_bus_emit_properties_changed_strv(dc->transport->bus, dc->path, CONTAINER_INTERFACE, names);
	endpoint_emit_properties_changed(dc->endpoint, dc->path, CONTAINER_INTERFACE, property);
	endpoint_emit_properties_changed(dc->endpoint, CONTAINER_SELF_PATH, CONTAINER_INTERFACE, property);
}

static int container_changes_new(struct dbus_container *dc, const char *path, bool active,
				 bool devices, sd_bus_message **ret)
{
	struct container *c = dc->container;
	sd_bus_message *m = NULL;
	int r;

	r = properties_changed_begin(dc->transport->bus, &m, path, CONTAINER_INTERFACE);
	if (r < 0)
		return r;
	if (active &&
	    ((r = properties_changed_open_entry(m, "Active", "b")) < 0 ||
	     (r = sd_bus_message_append(m, "b", (int)container_is_active(c))) < 0 ||
	     (r = properties_changed_close_entry(m)) < 0))
		goto fail;
	if (devices &&
	    ((r = properties_changed_open_entry(m, "Devices", "a(uusb)")) < 0 ||
	     (r = devices_append(m, c)) < 0 ||
	     (r = properties_changed_close_entry(m)) < 0))
		goto fail;
	r = properties_changed_end(m);
	if (r < 0)
		goto fail;
	*ret = m;
	return 0;
fail:
	sd_bus_message_unref(m);
	return r;
}

/* True when every handle is paused (*paused) or every one live: the states
 * a switch leaves, whose messages are kept. */
static bool devices_uniform(const struct container *c, bool *paused)
{
	const struct seat_handle *h;
	unsigned n = 0, n_paused = 0;

	list_for_each(h, &c->sc->handles, link) {
		n++;
		n_paused += h->state != SEAT_HANDLE_LIVE;
	}
	*paused = n_paused > 0;
	return n_paused == 0 || n_paused == n;
}

/* The slot for the devices as they are now, emptied when it was made for
 * another list; NULL when they are not kept. */
static sd_bus_message **devices_slot(const struct container *c,
				     struct kept_devices_changed *by_paused)
{
	struct kept_devices_changed *k;
	bool paused;

	if (!devices_uniform(c, &paused))
		return NULL;
	k = &by_paused[paused];
	if (k->version != c->sc->handles_version) {
		k->m = sd_bus_message_unref(k->m);
		k->version = c->sc->handles_version;
	}
	return &k->m;
}

sd_bus_message *container_changes_get(struct dbus_container *dc, struct container_changes *k,
				      const char *path, bool active, bool devices)
{
	struct container *c = dc->container;
	bool is_active = container_is_active(c);
	sd_bus_message **slot, *m = NULL;

	if (!k)
		slot = NULL;
	else if (!devices)
		slot = &k->active[is_active];
	else
		slot = devices_slot(c, active ? k->both[is_active] : k->devices);
	if (slot && *slot)
		return sd_bus_message_ref(*slot);
	if (container_changes_new(dc, path, active, devices, &m) < 0)
		return NULL;
	if (slot)
		*slot = sd_bus_message_ref(m);
	return m;
}

void container_changes_clear(struct container_changes *k)
{
	signal_cache_clear(k->active, ARRAY_SIZE(k->active));
	for (size_t i = 0; i < ARRAY_SIZE(k->devices); i++)
		k->devices[i].m = sd_bus_message_unref(k->devices[i].m);
	for (size_t i = 0; i < ARRAY_SIZE(k->both); i++)
		for (size_t j = 0; j < ARRAY_SIZE(k->both[i]); j++)
			k->both[i][j].m = sd_bus_message_unref(k->both[i][j].m);
}

void container_dbus_emit_switched(struct dbus_container *dc, bool active, bool devices)
{
	struct dbus_container_kept *k = dbus_seat_keep_signals(dc);
	sd_bus_message *m;
	int r;

	m = container_changes_get(dc, k ? &k->changes : NULL, dc->path, active, devices);
	r = m ? sd_bus_send(dc->transport->bus, m, NULL) : -ENOMEM;

	sd_bus_message_unref(m);
	if (r < 0)
		log_debug_errno(r, "Cannot announce the switch of %s", dc->container->name);
	endpoint_emit_switched(dc->endpoint, active, devices);
}

void dbus_container_kept_free(struct dbus_container_kept *k)
{
	if (!k)
		return;
	container_changes_clear(&k->changes);
	sd_bus_message_unref(k->seat_active_changed);
	for (size_t i = 0; i < ARRAY_SIZE(k->endpoint_changes); i++)
		container_changes_clear(&k->endpoint_changes[i]);
	signal_cache_clear(k->endpoint_seat_active_changed,
			   ARRAY_SIZE(k->endpoint_seat_active_changed));
	free(k);
}

void container_dbus_forget_signals(struct dbus_container *dc)
{
	struct container *c = dc->container;

	dbus_container_kept_free(dc->kept);
	dc->kept = NULL;
	if (c->controller_ops == &dbus_controller_ops)
		dbus_controller_forget_pauses(c->controller_data);
}
