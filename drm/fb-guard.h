/* SPDX-License-Identifier: MIT */
/*
 * The framebuffer guard: a BPF LSM program (drm/fb-guard.bpf.c) that
 * refuses DRM_IOCTL_MODE_GETFB, GETFB2 and DRM_IOCTL_GEM_OPEN to the
 * lessees of the cards it is given, so that a lease cannot read what other
 * outputs show. It stays
 * attached for as long as one of its two files (the link and the map of
 * cards) is open anywhere, so a copy kept in the fd store outlives devnsd.
 * All functions return 0 or a negative errno and never log; without BPF
 * support built in, fb_guard_new() returns -EOPNOTSUPP.
 */
#pragma once

#include <stddef.h>
#include <sys/types.h>

struct fb_guard {
	int link_fd;
	int map_fd;
};

/* Loads the program and attaches it: -EPERM without CAP_BPF and
 * CAP_SYS_ADMIN, -EOPNOTSUPP (or what the kernel says) where the kernel
 * runs no BPF LSM programs. */
int fb_guard_new(struct fb_guard **ret);
/* Takes over a guard a previous devnsd attached, from its link and its
 * map in either order (taken; closed on failure): -EBADF if they are not
 * such a guard's. */
int fb_guard_adopt(int fd1, int fd2, struct fb_guard **ret);
/* Detaches the guard, unless a copy of its files is open elsewhere. */
void fb_guard_free(struct fb_guard *g);

/* Whether the kernel runs the guard for lessee_fd, a lease of a card the
 * guard has: 0, or -EOPNOTSUPP where the program is attached but never
 * called (bpf not among the kernel's active LSMs). */
int fb_guard_check(int lessee_fd);

int fb_guard_add(struct fb_guard *g, dev_t card);
int fb_guard_remove(struct fb_guard *g, dev_t card);
/* Forgets every card but the n given. */
int fb_guard_keep_only(struct fb_guard *g, const dev_t *cards, size_t n);
