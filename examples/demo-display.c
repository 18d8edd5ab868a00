/* SPDX-License-Identifier: MIT */
/* The picture: one dumb buffer filled with the background colour, the label
 * in the top-left corner and a key-counter bar at the bottom. Label and bar
 * stay far below 10% of the screen so a test can read the container's
 * colour off a screenshot. Only modeset and DirtyFB need DRM master; the
 * buffer itself can be created and drawn while paused. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>

#include <drm.h>
#include <xf86drm.h>
#include <xf86drmMode.h>

#include "demo.h"

DEFINE_TRIVIAL_CLEANUP_FUNC(drmModeResPtr, drmModeFreeResources)
DEFINE_TRIVIAL_CLEANUP_FUNC(drmModeConnectorPtr, drmModeFreeConnector)
DEFINE_TRIVIAL_CLEANUP_FUNC(drmModeEncoderPtr, drmModeFreeEncoder)

#define GLYPH_W 5
#define GLYPH_H 7

/* 5x7 glyphs, one byte per row, bit 4 is the leftmost column. Container
 * names are [A-Za-z0-9_.-], so that plus a few extras is all we need. */
static const uint8_t *glyph(char c)
{
	static const uint8_t digits[10][GLYPH_H] = {
		{ 0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E },
		{ 0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E },
		{ 0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F },
		{ 0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E },
		{ 0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02 },
		{ 0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E },
		{ 0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E },
		{ 0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08 },
		{ 0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E },
		{ 0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C },
	};
	static const uint8_t letters[26][GLYPH_H] = {
		{ 0x0E, 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11 }, /* A */
		{ 0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E },
		{ 0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E },
		{ 0x1C, 0x12, 0x11, 0x11, 0x11, 0x12, 0x1C },
		{ 0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F },
		{ 0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10 },
		{ 0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F },
		{ 0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11 },
		{ 0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E },
		{ 0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C },
		{ 0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11 },
		{ 0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F },
		{ 0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11 },
		{ 0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11 },
		{ 0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E },
		{ 0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10 },
		{ 0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D },
		{ 0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11 },
		{ 0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E },
		{ 0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04 },
		{ 0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E },
		{ 0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04 },
		{ 0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A },
		{ 0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11 },
		{ 0x11, 0x11, 0x11, 0x0A, 0x04, 0x04, 0x04 },
		{ 0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F }, /* Z */
	};
	static const uint8_t dash[GLYPH_H] = { 0, 0, 0, 0x1F, 0, 0, 0 };
	static const uint8_t underscore[GLYPH_H] = { 0, 0, 0, 0, 0, 0, 0x1F };
	static const uint8_t dot[GLYPH_H] = { 0, 0, 0, 0, 0, 0x0C, 0x0C };
	static const uint8_t colon[GLYPH_H] = { 0, 0x0C, 0x0C, 0, 0x0C, 0x0C, 0 };
	static const uint8_t space[GLYPH_H] = { 0 };
	static const uint8_t unknown[GLYPH_H] = { 0x0E, 0x11, 0x01, 0x02, 0x04, 0, 0x04 };

	if (c >= '0' && c <= '9')
		return digits[c - '0'];
	if (c >= 'A' && c <= 'Z')
		return letters[c - 'A'];
	if (c >= 'a' && c <= 'z')
		return letters[c - 'a'];
	switch (c) {
	case '-':
		return dash;
	case '_':
		return underscore;
	case '.':
		return dot;
	case ':':
		return colon;
	case ' ':
		return space;
	default:
		return unknown;
	}
}

uint32_t color_from_label(const char *label)
{
	/* FNV-1a picks a hue, so every container gets a stable, distinct and
	 * saturated colour without configuration. */
	uint32_t h = 2166136261u;
	for (const char *p = label; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;

	unsigned hue = h % 360, sector = hue / 60, f = (hue % 60) * 255 / 60;
	unsigned v = 210, lo = 60;
	unsigned rise = lo + (v - lo) * f / 255, fall = v - (v - lo) * f / 255;
	unsigned r, g, b;
	switch (sector) {
	case 0: r = v, g = rise, b = lo; break;
	case 1: r = fall, g = v, b = lo; break;
	case 2: r = lo, g = v, b = rise; break;
	case 3: r = lo, g = fall, b = v; break;
	case 4: r = rise, g = lo, b = v; break;
	default: r = v, g = lo, b = fall; break;
	}
	return r << 16 | g << 8 | b;
}

static uint32_t contrast(uint32_t bg)
{
	unsigned r = bg >> 16 & 0xff, g = bg >> 8 & 0xff, b = bg & 0xff;
	return (r * 299 + g * 587 + b * 114) / 1000 > 140 ? 0x000000 : 0xffffff;
}

static void fill(struct display *d, uint32_t x, uint32_t y, uint32_t w, uint32_t h, uint32_t color)
{
	if (x >= d->width || y >= d->height)
		return;
	if (w > d->width - x)
		w = d->width - x;
	if (h > d->height - y)
		h = d->height - y;
	for (uint32_t j = y; j < y + h; j++) {
		uint32_t *row = d->pixels + (size_t)j * d->stride;
		for (uint32_t i = x; i < x + w; i++)
			row[i] = color;
	}
}

static void text(struct display *d, uint32_t x, uint32_t y, uint32_t scale, const char *s, size_t max)
{
	for (size_t n = 0; s[n] && n < max; n++, x += (GLYPH_W + 1) * scale) {
		const uint8_t *g = glyph(s[n]);
		for (uint32_t row = 0; row < GLYPH_H; row++)
			for (uint32_t col = 0; col < GLYPH_W; col++)
				if (g[row] & (0x10 >> col))
					fill(d, x + col * scale, y + row * scale, scale, scale, d->fg);
	}
}

/* Sizes derive from the mode so the picture looks alike at any resolution:
 * label glyphs ~1/18 of the height, the bar ~1/48. */
static uint32_t label_scale(const struct display *d)
{
	uint32_t s = d->height / (GLYPH_H * 18);
	return s ? s : 1;
}

static uint32_t bar_height(const struct display *d)
{
	uint32_t h = d->height / 48;
	return h < 4 ? 4 : h;
}

#define LABEL_MAX 32

void display_draw_keys(struct display *d, uint64_t keys)
{
	uint32_t bh = bar_height(d), margin = bh, scale = bh / 8 ? bh / 8 : 1;
	uint32_t text_h = GLYPH_H * scale;
	uint32_t top = d->height - margin - bh - text_h - scale * 2;
	uint32_t span = d->width - 2 * margin, step = d->width / 128 ? d->width / 128 : 1;
	char count[24];

	/* Clear the whole strip, then draw the count and the bar; the bar wraps
	 * so it never outgrows its strip. */
	fill(d, 0, top, d->width, d->height - top, d->bg);
	snprintf(count, sizeof(count), "%" PRIu64, keys);
	text(d, margin, top, scale, count, sizeof(count));
	fill(d, margin, d->height - margin - bh, (uint32_t)(keys * step % span), bh, d->fg);
}

void display_draw(struct display *d, uint64_t keys)
{
	uint32_t scale = label_scale(d), margin = scale * 4;
	size_t max = (d->width / 2) / ((GLYPH_W + 1) * scale);

	fill(d, 0, 0, d->width, d->height, d->bg);
	text(d, margin, margin, scale, d->label, max < LABEL_MAX ? max : LABEL_MAX);
	display_draw_keys(d, keys);
}

static int neg_errno(void)
{
	return errno > 0 ? -errno : -EIO;
}

static int pick_crtc(int fd, const drmModeRes *res, const drmModeConnector *c, uint32_t *ret)
{
	/* Keep the CRTC that already drives the connector (no needless
	 * reconfiguration), else the first one an encoder can use. */
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

int display_setup(struct display *d, int fd)
{
	_cleanup_(drmModeFreeResourcesp) drmModeRes *res = NULL;
	_cleanup_(drmModeFreeConnectorp) drmModeConnector *conn = NULL;
	struct drm_mode_create_dumb create = { 0 };
	struct drm_mode_map_dumb map = { 0 };
	int r;

	if (d->ready)
		return 0;

	res = drmModeGetResources(fd);
	if (!res)
		return neg_errno();

	/* Without master the kernel does not probe connectors again, it
	 * reports what it knew; that is enough once anyone has probed. */
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
	d->width = d->mode.hdisplay;
	d->height = d->mode.vdisplay;

	create.width = d->width;
	create.height = d->height;
	create.bpp = 32;
	if (drmIoctl(fd, DRM_IOCTL_MODE_CREATE_DUMB, &create) < 0)
		return neg_errno();
	d->fd = fd;
	d->handle = create.handle;
	d->stride = create.pitch / 4;
	d->size = create.size;

	if (drmModeAddFB(fd, d->width, d->height, 24, 32, create.pitch, d->handle, &d->fb_id) != 0) {
		r = neg_errno();
		goto fail;
	}

	map.handle = d->handle;
	if (drmIoctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &map) < 0) {
		r = neg_errno();
		goto fail;
	}
	d->pixels = mmap(NULL, d->size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, map.offset);
	if (d->pixels == MAP_FAILED) {
		d->pixels = NULL;
		r = neg_errno();
		goto fail;
	}

	d->fg = contrast(d->bg);
	d->ready = true;
	return 0;

fail:
	display_teardown(d);
	return r;
}

void display_teardown(struct display *d)
{
	if (d->pixels)
		munmap(d->pixels, d->size);
	d->pixels = NULL;
	if (d->fb_id)
		drmModeRmFB(d->fd, d->fb_id);
	d->fb_id = 0;
	if (d->handle) {
		struct drm_mode_destroy_dumb destroy = { .handle = d->handle };
		drmIoctl(d->fd, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
	}
	d->handle = 0;
	d->ready = false;
}

int display_modeset(struct display *d)
{
	if (drmModeSetCrtc(d->fd, d->crtc_id, d->fb_id, 0, 0, &d->connector_id, 1, &d->mode) != 0)
		return neg_errno();
	return 0;
}

void display_flush(struct display *d)
{
	/* Drivers that scan out of a shadow copy (virtio-gpu, qxl, udl) only
	 * show a dumb buffer's new pixels after DirtyFB; those that scan out
	 * of the buffer itself (bochs) have no dirty hook and say ENOSYS. */
	if (drmModeDirtyFB(d->fd, d->fb_id, NULL, 0) != 0 && errno != ENOSYS && errno != EOPNOTSUPP)
		fprintf(stderr, "devns-demo-client: DirtyFB: %m\n");
}
