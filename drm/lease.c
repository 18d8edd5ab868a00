/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "drm/lease.h"

static bool connector_named(const drmModeConnector *conn, const char *name)
{
	const char *type = drmModeGetConnectorTypeName(conn->connector_type);
	char buf[64];

	if (!type)
		return false;
	snprintf(buf, sizeof(buf), "%s-%u", type, conn->connector_type_id);
	return strcmp(buf, name) == 0;
}

static drmModeConnector *get_connector(int fd, const drmModeRes *res, const char *name)
{
	for (int i = 0; i < res->count_connectors; i++) {
		drmModeConnector *conn = drmModeGetConnector(fd, res->connectors[i]);
		if (conn && connector_named(conn, name))
			return conn;
		drmModeFreeConnector(conn);
	}
	return NULL;
}

int drm_find_connector(int fd, const char *name, uint32_t *ret_id)
{
	drmModeRes *res = drmModeGetResources(fd);
	drmModeConnector *conn;

	if (!res)
		return -errno;
	conn = get_connector(fd, res, name);
	drmModeFreeResources(res);
	if (!conn)
		return -ENOENT;
	*ret_id = conn->connector_id;
	drmModeFreeConnector(conn);
	return 0;
}

static bool in(const uint32_t *ids, size_t n, uint32_t id)
{
	for (size_t i = 0; i < n; i++)
		if (ids[i] == id)
			return true;
	return false;
}

/* A CRTC for conn not in taken: the one driving it now if free, or the
 * first free one any of its encoders can use. Its index in *ret_index. */
static uint32_t pick_crtc(int fd, const drmModeRes *res, const drmModeConnector *conn,
			  const uint32_t *taken, size_t n_taken, int *ret_index)
{
	uint32_t possible = 0;

	for (int i = 0; i < conn->count_encoders; i++) {
		drmModeEncoder *enc = drmModeGetEncoder(fd, conn->encoders[i]);
		if (!enc)
			continue;
		possible |= enc->possible_crtcs;
		if (enc->encoder_id == conn->encoder_id && enc->crtc_id &&
		    !in(taken, n_taken, enc->crtc_id)) {
			for (int k = 0; k < res->count_crtcs; k++)
				if (res->crtcs[k] == enc->crtc_id) {
					drmModeFreeEncoder(enc);
					*ret_index = k;
					return res->crtcs[k];
				}
		}
		drmModeFreeEncoder(enc);
	}
	for (int k = 0; k < res->count_crtcs && k < 32; k++)
		if ((possible & (1u << k)) && !in(taken, n_taken, res->crtcs[k])) {
			*ret_index = k;
			return res->crtcs[k];
		}
	return 0;
}

static bool plane_is_primary(int fd, uint32_t plane_id)
{
	drmModeObjectProperties *props =
		drmModeObjectGetProperties(fd, plane_id, DRM_MODE_OBJECT_PLANE);
	bool primary = false;

	if (!props)
		return false;
	for (uint32_t i = 0; i < props->count_props; i++) {
		drmModePropertyRes *p = drmModeGetProperty(fd, props->props[i]);
		if (p && strcmp(p->name, "type") == 0)
			primary = props->prop_values[i] == DRM_PLANE_TYPE_PRIMARY;
		drmModeFreeProperty(p);
	}
	drmModeFreeObjectProperties(props);
	return primary;
}

static uint32_t pick_primary_plane(int fd, int crtc_index, const uint32_t *taken, size_t n_taken)
{
	drmModePlaneRes *planes = drmModeGetPlaneResources(fd);
	uint32_t found = 0;

	if (!planes)
		return 0;
	for (uint32_t i = 0; i < planes->count_planes && !found; i++) {
		drmModePlane *p = drmModeGetPlane(fd, planes->planes[i]);
		if (p && (p->possible_crtcs & (1u << crtc_index)) &&
		    !in(taken, n_taken, p->plane_id) && plane_is_primary(fd, p->plane_id))
			found = p->plane_id;
		drmModeFreePlane(p);
	}
	drmModeFreePlaneResources(planes);
	return found;
}

int drm_lease_outputs(int lessor_fd, const char *const *names, size_t n,
		      const uint32_t *busy, size_t n_busy, uint32_t *objects,
		      uint32_t *ret_lessee)
{
	uint32_t taken[64];
	size_t n_taken = 0, n_objects = 0;
	drmModeRes *res;
	int r = 0;

	if (n == 0 || n_busy + n * DRM_LEASE_OBJECTS_PER_OUTPUT > sizeof(taken) / sizeof(taken[0]))
		return -EINVAL;
	/* Planes are listed only to a file that asked for all of them. */
	if (drmSetClientCap(lessor_fd, DRM_CLIENT_CAP_UNIVERSAL_PLANES, 1) < 0)
		return -errno;
	res = drmModeGetResources(lessor_fd);
	if (!res)
		return -errno;
	memcpy(taken, busy, n_busy * sizeof(*busy));
	n_taken = n_busy;

	for (size_t i = 0; i < n && r == 0; i++) {
		drmModeConnector *conn = get_connector(lessor_fd, res, names[i]);
		uint32_t crtc = 0, plane = 0;
		int crtc_index = -1;

		if (!conn) {
			r = -ENOENT;
			break;
		}
		if (!in(taken, n_taken, conn->connector_id))
			crtc = pick_crtc(lessor_fd, res, conn, taken, n_taken, &crtc_index);
		if (crtc)
			plane = pick_primary_plane(lessor_fd, crtc_index, taken, n_taken);
		if (!crtc || !plane) {
			drmModeFreeConnector(conn);
			r = -ENOSPC;
			break;
		}
		objects[n_objects++] = taken[n_taken++] = conn->connector_id;
		objects[n_objects++] = taken[n_taken++] = crtc;
		objects[n_objects++] = taken[n_taken++] = plane;
		drmModeFreeConnector(conn);
	}
	drmModeFreeResources(res);
	if (r < 0)
		return r;
	return drmModeCreateLease(lessor_fd, objects, (int)n_objects, O_CLOEXEC, ret_lessee);
}

int drm_revoke_lease(int lessor_fd, uint32_t lessee)
{
	return drmModeRevokeLease(lessor_fd, lessee);
}

int drm_lease_objects(int lessee_fd, uint32_t *objects, size_t max)
{
	drmModeObjectListPtr list = drmModeGetLease(lessee_fd);
	size_t n;

	if (!list)
		return -errno;
	n = list->count < max ? list->count : max;
	memcpy(objects, list->objects, n * sizeof(*objects));
	drmFree(list);
	return (int)n;
}

int drm_lessees(int lessor_fd, uint32_t *ids, size_t max)
{
	drmModeLesseeListPtr list = drmModeListLessees(lessor_fd);
	size_t n;

	if (!list)
		return -errno;
	n = list->count < max ? list->count : max;
	memcpy(ids, list->lessees, n * sizeof(*ids));
	drmFree(list);
	return (int)n;
}

int drm_objects_missing(int fd, const uint32_t *ids, size_t n)
{
	int missing = 0;

	for (size_t i = 0; i < n; i++) {
		drmModeObjectPropertiesPtr props =
			drmModeObjectGetProperties(fd, ids[i], DRM_MODE_OBJECT_ANY);
		if (props)
			drmModeFreeObjectProperties(props);
		else if (errno == ENOENT)
			missing++;
		else
			return -errno;
	}
	return missing;
}

bool drm_lease_exists(int lessor_fd, uint32_t lessee)
{
	uint32_t ids[DRM_LESSEES_MAX];
	int n = drm_lessees(lessor_fd, ids, DRM_LESSEES_MAX);

	for (int i = 0; i < n; i++)
		if (ids[i] == lessee)
			return true;
	return false;
}
