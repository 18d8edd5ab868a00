/* SPDX-License-Identifier: MIT */
/* Key presses from evdev fds, and the --direct mode that opens the device
 * nodes itself instead of asking the broker. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <xf86drm.h>

#include "demo.h"

static int on_evdev(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct demo_device *dev = userdata;
	struct input_event ev[64];

	for (;;) {
		ssize_t n = read(fd, ev, sizeof(ev));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN)
			return 0;
		if (n <= 0) {
			/* ENODEV (with POLLHUP) means revoked: the fd is dead
			 * for good and would wake us forever, so stop
			 * watching it until ResumeDevice brings a new one. */
			if (n < 0 && errno != ENODEV)
				fprintf(stderr, "devns-demo-client: read %s: %m\n", dev->sysname);
			input_stop(dev);
			return 0;
		}
		for (size_t i = 0; i < (size_t)n / sizeof(ev[0]); i++)
			if (ev[i].type == EV_KEY && ev[i].value == 1)
				demo_key(dev->demo, dev, ev[i].code);
	}
}

int input_start(struct demo_device *dev)
{
	int flags;

	if (dev->io)
		return 0;
	/* We drain the fd in a loop, so it must not block; the broker's open
	 * flags are not ours to rely on. */
	flags = fcntl(dev->fd, F_GETFL);
	if (flags < 0 || fcntl(dev->fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return -errno;
	return sd_event_add_io(dev->demo->event, &dev->io, dev->fd, EPOLLIN, on_evdev, dev);
}

void input_stop(struct demo_device *dev)
{
	dev->io = sd_event_source_disable_unref(dev->io);
}

int input_check(struct demo_device *dev)
{
	int version;

	if (ioctl(dev->fd, EVIOCGVERSION, &version) < 0)
		return -errno;
	return 0;
}

static int open_node(struct demo *demo, const char *path, int flags, enum demo_device_type type,
		     struct demo_device **ret)
{
	_cleanup_close_ int fd = -1;
	struct demo_device *dev;
	struct stat st;

	fd = open(path, flags | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) < 0) {
		int r = -errno;
		fprintf(stderr, "devns-demo-client: %s: %s\n", path, strerror(-r));
		return r;
	}
	dev = demo_add_device(demo, type, strrchr(path, '/') + 1, major(st.st_rdev), minor(st.st_rdev));
	if (!dev)
		return -ENOMEM;
	dev->fd = TAKE_FD(fd);
	*ret = dev;
	return 0;
}

static int event_filter(const struct dirent *de)
{
	return strncmp(de->d_name, "event", 5) == 0;
}

int direct_open_devices(struct demo *demo)
{
	struct demo_device *dev;
	struct dirent **list = NULL;
	int n, r;

	r = open_node(demo, "/dev/dri/card0", O_RDWR, DEMO_DEVICE_DRM, &dev);
	if (r < 0)
		return r;
	/* The first opener becomes master by itself; if someone else already
	 * is, SET_MASTER fails and there is nothing we may take from them. */
	if (!drmIsMaster(dev->fd) && drmSetMaster(dev->fd) != 0) {
		fprintf(stderr, "devns-demo-client: /dev/dri/card0: another process holds DRM master\n");
		return -EBUSY;
	}

	n = scandir("/dev/input", &list, event_filter, versionsort);
	if (n < 0) {
		r = -errno;
		fprintf(stderr, "devns-demo-client: /dev/input: %s\n", strerror(-r));
		return r;
	}
	r = 0;
	for (int i = 0; i < n; i++) {
		char path[300];

		if (r >= 0 && demo_wants_input(demo, list[i]->d_name)) {
			snprintf(path, sizeof(path), "/dev/input/%s", list[i]->d_name);
			r = open_node(demo, path, O_RDONLY | O_NONBLOCK, DEMO_DEVICE_EVDEV, &dev);
			if (r >= 0)
				r = input_start(dev);
		}
		free(list[i]);
	}
	free(list);
	if (r < 0)
		return r;

	for (char **in = demo->inputs; in && *in; in++) {
		bool found = false;
		for (size_t i = 0; i < demo->n_devices; i++)
			found = found || strcmp(demo->devices[i]->sysname, *in) == 0;
		if (!found) {
			fprintf(stderr, "devns-demo-client: no input device %s\n", *in);
			return -ENOENT;
		}
	}
	return 0;
}
