/* SPDX-License-Identifier: MIT */
/*
 * Paths as a container sees them. A seatd client names devices by path
 * ("/dev/dri/card0"); that path means the node in the container's root,
 * not the host's, and whatever it names, the broker only learns a device
 * number from it: the node is looked up with O_PATH (which opens nothing
 * behind it: no driver open() runs, no DRM master is taken) and never
 * opened through the container's path.
 */
#pragma once

#include <sys/types.h>

/* The root directory of process pid (/proc/PID/root) as an O_PATH fd.
 * pidfd, when >= 0, pins the process: if it has exited by the time the
 * root is open, the pid may name another process and -ESRCH is returned. */
int root_open_of_pid(pid_t pid, int pidfd);

/* Resolves path below rootfd as if rootfd were "/": absolute paths start
 * there, and neither ".." nor symlinks can leave it (RESOLVE_IN_ROOT);
 * magic links such as /proc/PID/root are refused. Stores the device number
 * of the character device the path names in *ret; returns 0, -ENODEV when
 * the path names something else, -EINVAL for a relative or empty path, or
 * the error of the lookup (-ENOENT, -ELOOP, -EXDEV, ...). */
int root_resolve_chrdev(int rootfd, const char *path, dev_t *ret);
