/* SPDX-License-Identifier: MIT */
/*
 * For counting devnsd's instructions with callgrind only.
 *
 * Valgrind 3.19 (Debian 12) does not know the pidfd_open system call (434)
 * and fails it with ENOSYS, so devnsd under valgrind cannot register a
 * container. Preloaded into devnsd (LD_PRELOAD), this library replaces
 * glibc's pidfd_open(): it asks bench-pidfd-helper, a process running
 * outside valgrind, to open the pidfd and receives it over a unix socket
 * (SCM_RIGHTS, which valgrind handles). The pidfd is the real kernel object;
 * devnsd polls it as usual. This runs once per registration, before the
 * counters are zeroed, so it is not part of the per-switch count.
 *
 *   bench-pidfd-helper SOCKET          (serves until killed)
 *   LD_PRELOAD=libbench-pidfd-shim.so BENCH_PIDFD_SOCKET=SOCKET devnsd ...
 */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/fd-pass.h"

int pidfd_open(pid_t pid, unsigned int flags);

int pidfd_open(pid_t pid, unsigned int flags)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = getenv("BENCH_PIDFD_SOCKET");
	int req[2] = { (int)pid, (int)flags }, err = 0, fd = -1, s;
	struct pollfd p = { .events = POLLIN };
	size_t n_fds = 0;

	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENOSYS;
		return -1;
	}
	strcpy(sa.sun_path, path);
	s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -1;
	p.fd = s;
	/* fd_pass_recv() does not wait for the answer; poll() does. */
	if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    write(s, req, sizeof(req)) != sizeof(req) || poll(&p, 1, -1) < 0 ||
	    fd_pass_recv(s, &err, sizeof(err), &fd, 1, &n_fds, NULL) != sizeof(err)) {
		fd_pass_close(&fd, n_fds);
		close(s);
		errno = EIO;
		return -1;
	}
	close(s);
	if (n_fds == 0) {
		errno = err ? err : EIO;
		return -1;
	}
	return fd;
}
