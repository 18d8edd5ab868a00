/* SPDX-License-Identifier: MIT */
/*
 * bench-pidfd-helper SOCKET: opens pidfds for a process that cannot (see
 * pidfd-shim.c). Each connection sends {int pid; int flags}; the answer is
 * an int errno (0 on success) with the pidfd attached.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common/fd-pass.h"

int main(int argc, char *argv[])
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int ls;

	if (argc != 2 || strlen(argv[1]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "usage: bench-pidfd-helper SOCKET\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	strcpy(sa.sun_path, argv[1]);
	unlink(argv[1]);
	ls = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (ls < 0 || bind(ls, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(ls, 16) < 0) {
		perror("bench-pidfd-helper");
		return 1;
	}
	for (;;) {
		int req[2], err = 0, fd, c = accept4(ls, NULL, NULL, SOCK_CLOEXEC);

		if (c < 0)
			continue;
		if (read(c, req, sizeof(req)) != sizeof(req)) {
			close(c);
			continue;
		}
		fd = pidfd_open((pid_t)req[0], (unsigned)req[1]);
		if (fd < 0)
			err = errno;
		(void)fd_pass_send(c, &err, sizeof(err), &fd, fd < 0 ? 0 : 1);
		if (fd >= 0)
			close(fd);
		close(c);
	}
}
