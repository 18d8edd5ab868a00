/* SPDX-License-Identifier: MIT */
/*
 * The broker's thin shim over /dev/devns, the control node of the devns
 * kernel module (kernel/devns/uapi/devns.h). The module is optional: the
 * broker loads nothing, and kernel_devns_open() says -ENOENT when it is not
 * there. A kernel device namespace is bound to the pid namespace of the
 * container's leader; switching the active one of a seat makes the
 * module's framebuffer, LED and backlight multiplexers follow.
 * All functions return 0 or a negative errno and never log.
 */
#pragma once

#include <stdint.h>
#include <sys/types.h>

struct kernel_devns;

/* -ENOENT when /dev/devns does not exist (module not loaded). */
int kernel_devns_open(struct kernel_devns **ret);
void kernel_devns_close(struct kernel_devns *k);

/* leader: a pid in the broker's pid namespace; its pid namespace is bound. */
int kernel_devns_create(struct kernel_devns *k, const char *name, const char *seat,
			pid_t leader, uint32_t *ret_id);
int kernel_devns_destroy(struct kernel_devns *k, uint32_t id);
/* id 0: no namespace of the seat is active. */
int kernel_devns_activate(struct kernel_devns *k, const char *seat, uint32_t id);
