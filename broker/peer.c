/* SPDX-License-Identifier: MIT */
/* Endpoint access is decided by pid namespace, not by uid: a compositor in a
 * container may run as any user, and uids inside user namespaces mean nothing
 * to the host. A namespace "below" the container's is one whose chain of
 * parents (NS_GET_PARENT) reaches the container's namespace. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "broker/peer.h"
#include "common/macro.h"

static int open_pidns(pid_t pid)
{
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/ns/pid", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int pidns_of_pid(pid_t pid, struct pidns_id *ret)
{
	_cleanup_close_ int fd = open_pidns(pid);
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	*ret = (struct pidns_id) { .dev = st.st_dev, .ino = st.st_ino };
	return 0;
}

int pid_is_in_pidns(pid_t pid, const struct pidns_id *ns)
{
	_cleanup_close_ int fd = open_pidns(pid);

	if (fd < 0)
		return fd;
	/* Namespaces nest at most 32 deep. */
	for (int depth = 0; depth < 33; depth++) {
		struct stat st;
		int parent;

		if (fstat(fd, &st) < 0)
			return -errno;
		if (st.st_dev == ns->dev && st.st_ino == ns->ino)
			return 1;
		parent = ioctl(fd, NS_GET_PARENT);
		if (parent < 0)
			return errno == EPERM ? 0 : -errno;
		close(fd);
		fd = parent;
	}
	return 0;
}
