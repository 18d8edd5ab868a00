/* SPDX-License-Identifier: MIT */
/* The cgroup of a command that "devnsctl run" starts, and the devices it
 * keeps the command from opening. */
#pragma once

#include <sys/types.h>

/* Where run_cgroup_create() stopped. */
enum run_cgroup_step {
	RUN_CGROUP_FIND,    /* devnsctl's own cgroup, in cgroup2 */
	RUN_CGROUP_DEVICES, /* the numbers of the devices to refuse */
	RUN_CGROUP_CREATE,  /* mkdir */
	RUN_CGROUP_FILTER,  /* the device filter */
};

/* Creates the cgroup devns-<name> below devnsctl's own (cgroup2 on
 * /sys/fs/cgroup, or /sys/fs/cgroup/unified) and attaches a filter that
 * refuses the opening of DRM cards, input devices, loop devices and
 * /dev/loop-control, and every binder device but binder, the host path of
 * the container's own ("" or NULL: none). *ret_path receives the
 * directory as soon as it is known, on failure too (then for the message
 * only: whatever was made is removed). Returns 0 or a negative errno, and
 * in *ret_step what failed; -ENOMEDIUM: no cgroup2 file system there.
 * The leftover of a devnsctl that was killed, empty, is replaced. */
int run_cgroup_create(const char *name, const char *binder, char **ret_path,
		      enum run_cgroup_step *ret_step);

/* Moves process pid (and its threads) into the cgroup. */
int run_cgroup_enter(const char *path, pid_t pid);

/* Removes the cgroup, and any cgroup made below it, once no process is
 * left in them. */
int run_cgroup_remove(const char *path);
