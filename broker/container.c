/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>

#include "broker/broker.h"
#include "broker/container.h"
#include "common/log.h"
#include "dbus/bus-error.h"
#include "dbus/dbus.h"
#include "dbus/endpoint.h"

static bool pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

static int on_leader_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct container *c = userdata;

	log_info("Leader %d of container %s exited; unregistering it", (int)c->leader, c->name);
	container_free(c);
	return 0;
}

static int endpoint_dir_create(struct container *c)
{
	char *path;

	if (asprintf(&path, "%s/%s", c->broker->containers_dir, c->name) < 0)
		return -ENOMEM;
	c->endpoint_dir = path;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void endpoint_dir_remove(struct container *c)
{
	char path[PATH_MAX];

	if (!c->endpoint_dir)
		return;
	snprintf(path, sizeof(path), "%s/bus", c->endpoint_dir);
	(void)unlink(path);
	if (rmdir(c->endpoint_dir) < 0 && errno != ENOENT)
		log_warning_errno(errno, "Cannot remove %s", c->endpoint_dir);
}

int container_new(struct broker *b, const char *name, struct broker_seat *seat,
		  pid_t leader, const struct container_options *opts,
		  struct container **ret)
{
	char socket_path[PATH_MAX];
	struct container *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->broker = b;
	c->seat = seat;
	c->leader = leader;
	c->allow_activate = opts->allow_activate;
	list_init(&c->link);

	/* Pin the leader first, then read its namespace, then make sure the
	 * pinned process is still the one whose namespace was read. */
	c->pidfd = pidfd_open(leader, 0);
	if (c->pidfd < 0) {
		r = -errno;
		goto fail;
	}
	r = pidns_of_pid(leader, &c->pidns);
	if (r < 0 || pidfd_exited(c->pidfd)) {
		r = -ESRCH;
		goto fail;
	}

	c->name = strdup(name);
	if (!c->name) {
		r = -ENOMEM;
		goto fail;
	}
	r = sd_bus_path_encode(CONTAINER_PATH_PREFIX, name, &c->path);
	if (r < 0)
		goto fail;
	r = seat_add_container(seat->seat, name, &c->sc);
	if (r < 0)
		goto fail;
	c->sc->userdata = c;

	r = endpoint_dir_create(c);
	if (r < 0) {
		log_error_errno(r, "Cannot create endpoint directory %s", c->endpoint_dir);
		goto fail;
	}
	snprintf(socket_path, sizeof(socket_path), "%s/bus", c->endpoint_dir);
	r = endpoint_new(c, socket_path, &c->endpoint);
	if (r < 0) {
		log_error_errno(r, "Cannot listen on %s", socket_path);
		goto fail;
	}
	r = sd_event_add_io(b->event, &c->leader_source, c->pidfd, EPOLLIN, on_leader_exit, c);
	if (r < 0)
		goto fail;

	list_append(&b->containers, &c->link);
	log_info("Registered container %s on %s, leader %d", name, seat->seat->id, (int)leader);
	manager_dbus_emit_container(c, true);
	seat_dbus_emit_changed(seat, "Containers");
	*ret = c;
	return 0;

fail:
	container_free(c);
	return r;
}

static void controller_clear(struct container *c)
{
	c->controller.track = sd_bus_track_unref(c->controller.track);
	c->controller.bus = sd_bus_unref(c->controller.bus);
	free(c->controller.sender);
	c->controller.sender = NULL;
}

void container_free(struct container *c)
{
	struct broker_seat *bs;
	bool registered;

	if (!c)
		return;
	bs = c->seat;
	registered = !list_empty(&c->link);
	list_remove(&c->link);

	if (c->sc)
		seat_remove_container(c->sc);
	controller_clear(c);
	endpoint_free(c->endpoint);
	endpoint_dir_remove(c);

	if (registered) {
		log_info("Unregistered container %s", c->name);
		manager_dbus_emit_container(c, false);
		seat_dbus_emit_changed(bs, "Containers");
	}
	sd_event_source_disable_unref(c->leader_source);
	if (c->pidfd >= 0)
		close(c->pidfd);
	free(c->endpoint_dir);
	free(c->path);
	free(c->name);
	free(c);
	if (registered)
		broker_seat_gc(bs);
}

bool container_is_active(const struct container *c)
{
	return c->seat->seat->active == c->sc;
}

int container_check_controller(struct container *c, sd_bus *bus, const char *sender)
{
	if (!c->sc->controlled || c->controller.bus != bus)
		return -ERRNO_NOT_IN_CONTROL;
	if (!c->controller.sender != !sender)
		return -ERRNO_NOT_IN_CONTROL;
	if (sender && strcmp(sender, c->controller.sender) != 0)
		return -ERRNO_NOT_IN_CONTROL;
	return 0;
}

static void controller_release(struct container *c)
{
	seat_container_release_control(c->sc);
	controller_clear(c);
	container_dbus_emit_changed(c, "Devices");
	container_dbus_emit_changed(c, "Controlled");
}

static int on_controller_gone(sd_bus_track *track, void *userdata)
{
	struct container *c = userdata;

	log_info("Controller of container %s left the bus", c->name);
	controller_release(c);
	return 0;
}

int container_take_control(struct container *c, sd_bus *bus, const char *sender, bool force)
{
	int r;

	if (c->sc->controlled) {
		if (container_check_controller(c, bus, sender) == 0)
			return 0;
		if (!force)
			return -ERRNO_ALREADY_CONTROLLED;
		log_info("Controller of container %s replaced by force", c->name);
		controller_release(c);
	}

	if (sender) {
		r = sd_bus_track_new(bus, &c->controller.track, on_controller_gone, c);
		if (r >= 0)
			r = sd_bus_track_add_name(c->controller.track, sender);
		if (r >= 0)
			r = (c->controller.sender = strdup(sender)) ? 0 : -ENOMEM;
		if (r < 0) {
			controller_clear(c);
			return r;
		}
	}
	c->controller.bus = sd_bus_ref(bus);
	r = seat_container_take_control(c->sc);
	if (r < 0) {
		controller_clear(c);
		return r;
	}
	container_dbus_emit_changed(c, "Controlled");
	return 0;
}

int container_release_control(struct container *c, sd_bus *bus, const char *sender)
{
	int r = container_check_controller(c, bus, sender);

	if (r < 0)
		return r;
	controller_release(c);
	return 0;
}

void container_connection_gone(struct container *c, sd_bus *bus, const char *sender)
{
	if (container_check_controller(c, bus, sender) == 0) {
		log_info("Controller of container %s disconnected", c->name);
		controller_release(c);
	}
}

int container_take_device(struct container *c, sd_bus *bus, const char *sender,
			  dev_t devnum, int *ret_fd, bool *ret_inactive)
{
	struct seat_handle *h;
	int r;

	r = container_check_controller(c, bus, sender);
	if (r < 0)
		return r;
	r = seat_container_take_device(c->sc, devnum, &h);
	if (r < 0)
		return r;
	*ret_fd = h->fd;
	*ret_inactive = h->state != SEAT_HANDLE_LIVE;
	container_dbus_emit_changed(c, "Devices");
	return 0;
}

static int find_own_handle(struct container *c, sd_bus *bus, const char *sender,
			   dev_t devnum, struct seat_handle **ret)
{
	int r = container_check_controller(c, bus, sender);

	if (r < 0)
		return r;
	*ret = seat_container_find_handle(c->sc, devnum);
	return *ret ? 0 : -ERRNO_DEVICE_NOT_TAKEN;
}

int container_release_device(struct container *c, sd_bus *bus, const char *sender,
			     dev_t devnum)
{
	struct seat_handle *h;
	int r = find_own_handle(c, bus, sender, devnum, &h);

	if (r < 0)
		return r;
	seat_handle_release(h);
	container_dbus_emit_changed(c, "Devices");
	return 0;
}

int container_pause_device_complete(struct container *c, sd_bus *bus,
				    const char *sender, dev_t devnum)
{
	struct seat_handle *h;
	int r = find_own_handle(c, bus, sender, devnum, &h);

	if (r < 0)
		return r;
	seat_handle_pause_complete(h);
	return 0;
}

void container_notify_pause(struct container *c, struct seat_handle *h,
			    enum seat_pause_type type)
{
	int r = container_dbus_send_pause(c, h->device->devnum, seat_pause_type_to_string(type));

	if (r < 0)
		log_warning_errno(r, "Cannot tell the controller of %s to pause %s",
				  c->name, h->device->sysname);
}

void container_notify_resume(struct container *c, struct seat_handle *h)
{
	int r = container_dbus_send_resume(c, h->device->devnum, h->fd);

	if (r < 0)
		log_warning_errno(r, "Cannot tell the controller of %s to resume %s",
				  c->name, h->device->sysname);
}
