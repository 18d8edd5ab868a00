/* SPDX-License-Identifier: MIT */
/*
 * The picture of a benchmark client, for timing what a person sees: one
 * full-screen dumb buffer in the client's colour, shown by a modeset the
 * first time and by a page flip with DRM_MODE_PAGE_FLIP_EVENT after every
 * resume. The two clients of a scenario take turns on the one CRTC, so each
 * flip replaces the other client's picture with this one's.
 *
 * The buffer is drawn once, at set-up: what is timed is the presentation,
 * not the drawing, and both daemons' clients do exactly the same here.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <xf86drmMode.h>

struct bench_display {
	int fd; /* the card, borrowed from the client */
	bool ready;
	bool flip_pending;
	uint32_t crtc_id, connector_id, fb_id, handle;
	drmModeModeInfo mode;
	/* The last completed flip: the kernel's timestamp in its event
	 * (CLOCK_MONOTONIC; on a card without vblank interrupts, such as
	 * bochs, the moment the commit finished), and when it was read. */
	uint64_t flip_ns, read_ns;
};

/* Needs DRM master on fd. Sets the display up the first time (modeset),
 * then queues a page flip to this client's buffer with an event. */
int bench_display_present(struct bench_display *d, int fd, uint32_t rgb);
/* Reads the card's events once poll() said it is readable: 1 when the
 * pending flip completed, 0 when not yet, -errno. */
int bench_display_dispatch(struct bench_display *d);
/* The two above for a client: a failure is reported on its standard
 * output as an "error" line (card_fd < 0: the client has no card), and a
 * failed read ends the wait for the flip. */
int bench_display_show(struct bench_display *d, int card_fd, uint32_t rgb);
int bench_display_flipped(struct bench_display *d);
void bench_display_free(struct bench_display *d);
