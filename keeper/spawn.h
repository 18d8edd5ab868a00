/* SPDX-License-Identifier: MIT */
/*
 * Starts the child as systemd starts a service with stored fds
 * (sd_listen_fds(3)): fds handed over as 3, 4, ... without close-on-exec,
 * $LISTEN_FDS, $LISTEN_FDNAMES and $LISTEN_PID (the child's own pid, set
 * after fork()), $NOTIFY_SOCKET, and no other fd of the keeper.
 */
#pragma once

#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

struct spawn_params {
	char *const *argv;         /* argv[0] is looked up in $PATH */
	const int *fds;            /* handed over as 3, 4, ...; stay the caller's */
	size_t n_fds;
	const char *fdnames;       /* $LISTEN_FDNAMES, for n_fds > 0 */
	const char *notify_socket; /* $NOTIFY_SOCKET */
	struct rlimit nofile;      /* RLIMIT_NOFILE the keeper was started with */
};

/* fork() and exec; *ret_pid is the child. A failed exec shows as exit
 * status 127 of the child, after a line on stderr. 0 or -errno. */
int spawn_child(const struct spawn_params *p, pid_t *ret_pid);
