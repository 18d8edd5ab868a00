/* SPDX-License-Identifier: MIT */
/*
 * libseat-client: a small libseat program for the vm tests, linked against
 * the system's libseat (Debian 12: 0.7.0), to drive a container's
 * seatd.sock the way a wlroots compositor does:
 *
 * - it opens the seat and dispatches once at once (an ENABLE_SEAT may
 *   follow the open in the same read, as wlroots expects);
 * - on enable it opens the card (once; the fd is kept across disables),
 *   fills the screen with one colour by a modeset, and opens every --input
 *   evdev node afresh;
 * - on disable it notes whether its evdev fds were already revoked and
 *   whether it was still master, closes its evdev devices through libseat
 *   (as libinput does on suspend), keeps the card, and acknowledges.
 *
 * Run with LIBSEAT_BACKEND=seatd SEATD_SOCK=/run/devns/seatd.sock.
 *
 * Lines on stdout, flushed one by one:
 *   seat NAME                     the seat is open
 *   enable N T_NS                 the N-th enable was handled (devices
 *                                 open, frame shown); T_NS CLOCK_MONOTONIC
 *   disable N evdev=E master=M    the N-th disable arrived; E: revoked,
 *                                 live or none (no evdev open), M: 1, 0, -
 *   opened PATH ID                libseat_open_device succeeded
 *   open-failed PATH ERRNO        it failed
 *   key PATH CODE                 a key press read from PATH
 *   ready                         after the first enable
 *
 * Commands on stdin:
 *   status       -> status master=<0|1|-> evdev=<live|revoked|none>
 *                   enabled=<0|1> enables=N disables=N keys=N
 *   switch N     -> libseat_switch_session(N), then "switch N R"
 *   open PATH    -> one more libseat_open_device; the result as above,
 *                   closed again at once when it succeeded
 *   quit         -> close everything, libseat_close_seat, exit 0
 * End of stdin quits as well.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <linux/input.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include <libseat.h>
#include <xf86drm.h>

#include "examples/demo.h"

#define MAX_INPUTS 16

struct input {
	const char *path;
	int fd;
	int id;
};

struct client {
	struct libseat *seat;
	bool enabled;
	unsigned enables, disables;
	uint64_t keys;

	const char *card_path;
	int card_fd, card_id;
	struct display display;

	struct input inputs[MAX_INPUTS];
	size_t n_inputs;

	char line[512];
	size_t line_len;
	bool quit;
};

static void out(const char *fmt, ...) _printf_(1, 2);
static void out(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int open_device(struct client *cl, const char *path, int *fd)
{
	int id = libseat_open_device(cl->seat, path, fd);

	if (id < 0) {
		out("open-failed %s %d", path, errno);
		return -1;
	}
	out("opened %s %d", path, id);
	return id;
}

static const char *evdev_state(struct client *cl)
{
	const char *state = "none";
	int version;

	for (size_t i = 0; i < cl->n_inputs; i++) {
		if (cl->inputs[i].fd < 0)
			continue;
		/* A revoked evdev file answers every ioctl with ENODEV. */
		if (ioctl(cl->inputs[i].fd, EVIOCGVERSION, &version) < 0)
			return "revoked";
		state = "live";
	}
	return state;
}

static const char *master_state(struct client *cl)
{
	if (cl->card_fd < 0)
		return "-";
	return drmIsMaster(cl->card_fd) ? "1" : "0";
}

static void show(struct client *cl)
{
	int r;

	if (cl->card_fd < 0)
		return;
	if (!cl->display.ready) {
		r = display_setup(&cl->display, cl->card_fd);
		if (r < 0) {
			fprintf(stderr, "libseat-client: no display on %s: %s\n", cl->card_path,
				strerror(-r));
			return;
		}
	}
	display_draw(&cl->display, cl->keys);
	r = display_modeset(&cl->display);
	if (r < 0)
		fprintf(stderr, "libseat-client: modeset: %s\n", strerror(-r));
	display_flush(&cl->display);
}

static void handle_enable(struct libseat *seat, void *data)
{
	struct client *cl = data;

	cl->enabled = true;
	if (cl->card_path && cl->card_fd < 0)
		cl->card_id = open_device(cl, cl->card_path, &cl->card_fd);
	for (size_t i = 0; i < cl->n_inputs; i++) {
		struct input *in = &cl->inputs[i];

		/* A fresh fd on every enable: the old one was revoked. */
		if (in->fd < 0)
			in->id = open_device(cl, in->path, &in->fd);
	}
	show(cl);
	cl->enables++;
	out("enable %u %" PRIu64, cl->enables, now_ns());
	if (cl->enables == 1)
		out("ready");
}

static void handle_disable(struct libseat *seat, void *data)
{
	struct client *cl = data;

	cl->disables++;
	/* seatd revokes first, then tells: input is dead already, master is
	 * dropped only once we acknowledge. */
	out("disable %u evdev=%s master=%s", cl->disables, evdev_state(cl), master_state(cl));
	cl->enabled = false;
	for (size_t i = 0; i < cl->n_inputs; i++) {
		struct input *in = &cl->inputs[i];

		if (in->fd < 0)
			continue;
		if (libseat_close_device(cl->seat, in->id) < 0)
			fprintf(stderr, "libseat-client: close %s: %m\n", in->path);
		close(in->fd);
		in->fd = -1;
		in->id = -1;
	}
	if (libseat_disable_seat(cl->seat) < 0)
		fprintf(stderr, "libseat-client: libseat_disable_seat: %m\n");
}

static void read_input(struct client *cl, struct input *in)
{
	struct input_event ev[16];
	ssize_t n = read(in->fd, ev, sizeof(ev));

	for (ssize_t i = 0; i < n / (ssize_t)sizeof(ev[0]); i++) {
		if (ev[i].type == EV_KEY && ev[i].value == 1) {
			cl->keys++;
			out("key %s %u", in->path, ev[i].code);
		}
	}
}

static void command(struct client *cl, char *line)
{
	line[strcspn(line, "\r")] = '\0';
	if (strcmp(line, "status") == 0) {
		out("status master=%s evdev=%s enabled=%d enables=%u disables=%u keys=%" PRIu64,
		    master_state(cl), evdev_state(cl), cl->enabled, cl->enables, cl->disables,
		    cl->keys);
	} else if (strncmp(line, "switch ", 7) == 0) {
		int session = atoi(line + 7);
		int r = libseat_switch_session(cl->seat, session);

		out("switch %d %d", session, r < 0 ? -errno : r);
	} else if (strncmp(line, "open ", 5) == 0) {
		int fd = -1, id = open_device(cl, line + 5, &fd);

		if (id >= 0) {
			libseat_close_device(cl->seat, id);
			close(fd);
		}
	} else if (strcmp(line, "quit") == 0) {
		cl->quit = true;
	} else if (line[0]) {
		out("error unknown command: %s", line);
	}
}

static void read_stdin(struct client *cl)
{
	ssize_t n = read(STDIN_FILENO, cl->line + cl->line_len, sizeof(cl->line) - 1 - cl->line_len);
	char *start, *nl;

	if (n <= 0) {
		cl->quit = true;
		return;
	}
	cl->line_len += (size_t)n;
	cl->line[cl->line_len] = '\0';
	start = cl->line;
	while (!cl->quit && (nl = strchr(start, '\n'))) {
		*nl = '\0';
		command(cl, start);
		start = nl + 1;
	}
	cl->line_len -= (size_t)(start - cl->line);
	memmove(cl->line, start, cl->line_len);
	if (cl->line_len == sizeof(cl->line) - 1)
		cl->line_len = 0; /* a line too long: dropped */
}

static uint32_t parse_color(const char *s)
{
	return (uint32_t)strtoul(s[0] == '#' ? s + 1 : s, NULL, 16);
}

int main(int argc, char **argv)
{
	static const struct option options[] = {
		{ "card", required_argument, NULL, 'c' },
		{ "input", required_argument, NULL, 'i' },
		{ "color", required_argument, NULL, 'C' },
		{ "label", required_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{}
	};
	struct libseat_seat_listener listener = {
		.enable_seat = handle_enable,
		.disable_seat = handle_disable,
	};
	struct client cl = { .card_fd = -1, .card_id = -1 };
	int opt, rc = 0;

	cl.display.bg = 0x808080;
	cl.display.label = "libseat";
	while ((opt = getopt_long(argc, argv, "h", options, NULL)) != -1) {
		switch (opt) {
		case 'c':
			cl.card_path = optarg;
			break;
		case 'i':
			if (cl.n_inputs == MAX_INPUTS) {
				fprintf(stderr, "libseat-client: at most %d --input\n", MAX_INPUTS);
				return 2;
			}
			cl.inputs[cl.n_inputs++] = (struct input) { .path = optarg, .fd = -1, .id = -1 };
			break;
		case 'C':
			cl.display.bg = parse_color(optarg);
			break;
		case 'l':
			cl.display.label = optarg;
			break;
		case 'h':
			printf("usage: %s [--card PATH] [--input PATH]... [--color RRGGBB] [--label TEXT]\n",
			       argv[0]);
			return 0;
		default:
			return 2;
		}
	}

	cl.seat = libseat_open_seat(&listener, &cl);
	if (!cl.seat) {
		fprintf(stderr, "libseat-client: libseat_open_seat: %m\n");
		out("open-seat-failed %d", errno);
		return 1;
	}
	out("seat %s", libseat_seat_name(cl.seat));
	/* The enable may have arrived with the open's answer (wlroots does
	 * the same dispatch). */
	if (libseat_dispatch(cl.seat, 0) < 0) {
		fprintf(stderr, "libseat-client: libseat_dispatch: %m\n");
		return 1;
	}

	while (!cl.quit) {
		struct pollfd fds[2 + MAX_INPUTS];
		struct input *owner[2 + MAX_INPUTS] = { NULL };
		nfds_t n = 0;

		fds[n++] = (struct pollfd) { .fd = libseat_get_fd(cl.seat), .events = POLLIN };
		fds[n++] = (struct pollfd) { .fd = STDIN_FILENO, .events = POLLIN };
		for (size_t i = 0; i < cl.n_inputs; i++) {
			if (cl.inputs[i].fd < 0)
				continue;
			owner[n] = &cl.inputs[i];
			fds[n++] = (struct pollfd) { .fd = cl.inputs[i].fd, .events = POLLIN };
		}
		if (poll(fds, n, -1) < 0) {
			if (errno == EINTR)
				continue;
			fprintf(stderr, "libseat-client: poll: %m\n");
			rc = 1;
			break;
		}
		if (fds[0].revents) {
			if (libseat_dispatch(cl.seat, 0) < 0) {
				fprintf(stderr, "libseat-client: libseat_dispatch: %m\n");
				out("seat-lost %d", errno);
				rc = 1;
				break;
			}
		}
		if (fds[1].revents)
			read_stdin(&cl);
		for (nfds_t i = 2; i < n; i++) {
			/* An evdev fd can be closed by a disable dispatched above. */
			if (!fds[i].revents || owner[i]->fd != fds[i].fd)
				continue;
			if (fds[i].revents & (POLLHUP | POLLERR))
				continue; /* revoked; the disable follows */
			read_input(&cl, owner[i]);
		}
	}

	for (size_t i = 0; i < cl.n_inputs; i++) {
		if (cl.inputs[i].fd < 0)
			continue;
		libseat_close_device(cl.seat, cl.inputs[i].id);
		close(cl.inputs[i].fd);
	}
	if (cl.card_fd >= 0) {
		display_teardown(&cl.display);
		libseat_close_device(cl.seat, cl.card_id);
		close(cl.card_fd);
	}
	libseat_close_seat(cl.seat);
	return rc;
}
