/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

struct pidns_id {
	dev_t dev;
	ino_t ino;
};

/* The pid namespace that pid lives in (its /proc/PID/ns/pid). */
int pidns_of_pid(pid_t pid, struct pidns_id *ret);
/* 1 if pid is in ns or a namespace below it, 0 if not, or a negative errno. */
int pid_is_in_pidns(pid_t pid, const struct pidns_id *ns);

/* The pids of pid as each pid namespace sees it, ours first (the NSpid
 * line of /proc/PID/status): returns how many, at most max, or -errno. */
int pid_nspids(pid_t pid, pid_t *ret, size_t max);
/* Whether a process whose pid is nspid as ns sees it exists in ns or
 * below: 1, 0, or -errno. depth: how many pids a process of ns has
 * (pid_nspids() of one of its processes, such as its leader). */
int pidns_has_pid(const struct pidns_id *ns, int depth, pid_t nspid);

/* Accepts one connection on a container's listening socket (kind and name
 * only say whose, in the log): the connected, non-blocking fd of a peer
 * whose pid is in ns or below it. Otherwise the connection is closed at
 * once: -EACCES for a peer outside, -EMFILE when n_conns reached max_conns,
 * another negative errno when it cannot be identified; -EAGAIN when none
 * is pending (stop accepting until the socket wakes again). */
int peer_accept(int listen_fd, const struct pidns_id *ns, const char *kind, const char *name,
		unsigned n_conns, unsigned max_conns, pid_t *ret_pid);
/* The uid of the peer of a connected socket, as SO_PEERCRED shows it
 * (its uid when it connected, mapped into our user namespace). */
int peer_uid(int fd, uid_t *ret);

/* How many connections one wake-up of a listening socket accepts at most:
 * enough to drain a flood of refused peers quickly, few enough to let
 * everything else run in between. */
#define PEER_ACCEPT_BATCH 32

/* A container's listening socket at path (made 0666: the peer's pid
 * namespace decides), accepting peers of the container's pid namespace ns
 * and refusing every other one at once. accepted() gets each admitted
 * connection (and owns its fd) while *n_conns is below max_conns. */
struct peer_listener;
typedef void (*peer_accepted_t)(void *userdata, int fd, pid_t pid);

struct peer_listener_args {
	const char *path;
	const struct pidns_id *ns;
	const char *kind; /* "Endpoint", "seatd endpoint": only for the log */
	const char *name; /* the container's */
	const unsigned *n_conns;
	unsigned max_conns;
	peer_accepted_t accepted;
	void *userdata;
	/* Kept in the fd store (common/fd-store.h), so that clients that
	 * connect while devnsd restarts wait in its backlog for the next
	 * one, which takes the same socket back. */
	bool stored;
};

int peer_listener_new(sd_event *event, const struct peer_listener_args *args,
		      struct peer_listener **ret);
/* Closes the socket and removes it (and drops it from the store). Accepts
 * NULL. */
void peer_listener_free(struct peer_listener *l);
