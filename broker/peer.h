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
