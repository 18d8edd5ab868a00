/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "common/macro.h"
#include "common/unix-socket.h"

/* Splits path into an open directory and the name in it. */
static int open_parent(const char *path, const char **ret_name)
{
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(path, '/');
	int fd;

	if (!slash || !slash[1])
		return -EINVAL;
	dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
	if (!dir)
		return -ENOMEM;
	fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	*ret_name = slash + 1;
	return fd;
}

int unix_socket_listen(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int fd = -1, dirfd = -1;
	const char *name;
	mode_t old_umask;
	int r;

	dirfd = open_parent(path, &name);
	if (dirfd < 0)
		return dirfd;
	if (strlen(path) < sizeof(sa.sun_path))
		strcpy(sa.sun_path, path);
	else if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d/%s",
				  dirfd, name) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;

	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	(void)unlinkat(dirfd, name, 0);
	/* Anyone may connect (the peer's pid namespace decides), so the node
	 * is made 0666 by bind() itself. Never chmod it by name afterwards:
	 * root in a container can replace the name in its endpoint directory
	 * with a link to a host file between bind() and a chmod. bind()
	 * itself fails if something was put there after the unlink. */
	old_umask = umask(0111);
	r = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old_umask);
	if (r < 0 || listen(fd, SOMAXCONN) < 0)
		return -errno;
	return TAKE_FD(fd);
}

void unix_socket_unlink(const char *path)
{
	_cleanup_close_ int dirfd = -1;
	const char *name;

	dirfd = open_parent(path, &name);
	if (dirfd >= 0)
		(void)unlinkat(dirfd, name, 0);
}
