/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

struct pidns_id {
	dev_t dev;
	ino_t ino;
};

/* The pid namespace that pid lives in (its /proc/PID/ns/pid). */
int pidns_of_pid(pid_t pid, struct pidns_id *ret);
/* 1 if pid is in ns or a namespace below it, 0 if not, or a negative errno. */
int pid_is_in_pidns(pid_t pid, const struct pidns_id *ns);

/* Accepts a connection on a container's listening socket (kind and name
 * only say whose, in the log): the connected, non-blocking fd, or < 0 when
 * there was none, the peer cannot be identified, or n_conns reached
 * max_conns. *ret_admitted: the peer's pid is in ns or below it; a refused
 * peer still gets a connection, to be told why. */
int peer_accept(int listen_fd, const struct pidns_id *ns, const char *kind, const char *name,
		unsigned n_conns, unsigned max_conns, pid_t *ret_pid, bool *ret_admitted);
