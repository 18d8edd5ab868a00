/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "broker/kernel-devns.h"
#include "kernel/devns/uapi/devns.h"

struct kernel_devns {
	int fd;
};

int kernel_devns_open(struct kernel_devns **ret)
{
	struct kernel_devns *k;
	int fd, version;

	fd = open("/dev/devns", O_RDWR | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return -errno;
	version = ioctl(fd, DEVNS_IOC_VERSION);
	if (version < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	/* Later versions keep version 1's ioctls and structs working. */
	if (version < DEVNS_ABI_VERSION) {
		close(fd);
		return -EPROTONOSUPPORT;
	}
	k = calloc(1, sizeof(*k));
	if (!k) {
		close(fd);
		return -ENOMEM;
	}
	k->fd = fd;
	*ret = k;
	return 0;
}

void kernel_devns_close(struct kernel_devns *k)
{
	if (!k)
		return;
	if (k->fd >= 0)
		close(k->fd);
	free(k);
}

static int copy_name(char *dst, size_t size, const char *src)
{
	size_t len = src ? strlen(src) : 0;

	if (len == 0 || len >= size)
		return -EINVAL;
	memcpy(dst, src, len + 1);
	return 0;
}

int kernel_devns_create(struct kernel_devns *k, const char *name, const char *seat,
			pid_t leader, uint32_t *ret_id)
{
	struct devns_create c = { .size = sizeof(c), .pid = leader };

	if (copy_name(c.name, sizeof(c.name), name) < 0 ||
	    copy_name(c.seat, sizeof(c.seat), seat && *seat ? seat : "seat0") < 0)
		return -EINVAL;
	if (ioctl(k->fd, DEVNS_IOC_CREATE, &c) < 0)
		return -errno;
	if (ret_id)
		*ret_id = c.id;
	return 0;
}

int kernel_devns_destroy(struct kernel_devns *k, uint32_t id)
{
	struct devns_destroy d = { .size = sizeof(d), .id = id };

	return ioctl(k->fd, DEVNS_IOC_DESTROY, &d) < 0 ? -errno : 0;
}

int kernel_devns_activate(struct kernel_devns *k, const char *seat, uint32_t id)
{
	struct devns_activate a = { .size = sizeof(a), .id = id };

	if (copy_name(a.seat, sizeof(a.seat), seat && *seat ? seat : "seat0") < 0)
		return -EINVAL;
	return ioctl(k->fd, DEVNS_IOC_ACTIVATE, &a) < 0 ? -errno : 0;
}
