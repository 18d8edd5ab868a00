/* SPDX-License-Identifier: MIT */
/* Loop devices that the broker attaches for a container and that only
 * that container may open or detach (see loop.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/list.h"

struct broker;
struct container;

struct loop_device {
	struct container *owner;
	unsigned number; /* loopN */
	bool read_only;
	int fd; /* the broker's own open file of the device, or -1 */
	struct list link; /* owner->loops, in attach order */
};

/* "loop3" -> 3. -EINVAL for anything else (no path, no sign, no leading
 * zero). */
int loop_parse_name(const char *name, unsigned *ret);

/* Which container owns loopN, among every container of the broker. */
struct loop_device *broker_find_loop(struct broker *b, unsigned number);

/* Records that c owns loopN, the broker holding it through fd (taken; -1
 * for none). */
int container_add_loop(struct container *c, unsigned number, bool read_only, int fd,
		       struct loop_device **ret);

/* Attaches a loop device to the regular file file_fd (which stays the
 * caller's) and returns an open file of it for c: *ret_fd, *ret_number.
 * -EINVAL: not a regular file, or writable asked of a file opened
 * read-only. */
int container_attach_loop(struct container *c, int file_fd, bool read_only, int *ret_fd,
			  unsigned *ret_number);
/* A new open file of c's loop device. -ERRNO_NO_SUCH_DEVICE: not attached
 * by the broker; -ERRNO_DEVICE_NOT_OWNED: another container's. */
int container_open_loop(struct container *c, unsigned number, int *ret_fd);
/* The same refusals; detaches now, or when its last user lets go. */
int container_detach_loop(struct container *c, unsigned number);
/* Every loop device of c (unregistration). */
void container_detach_all_loops(struct container *c);
/* After a restart: takes back loopN for c if it is still attached to the
 * same backing file (device and inode numbers as saved). */
int container_adopt_loop(struct container *c, unsigned number, uint64_t backing_dev,
			 uint64_t backing_ino);
/* The backing file of an attached loop device, for the state file. */
int loop_device_backing(const struct loop_device *l, uint64_t *ret_dev, uint64_t *ret_ino);
