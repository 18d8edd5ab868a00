/* SPDX-License-Identifier: MIT */
/* Shared state of devns-demo-client; the control protocol is described at the
 * top of devns-demo-client.c and in README.md. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <xf86drmMode.h>

#include "common/macro.h"

enum demo_device_type {
	DEMO_DEVICE_DRM,
	DEMO_DEVICE_EVDEV,
};

struct demo;

struct demo_device {
	struct demo *demo;
	enum demo_device_type type;
	char sysname[64];
	unsigned major, minor;
	int fd;
	/* Paused: DRM without master, evdev revoked (the fd is kept until a
	 * ResumeDevice brings a fresh one, so status can report it). */
	bool paused;
	sd_event_source *io; /* evdev only, while live */
};

/* One full-screen dumb buffer on one connector; no page flips, so pausing
 * only means "stop calling SetCrtc/DirtyFB". */
struct display {
	int fd; /* borrowed from the DRM device */
	bool ready;
	uint32_t connector_id, crtc_id, fb_id, handle;
	uint32_t width, height, stride; /* stride in pixels */
	uint64_t size;
	uint32_t *pixels;
	drmModeModeInfo mode;
	uint32_t bg, fg;
	const char *label;
};

struct demo {
	sd_event *event;
	sd_bus *bus; /* NULL with --direct */
	sd_bus_slot *pause_slot, *resume_slot;
	bool direct, control;
	bool reconnect; /* --reconnect: outlive a broker restart */
	sd_event_source *retry;
	uint64_t retry_until_ns;
	bool controlling; /* TakeControl succeeded and not yet released */
	bool quitting;
	const char *address;
	const char *label;
	uint32_t color;
	char **inputs; /* --input SYSNAME, NULL-terminated, or NULL for all */

	struct demo_device **devices;
	size_t n_devices;
	struct display display;

	uint64_t keys;
	uint64_t last_resume_ns;

	/* Revoked evdev fds replaced on resume. Closing one waits for an RCU
	 * grace period, so they are closed a little later, off the resume
	 * path. */
	int *retired_fds;
	size_t n_retired;
	sd_event_source *reap;

	sd_event_source *stdin_source;
	char line[512];
	size_t line_len;
};

#define BROKER_CONTAINER_PATH "/org/devns/broker1/container/self"
#define BROKER_CONTAINER_IFACE "org.devns.broker1.Container"
#define BROKER_SEAT_IFACE "org.devns.broker1.Seat"

/* devns-demo-client.c */
void demo_event(struct demo *demo, const char *fmt, ...) _printf_(2, 3);
uint64_t demo_now_ns(void);
struct demo_device *demo_add_device(struct demo *demo, enum demo_device_type type,
				    const char *sysname, unsigned major, unsigned minor);
struct demo_device *demo_find_device(struct demo *demo, unsigned major, unsigned minor);
struct demo_device *demo_drm(struct demo *demo);
void demo_drop_device(struct demo *demo, struct demo_device *dev);
void demo_retire_fd(struct demo *demo, int fd);
bool demo_display_live(struct demo *demo);
int demo_show(struct demo *demo);
void demo_key(struct demo *demo, struct demo_device *dev, unsigned code);
void demo_quit(struct demo *demo, int code);
bool demo_wants_input(struct demo *demo, const char *sysname);

/* demo-display.c */
int display_setup(struct display *d, int fd);
void display_teardown(struct display *d);
void display_draw(struct display *d, uint64_t keys);
void display_draw_keys(struct display *d, uint64_t keys);
int display_modeset(struct display *d);
void display_flush(struct display *d);
uint32_t color_from_label(const char *label);

/* demo-input.c */
int input_start(struct demo_device *dev);
void input_stop(struct demo_device *dev);
int input_check(struct demo_device *dev);
int direct_open_devices(struct demo *demo);

/* demo-broker.c */
int broker_connect(struct demo *demo);
/* After the broker went away: connect again, take control and the same
 * devices (a restarted broker hands back the files it took over). */
int broker_reconnect(struct demo *demo);
int broker_take_devices(struct demo *demo);
void broker_release(struct demo *demo);
