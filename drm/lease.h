/* SPDX-License-Identifier: MIT */
/*
 * DRM leases: a new file that is master of some outputs of a card only.
 * The caller is the lessor and must be master of the card; a lease lives
 * until it is revoked or the lessor's file is closed, and works only while
 * the lessor is master. All functions return 0 (or an fd) or a negative
 * errno and never log.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Objects of one lease: a connector with a CRTC and a primary plane each. */
#define DRM_LEASE_OBJECTS_PER_OUTPUT 3

/* Whether the card has a connector of that name, as the kernel names it in
 * sysfs after the card ("Virtual-2" for card1-Virtual-2): 0 or -ENOENT. */
int drm_find_connector(int fd, const char *name, uint32_t *ret_id);

/* Leases the n named connectors, each with a CRTC that can drive it and a
 * primary plane of that CRTC, none of them in busy (the objects of other
 * leases). objects (n * DRM_LEASE_OBJECTS_PER_OUTPUT) gets what was leased.
 * Returns the lessee's file (close-on-exec) and its id: -ENOENT for an
 * unknown connector, -ENOSPC when no free CRTC or plane can drive one. */
int drm_lease_outputs(int lessor_fd, const char *const *names, size_t n,
		      const uint32_t *busy, size_t n_busy, uint32_t *objects,
		      uint32_t *ret_lessee);

/* Ends a lease: its file stays open but is master of nothing. */
int drm_revoke_lease(int lessor_fd, uint32_t lessee);

/* The objects leased to lessee_fd, the lessee's own file (at most max of
 * them): how many, or a negative errno. */
int drm_lease_objects(int lessee_fd, uint32_t *objects, size_t max);

/* The ids of the lessor's live leases (at most max of them): how many, or
 * a negative errno. */
#define DRM_LESSEES_MAX 64
int drm_lessees(int lessor_fd, uint32_t *ids, size_t max);

/* How many of the n objects (connectors, CRTCs, planes) the card no longer
 * has, as when a DisplayPort MST connector goes with its monitor; or a
 * negative errno. */
int drm_objects_missing(int fd, const uint32_t *ids, size_t n);

/* Whether the lessor has a lease of that id. */
bool drm_lease_exists(int lessor_fd, uint32_t lessee);
