/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <xf86drm.h>

#include "drm/drm.h"

int drm_set_master(int fd)
{
	return drmSetMaster(fd) < 0 ? -errno : 0;
}

int drm_drop_master(int fd)
{
	/* Dropping master of a file that is not master is EINVAL: nothing
	 * to do, and not a failure for the caller. Asked of the kernel in
	 * the same call, not first with drmIsMaster(). */
	if (drmDropMaster(fd) < 0)
		return errno == EINVAL ? 0 : -errno;
	return 0;
}

bool drm_is_master(int fd)
{
	return drmIsMaster(fd);
}
