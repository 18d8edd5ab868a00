/* SPDX-License-Identifier: MIT */
/* A cgroup v2 device filter: which device nodes the processes of a cgroup
 * may open or make, as devices.deny did in cgroup v1. */
#pragma once

#include <stddef.h>

/* The most entries of each list devices_cgroup_confine() takes. */
#define DEVICES_CGROUP_MAX 256

/* A device, or all devices of one major number. */
struct dev_match {
	char type;      /* 'c' (character) or 'b' (block) */
	unsigned major;
	int minor;      /* -1: every minor */
};

/* Attaches to the cgroup directory cgroup_dir a filter that refuses (with
 * EPERM) every open(2) and mknod(2) of the devices that match an entry of
 * deny, except those that match an entry of allow. Other devices are left
 * to the filters of the cgroups above, if any. deny must not be empty.
 * Files opened before, or passed in already open, are not affected.
 * Needs CAP_SYS_ADMIN. Returns 0 or a negative errno: -EINVAL or -E2BIG
 * for bad lists, or the kernel's error from loading (EPERM, EINVAL
 * without cgroup BPF) or attaching the filter. */
int devices_cgroup_confine(const char *cgroup_dir,
			   const struct dev_match *deny, size_t n_deny,
			   const struct dev_match *allow, size_t n_allow);
