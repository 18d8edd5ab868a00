/* SPDX-License-Identifier: MIT */
/*
 * Loop devices for containers. A container passes an open backing file;
 * the broker takes a free device from /dev/loop-control, configures it in
 * one step (LOOP_CONFIGURE: no window in which the device is bound but not
 * yet set up) and records the container as its owner. Only the owner may
 * open or detach it through the broker.
 *
 * The broker keeps an open file of every device it attached. The kernel
 * lets anyone holding a loop device file issue LOOP_CLR_FD, but while
 * another opener exists that only marks the device for autoclear: so a
 * container cannot free its device behind the broker's back and have it
 * handed, still open in the container, to another one. The broker's own
 * detach works the same way: a device the container still has mounted goes
 * when the file system is unmounted.
 *
 * LO_FLAGS_AUTOCLEAR is not set at attach: the broker's open file would be
 * the last one of an unused device, so a crash of the broker would detach
 * it under the container, which a restarted broker picks up again with its
 * devices (broker/state.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/container.h"
#include "broker/errors.h"
#include "broker/loop.h"
#include "common/log.h"
#include "common/macro.h"

/* Another attach may take the device LOOP_CTL_GET_FREE named before we
 * configure it; then ask again, a bounded number of times. */
#define LOOP_ATTACH_TRIES 16

/* ---- thin shims over the loop ioctls: negative errno, no logging ---- */

static int loop_ctl_get_free(void)
{
	_cleanup_close_ int ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	int n;

	if (ctl < 0)
		return -errno;
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	return n < 0 ? -errno : n;
}

static int loop_open(unsigned number, int flags)
{
	char path[32];
	int fd;

	snprintf(path, sizeof(path), "/dev/loop%u", number);
	fd = open(path, flags | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

static int loop_configure(int fd, int file_fd, uint32_t flags)
{
	struct loop_config cfg = {
		.fd = (uint32_t)file_fd,
		.info.lo_flags = flags,
	};

	return ioctl(fd, LOOP_CONFIGURE, &cfg) < 0 ? -errno : 0;
}

static int loop_status(int fd, struct loop_info64 *ret)
{
	return ioctl(fd, LOOP_GET_STATUS64, ret) < 0 ? -errno : 0;
}

static int loop_clear(int fd)
{
	return ioctl(fd, LOOP_CLR_FD) < 0 ? -errno : 0;
}

/* ---- bookkeeping ---- */

int loop_parse_name(const char *name, unsigned *ret)
{
	unsigned long v;
	char *end;

	if (!name || strncmp(name, "loop", 4) != 0)
		return -EINVAL;
	name += 4;
	/* Digits only, no leading zero: one spelling per device. */
	if (name[0] < '0' || name[0] > '9' || (name[0] == '0' && name[1]) || strlen(name) > 7)
		return -EINVAL;
	errno = 0;
	v = strtoul(name, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

struct loop_device *broker_find_loop(struct broker *b, unsigned number)
{
	struct container *c;
	struct loop_device *l;

	list_for_each(c, &b->containers, link)
		list_for_each(l, &c->loops, link)
			if (l->number == number)
				return l;
	return NULL;
}

static struct loop_device *container_find_loop(struct container *c, unsigned number)
{
	struct loop_device *l;

	list_for_each(l, &c->loops, link)
		if (l->number == number)
			return l;
	return NULL;
}

int container_add_loop(struct container *c, unsigned number, bool read_only, int fd,
		       struct loop_device **ret)
{
	struct loop_device *l = calloc(1, sizeof(*l));

	if (!l) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	l->owner = c;
	l->number = number;
	l->read_only = read_only;
	l->fd = fd;
	list_append(&c->loops, &l->link);
	container_announce(c, BROKER_EVENT_LOOP_DEVICES_CHANGED);
	broker_state_changed(c->broker);
	if (ret)
		*ret = l;
	return 0;
}

static void loop_device_detach(struct loop_device *l)
{
	struct container *c = l->owner;

	if (l->fd >= 0) {
		int r = loop_clear(l->fd);

		/* ENXIO: nothing bound any more. */
		if (r < 0 && r != -ENXIO)
			log_warning_errno(r, "Cannot detach loop%u of %s", l->number, c->name);
		close(l->fd);
	}
	log_info("Detached loop%u of %s", l->number, c->name);
	list_remove(&l->link);
	free(l);
}

/* Finds c's loopN, or says why not. */
static int lookup(struct container *c, unsigned number, struct loop_device **ret)
{
	struct loop_device *l = container_find_loop(c, number);

	if (!l)
		return broker_find_loop(c->broker, number) ? -ERRNO_DEVICE_NOT_OWNED :
							      -ERRNO_NO_SUCH_DEVICE;
	*ret = l;
	return 0;
}

int container_attach_loop(struct container *c, int file_fd, bool read_only, int *ret_fd,
			  unsigned *ret_number)
{
	uint32_t flags = read_only ? LO_FLAGS_READ_ONLY : 0;
	_cleanup_close_ int fd = -1;
	struct stat st;
	int n = -EBUSY, r, mode;

	mode = fcntl(file_fd, F_GETFL);
	if (mode < 0 || fstat(file_fd, &st) < 0)
		return -EINVAL;
	if (!S_ISREG(st.st_mode) || (mode & O_PATH))
		return -EINVAL;
	/* The device reads through this file, so it must be readable; the
	 * kernel would quietly make the device read-only instead of failing
	 * a write, and would write through an append-only file at offsets
	 * O_APPEND is meant to forbid. */
	if ((mode & O_ACCMODE) == O_WRONLY || (mode & O_APPEND))
		return -EINVAL;
	if (!read_only && (mode & O_ACCMODE) == O_RDONLY)
		return -EINVAL;
	/* Each one costs devnsd an fd and the host a loop device. */
	if (list_length(&c->loops) >= c->broker->config.loop_devices_per_container)
		return -ERRNO_LIMIT_EXCEEDED;

	for (int i = 0; i < LOOP_ATTACH_TRIES; i++) {
		n = loop_ctl_get_free();
		if (n < 0)
			return n;
		fd = loop_open((unsigned)n, O_RDWR);
		if (fd < 0)
			return fd;
		r = loop_configure(fd, file_fd, flags);
		if (r == 0)
			break;
		closep(&fd);
		if (r != -EBUSY)
			return r;
		log_debug("loop%d was taken meanwhile; asking for another", n);
	}
	if (fd < 0)
		return -EBUSY;

	/* The container's own open file, apart from the broker's. */
	r = loop_open((unsigned)n, read_only ? O_RDONLY : O_RDWR);
	if (r < 0) {
		(void)loop_clear(fd);
		return r;
	}
	*ret_fd = r;
	r = container_add_loop(c, (unsigned)n, read_only, TAKE_FD(fd), NULL);
	if (r < 0) {
		close(*ret_fd);
		return r;
	}
	log_info("Attached loop%d for %s (%s)", n, c->name, read_only ? "read-only" : "read-write");
	*ret_number = (unsigned)n;
	return 0;
}

int container_open_loop(struct container *c, unsigned number, int *ret_fd)
{
	struct loop_device *l;
	int r = lookup(c, number, &l), fd;

	if (r < 0)
		return r;
	fd = loop_open(number, l->read_only ? O_RDONLY : O_RDWR);
	if (fd < 0)
		return fd;
	*ret_fd = fd;
	return 0;
}

int container_detach_loop(struct container *c, unsigned number)
{
	struct loop_device *l;
	int r = lookup(c, number, &l);

	if (r < 0)
		return r;
	loop_device_detach(l);
	container_announce(c, BROKER_EVENT_LOOP_DEVICES_CHANGED);
	broker_state_changed(c->broker);
	return 0;
}

void container_detach_all_loops(struct container *c)
{
	struct loop_device *l, *tmp;

	if (list_empty(&c->loops))
		return;
	list_for_each_safe(l, tmp, &c->loops, link)
		loop_device_detach(l);
	container_announce(c, BROKER_EVENT_LOOP_DEVICES_CHANGED);
}

int loop_device_backing(const struct loop_device *l, uint64_t *ret_dev, uint64_t *ret_ino)
{
	struct loop_info64 info;
	int r;

	if (l->fd < 0)
		return -EBADF;
	r = loop_status(l->fd, &info);
	if (r < 0)
		return r;
	*ret_dev = info.lo_device;
	*ret_ino = info.lo_inode;
	return 0;
}

int container_adopt_loop(struct container *c, unsigned number, uint64_t backing_dev,
			 uint64_t backing_ino)
{
	struct loop_info64 info;
	_cleanup_close_ int fd = -1;
	int r;

	if (broker_find_loop(c->broker, number))
		return -EEXIST;
	fd = loop_open(number, O_RDWR);
	if (fd < 0)
		return fd;
	/* Unbound (ENXIO) or bound to another file: not c's any more. */
	r = loop_status(fd, &info);
	if (r < 0)
		return r;
	if (info.lo_device != backing_dev || info.lo_inode != backing_ino)
		return -ESTALE;
	return container_add_loop(c, number, info.lo_flags & LO_FLAGS_READ_ONLY, TAKE_FD(fd), NULL);
}
