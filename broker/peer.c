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
#include <sys/socket.h>
#include <sys/stat.h>

#include "broker/peer.h"
#include "common/log.h"
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

int peer_accept(int listen_fd, const struct pidns_id *ns, const char *kind, const char *name,
		unsigned n_conns, unsigned max_conns, pid_t *ret_pid, bool *ret_admitted)
{
	_cleanup_close_ int fd = -1;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int r;

	fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if (errno != EAGAIN && errno != EINTR)
			log_warning_errno(errno, "%s of %s: accept failed", kind, name);
		return -errno;
	}
	/* More would only let a hostile container pin the broker's memory
	 * and fds. */
	if (n_conns >= max_conns) {
		log_warning("%s of %s: %u connections already; refusing another", kind, name, n_conns);
		return -EMFILE;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return log_warning_errno(errno, "%s of %s: cannot identify peer", kind, name);
	r = pid_is_in_pidns(cred.pid, ns);
	if (r <= 0)
		log_warning("%s of %s: refusing pid %d, which is not in the container's pid namespace",
			    kind, name, (int)cred.pid);
	if (ret_pid)
		*ret_pid = cred.pid;
	*ret_admitted = r > 0;
	return TAKE_FD(fd);
}
