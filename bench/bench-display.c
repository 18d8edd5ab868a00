/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <drm.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "bench/bench-display.h"
#include "bench/bench-util.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(drmModeResPtr, drmModeFreeResources)
DEFINE_TRIVIAL_CLEANUP_FUNC(drmModeConnectorPtr, drmModeFreeConnector)
DEFINE_TRIVIAL_CLEANUP_FUNC(drmModeEncoderPtr, drmModeFreeEncoder)

static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

/* The CRTC that drives the connector already, else the first one it can
 * use: both clients of a scenario must end up on the same one. */
static int pick_crtc(int fd, const drmModeRes *res, const drmModeConnector *c, uint32_t *ret)
{
	if (c->encoder_id) {
		_cleanup_(drmModeFreeEncoderp) drmModeEncoder *enc = drmModeGetEncoder(fd, c->encoder_id);
		if (enc && enc->crtc_id) {
			*ret = enc->crtc_id;
			return 0;
		}
	}
	for (int e = 0; e < c->count_encoders; e++) {
		_cleanup_(drmModeFreeEncoderp) drmModeEncoder *enc = drmModeGetEncoder(fd, c->encoders[e]);
		if (!enc)
			continue;
		for (int i = 0; i < res->count_crtcs; i++)
			if (enc->possible_crtcs & (1u << i)) {
				*ret = res->crtcs[i];
				return 0;
			}
	}
	return -ENODEV;
}

static int fill_buffer(int fd, uint32_t handle, uint64_t size, uint32_t rgb)
{
	struct drm_mode_map_dumb map = { .handle = handle };
	uint32_t *pixels;

	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &map) < 0)
		return neg_errno();
	pixels = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, map.offset);
	if (pixels == MAP_FAILED)
		return neg_errno();
	for (uint64_t i = 0; i < size / 4; i++)
		pixels[i] = rgb;
	munmap(pixels, size);
	return 0;
}

static int display_setup(struct bench_display *d, int fd, uint32_t rgb)
{
	_cleanup_(drmModeFreeResourcesp) drmModeRes *res = drmModeGetResources(fd);
	_cleanup_(drmModeFreeConnectorp) drmModeConnector *conn = NULL;
	struct drm_mode_create_dumb create = { .bpp = 32 };
	int r;

	if (!res)
		return neg_errno();
	for (int i = 0; i < res->count_connectors && !conn; i++) {
		drmModeConnector *c = drmModeGetConnector(fd, res->connectors[i]);
		if (c && c->connection == DRM_MODE_CONNECTED && c->count_modes > 0)
			conn = c;
		else
			drmModeFreeConnector(c);
	}
	if (!conn)
		return -ENOENT;
	d->mode = conn->modes[0];
	for (int i = 0; i < conn->count_modes; i++)
		if (conn->modes[i].type & DRM_MODE_TYPE_PREFERRED) {
			d->mode = conn->modes[i];
			break;
		}
	r = pick_crtc(fd, res, conn, &d->crtc_id);
	if (r < 0)
		return r;
	d->connector_id = conn->connector_id;
	d->fd = fd;

	create.width = d->mode.hdisplay;
	create.height = d->mode.vdisplay;
	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &create) < 0)
		return neg_errno();
	d->handle = create.handle;
	if (drmModeAddFB(fd, create.width, create.height, 24, 32, create.pitch, d->handle, &d->fb_id) != 0)
		return neg_errno();
	r = fill_buffer(fd, d->handle, create.size, rgb);
	if (r < 0)
		return r;
	if (drmModeSetCrtc(fd, d->crtc_id, d->fb_id, 0, 0, &d->connector_id, 1, &d->mode) != 0)
		return neg_errno();
	d->ready = true;
	return 0;
}

int bench_display_present(struct bench_display *d, int fd, uint32_t rgb)
{
	int r;

	if (d->flip_pending)
		return -EBUSY;
	if (!d->ready) {
		r = display_setup(d, fd, rgb);
		if (r < 0) {
			bench_display_free(d);
			return r;
		}
	}
	if (drmModePageFlip(d->fd, d->crtc_id, d->fb_id, DRM_MODE_PAGE_FLIP_EVENT, d) != 0)
		return neg_errno();
	d->flip_pending = true;
	return 0;
}

static void on_flip(int fd, unsigned seq, unsigned sec, unsigned usec, void *data)
{
	struct bench_display *d = data;

	d->flip_ns = (uint64_t)sec * 1000000000u + (uint64_t)usec * 1000u;
	d->read_ns = bench_now_ns();
	d->flip_pending = false;
}

int bench_display_dispatch(struct bench_display *d)
{
	drmEventContext ctx = { .version = 2, .page_flip_handler = on_flip };

	if (!d->flip_pending)
		return 1;
	if (drmHandleEvent(d->fd, &ctx) != 0)
		return neg_errno();
	return !d->flip_pending;
}

void bench_display_free(struct bench_display *d)
{
	if (d->fb_id)
		drmModeRmFB(d->fd, d->fb_id);
	if (d->handle) {
		struct drm_mode_destroy_dumb destroy = { .handle = d->handle };
		drmIoctl(d->fd, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
	}
	*d = (struct bench_display) { .fd = -1 };
}

int bench_display_show(struct bench_display *d, int card_fd, uint32_t rgb)
{
	int r = card_fd >= 0 ? bench_display_present(d, card_fd, rgb) : -ENODEV;

	if (r < 0)
		bench_write_line(STDOUT_FILENO, "error page flip: %s", strerror(-r));
	return r;
}

int bench_display_flipped(struct bench_display *d)
{
	int r = bench_display_dispatch(d);

	if (r < 0) {
		bench_write_line(STDOUT_FILENO, "error reading the flip event: %s", strerror(-r));
		d->flip_pending = false;
	}
	return r;
}
