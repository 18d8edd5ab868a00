/* SPDX-License-Identifier: MIT */
/*
 * devns-demo-client: a minimal compositor stand-in for a devns container.
 *
 * It takes control of its container's session on the broker's peer-to-peer
 * socket (default unix:path=/run/devns/bus), takes the seat's first DRM card
 * and its evdev devices, fills the screen with one colour, writes a label in
 * the top-left corner and grows a bar at the bottom with every key press.
 * It follows PauseDevice/ResumeDevice like a real compositor would. With
 * --direct it opens /dev/dri/card0 and /dev/input/event* itself instead.
 *
 * Events, one line each on stdout (always printed, flushed per line):
 *
 *   ready                  every TakeDevice succeeded and, if the
 *                          container is active, the first frame is shown
 *   pause MAJ:MIN TYPE     a PauseDevice signal was handled; TYPE is
 *                          pause (already acknowledged), force or gone
 *   resume MAJ:MIN T_NS    a ResumeDevice signal was handled and the device
 *                          is live again (DRM: after the modeset); T_NS is
 *                          CLOCK_MONOTONIC in nanoseconds at that point
 *   key SYSNAME CODE       an EV_KEY press (value 1) from an evdev device
 *   disconnected           (--reconnect) the broker went away; the devices
 *                          are kept
 *   reconnected            (--reconnect) control and every device taken
 *                          again from the broker
 *
 * Commands, one per line on stdin, with --control only:
 *
 *   status   answers one line
 *            status drm_master=<0|1|-> evdev=<live|revoked|none> keys=<N>
 *                   active=<0|1> last_resume_ns=<N>
 *            drm_master: drmIsMaster() on the DRM fd, "-" without one;
 *            evdev: live if EVIOCGVERSION works on every current evdev fd,
 *            revoked if it fails on any, none without evdev devices;
 *            keys: presses counted so far; active: 1 when we hold devices
 *            and none is paused; last_resume_ns: T_NS of the last resume,
 *            0 before the first.
 *   quit     ReleaseControl, then exit 0. End of file on stdin does the same.
 *   anything else answers "error unknown command: ...".
 *
 * Without --control it runs until SIGTERM or SIGINT, which also release
 * control and exit 0. Setup failures exit 1 with a message on stderr.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <xf86drm.h>

#include "demo.h"

void demo_event(struct demo *demo, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

uint64_t demo_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

struct demo_device *demo_add_device(struct demo *demo, enum demo_device_type type,
				    const char *sysname, unsigned major, unsigned minor)
{
	struct demo_device **devices, *dev;

	devices = realloc(demo->devices, (demo->n_devices + 1) * sizeof(*devices));
	if (!devices)
		return NULL;
	demo->devices = devices;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return NULL;
	dev->demo = demo;
	dev->type = type;
	snprintf(dev->sysname, sizeof(dev->sysname), "%s", sysname);
	dev->major = major;
	dev->minor = minor;
	dev->fd = -1;
	devices[demo->n_devices++] = dev;
	return dev;
}

struct demo_device *demo_find_device(struct demo *demo, unsigned major, unsigned minor)
{
	for (size_t i = 0; i < demo->n_devices; i++)
		if (demo->devices[i]->major == major && demo->devices[i]->minor == minor)
			return demo->devices[i];
	return NULL;
}

struct demo_device *demo_drm(struct demo *demo)
{
	for (size_t i = 0; i < demo->n_devices; i++)
		if (demo->devices[i]->type == DEMO_DEVICE_DRM)
			return demo->devices[i];
	return NULL;
}

static void device_free(struct demo *demo, struct demo_device *dev)
{
	input_stop(dev);
	if (dev->type == DEMO_DEVICE_DRM) {
		display_teardown(&demo->display);
		closep(&dev->fd);
	} else
		demo_retire_fd(demo, dev->fd);
	free(dev);
}

void demo_drop_device(struct demo *demo, struct demo_device *dev)
{
	for (size_t i = 0; i < demo->n_devices; i++)
		if (demo->devices[i] == dev) {
			memmove(demo->devices + i, demo->devices + i + 1,
				(demo->n_devices - i - 1) * sizeof(*demo->devices));
			demo->n_devices--;
			break;
		}
	device_free(demo, dev);
}

static void reap_retired(struct demo *demo)
{
	for (size_t i = 0; i < demo->n_retired; i++)
		close(demo->retired_fds[i]);
	demo->n_retired = 0;
}

static int on_reap(sd_event_source *s, uint64_t usec, void *userdata)
{
	reap_retired(userdata);
	return 0;
}

void demo_retire_fd(struct demo *demo, int fd)
{
	int *fds;

	if (fd < 0)
		return;
	fds = realloc(demo->retired_fds, (demo->n_retired + 1) * sizeof(*fds));
	if (!fds) {
		close(fd);
		return;
	}
	demo->retired_fds = fds;
	fds[demo->n_retired++] = fd;

	/* A switch resumes several devices in a burst; close the old fds
	 * once it has settled. */
	if (demo->reap) {
		sd_event_source_set_time_relative(demo->reap, 100 * 1000);
		sd_event_source_set_enabled(demo->reap, SD_EVENT_ONESHOT);
	} else if (sd_event_add_time_relative(demo->event, &demo->reap, CLOCK_MONOTONIC, 100 * 1000, 0,
					      on_reap, demo) < 0)
		reap_retired(demo);
}

bool demo_display_live(struct demo *demo)
{
	struct demo_device *drm = demo_drm(demo);

	return drm && !drm->paused && demo->display.ready;
}

/* Puts our buffer on screen when we may: a DRM device that is not paused.
 * Returns 1 if shown, 0 if not ours to show now. */
int demo_show(struct demo *demo)
{
	struct demo_device *drm = demo_drm(demo);
	int r;

	if (!drm || drm->paused)
		return 0;
	if (!demo->display.ready) {
		r = display_setup(&demo->display, drm->fd);
		if (r < 0)
			return r;
		display_draw(&demo->display, demo->keys);
	}
	r = display_modeset(&demo->display);
	if (r < 0)
		return r;
	display_flush(&demo->display);
	return 1;
}

void demo_key(struct demo *demo, struct demo_device *dev, unsigned code)
{
	demo->keys++;
	demo_event(demo, "key %s %u", dev->sysname, code);
	if (demo_display_live(demo)) {
		display_draw_keys(&demo->display, demo->keys);
		display_flush(&demo->display);
	}
}

bool demo_wants_input(struct demo *demo, const char *sysname)
{
	if (!demo->inputs)
		return true;
	for (char **in = demo->inputs; *in; in++)
		if (strcmp(*in, sysname) == 0)
			return true;
	return false;
}

void demo_quit(struct demo *demo, int code)
{
	if (demo->quitting)
		return;
	demo->quitting = true;
	broker_release(demo);
	sd_event_exit(demo->event, code);
}

static bool demo_active(struct demo *demo)
{
	for (size_t i = 0; i < demo->n_devices; i++)
		if (demo->devices[i]->paused)
			return false;
	return demo->n_devices > 0;
}

static void control_status(struct demo *demo)
{
	struct demo_device *drm = demo_drm(demo);
	const char *master = "-", *evdev = "none";

	if (drm)
		master = drmIsMaster(drm->fd) ? "1" : "0";
	for (size_t i = 0; i < demo->n_devices; i++) {
		struct demo_device *dev = demo->devices[i];
		if (dev->type != DEMO_DEVICE_EVDEV)
			continue;
		if (input_check(dev) < 0) {
			evdev = "revoked";
			break;
		}
		evdev = "live";
	}
	demo_event(demo, "status drm_master=%s evdev=%s keys=%" PRIu64 " active=%d last_resume_ns=%" PRIu64,
		   master, evdev, demo->keys, demo_active(demo), demo->last_resume_ns);
}

static void control_command(struct demo *demo, char *line)
{
	size_t n = strlen(line);

	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = 0;
	line += strspn(line, " \t");
	if (!*line)
		return;
	if (strcmp(line, "status") == 0)
		control_status(demo);
	else if (strcmp(line, "quit") == 0)
		demo_quit(demo, 0);
	else
		demo_event(demo, "error unknown command: %s", line);
}

static int on_stdin(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct demo *demo = userdata;
	char *start, *nl;
	ssize_t n;

	n = read(fd, demo->line + demo->line_len, sizeof(demo->line) - 1 - demo->line_len);
	if (n < 0 && (errno == EINTR || errno == EAGAIN))
		return 0;
	if (n <= 0) {
		/* Whoever drove us is gone: leave as if told to quit. */
		if (n < 0)
			fprintf(stderr, "devns-demo-client: stdin: %m\n");
		demo->stdin_source = sd_event_source_disable_unref(demo->stdin_source);
		demo_quit(demo, 0);
		return 0;
	}
	demo->line_len += (size_t)n;
	demo->line[demo->line_len] = 0;

	start = demo->line;
	while (!demo->quitting && (nl = strchr(start, '\n'))) {
		*nl = 0;
		control_command(demo, start);
		start = nl + 1;
	}
	demo->line_len -= (size_t)(start - demo->line);
	memmove(demo->line, start, demo->line_len);
	if (demo->line_len == sizeof(demo->line) - 1) {
		demo_event(demo, "error line too long");
		demo->line_len = 0;
	}
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	demo_quit(userdata, 0);
	return 0;
}

/* Sets up the picture once the devices are in hand. An inactive container
 * draws into its buffer now and shows it on its first ResumeDevice. */
static int demo_start_display(struct demo *demo)
{
	struct demo_device *drm = demo_drm(demo);
	int r;

	if (!drm)
		return 0;
	r = display_setup(&demo->display, drm->fd);
	if (r < 0) {
		if (drm->paused) {
			/* Without master the kernel may know no mode yet. */
			fprintf(stderr, "devns-demo-client: %s: no display yet (%s), retrying on resume\n",
				drm->sysname, strerror(-r));
			return 0;
		}
		fprintf(stderr, "devns-demo-client: %s: cannot set up a display: %s\n", drm->sysname,
			strerror(-r));
		return r;
	}
	display_draw(&demo->display, demo->keys);

	r = demo_show(demo);
	if (r == -EACCES || r == -EPERM) {
		/* A switch took master between TakeDevice and now; its
		 * PauseDevice is already on its way. */
		fprintf(stderr, "devns-demo-client: %s: lost DRM master before the first frame\n",
			drm->sysname);
		return 0;
	}
	if (r < 0)
		fprintf(stderr, "devns-demo-client: %s: modeset failed: %s\n", drm->sysname, strerror(-r));
	return r < 0 ? r : 0;
}

static void help(void)
{
	printf("Usage: devns-demo-client [OPTIONS]\n\n"
	       "Shows a coloured screen with a label and counts key presses, taking\n"
	       "its devices from the devns broker (or directly with --direct).\n\n"
	       "  -a --address ADDR   broker address (default unix:path=/run/devns/bus)\n"
	       "  -c --color RRGGBB   background colour (default: derived from the label)\n"
	       "  -l --label TEXT     label in the top-left corner (default: host name)\n"
	       "  -i --input SYSNAME  take only this evdev device (repeatable)\n"
	       "  -d --direct         open /dev/dri/card0 and /dev/input/event* without a broker\n"
	       "  -C --control        read commands from stdin (status, quit)\n"
	       "  -R --reconnect      keep the devices when the broker goes away, and\n"
	       "                      connect again when it is back\n"
	       "  -h --help           show this help\n"
	       "  -V --version        show the version\n");
}

static int parse_color(const char *s, uint32_t *ret)
{
	if (*s == '#')
		s++;
	if (strlen(s) != 6 || strspn(s, "0123456789abcdefABCDEF") != 6)
		return -EINVAL;
	*ret = (uint32_t)strtoul(s, NULL, 16);
	return 0;
}

/* Returns 1 to run, 0 to exit successfully (--help), negative on error. */
static int parse_args(struct demo *demo, int argc, char **argv, bool *color_set)
{
	static const struct option options[] = {
		{ "address", required_argument, NULL, 'a' },
		{ "color", required_argument, NULL, 'c' },
		{ "label", required_argument, NULL, 'l' },
		{ "input", required_argument, NULL, 'i' },
		{ "direct", no_argument, NULL, 'd' },
		{ "control", no_argument, NULL, 'C' },
		{ "reconnect", no_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{}
	};
	size_t n_inputs = 0;
	char **inputs;
	int c;

	while ((c = getopt_long(argc, argv, "a:c:l:i:dCRhV", options, NULL)) >= 0) {
		switch (c) {
		case 'a':
			demo->address = optarg;
			break;
		case 'c':
			if (parse_color(optarg, &demo->color) < 0) {
				fprintf(stderr, "devns-demo-client: --color wants RRGGBB, not '%s'\n", optarg);
				return -EINVAL;
			}
			*color_set = true;
			break;
		case 'l':
			demo->label = optarg;
			break;
		case 'i':
			inputs = realloc(demo->inputs, (n_inputs + 2) * sizeof(*inputs));
			if (!inputs)
				return -ENOMEM;
			inputs[n_inputs++] = optarg;
			inputs[n_inputs] = NULL;
			demo->inputs = inputs;
			break;
		case 'd':
			demo->direct = true;
			break;
		case 'C':
			demo->control = true;
			break;
		case 'R':
			demo->reconnect = true;
			break;
		case 'h':
			help();
			return 0;
		case 'V':
			printf("devns-demo-client %s\n", DEVNS_VERSION);
			return 0;
		default:
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "devns-demo-client: unexpected argument '%s'\n", argv[optind]);
		return -EINVAL;
	}
	return 1;
}

static int setup(struct demo *demo)
{
	sigset_t mask;
	int r;

	r = sd_event_new(&demo->event);
	if (r < 0) {
		fprintf(stderr, "devns-demo-client: event loop: %s\n", strerror(-r));
		return r;
	}

	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	r = sd_event_add_signal(demo->event, NULL, SIGTERM, on_signal, demo);
	if (r >= 0)
		r = sd_event_add_signal(demo->event, NULL, SIGINT, on_signal, demo);
	if (r < 0) {
		fprintf(stderr, "devns-demo-client: signal handlers: %s\n", strerror(-r));
		return r;
	}

	if (demo->control) {
		r = sd_event_add_io(demo->event, &demo->stdin_source, STDIN_FILENO, EPOLLIN, on_stdin, demo);
		if (r < 0) {
			fprintf(stderr, "devns-demo-client: --control needs a pipe or terminal on stdin: %s\n",
				strerror(-r));
			return r;
		}
	}

	if (demo->direct)
		r = direct_open_devices(demo);
	else {
		r = broker_connect(demo);
		if (r >= 0)
			r = broker_take_devices(demo);
	}
	if (r < 0)
		return r;

	return demo_start_display(demo);
}

static void cleanup(struct demo *demo)
{
	while (demo->n_devices > 0)
		demo_drop_device(demo, demo->devices[demo->n_devices - 1]);
	free(demo->devices);
	reap_retired(demo);
	free(demo->retired_fds);
	sd_event_source_disable_unref(demo->reap);
	sd_event_source_disable_unref(demo->stdin_source);
	sd_bus_slot_unref(demo->pause_slot);
	sd_bus_slot_unref(demo->resume_slot);
	sd_bus_flush_close_unref(demo->bus);
	sd_event_unref(demo->event);
	free(demo->inputs);
}

int main(int argc, char **argv)
{
	struct demo demo = {
		.address = "unix:path=/run/devns/bus",
		.display = { .fd = -1 },
	};
	char host[65] = "devns";
	bool color_set = false;
	int r;

	r = parse_args(&demo, argc, argv, &color_set);
	if (r <= 0) {
		free(demo.inputs);
		return r < 0 ? 2 : 0;
	}

	/* Inside a container the host name usually is the container's name,
	 * which is what a label should show. */
	if (!demo.label) {
		gethostname(host, sizeof(host) - 1);
		demo.label = host;
	}
	if (!color_set)
		demo.color = color_from_label(demo.label);
	demo.display.bg = demo.color;
	demo.display.label = demo.label;

	setvbuf(stdout, NULL, _IOLBF, 0);
	/* A test that stops reading our stdout must not kill us mid-switch. */
	signal(SIGPIPE, SIG_IGN);

	r = setup(&demo);
	if (r < 0) {
		cleanup(&demo);
		return 1;
	}

	demo_event(&demo, "ready");
	r = sd_event_loop(demo.event);
	if (r < 0) {
		fprintf(stderr, "devns-demo-client: event loop: %s\n", strerror(-r));
		r = 1;
	}
	cleanup(&demo);
	return r;
}
