/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <poll.h>
#include <stdio.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#include "common/macro.h"
#include "compat/root-resolve.h"

int root_open_of_pid(pid_t pid, int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	char path[64];
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
	fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	/* Opened first, checked after: a pidfd that is not readable yet
	 * proves the pid still named the pinned process when we opened. */
	if (pidfd >= 0 && poll(&p, 1, 0) != 0) {
		close(fd);
		return -ESRCH;
	}
	return fd;
}

int root_resolve_chrdev(int rootfd, const char *path, dev_t *ret)
{
	struct open_how how = {
		/* O_PATH: a lookup, not an open; the node's driver never
		 * sees it. */
		.flags = O_PATH | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	_cleanup_close_ int fd = -1;
	struct stat st;

	if (!path || path[0] != '/')
		return -EINVAL;
	/* glibc 2.36 has no openat2() wrapper. */
	fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return -ENODEV;
	*ret = st.st_rdev;
	return 0;
}
