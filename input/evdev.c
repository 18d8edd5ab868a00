/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <linux/input.h>
#include <stddef.h>
#include <sys/ioctl.h>

#include "input/evdev.h"

int evdev_revoke(int fd)
{
	return ioctl(fd, EVIOCREVOKE, NULL) < 0 ? -errno : 0;
}

bool evdev_is_live(int fd)
{
	int version;

	return ioctl(fd, EVIOCGVERSION, &version) == 0;
}
