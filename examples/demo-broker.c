/* SPDX-License-Identifier: MIT */
/* The broker side: the logind-style session API on the container's
 * peer-to-peer socket. Everything the broker does to our devices arrives as
 * PauseDevice/ResumeDevice signals; we only ever answer a "pause". */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <linux/kcmp.h>

#include "demo.h"

static int bus_failure(const char *what, const sd_bus_error *error, int r)
{
	if (sd_bus_error_is_set(error))
		fprintf(stderr, "devns-demo-client: %s failed: %s: %s\n", what, error->name, error->message);
	else
		fprintf(stderr, "devns-demo-client: %s failed: %s\n", what, strerror(-r));
	return r;
}

static int on_method_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);

	if (e)
		fprintf(stderr, "devns-demo-client: %s: %s: %s\n", (const char *)userdata, e->name, e->message);
	return 0;
}

/* Whether two fds are the same open file. The broker promises the same file
 * on a DRM resume; if a restarted broker ever hands out a new one, our
 * buffers live on the old file and must move. */
static bool same_file(int a, int b)
{
	pid_t self = getpid();
	long r = syscall(SYS_kcmp, self, self, KCMP_FILE, a, b);

	return r == 0 || r < 0; /* without kcmp, trust the contract */
}

static int on_pause(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct demo *demo = userdata;
	struct demo_device *dev;
	uint32_t major, minor;
	const char *type;
	int r;

	r = sd_bus_message_read(m, "uus", &major, &minor, &type);
	if (r < 0) {
		fprintf(stderr, "devns-demo-client: malformed PauseDevice: %s\n", strerror(-r));
		return 0;
	}
	dev = demo_find_device(demo, major, minor);
	if (!dev)
		return 0;

	if (strcmp(type, "gone") == 0) {
		demo_drop_device(demo, dev);
		demo_event(demo, "pause %u:%u gone", major, minor);
		return 0;
	}

	/* We never have a flip in flight, so pausing is just this flag:
	 * nothing calls SetCrtc or DirtyFB while it is set. */
	dev->paused = true;
	if (dev->type == DEMO_DEVICE_EVDEV)
		input_stop(dev);
	if (strcmp(type, "pause") == 0) {
		/* Answer at once: the broker holds the switch until we do. */
		r = sd_bus_call_method_async(demo->bus, NULL, NULL, BROKER_CONTAINER_PATH,
					     BROKER_CONTAINER_IFACE, "PauseDeviceComplete",
					     on_method_reply, (void *)"PauseDeviceComplete", "uu",
					     major, minor);
		if (r < 0)
			fprintf(stderr, "devns-demo-client: PauseDeviceComplete: %s\n", strerror(-r));
	}
	demo_event(demo, "pause %u:%u %s", major, minor, type);
	return 0;
}

static int resume_drm(struct demo *demo, struct demo_device *dev, int fd)
{
	if (!same_file(dev->fd, fd)) {
		int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (nfd < 0)
			return -errno;
		display_teardown(&demo->display);
		close(dev->fd);
		dev->fd = nfd;
	}
	dev->paused = false;
	/* The buffer kept its pixels while we were paused; only the modeset
	 * is needed to show it again (display_setup is a no-op then). */
	return demo_show(demo);
}

static int resume_evdev(struct demo *demo, struct demo_device *dev, int fd)
{
	/* sd-bus closes the message's fd; keep our own. */
	int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	if (nfd < 0)
		return -errno;
	input_stop(dev);
	demo_retire_fd(demo, dev->fd);
	dev->fd = nfd;
	dev->paused = false;
	return input_start(dev);
}

static int on_resume(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct demo *demo = userdata;
	struct demo_device *dev;
	uint32_t major, minor;
	int fd, r;

	r = sd_bus_message_read(m, "uuh", &major, &minor, &fd);
	if (r < 0) {
		fprintf(stderr, "devns-demo-client: malformed ResumeDevice: %s\n", strerror(-r));
		return 0;
	}
	dev = demo_find_device(demo, major, minor);
	if (!dev)
		return 0;

	if (dev->type == DEMO_DEVICE_DRM)
		r = resume_drm(demo, dev, fd);
	else
		r = resume_evdev(demo, dev, fd);
	demo->last_resume_ns = demo_now_ns();
	if (r < 0)
		fprintf(stderr, "devns-demo-client: resuming %s: %s\n", dev->sysname, strerror(-r));
	/* Reported even on failure so a driver of --control never waits for
	 * a line that cannot come; status tells the truth. */
	demo_event(demo, "resume %u:%u %" PRIu64, major, minor, demo->last_resume_ns);
	return 0;
}

static int on_match_installed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	/* A peer-to-peer broker sends its signals whether or not it knows
	 * AddMatch, and sd-bus filters them locally anyway; a refusal here
	 * must not close the connection (it would without this callback). */
	return 0;
}

static int on_retry(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct demo *demo = userdata;
	int r;

	/* Not from the old connection's own callback: it can go now. */
	demo->pause_slot = sd_bus_slot_unref(demo->pause_slot);
	demo->resume_slot = sd_bus_slot_unref(demo->resume_slot);
	demo->bus = sd_bus_flush_close_unref(demo->bus);

	r = broker_reconnect(demo);
	if (r >= 0) {
		demo_event(demo, "reconnected");
		return 0;
	}
	demo->bus = sd_bus_flush_close_unref(demo->bus);
	if (demo_now_ns() > demo->retry_until_ns) {
		fprintf(stderr, "devns-demo-client: the broker did not come back\n");
		demo_quit(demo, 1);
		return 0;
	}
	sd_event_source_set_time_relative(s, 50 * 1000);
	return sd_event_source_set_enabled(s, SD_EVENT_ONESHOT);
}

static int on_disconnected(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct demo *demo = userdata;
	int r;

	demo->controlling = false;
	if (demo->reconnect && !demo->quitting) {
		/* Keep every device: master and input live in the open files,
		 * and a restarted broker takes them over. */
		demo_event(demo, "disconnected");
		demo->retry_until_ns = demo_now_ns() + 60ULL * 1000000000ULL;
		if (demo->retry)
			r = sd_event_source_set_time_relative(demo->retry, 50 * 1000);
		else
			r = sd_event_add_time_relative(demo->event, &demo->retry, CLOCK_MONOTONIC,
						       50 * 1000, 0, on_retry, demo);
		if (r >= 0)
			r = sd_event_source_set_enabled(demo->retry, SD_EVENT_ONESHOT);
		if (r >= 0)
			return 0;
	}
	if (!demo->quitting)
		fprintf(stderr, "devns-demo-client: the broker closed the connection\n");
	demo_quit(demo, demo->quitting ? 0 : 1);
	return 0;
}

int broker_connect(struct demo *demo)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r < 0)
		return r;
	r = sd_bus_set_address(bus, demo->address);
	if (r < 0)
		goto fail;
	r = sd_bus_set_bus_client(bus, 1);
	if (r < 0)
		goto fail;
	r = sd_bus_start(bus);
	if (r < 0)
		goto fail;
	r = sd_bus_attach_event(bus, demo->event, SD_EVENT_PRIORITY_NORMAL);
	if (r < 0)
		goto fail;

	r = sd_bus_match_signal(bus, NULL, "org.freedesktop.DBus.Local", "/org/freedesktop/DBus/Local",
				"org.freedesktop.DBus.Local", "Disconnected", on_disconnected, demo);
	if (r < 0)
		goto fail;
	/* Sender and path left open: on this socket only our own container's
	 * object talks, under its full path or under .../self. The slots are
	 * kept (not floating) so a refused AddMatch leaves them in place. */
	r = sd_bus_match_signal_async(bus, &demo->pause_slot, NULL, NULL, BROKER_CONTAINER_IFACE,
				      "PauseDevice", on_pause, on_match_installed, demo);
	if (r < 0)
		goto fail;
	r = sd_bus_match_signal_async(bus, &demo->resume_slot, NULL, NULL, BROKER_CONTAINER_IFACE,
				      "ResumeDevice", on_resume, on_match_installed, demo);
	if (r < 0)
		goto fail;

	demo->bus = TAKE_PTR(bus);
	return 0;

fail:
	/* While waiting for a broker to come back, refusals are expected. */
	if (!demo->retry)
		fprintf(stderr, "devns-demo-client: cannot connect to %s: %s\n", demo->address, strerror(-r));
	return r;
}

static int take_device(struct demo *demo, enum demo_device_type type, const char *sysname,
		       uint32_t major, uint32_t minor)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	struct demo_device *dev;
	char what[96];
	int fd, inactive, r;

	snprintf(what, sizeof(what), "TakeDevice(%s %" PRIu32 ":%" PRIu32 ")", sysname, major, minor);
	r = sd_bus_call_method(demo->bus, NULL, BROKER_CONTAINER_PATH, BROKER_CONTAINER_IFACE,
			       "TakeDevice", &error, &reply, "uu", major, minor);
	if (r < 0)
		return bus_failure(what, &error, r);
	r = sd_bus_message_read(reply, "hb", &fd, &inactive);
	if (r < 0)
		return bus_failure(what, &error, r);

	dev = demo_add_device(demo, type, sysname, major, minor);
	if (!dev)
		return -ENOMEM;
	/* sd-bus closes the message's fd with the message. */
	dev->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (dev->fd < 0)
		return bus_failure(what, &error, -errno);
	/* Inactive: DRM without master, evdev already revoked. Either way
	 * the device is live only after a ResumeDevice. */
	dev->paused = inactive;
	if (type == DEMO_DEVICE_EVDEV && !inactive) {
		r = input_start(dev);
		if (r < 0)
			return bus_failure(what, &error, r);
	}
	return 0;
}

int broker_take_devices(struct demo *demo)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *seat = NULL, *devices = NULL;
	const char *seat_id, *seat_path, *sysname, *type;
	uint32_t major, minor;
	bool have_drm = false;
	int r;

	r = sd_bus_call_method(demo->bus, NULL, BROKER_CONTAINER_PATH, BROKER_CONTAINER_IFACE,
			       "TakeControl", &error, NULL, "b", 0);
	if (r < 0)
		return bus_failure("TakeControl", &error, r);
	demo->controlling = true;

	r = sd_bus_get_property(demo->bus, NULL, BROKER_CONTAINER_PATH, BROKER_CONTAINER_IFACE, "Seat",
				&error, &seat, "(so)");
	if (r >= 0)
		r = sd_bus_message_read(seat, "(so)", &seat_id, &seat_path);
	if (r < 0)
		return bus_failure("reading the container's Seat", &error, r);

	r = sd_bus_get_property(demo->bus, NULL, seat_path, BROKER_SEAT_IFACE, "Devices", &error,
				&devices, "a(suus)");
	if (r >= 0)
		r = sd_bus_message_enter_container(devices, 'a', "(suus)");
	if (r < 0)
		return bus_failure("reading the seat's Devices", &error, r);

	while ((r = sd_bus_message_read(devices, "(suus)", &sysname, &major, &minor, &type)) > 0) {
		if (strcmp(type, "drm") == 0 && !have_drm) {
			r = take_device(demo, DEMO_DEVICE_DRM, sysname, major, minor);
			have_drm = true;
		} else if (strcmp(type, "evdev") == 0 && demo_wants_input(demo, sysname))
			r = take_device(demo, DEMO_DEVICE_EVDEV, sysname, major, minor);
		if (r < 0)
			return r;
	}
	if (r < 0)
		return bus_failure("reading the seat's Devices", &error, r);

	for (char **in = demo->inputs; in && *in; in++) {
		bool found = false;
		for (size_t i = 0; i < demo->n_devices; i++)
			found = found || strcmp(demo->devices[i]->sysname, *in) == 0;
		if (!found) {
			fprintf(stderr, "devns-demo-client: seat %s has no input device %s\n", seat_id, *in);
			return -ENOENT;
		}
	}
	if (!have_drm)
		fprintf(stderr, "devns-demo-client: seat %s has no DRM card; counting keys only\n", seat_id);
	return 0;
}

/* The device again after a reconnect: a broker that kept running or took
 * the files over hands back the same DRM file (still master if we are in
 * front); an evdev file may be a new one. */
static int reclaim_device(struct demo *demo, struct demo_device *dev)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	int fd, nfd, inactive, r;

	r = sd_bus_call_method(demo->bus, NULL, BROKER_CONTAINER_PATH, BROKER_CONTAINER_IFACE,
			       "TakeDevice", &error, &reply, "uu", dev->major, dev->minor);
	if (r >= 0)
		r = sd_bus_message_read(reply, "hb", &fd, &inactive);
	if (r < 0)
		return bus_failure("TakeDevice after reconnecting", &error, r);
	nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (nfd < 0)
		return -errno;
	if (dev->type == DEMO_DEVICE_DRM) {
		if (same_file(nfd, dev->fd)) {
			close(nfd);
		} else {
			display_teardown(&demo->display);
			close(dev->fd);
			dev->fd = nfd;
		}
		dev->paused = inactive;
		return inactive ? 0 : demo_show(demo);
	}
	input_stop(dev);
	if (same_file(nfd, dev->fd))
		close(nfd);
	else {
		demo_retire_fd(demo, dev->fd);
		dev->fd = nfd;
	}
	dev->paused = inactive;
	return inactive ? 0 : input_start(dev);
}

int broker_reconnect(struct demo *demo)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = broker_connect(demo);
	if (r < 0)
		return r;
	r = sd_bus_call_method(demo->bus, NULL, BROKER_CONTAINER_PATH, BROKER_CONTAINER_IFACE,
			       "TakeControl", &error, NULL, "b", 0);
	if (r < 0)
		return bus_failure("TakeControl after reconnecting", &error, r);
	demo->controlling = true;
	for (size_t i = 0; i < demo->n_devices; i++) {
		r = reclaim_device(demo, demo->devices[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

void broker_release(struct demo *demo)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	if (!demo->bus || !demo->controlling)
		return;
	demo->controlling = false;
	r = sd_bus_call_method(demo->bus, NULL, BROKER_CONTAINER_PATH, BROKER_CONTAINER_IFACE,
			       "ReleaseControl", &error, NULL, "");
	if (r < 0)
		bus_failure("ReleaseControl", &error, r);
}
