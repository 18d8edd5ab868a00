/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <grp.h>
#include <inttypes.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/fd-pass.h"
#include "common/macro.h"
#include "common/root-resolve.h"

static int open_in_root(int rootfd, const char *path, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)(flags | O_CLOEXEC),
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	/* glibc 2.36 has no openat2() wrapper. */
	if (!path || path[0] != '/')
		return -EINVAL;
	fd = (int)syscall(SYS_openat2, rootfd, path, &how, sizeof(how));
	return fd < 0 ? -errno : fd;
}

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
	/* O_PATH: a lookup, not an open; the node's driver never sees it. */
	_cleanup_close_ int fd = open_in_root(rootfd, path, O_PATH);
	struct stat st;

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISCHR(st.st_mode))
		return -ENODEV;
	*ret = st.st_rdev;
	return 0;
}

int root_open_dir(int rootfd, const char *path, bool create)
{
	char prefix[PATH_MAX];
	size_t len = strlen(path);

	if (path[0] != '/' || len >= sizeof(prefix))
		return -EINVAL;
	if (create) {
		/* Each component is made by mkdirat() in its parent, which
		 * never follows a link at the new name; the parent itself
		 * was found inside the root. */
		for (size_t i = 1; i <= len; i++) {
			_cleanup_close_ int parent = -1;
			const char *name;

			if (path[i] != '/' && path[i] != '\0')
				continue;
			memcpy(prefix, path, i);
			prefix[i] = '\0';
			name = strrchr(prefix, '/');
			if (!name[1])
				continue;
			if (name == prefix)
				parent = open_in_root(rootfd, "/", O_PATH | O_DIRECTORY);
			else {
				*(char *)name = '\0';
				parent = open_in_root(rootfd, prefix, O_PATH | O_DIRECTORY);
				*(char *)name = '/';
			}
			if (parent < 0)
				return parent;
			if (mkdirat(parent, name + 1, 0755) < 0 && errno != EEXIST)
				return -errno;
		}
	}
	return open_in_root(rootfd, path, O_PATH | O_DIRECTORY);
}

int root_replace_file(int dirfd, const char *name, const char *content, mode_t mode)
{
	char tmp[NAME_MAX + 1];
	size_t len = strlen(content);
	_cleanup_close_ int fd = -1;
	int r;

	if (strchr(name, '/') || snprintf(tmp, sizeof(tmp), ".#%s.%08x", name,
					  (unsigned)random()) >= (int)sizeof(tmp))
		return -EINVAL;
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	r = write(fd, content, len) == (ssize_t)len ? 0 : (errno ? -errno : -EIO);
	if (r >= 0 && fchmod(fd, mode) < 0)
		r = -errno;
	if (r >= 0 && renameat(dirfd, tmp, dirfd, name) < 0)
		r = -errno;
	if (r < 0)
		(void)unlinkat(dirfd, tmp, 0);
	return r;
}

int root_open_file(int rootfd, const char *path)
{
	_cleanup_close_ int node = open_in_root(rootfd, path, O_PATH);
	char proc[64];
	struct stat st;
	int fd;

	if (node < 0)
		return node;
	/* Looked at before it is opened: opening a device node or a FIFO
	 * the container put there would run its driver or block. */
	if (fstat(node, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode))
		return -EINVAL;
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", node);
	fd = open(proc, O_RDONLY | O_NOCTTY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int root_connect_unix(int rootfd, const char *path)
{
	_cleanup_close_ int node = open_in_root(rootfd, path, O_PATH);
	_cleanup_close_ int fd = -1;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct stat st;

	if (node < 0)
		return node;
	if (fstat(node, &st) < 0)
		return -errno;
	if (!S_ISSOCK(st.st_mode))
		return -ENOTSOCK;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	/* The O_PATH fd's /proc entry names the very node found above. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "/proc/self/fd/%d", node);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return errno == EINPROGRESS ? TAKE_FD(fd) : -errno;
	return TAKE_FD(fd);
}

/* The id that inner maps to in /proc/PID/{uid,gid}_map: lines of
 * "inner outer count", as the kernel writes them for the reader. */
static int outer_id(pid_t pid, const char *map, uint32_t inner, uint32_t *ret)
{
	_cleanup_(fclosep) FILE *f = NULL;
	uint32_t first, outer, count;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, map);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fscanf(f, "%" SCNu32 " %" SCNu32 " %" SCNu32, &first, &outer, &count) == 3)
		if (inner >= first && inner - first < count) {
			*ret = outer + (inner - first);
			return 0;
		}
	return -EOVERFLOW;
}

static int outer_root_id(pid_t pid, const char *map, uint32_t *ret)
{
	return outer_id(pid, map, 0, ret);
}

/* 1 when pid's user namespace is ours: there the kernel writes its map
 * relative to the parent namespace, not to the reader's. */
static int in_our_userns(pid_t pid)
{
	struct stat ours, theirs;
	char path[64];

	snprintf(path, sizeof(path), "/proc/%d/ns/user", (int)pid);
	if (stat("/proc/self/ns/user", &ours) < 0 || stat(path, &theirs) < 0)
		return -errno;
	return ours.st_dev == theirs.st_dev && ours.st_ino == theirs.st_ino;
}

int root_map_uid(pid_t pid, int pidfd, uid_t inner, uid_t *ret)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	uint32_t uid = inner;
	int r;

	r = in_our_userns(pid);
	if (r == 0)
		r = outer_id(pid, "uid_map", inner, &uid);
	if (r < 0)
		return r;
	/* Read first, checked after, as in root_open_of_pid(). */
	if (pidfd >= 0 && poll(&p, 1, 0) != 0)
		return -ESRCH;
	*ret = uid;
	return 0;
}

int root_ids_of_pid(pid_t pid, int pidfd, uid_t *ret_uid, gid_t *ret_gid)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };
	uint32_t uid, gid;
	int r;

	if ((r = outer_root_id(pid, "uid_map", &uid)) < 0 ||
	    (r = outer_root_id(pid, "gid_map", &gid)) < 0)
		return r;
	/* Read first, checked after, as in root_open_of_pid(). */
	if (pidfd >= 0 && poll(&p, 1, 0) != 0)
		return -ESRCH;
	*ret_uid = uid;
	*ret_gid = gid;
	return 0;
}

int root_connect_unix_as(int rootfd, const char *path, uid_t uid, gid_t gid)
{
	_cleanup_close_ int parent_end = -1;
	int sv[2], fd = -1, status;
	int32_t result = -EIO;
	size_t n_fds = 0;
	bool truncated;
	ssize_t n;
	pid_t pid;

	if (uid == geteuid() && gid == getegid())
		return root_connect_unix(rootfd, path);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(sv[0]);
		close(sv[1]);
		return -errno;
	}
	if (pid == 0) {
		/* Only this thread lives on here: no locks, no exit handlers.
		 * The effective ids alone are what a peer sees (SO_PEERCRED);
		 * the real and saved ones stay ours, so that the container's
		 * root, whose ids these are, can neither signal (SIGSTOP would
		 * hang devnsd in waitpid below) nor trace this copy of devnsd. */
		close(sv[0]);
		if (setgroups(0, NULL) < 0 || setresgid(-1, gid, -1) < 0 ||
		    setresuid(-1, uid, -1) < 0)
			result = -errno;
		else
			result = fd = root_connect_unix(rootfd, path);
		if (fd >= 0)
			result = 0;
		(void)fd_pass_send(sv[1], &result, sizeof(result), &fd, fd >= 0 ? 1 : 0);
		_exit(0);
	}
	close(sv[1]);
	parent_end = sv[0];
	/* The child answers before it exits; its message, fd included, waits
	 * in the socket after it is gone. */
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	n = fd_pass_recv(parent_end, &result, sizeof(result), &fd, 1, &n_fds, &truncated);
	if (n != (ssize_t)sizeof(result) || (result == 0) != (n_fds == 1)) {
		fd_pass_close(&fd, n_fds);
		return n < 0 ? (int)n : -EIO;
	}
	return result < 0 ? result : fd;
}
