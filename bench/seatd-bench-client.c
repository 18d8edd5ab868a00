/* SPDX-License-Identifier: MIT */
/*
 * seatd-bench-client: the libseat counterpart of devns-bench-client, for
 * timing seatd in the same scenario. Linked against the system's libseat
 * (Debian 12: 0.7), run with LIBSEAT_BACKEND=seatd.
 *
 *   seatd-bench-client [--device PATH]... [--display RRGGBB] [--chord-session N]
 *                      [--trace FILE]
 *
 * What a wlroots compositor does, without drawing: on enable it opens the
 * card once (kept across disables, which only drop master) and opens every
 * evdev node afresh; on disable it closes its evdev devices through libseat
 * (libinput does that on suspend; seatd refuses to re-activate an evdev
 * device that is still open) and acknowledges. Closed fds go to a closing
 * thread, as in devns-bench-client. Without --device it only follows the
 * seat (the placeholder that takes seatd's session 0).
 *
 * It speaks to whatever SEATD_SOCK names: Debian's seatd, or devnsd's
 * seatd.sock of a container (the like-with-like comparison of the two
 * daemons on seatd's own protocol).
 *
 * What a person sees (--display, --chord-session): seatd has no switching
 * keys of its own; a wlroots compositor reads Ctrl+Alt+Fn from its evdev
 * devices (through libinput) and calls libseat_switch_session() itself. So
 * with --chord-session N the enabled client reads its evdev fds and calls
 * libseat_switch_session(N) on a Right press while Ctrl and Alt are held,
 * the chord devnsd's own hotkeys take. It reads the raw events, without
 * libinput's processing. With --display the client shows its picture after
 * every enable, as devns-bench-client --display does, and writes "live"
 * only when the page flip completed.
 *
 * Lines on stdout:
 *   seat NAME             the seat is open
 *   live T1 0 CHECK       an enable was handled and every device is
 *                         open; T1 CLOCK_MONOTONIC ns; CHECK "ok" when the
 *                         card answers as master and every evdev fd as live
 *   live T1 0 CHECK FLIP READ   the same with --display, once the page flip
 *                         that followed completed: FLIP the kernel's
 *                         timestamp in the flip event, READ when it was read
 *   t0 T0                 answer to "last": when the last "switch" (or
 *                         chord) called libseat_switch_session
 *   status enabled=E check=C pending=N   N: closed fds still being closed
 *                         by the closing thread
 *   error TEXT
 *
 * Commands on stdin: "switch N" (libseat_switch_session(N); the clock of a
 * seatd switch starts right before that call), "last", "status", "quit".
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/input.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <libseat.h>
#include <xf86drm.h>

#include "bench/bench-display.h"
#include "bench/bench-util.h"
#include "common/reaper.h"

#define MAX_DEVICES 16

enum {
	EV_WAKE = 1,
	EV_DISABLE,
	EV_ACK_SENT,
	EV_ENABLE,
	EV_OPENED,
	EV_LIVE,
	EV_SWITCH_SENT,
	EV_FLIP_SENT,
	EV_FLIP,
};

static const char *const event_names[] = {
	[EV_WAKE] = "wake",
	[EV_DISABLE] = "disable",
	[EV_ACK_SENT] = "ack-sent",
	[EV_ENABLE] = "enable",
	[EV_OPENED] = "opened",
	[EV_LIVE] = "live",
	[EV_SWITCH_SENT] = "switch-sent",
	[EV_FLIP_SENT] = "flip-sent",
	[EV_FLIP] = "flip",
};

struct device {
	const char *path;
	bool drm;
	int fd, id;
};

struct client {
	struct libseat *seat;
	bool enabled;
	struct device devices[MAX_DEVICES];
	size_t n_devices;
	struct reaper *reaper;
	struct trace trace;
	uint64_t switch_t0;
	bool quit;
	/* --display: the picture, and the "live" line held back until its
	 * flip completed. */
	bool display_on;
	uint32_t color;
	struct bench_display display;
	uint64_t live_t1;
	const char *live_check;
	/* --chord-session: the session the chord switches to, 0 for none,
	 * and the modifiers held as read from the evdev fds. */
	int chord_session;
	bool ctrl, alt;
};

static const char *check_devices(struct client *cl)
{
	for (size_t i = 0; i < cl->n_devices; i++) {
		struct device *d = &cl->devices[i];
		int version;

		if (d->fd < 0)
			return "not-open";
		if (d->drm) {
			if (!drmIsMaster(d->fd))
				return "drm-not-master";
		} else if (ioctl(d->fd, EVIOCGVERSION, &version) < 0) {
			return "evdev-revoked";
		}
	}
	return "ok";
}

static struct device *find_card(struct client *cl)
{
	for (size_t i = 0; i < cl->n_devices; i++)
		if (cl->devices[i].drm && cl->devices[i].fd >= 0)
			return &cl->devices[i];
	return NULL;
}

/* With --display: the picture goes up now; "live" is written when its flip
 * completed (display_flipped()). */
static void present(struct client *cl, uint64_t t1, const char *check)
{
	struct device *card = find_card(cl);

	cl->live_t1 = t1;
	cl->live_check = check;
	if (bench_display_show(&cl->display, card ? card->fd : -1, cl->color) >= 0)
		trace_add(&cl->trace, EV_FLIP_SENT, 0, 0);
}

static void display_flipped(struct client *cl)
{
	if (bench_display_flipped(&cl->display) <= 0)
		return;
	trace_add(&cl->trace, EV_FLIP, 0, 0);
	bench_write_line(STDOUT_FILENO, "live %" PRIu64 " 0 %s %" PRIu64 " %" PRIu64, cl->live_t1,
			 cl->live_check, cl->display.flip_ns, cl->display.read_ns);
}

/* The key events of one evdev fd; the chord asks seatd for the switch, as
 * a compositor does. */
static void read_keys(struct client *cl, int fd)
{
	struct input_event ev[64];
	ssize_t n = read(fd, ev, sizeof(ev));

	/* EAGAIN, or ENODEV from a file revoked under us: nothing to read. */
	for (ssize_t i = 0; i < n / (ssize_t)sizeof(ev[0]); i++) {
		if (ev[i].type != EV_KEY)
			continue;
		if (ev[i].code == KEY_LEFTCTRL || ev[i].code == KEY_RIGHTCTRL)
			cl->ctrl = ev[i].value != 0;
		else if (ev[i].code == KEY_LEFTALT || ev[i].code == KEY_RIGHTALT)
			cl->alt = ev[i].value != 0;
		else if (ev[i].code == KEY_RIGHT && ev[i].value == 1 && cl->ctrl && cl->alt) {
			cl->switch_t0 = bench_now_ns();
			trace_add(&cl->trace, EV_SWITCH_SENT, (uint32_t)cl->chord_session, 0);
			if (libseat_switch_session(cl->seat, cl->chord_session) < 0)
				bench_write_line(STDOUT_FILENO, "error switch %d: %s", cl->chord_session,
						 strerror(errno));
		}
	}
}

static void handle_enable(struct libseat *seat, void *data)
{
	struct client *cl = data;
	uint64_t t1;

	trace_add(&cl->trace, EV_ENABLE, 0, 0);
	cl->enabled = true;
	for (size_t i = 0; i < cl->n_devices; i++) {
		struct device *d = &cl->devices[i];

		if (d->fd >= 0)
			continue; /* the card: master again, same file */
		d->id = libseat_open_device(cl->seat, d->path, &d->fd);
		if (d->id < 0) {
			d->fd = -1;
			bench_write_line(STDOUT_FILENO, "error open %s: %s", d->path, strerror(errno));
			return;
		}
		trace_add(&cl->trace, EV_OPENED, (uint32_t)i, 0);
	}
	if (cl->n_devices == 0)
		return;
	t1 = bench_now_ns();
	trace_add(&cl->trace, EV_LIVE, 0, 0);
	if (cl->display_on) {
		present(cl, t1, check_devices(cl));
		return;
	}
	bench_write_line(STDOUT_FILENO, "live %" PRIu64 " 0 %s", t1, check_devices(cl));
}

static void handle_disable(struct libseat *seat, void *data)
{
	struct client *cl = data;
	int retired[MAX_DEVICES];
	size_t n_retired = 0;

	trace_add(&cl->trace, EV_DISABLE, 0, 0);
	cl->enabled = false;
	/* Keys released while disabled are not seen; the next enable starts
	 * from none held. */
	cl->ctrl = cl->alt = false;
	for (size_t i = 0; i < cl->n_devices; i++) {
		struct device *d = &cl->devices[i];

		if (d->drm || d->fd < 0)
			continue;
		if (libseat_close_device(cl->seat, d->id) < 0)
			bench_write_line(STDOUT_FILENO, "error close %s: %s", d->path, strerror(errno));
		retired[n_retired++] = d->fd;
		d->fd = -1;
		d->id = -1;
	}
	if (libseat_disable_seat(cl->seat) < 0)
		bench_write_line(STDOUT_FILENO, "error disable_seat: %s", strerror(errno));
	trace_add(&cl->trace, EV_ACK_SENT, 0, 0);
	/* Once acknowledged: waking the closing thread earlier would compete
	 * with the switch for a CPU. */
	for (size_t i = 0; i < n_retired; i++)
		reaper_close(cl->reaper, retired[i]);
}

static struct libseat_seat_listener listener = {
	.enable_seat = handle_enable,
	.disable_seat = handle_disable,
};

static void handle_command(struct client *cl, const char *line)
{
	int session;

	if (sscanf(line, "switch %d", &session) == 1) {
		cl->switch_t0 = bench_now_ns();
		trace_add(&cl->trace, EV_SWITCH_SENT, (uint32_t)session, 0);
		if (libseat_switch_session(cl->seat, session) < 0)
			bench_write_line(STDOUT_FILENO, "error switch %d: %s", session, strerror(errno));
	} else if (strcmp(line, "last") == 0) {
		bench_write_line(STDOUT_FILENO, "t0 %" PRIu64, cl->switch_t0);
	} else if (strcmp(line, "status") == 0) {
		bench_write_line(STDOUT_FILENO, "status enabled=%d check=%s pending=%d", cl->enabled,
				 cl->n_devices && cl->enabled ? check_devices(cl) : "-",
				 reaper_pending(cl->reaper));
	} else if (strcmp(line, "quit") == 0) {
		cl->quit = true;
	} else {
		bench_write_line(STDOUT_FILENO, "error unknown command: %s", line);
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: seatd-bench-client [--device PATH]... [--display RRGGBB]\n"
		"                          [--chord-session N] [--trace FILE]\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "device", required_argument, NULL, 'd' },
		{ "trace", required_argument, NULL, 't' },
		{ "display", required_argument, NULL, 'D' },
		{ "chord-session", required_argument, NULL, 'S' },
		{}
	};
	struct client cl = { .display.fd = -1 };
	const char *trace_path = NULL;
	struct line_reader in;
	char line[256];
	int c, r;

	bench_set_prog("seatd-bench-client");
	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case 'd':
			if (cl.n_devices == MAX_DEVICES)
				usage();
			cl.devices[cl.n_devices++] = (struct device) {
				.path = optarg,
				.drm = strncmp(optarg, "/dev/dri/", 9) == 0,
				.fd = -1,
				.id = -1,
			};
			break;
		case 't':
			trace_path = optarg;
			break;
		case 'D':
			cl.display_on = true;
			cl.color = (uint32_t)strtoul(optarg, NULL, 16);
			break;
		case 'S':
			cl.chord_session = atoi(optarg);
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();

	/* Commands are read as they come, never waited for. */
	if (fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK) < 0)
		bench_die(errno, "stdin");
	r = reaper_new(&cl.reaper);
	if (r < 0)
		bench_die(r, "closing thread");
	libseat_set_log_level(LIBSEAT_LOG_LEVEL_ERROR);
	cl.seat = libseat_open_seat(&listener, &cl);
	if (!cl.seat)
		bench_die(errno, "libseat_open_seat");
	bench_write_line(STDOUT_FILENO, "seat %s", libseat_seat_name(cl.seat));
	/* An enable may have come with the seat already. */
	if (libseat_dispatch(cl.seat, 0) < 0)
		bench_die(errno, "libseat_dispatch");

	line_reader_init(&in, STDIN_FILENO);
	while (!cl.quit) {
		struct pollfd p[3 + MAX_DEVICES] = {
			{ .fd = libseat_get_fd(cl.seat), .events = POLLIN },
			{ .fd = STDIN_FILENO, .events = POLLIN },
		};
		nfds_t n = 2, flip = 0, keys;

		if (cl.display.flip_pending) {
			flip = n;
			p[n++] = (struct pollfd) { .fd = cl.display.fd, .events = POLLIN };
		}
		keys = n;
		for (size_t i = 0; cl.chord_session && cl.enabled && i < cl.n_devices; i++)
			if (!cl.devices[i].drm && cl.devices[i].fd >= 0)
				p[n++] = (struct pollfd) { .fd = cl.devices[i].fd, .events = POLLIN };

		r = poll(p, n, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			bench_die(errno, "poll");
		}
		/* Keys first: a disable handled below closes these fds. */
		for (nfds_t i = keys; i < n; i++)
			if (p[i].revents)
				read_keys(&cl, p[i].fd);
		if (flip && p[flip].revents)
			display_flipped(&cl);
		if (p[0].revents) {
			trace_add(&cl.trace, EV_WAKE, 0, 0);
			if (libseat_dispatch(cl.seat, 0) < 0)
				bench_die(errno, "libseat_dispatch");
		}
		if (p[1].revents) {
			for (;;) {
				r = line_reader_next(&in, line, sizeof(line));
				if (r == -EPIPE) {
					cl.quit = true;
					break;
				}
				if (r <= 0)
					break;
				handle_command(&cl, line);
			}
		}
	}

	if (trace_path)
		trace_write(&cl.trace, event_names, trace_path);
	bench_display_free(&cl.display);
	for (size_t i = 0; i < cl.n_devices; i++)
		if (cl.devices[i].id >= 0)
			libseat_close_device(cl.seat, cl.devices[i].id);
	libseat_close_seat(cl.seat);
	reaper_free(cl.reaper);
	trace_free(&cl.trace);
	return 0;
}
