/* SPDX-License-Identifier: MIT */
/*
 * devns-bench-client: the smallest controller a container can have. It takes
 * control of its container on the peer-to-peer endpoint, takes the devices it
 * is given, answers every "pause" at once and swaps in the fresh fds of
 * ResumeDevice. No drawing, no modeset, no reading of input: what it measures
 * is the broker, not a compositor.
 *
 *   devns-bench-client --address ADDR --device MAJ:MIN... [--display RRGGBB]
 *                      [--trace FILE]
 *
 * --display: what a person sees. Once every device is live after a
 * switch, the client shows its picture with a page flip and waits for the
 * flip's event before it reports (bench/bench-display.h); the first time it
 * sets the mode. seatd-bench-client does the same, so that the two daemons
 * are compared with the same kind of client.
 *
 * Lines on stdout (one write each):
 *   ready INACTIVE          every TakeDevice succeeded; INACTIVE is 1 when
 *                           the broker said the devices are paused
 *   live T1 T0 CHECK        the last ResumeDevice of a switch was handled and
 *                           every device is live again; T1 is CLOCK_MONOTONIC
 *                           (ns) when that happened, T0 the time this client
 *                           sent Activate (0 when it did not), CHECK is "ok"
 *                           when the card answers as master and every evdev
 *                           fd as live, else what failed
 *   live T1 T0 CHECK FLIP READ   the same with --display, written once the
 *                           page flip that followed completed: FLIP is the
 *                           kernel's timestamp in the flip event, READ when
 *                           the client read that event (both CLOCK_MONOTONIC)
 *   status live=L check=C pending=N   L: 1 when every device is live; C as
 *                           above for that state; N: revoked fds still
 *                           being closed by the closing thread
 *   error TEXT
 *
 * Commands on stdin: "activate" (calls Activate() on its own container, to
 * time a switch without a bus daemon), "status", "quit" (or end of file).
 *
 * --trace FILE: at exit, one line per event "T_NS EVENT MAJ MIN": wake
 * (poll returned with the socket readable), pause-force, pause, pause-gone,
 * complete-sent, resume, live, activate-sent, flip-sent, flip (the flip's
 * event read).
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
#include <sys/sysmacros.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <xf86drm.h>

#include "bench/bench-display.h"
#include "bench/bench-util.h"
#include "common/reaper.h"

#define CONTAINER_PATH "/org/devns/broker1/container/self"
#define CONTAINER_IFACE "org.devns.broker1.Container"
#define MAX_DEVICES 16
#define DRM_MAJOR 226

enum {
	EV_WAKE = 1,
	EV_PAUSE_FORCE,
	EV_PAUSE,
	EV_PAUSE_GONE,
	EV_COMPLETE_SENT,
	EV_RESUME,
	EV_LIVE,
	EV_ACTIVATE_SENT,
	EV_FLIP_SENT,
	EV_FLIP,
};

static const char *const event_names[] = {
	[EV_WAKE] = "wake",
	[EV_PAUSE_FORCE] = "pause-force",
	[EV_PAUSE] = "pause",
	[EV_PAUSE_GONE] = "pause-gone",
	[EV_COMPLETE_SENT] = "complete-sent",
	[EV_RESUME] = "resume",
	[EV_LIVE] = "live",
	[EV_ACTIVATE_SENT] = "activate-sent",
	[EV_FLIP_SENT] = "flip-sent",
	[EV_FLIP] = "flip",
};

struct device {
	unsigned major, minor;
	int fd;
	bool paused;
};

struct client {
	sd_bus *bus;
	struct device devices[MAX_DEVICES];
	size_t n_devices;
	struct reaper *reaper;
	/* Revoked fds replaced during this switch, handed to the closing
	 * thread once the switch is over (waking it earlier would compete
	 * with the switch for a CPU). */
	int retired[MAX_DEVICES];
	size_t n_retired;
	struct trace trace;
	uint64_t activate_t0;
	bool quit;
	/* --display: the picture, and the "live" line held back until its
	 * flip completed. */
	bool display_on;
	uint32_t color;
	struct bench_display display;
	uint64_t live_t1;
	const char *live_check;
};

static struct device *find_device(struct client *cl, unsigned major, unsigned minor)
{
	for (size_t i = 0; i < cl->n_devices; i++)
		if (cl->devices[i].major == major && cl->devices[i].minor == minor)
			return &cl->devices[i];
	return NULL;
}

static bool is_drm(const struct device *d)
{
	return d->major == DRM_MAJOR;
}

/* "ok", or what is wrong: the card must be master, every evdev fd live. */
static const char *check_devices(struct client *cl, bool want_live)
{
	for (size_t i = 0; i < cl->n_devices; i++) {
		struct device *d = &cl->devices[i];
		int version;

		if (is_drm(d)) {
			if (!!drmIsMaster(d->fd) != want_live)
				return want_live ? "drm-not-master" : "drm-master";
		} else if ((ioctl(d->fd, EVIOCGVERSION, &version) == 0) != want_live) {
			return want_live ? "evdev-revoked" : "evdev-live";
		}
	}
	return "ok";
}

static int on_ignore_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	const sd_bus_error *e = sd_bus_message_get_error(m);

	if (e)
		bench_write_line(STDOUT_FILENO, "error %s: %s: %s", (const char *)userdata,
				 e->name, e->message);
	return 0;
}

static void on_pause(struct client *cl, sd_bus_message *m)
{
	unsigned major, minor;
	struct device *d;
	const char *type;
	int r;

	r = sd_bus_message_read(m, "uus", &major, &minor, &type);
	if (r < 0 || !(d = find_device(cl, major, minor)))
		return;
	d->paused = true;
	if (strcmp(type, "pause") == 0) {
		trace_add(&cl->trace, EV_PAUSE, major, minor);
		/* Answered at once: the broker holds the switch until we do. */
		r = sd_bus_call_method_async(cl->bus, NULL, NULL, CONTAINER_PATH, CONTAINER_IFACE,
					     "PauseDeviceComplete", on_ignore_reply,
					     (void *)"PauseDeviceComplete", "uu", major, minor);
		if (r < 0)
			bench_write_line(STDOUT_FILENO, "error PauseDeviceComplete: %s", strerror(-r));
		trace_add(&cl->trace, EV_COMPLETE_SENT, major, minor);
	} else if (strcmp(type, "force") == 0) {
		trace_add(&cl->trace, EV_PAUSE_FORCE, major, minor);
	} else {
		trace_add(&cl->trace, EV_PAUSE_GONE, major, minor);
		bench_write_line(STDOUT_FILENO, "error device %u:%u %s", major, minor, type);
	}
}

/* Once a switch is over: the revoked fds it replaced go to the closing
 * thread (waking it earlier would compete with the switch for a CPU). */
static void retire_fds(struct client *cl)
{
	for (size_t i = 0; i < cl->n_retired; i++)
		reaper_close(cl->reaper, cl->retired[i]);
	cl->n_retired = 0;
}

static struct device *find_card(struct client *cl)
{
	for (size_t i = 0; i < cl->n_devices; i++)
		if (is_drm(&cl->devices[i]))
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
	bench_write_line(STDOUT_FILENO, "live %" PRIu64 " %" PRIu64 " %s %" PRIu64 " %" PRIu64,
			 cl->live_t1, cl->activate_t0, cl->live_check, cl->display.flip_ns,
			 cl->display.read_ns);
	cl->activate_t0 = 0;
	retire_fds(cl);
}

static void on_resume(struct client *cl, sd_bus_message *m)
{
	unsigned major, minor;
	struct device *d;
	uint64_t t1;
	int fd, r;

	r = sd_bus_message_read(m, "uuh", &major, &minor, &fd);
	if (r < 0 || !(d = find_device(cl, major, minor)))
		return;
	trace_add(&cl->trace, EV_RESUME, major, minor);
	if (!is_drm(d)) {
		/* A fresh open file; the revoked one goes to the closing
		 * thread after the switch (its last close waits for an RCU
		 * grace period). The message owns fd, so keep a duplicate. */
		int nfd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (nfd < 0) {
			bench_write_line(STDOUT_FILENO, "error dup: %s", strerror(errno));
			return;
		}
		if (cl->n_retired < MAX_DEVICES)
			cl->retired[cl->n_retired++] = d->fd;
		else
			reaper_close(cl->reaper, d->fd);
		d->fd = nfd;
	}
	/* DRM: the same open file, master again; nothing to swap. */
	d->paused = false;

	for (size_t i = 0; i < cl->n_devices; i++)
		if (cl->devices[i].paused)
			return;
	t1 = bench_now_ns();
	trace_add(&cl->trace, EV_LIVE, 0, 0);
	if (cl->display_on) {
		present(cl, t1, check_devices(cl, true));
		return;
	}
	bench_write_line(STDOUT_FILENO, "live %" PRIu64 " %" PRIu64 " %s", t1, cl->activate_t0,
			 check_devices(cl, true));
	cl->activate_t0 = 0;
	retire_fds(cl);
}

static int on_message(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct client *cl = userdata;

	if (sd_bus_message_is_signal(m, CONTAINER_IFACE, "PauseDevice"))
		on_pause(cl, m);
	else if (sd_bus_message_is_signal(m, CONTAINER_IFACE, "ResumeDevice"))
		on_resume(cl, m);
	else if (sd_bus_message_is_signal(m, "org.freedesktop.DBus.Local", "Disconnected"))
		bench_die(0, "the broker closed the connection");
	return 0;
}

static void take_devices(struct client *cl)
{
	bool inactive_any = false;

	for (size_t i = 0; i < cl->n_devices; i++) {
		sd_bus_error error = SD_BUS_ERROR_NULL;
		sd_bus_message *reply = NULL;
		struct device *d = &cl->devices[i];
		int fd, inactive, r;

		r = sd_bus_call_method(cl->bus, NULL, CONTAINER_PATH, CONTAINER_IFACE, "TakeDevice",
				       &error, &reply, "uu", d->major, d->minor);
		if (r < 0)
			bench_die(r, "TakeDevice(%u, %u): %s", d->major, d->minor,
				  error.message ? error.message : "failed");
		r = sd_bus_message_read(reply, "hb", &fd, &inactive);
		if (r < 0)
			bench_die(r, "TakeDevice reply");
		d->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (d->fd < 0)
			bench_die(errno, "dup");
		d->paused = inactive;
		inactive_any |= inactive;
		sd_bus_message_unref(reply);
	}
	bench_write_line(STDOUT_FILENO, "ready %d", inactive_any);
}

static void handle_command(struct client *cl, const char *line)
{
	int r;

	if (strcmp(line, "activate") == 0) {
		cl->activate_t0 = bench_now_ns();
		trace_add(&cl->trace, EV_ACTIVATE_SENT, 0, 0);
		r = sd_bus_call_method_async(cl->bus, NULL, NULL, CONTAINER_PATH, CONTAINER_IFACE,
					     "Activate", on_ignore_reply, (void *)"Activate", NULL);
		if (r < 0)
			bench_write_line(STDOUT_FILENO, "error Activate: %s", strerror(-r));
	} else if (strcmp(line, "status") == 0) {
		bool live = true;
		for (size_t i = 0; i < cl->n_devices; i++)
			live &= !cl->devices[i].paused;
		bench_write_line(STDOUT_FILENO, "status live=%d check=%s pending=%d", live,
				 check_devices(cl, live), reaper_pending(cl->reaper));
	} else if (strcmp(line, "quit") == 0) {
		cl->quit = true;
	} else {
		bench_write_line(STDOUT_FILENO, "error unknown command: %s", line);
	}
}

static void run(struct client *cl)
{
	struct line_reader in;
	char line[256];
	int r;

	line_reader_init(&in, STDIN_FILENO);
	while (!cl->quit) {
		struct pollfd p[3];
		uint64_t timeout_usec;
		int timeout = -1;
		nfds_t n = 2;

		/* Everything already read is handled before sleeping. */
		do
			r = sd_bus_process(cl->bus, NULL);
		while (r > 0);
		if (r < 0)
			bench_die(r, "sd_bus_process");

		p[0] = (struct pollfd) { .fd = sd_bus_get_fd(cl->bus), .events = sd_bus_get_events(cl->bus) };
		p[1] = (struct pollfd) { .fd = STDIN_FILENO, .events = POLLIN };
		if (cl->display.flip_pending)
			p[n++] = (struct pollfd) { .fd = cl->display.fd, .events = POLLIN };
		if (sd_bus_get_timeout(cl->bus, &timeout_usec) >= 0 && timeout_usec != UINT64_MAX) {
			uint64_t now = bench_now_ns() / 1000;
			timeout = timeout_usec > now ? (int)((timeout_usec - now + 999) / 1000) : 0;
		}
		r = poll(p, n, timeout);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			bench_die(errno, "poll");
		}
		if (p[0].revents)
			trace_add(&cl->trace, EV_WAKE, 0, 0);
		if (n > 2 && p[2].revents)
			display_flipped(cl);
		if (p[1].revents) {
			for (;;) {
				r = line_reader_next(&in, line, sizeof(line));
				if (r == -EPIPE) {
					cl->quit = true;
					break;
				}
				if (r <= 0)
					break;
				handle_command(cl, line);
			}
		}
	}
}

static void usage(void)
{
	fprintf(stderr, "usage: devns-bench-client --address ADDR --device MAJ:MIN... [--display RRGGBB]\n"
		"                          [--trace FILE]\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "address", required_argument, NULL, 'a' },
		{ "device", required_argument, NULL, 'd' },
		{ "trace", required_argument, NULL, 't' },
		{ "display", required_argument, NULL, 'D' },
		{}
	};
	struct client cl = { .display.fd = -1 };
	const char *address = NULL, *trace_path = NULL;
	int c, r;

	bench_set_prog("devns-bench-client");
	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case 'a':
			address = optarg;
			break;
		case 'd': {
			unsigned ma, mi;
			if (cl.n_devices == MAX_DEVICES || sscanf(optarg, "%u:%u", &ma, &mi) != 2)
				usage();
			cl.devices[cl.n_devices++] = (struct device) { ma, mi, -1, true };
			break;
		}
		case 't':
			trace_path = optarg;
			break;
		case 'D':
			cl.display_on = true;
			cl.color = (uint32_t)strtoul(optarg, NULL, 16);
			break;
		default:
			usage();
		}
	}
	if (!address || cl.n_devices == 0 || optind != argc)
		usage();

	/* Commands are read as they come, never waited for. */
	if (fcntl(STDIN_FILENO, F_SETFL, fcntl(STDIN_FILENO, F_GETFL) | O_NONBLOCK) < 0)
		bench_die(errno, "stdin");
	r = reaper_new(&cl.reaper);
	if (r < 0)
		bench_die(r, "closing thread");
	/* Peer to peer: no Hello, no AddMatch; a filter sees every message. */
	if ((r = sd_bus_new(&cl.bus)) < 0 ||
	    (r = sd_bus_set_address(cl.bus, address)) < 0 ||
	    (r = sd_bus_negotiate_fds(cl.bus, 1)) < 0 ||
	    (r = sd_bus_add_filter(cl.bus, NULL, on_message, &cl)) < 0 ||
	    (r = sd_bus_start(cl.bus)) < 0)
		bench_die(r, "connecting to %s", address);

	r = sd_bus_call_method(cl.bus, NULL, CONTAINER_PATH, CONTAINER_IFACE, "TakeControl",
			       NULL, NULL, "b", 0);
	if (r < 0)
		bench_die(r, "TakeControl");
	take_devices(&cl);
	run(&cl);

	if (trace_path)
		trace_write(&cl.trace, event_names, trace_path);
	bench_display_free(&cl.display);
	sd_bus_flush_close_unref(cl.bus);
	reaper_free(cl.reaper);
	trace_free(&cl.trace);
	return 0;
}
