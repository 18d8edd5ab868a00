/* SPDX-License-Identifier: MIT */
/*
 * Paths as a container sees them. A seatd client names devices by path
 * ("/dev/dri/card0"); that path means the node in the container's root,
 * not the host's, and whatever it names, the broker only learns a device
 * number from it: the node is looked up with O_PATH (which opens nothing
 * behind it: no driver open() runs, no DRM master is taken) and never
 * opened through the container's path.
 *
 * The login1 facade reaches into a container's root the same way: its
 * system bus socket and sd-login's files under /run/systemd are found
 * below the root, and nothing the container planted there (a symlink, a
 * "..") leads out of it.
 */
#pragma once

#include <stdbool.h>
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

/* The directory path below rootfd (RESOLVE_IN_ROOT, as above) as an O_PATH
 * fd, each missing component made with mode 0755 when create is set. */
int root_open_dir(int rootfd, const char *path, bool create);

/* Replaces dirfd/name with a new file holding content: written to a
 * temporary name, then renamed over name, so that whatever was at name (a
 * symlink planted there included) is replaced, never followed, and a
 * reader sees the old file or the new one, never half of one. */
int root_replace_file(int dirfd, const char *name, const char *content, mode_t mode);

/* Opens path below rootfd for reading (RESOLVE_IN_ROOT): a regular file
 * only, checked before it is opened. Returns the fd or -errno. */
int root_open_file(int rootfd, const char *path);

/* Connects a non-blocking stream socket to the unix socket at path below
 * rootfd, found as above and connected through its O_PATH fd, so the
 * container cannot redirect it. Returns the fd, -ENOENT while there is no
 * socket, -ENOTSOCK when something else is there, -EAGAIN when its queue
 * is full. */
int root_connect_unix(int rootfd, const char *path);

/* The user and group that are root (0) in the user namespace of process
 * pid, as this process sees them: 0 and 0 outside user namespaces,
 * 100000 for a container whose uid_map is "0 100000 65536". A process
 * with those ids is root for the container's own daemons (SO_PEERCRED is
 * mapped through the namespaces). pidfd pins the process as for
 * root_open_of_pid(). -EOVERFLOW when the namespace maps no root (or has
 * no map yet). */
int root_ids_of_pid(pid_t pid, int pidfd, uid_t *ret_uid, gid_t *ret_gid);

/* The uid that inner, a uid of the user namespace of process pid, is
 * for this process (what SO_PEERCRED reports for it): inner itself in
 * our own namespace, else through the namespace's uid_map. pidfd pins
 * the process as above. -EOVERFLOW when the namespace maps no such uid. */
int root_map_uid(pid_t pid, int pidfd, uid_t inner, uid_t *ret);

/* root_connect_unix() as uid and gid: the connection carries them
 * (SO_PEERCRED), so a server in a user namespace sees the user they map
 * to there rather than the overflow user. When they are not this
 * process's own, a child process takes them, connects and hands the
 * socket back. */
int root_connect_unix_as(int rootfd, const char *path, uid_t uid, gid_t gid);
