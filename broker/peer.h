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

/* Accepts one connection on a container's listening socket (kind and name
 * only say whose, in the log): the connected, non-blocking fd of a peer
 * whose pid is in ns or below it. Otherwise the connection is closed at
 * once: -EACCES for a peer outside, -EMFILE when n_conns reached max_conns,
 * another negative errno when it cannot be identified; -EAGAIN when none
 * is pending (stop accepting until the socket wakes again). */
int peer_accept(int listen_fd, const struct pidns_id *ns, const char *kind, const char *name,
		unsigned n_conns, unsigned max_conns, pid_t *ret_pid);
/* How many connections one wake-up of a listening socket accepts at most:
 * enough to drain a flood of refused peers quickly, few enough to let
 * everything else run in between. */
#define PEER_ACCEPT_BATCH 32
