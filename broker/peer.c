/* SPDX-License-Identifier: MIT */
/* Endpoint access is decided by pid namespace, not by uid: a compositor in a
 * container may run as any user, and uids inside user namespaces mean nothing
 * to the host. (Taking control is narrowed by uid only when the container
 * was registered with ControlUser: container_check_control_uid().) A namespace "below" the container's is one whose chain of
 * parents (NS_GET_PARENT) reaches the container's namespace. */
#include <errno.h>
#include <fcntl.h>
#include <linux/nsfs.h>
#include <dirent.h>
#include <poll.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>

#include "broker/peer.h"
#include "common/fd-store.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/unix-socket.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(DIR *, closedir)

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77
#endif

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

int pid_nspids(pid_t pid, pid_t *ret, size_t max)
{
	char path[64], line[512];
	_cleanup_(fclosep) FILE *f = NULL;
	int n = -ENOENT;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		char *p = line + 6, *end;

		if (strncmp(line, "NSpid:", 6) != 0)
			continue;
		for (n = 0; (size_t)n < max; n++) {
			long v = strtol(p, &end, 10);

			if (end == p || v <= 0 || v > INT32_MAX)
				break;
			ret[n] = (pid_t)v;
			p = end;
		}
		break;
	}
	return n == 0 ? -EIO : n;
}

int pidns_has_pid(const struct pidns_id *ns, int depth, pid_t nspid)
{
	_cleanup_(closedirp) DIR *d = opendir("/proc");
	struct dirent *de;

	if (!d)
		return -errno;
	if (depth < 1 || depth > 33 || nspid <= 0)
		return 0;
	/* Every process is looked at: the kernel has no lookup of a pid by
	 * its number in another namespace. Rare calls (logind's
	 * GetSessionByPID) only. */
	while ((de = readdir(d))) {
		pid_t pids[33];
		char *end;
		long pid = strtol(de->d_name, &end, 10);
		int n;

		if (*end || pid <= 0)
			continue;
		n = pid_nspids((pid_t)pid, pids, ARRAY_SIZE(pids));
		if (n < depth || pids[depth - 1] != nspid)
			continue;
		if (pid_is_in_pidns((pid_t)pid, ns) > 0)
			return 1;
	}
	return 0;
}

/* A refusal is logged at most once a second (with how many were not), so
 * that a flood of connections cannot flood the journal too. */
static void log_refusal(const char *kind, const char *name, pid_t pid)
{
	static uint64_t last_usec;
	static unsigned suppressed;
	struct timespec ts;
	uint64_t now;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
	if (last_usec && now - last_usec < 1000000ULL) {
		suppressed++;
		return;
	}
	if (suppressed)
		log_warning("%s of %s: refusing pid %d, which is not in the container's pid namespace (and %u more refused in the last second)",
			    kind, name, (int)pid, suppressed);
	else
		log_warning("%s of %s: refusing pid %d, which is not in the container's pid namespace",
			    kind, name, (int)pid);
	last_usec = now;
	suppressed = 0;
}

/* The peer's pid namespace, or < 0. With SO_PEERPIDFD (Linux 6.5) the pid
 * is checked to still be the peer's after its namespace was read: a pid
 * number is not reused while its process runs, so a peer that is still
 * running is the one whose namespace was read. Without it (6.1), the peer
 * could exit and its pid be reused in between: it would then have closed
 * its end of the connection, and it is judged by the pid's new owner. */
static int peer_in_pidns(int fd, pid_t pid, const struct pidns_id *ns)
{
	_cleanup_close_ int pidfd = -1;
	socklen_t len = sizeof(pidfd);
	struct pollfd p;
	int r;

	if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0)
		pidfd = -1;
	r = pid_is_in_pidns(pid, ns);
	if (r <= 0 || pidfd < 0)
		return r;
	p = (struct pollfd) { .fd = pidfd, .events = POLLIN };
	return poll(&p, 1, 0) == 0 ? 1 : -ESRCH;
}

int peer_accept(int listen_fd, const struct pidns_id *ns, const char *kind, const char *name,
		unsigned n_conns, unsigned max_conns, pid_t *ret_pid)
{
	_cleanup_close_ int fd = -1;
	struct ucred cred;
	socklen_t len = sizeof(cred);
	int r;

	fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		if (r != -EAGAIN && r != -EINTR)
			log_warning_errno(r, "%s of %s: accept failed", kind, name);
		/* Tells the caller to stop accepting for now. */
		return r == -EINTR ? r : -EAGAIN;
	}
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return log_warning_errno(errno, "%s of %s: cannot identify peer", kind, name);
	/* A refused peer is hung up on before it costs anything, and never
	 * counts against the container's own connections. */
	r = peer_in_pidns(fd, cred.pid, ns);
	if (r <= 0) {
		log_refusal(kind, name, cred.pid);
		return -EACCES;
	}
	/* More would only let a hostile container pin the broker's memory
	 * and fds. */
	if (n_conns >= max_conns) {
		log_warning("%s of %s: %u connections already; refusing another", kind, name, n_conns);
		return -EMFILE;
	}
	if (ret_pid)
		*ret_pid = cred.pid;
	return TAKE_FD(fd);
}

int peer_uid(int fd, uid_t *ret)
{
	struct ucred cred;
	socklen_t len = sizeof(cred);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0)
		return -errno;
	*ret = cred.uid;
	return 0;
}

struct peer_listener {
	struct peer_listener_args args;
	char *path;
	char *store_name; /* NULL when not stored */
	int fd;
	sd_event_source *source;
};

/* The listening socket a previous devnsd stored for path: still listening,
 * and bound to path (a socket bound through /proc/self/fd, for a long
 * path, is not taken back; a new one is made). */
static int take_stored_listener(const struct peer_listener *l)
{
	struct sockaddr_un sa = { 0 };
	socklen_t len = sizeof(sa), optlen;
	int fd, accepting = 0, type = 0;

	if (fd_store_take(l->store_name, &fd, 1) != 1)
		return -ENOENT;
	optlen = sizeof(accepting);
	if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &accepting, &optlen) == 0 && accepting &&
	    (optlen = sizeof(type), getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &optlen)) == 0 &&
	    type == SOCK_STREAM && getsockname(fd, (struct sockaddr *)&sa, &len) == 0 &&
	    sa.sun_family == AF_UNIX && len > offsetof(struct sockaddr_un, sun_path) &&
	    strnlen(sa.sun_path, sizeof(sa.sun_path)) == strlen(l->path) &&
	    strncmp(sa.sun_path, l->path, sizeof(sa.sun_path)) == 0 &&
	    fcntl(fd, F_SETFL, O_NONBLOCK) == 0)
		return fd;
	log_info("%s of %s: the stored listening socket is not %s; making a new one",
		 l->args.kind, l->args.name, l->path);
	close(fd);
	return -EINVAL;
}

static int on_accept(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct peer_listener *l = userdata;
	const struct peer_listener_args *a = &l->args;

	for (int i = 0; i < PEER_ACCEPT_BATCH; i++) {
		pid_t pid;
		int cfd = peer_accept(fd, a->ns, a->kind, a->name, *a->n_conns, a->max_conns, &pid);

		if (cfd == -EAGAIN)
			break;
		if (cfd >= 0)
			a->accepted(a->userdata, cfd, pid);
	}
	return 0;
}

int peer_listener_new(sd_event *event, const struct peer_listener_args *args,
		      struct peer_listener **ret)
{
	struct peer_listener *l = calloc(1, sizeof(*l));
	int r;

	if (!l)
		return -ENOMEM;
	l->args = *args;
	l->fd = -1;
	l->path = strdup(args->path);
	if (!l->path) {
		r = -ENOMEM;
		goto fail;
	}
	l->args.path = l->path;
	if (args->stored && fd_store_enabled()) {
		const char *base = strrchr(l->path, '/');

		if (asprintf(&l->store_name, "listen.%s.%s", args->name, base ? base + 1 : l->path) < 0) {
			l->store_name = NULL;
			r = -ENOMEM;
			goto fail;
		}
		if (strlen(l->store_name) > FD_STORE_NAME_MAX)
			l->store_name[FD_STORE_NAME_MAX] = 0;
		l->fd = take_stored_listener(l);
		/* One that is not taken back must not stay beside the new one. */
		if (l->fd < 0 && l->fd != -ENOENT)
			(void)fd_store_remove(l->store_name);
	}
	if (l->fd < 0) {
		l->fd = unix_socket_listen(l->path);
		if (l->fd < 0) {
			r = l->fd;
			goto fail;
		}
		if (l->store_name) {
			r = fd_store_add(l->store_name, &l->fd, 1, false);
			if (r < 0)
				log_warning_errno(r, "%s of %s: cannot store the listening socket",
						  args->kind, args->name);
		}
	}
	r = sd_event_add_io(event, &l->source, l->fd, EPOLLIN, on_accept, l);
	if (r < 0)
		goto fail;
	*ret = l;
	return 0;
fail:
	peer_listener_free(l);
	return r;
}

void peer_listener_free(struct peer_listener *l)
{
	if (!l)
		return;
	sd_event_source_disable_unref(l->source);
	if (l->store_name)
		(void)fd_store_remove(l->store_name);
	if (l->fd >= 0) {
		close(l->fd);
		unix_socket_unlink(l->path);
	}
	free(l->store_name);
	free(l->path);
	free(l);
}
