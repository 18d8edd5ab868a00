/* SPDX-License-Identifier: MIT */
/*
 * devns-switch-count: devnsd's instructions per switch, on the host, with
 * no device, no guest and no bus daemon. Run it under callgrind:
 *
 *   valgrind --tool=callgrind --callgrind-out-file=cg.%p \
 *       devns-switch-count [-c CONTAINERS] [-n SWITCHES] [-w WARMUP] [-m]
 *
 * This process is devnsd: a broker with its transports (D-Bus, seatd.sock,
 * login1), built as daemon/main.c builds it, serving its bus on one end of
 * a socketpair. A child process, this program run again with -C (so that
 * it shares no page with the broker), is everyone else. On the bus it calls
 * SwitchContainer back and forth between the first two containers; on
 * each container's endpoint a controller took control and three devices,
 * and reads everything it is sent, as a compositor does. The devices are
 * /dev/null, /dev/zero and /dev/full posing as evdev nodes: their revoke
 * fails (which is not logged here: logging is off), they reopen, and each
 * switch sends three PauseDevice and three ResumeDevice, as on the guest.
 * There is no DRM card, so no pause handshake.
 *
 * Callgrind's counters are zeroed after the warm-up switches and dumped
 * after the counted ones (the dump whose "desc: Trigger" is
 * "Client Request: switches"). Outside valgrind the program runs the same
 * and prints the time taken.
 *
 * With -m (outside valgrind, bench/memory.sh) it then prints the broker's
 * memory from /proc/self/smaps_rollup.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <malloc.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#else
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(what)
#endif

#include "broker/broker.h"
#include "broker/container.h"
#include "common/log.h"
#include "common/reaper.h"
#include "compat/seatd-server.h"
#include "dbus/dbus.h"
#include "login1/login1.h"

#define MAX_CONTAINERS 256

static const struct {
	const char *sysname, *node;
	unsigned minor;
} devices[] = {
	{ "event0", "/dev/null", 3 },
	{ "event1", "/dev/zero", 5 },
	{ "event2", "/dev/full", 7 },
};

struct opts {
	unsigned containers, switches, warmup;
	bool memory;
	const char *clients; /* -C BUS_FD,READY_FD,DIR: be the clients */
};

static _Noreturn void die(int r, const char *what)
{
	fprintf(stderr, "devns-switch-count: %s: %s\n", what, strerror(r < 0 ? -r : r));
	exit(1);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------ the clients */

static sd_bus *endpoint_connect(const char *dir, unsigned i)
{
	char address[PATH_MAX + 64];
	sd_bus *bus = NULL;
	int r;

	snprintf(address, sizeof(address), "unix:path=%s/containers/c%u/bus", dir, i);
	if ((r = sd_bus_new(&bus)) < 0 ||
	    (r = sd_bus_set_address(bus, address)) < 0 ||
	    (r = sd_bus_negotiate_fds(bus, 1)) < 0 ||
	    (r = sd_bus_start(bus)) < 0)
		die(r, address);
	return bus;
}

static void call(sd_bus *bus, const char *path, const char *iface, const char *member,
		 const char *types, ...)
{
	sd_bus_error error = SD_BUS_ERROR_NULL;
	sd_bus_message *m = NULL, *reply = NULL;
	va_list ap;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, NULL, path, iface, member);
	if (r >= 0 && types) {
		va_start(ap, types);
		r = sd_bus_message_appendv(m, types, ap);
		va_end(ap);
	}
	if (r >= 0)
		r = sd_bus_call(bus, m, 0, &error, &reply);
	if (r < 0) {
		fprintf(stderr, "devns-switch-count: %s: %s\n", member,
			error.message ? error.message : strerror(-r));
		exit(1);
	}
	sd_bus_error_free(&error);
	sd_bus_message_unref(reply);
	sd_bus_message_unref(m);
}

/* Reads whatever the broker sent; the fds of ResumeDevice close with
 * their messages. */
static void drain(sd_bus *bus)
{
	while (sd_bus_process(bus, NULL) > 0)
		;
}

static void drain_all(sd_bus *bus, sd_bus **eps, unsigned n)
{
	drain(bus);
	for (unsigned i = 0; i < n; i++)
		drain(eps[i]);
}

static int on_container_new(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	(*(unsigned *)userdata)++;
	return 0;
}

/* Reads the bus while the broker registers the containers, as a bus
 * daemon reads what devnsd sends: each registration announces the seat's
 * whole list of containers, and unread, those signals would pile up in the
 * broker and leave a heap as large behind. */
static void wait_registered(sd_bus *bus, unsigned containers)
{
	unsigned seen = 0;
	int r;

	r = sd_bus_match_signal(bus, NULL, NULL, BROKER_OBJECT_PATH, MANAGER_INTERFACE,
				"ContainerNew", on_container_new, &seen);
	if (r < 0)
		die(r, "match");
	while (seen < containers) {
		r = sd_bus_process(bus, NULL);
		if (r == 0)
			r = sd_bus_wait(bus, UINT64_MAX);
		if (r < 0)
			die(r, "bus");
	}
}

static _Noreturn void run_clients(const struct opts *o, const char *dir, int bus_fd, int ready)
{
	static sd_bus *eps[MAX_CONTAINERS];
	sd_bus *bus = NULL;
	char c;
	int r;

	if (read(ready, &c, 1) != 1)
		_exit(1);
	if ((r = sd_bus_new(&bus)) < 0 || (r = sd_bus_set_fd(bus, bus_fd, bus_fd)) < 0 ||
	    (r = sd_bus_start(bus)) < 0)
		die(r, "bus");
	wait_registered(bus, o->containers);
	for (unsigned i = 0; i < o->containers; i++) {
		char name[16];

		/* Active while it takes its devices: the broker pauses a
		 * device taken in the background by revoking it, which
		 * these nodes do not support. */
		snprintf(name, sizeof(name), "c%u", i);
		call(bus, SEAT_PATH_PREFIX "/seat0", SEAT_INTERFACE, "SwitchContainer", "s", name);
		eps[i] = endpoint_connect(dir, i);
		call(eps[i], CONTAINER_SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
		for (size_t d = 0; d < sizeof(devices) / sizeof(devices[0]); d++)
			call(eps[i], CONTAINER_SELF_PATH, CONTAINER_INTERFACE, "TakeDevice", "uu",
			     1, devices[d].minor);
	}
	for (unsigned k = 0; k < o->warmup + o->switches; k++) {
		call(bus, SEAT_PATH_PREFIX "/seat0", SEAT_INTERFACE, "SwitchContainer", "s",
		     k % 2 ? "c1" : "c0");
		drain_all(bus, eps, o->containers);
	}
	drain_all(bus, eps, o->containers);
	for (unsigned i = 0; i < o->containers; i++)
		sd_bus_flush_close_unref(eps[i]);
	sd_bus_flush_close_unref(bus);
	_exit(0);
}

/* ------------------------------------------------------------- the broker */

struct counter {
	struct broker_listener listener;
	unsigned switches;
};

static void on_event(struct broker_listener *l, const struct broker_event *ev)
{
	struct counter *n = l->userdata;

	if (ev->type == BROKER_EVENT_ACTIVE_CHANGED)
		n->switches++;
}

static const struct broker_listener_ops counter_ops = {
	.name = "switch counter",
	.event = on_event,
};

static int serve_bus(struct broker *b, int fd, struct dbus_transport **ret)
{
	sd_bus *bus = NULL;
	sd_id128_t id;
	int r;

	if ((r = sd_bus_new(&bus)) < 0)
		return r;
	if ((r = sd_bus_set_fd(bus, fd, fd)) < 0 ||
	    (r = sd_id128_randomize(&id)) < 0 ||
	    (r = sd_bus_set_server(bus, 1, id)) < 0 ||
	    (r = sd_bus_set_anonymous(bus, 1)) < 0 ||
	    (r = sd_bus_negotiate_fds(bus, 1)) < 0 ||
	    (r = sd_bus_start(bus)) < 0) {
		sd_bus_unref(bus);
		return r;
	}
	return dbus_transport_new_on_bus(b, bus, ret);
}

/* The broker of daemon/main.c, without udev, VT or module. */
static struct broker *broker_make(const char *dir, int bus_fd, struct dbus_transport **t,
				  struct counter *n)
{
	struct broker *b = calloc(1, sizeof(*b));
	struct broker_seat *seat0;
	int r;

	if (!b)
		die(-ENOMEM, "broker");
	list_init(&b->seats);
	list_init(&b->containers);
	config_init(&b->config);
	b->runtime_dir = strdup(dir);
	if (!b->runtime_dir || asprintf(&b->containers_dir, "%s/containers", dir) < 0)
		die(-ENOMEM, "broker");
	if (mkdir(b->containers_dir, 0755) < 0)
		die(-errno, b->containers_dir);
	if ((r = reaper_new(&b->reaper)) < 0 || (r = sd_event_new(&b->event)) < 0)
		die(r, "event loop");
	n->listener = (struct broker_listener) { .ops = &counter_ops, .userdata = n };
	if ((r = serve_bus(b, bus_fd, t)) < 0 ||
	    (r = seatd_transport_listen(b)) < 0 ||
	    (r = login1_transport_listen(b)) < 0 ||
	    (r = broker_add_listener(b, &n->listener)) < 0 ||
	    (r = broker_get_seat(b, "seat0", &seat0)) < 0)
		die(r, "transports");
	for (size_t d = 0; d < sizeof(devices) / sizeof(devices[0]); d++) {
		struct seat_device *sd;

		r = seat_add_device(seat0->seat, devices[d].sysname, makedev(1, devices[d].minor),
				    SEAT_DEVICE_EVDEV, &sd);
		if (r < 0 || !(sd->userdata = strdup(devices[d].node)))
			die(r < 0 ? r : -ENOMEM, "devices");
	}
	return b;
}

/* Registers them one by one, each announced to the clients before the
 * next (see wait_registered()). */
static void add_containers(struct broker *b, unsigned count)
{
	struct broker_seat *seat0 = broker_find_seat(b, "seat0");

	for (unsigned i = 0; i < count; i++) {
		struct container_options opts = { 0 };
		struct container *c;
		char name[16];
		int r;

		snprintf(name, sizeof(name), "c%u", i);
		r = container_new(b, name, seat0, getpid(), &opts, &c);
		if (r < 0)
			die(r, name);
		while ((r = sd_event_run(b->event, 0)) > 0)
			;
		if (r < 0)
			die(r, "event loop");
	}
}

static void run_until(struct broker *b, const unsigned *n, unsigned target, pid_t clients)
{
	int status;

	while (*n < target) {
		if (sd_event_run(b->event, 1000000) < 0)
			die(-EIO, "event loop");
		if (*n < target && waitpid(clients, &status, WNOHANG) == clients) {
			fprintf(stderr, "devns-switch-count: the clients stopped (status %d) after %u of %u switches\n",
				status, *n, target);
			exit(1);
		}
	}
}

/* The broker's memory now, in KiB: the lines of smaps_rollup that count
 * what is this process's own (anonymous and privately written pages) and
 * its whole resident set, for comparison; then malloc's view of its heap. */
static void print_memory(unsigned containers)
{
	static const char *const fields[] = {
		"Rss", "Pss_Anon", "Private_Dirty", "Anonymous",
	};
	FILE *f = fopen("/proc/self/smaps_rollup", "re");
	struct mallinfo2 mi;
	char line[256];

	if (!f)
		die(-errno, "/proc/self/smaps_rollup");
	printf("memory %u", containers);
	while (fgets(line, sizeof(line), f)) {
		unsigned long kb;
		char name[64];

		if (sscanf(line, "%63[^:]: %lu kB", name, &kb) != 2)
			continue;
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++)
			if (strcmp(name, fields[i]) == 0)
				printf(" %s %lu", name, kb);
	}
	mi = mallinfo2();
	/* The heap: what is allocated, and what is free but still mapped. */
	printf(" Heap_Used %zu Heap_Free %zu\n", (mi.uordblks + mi.hblkhd) / 1024, mi.fordblks / 1024);
	fclose(f);
}

/* About ten files per container: 256 need more than the usual 1024. */
static void raise_fd_limit(void)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

static void parse_opts(int argc, char **argv, struct opts *o)
{
	int c;

	*o = (struct opts) { .containers = 2, .switches = 100, .warmup = 10 };
	while ((c = getopt(argc, argv, "c:n:w:mC:")) >= 0) {
		switch (c) {
		case 'C': o->clients = optarg; break;
		case 'c': o->containers = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'n': o->switches = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'w': o->warmup = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'm': o->memory = true; break;
		default:
			fprintf(stderr, "usage: devns-switch-count [-c CONTAINERS] [-n SWITCHES] [-w WARMUP] [-m]\n");
			exit(2);
		}
	}
	if (o->containers < 2 || o->containers > MAX_CONTAINERS || o->switches == 0)
		die(-EINVAL, "options");
}

int main(int argc, char **argv)
{
	struct dbus_transport *t = NULL;
	struct counter n = { 0 };
	char dir[] = "/tmp/devns-count-XXXXXX";
	struct broker *b;
	struct opts o;
	char self[PATH_MAX];
	int sv[2], ready[2], status;
	ssize_t k;
	uint64_t t0;
	pid_t pid;

	parse_opts(argc, argv, &o);
	log_set_max_level(0);
	raise_fd_limit();
	if (o.clients) {
		int bus_fd, ready_fd, used = 0;

		if (sscanf(o.clients, "%d,%d,%n", &bus_fd, &ready_fd, &used) != 2 || used == 0)
			die(-EINVAL, "-C");
		run_clients(&o, o.clients + used, bus_fd, ready_fd);
	}
	if (!mkdtemp(dir))
		die(-errno, "mkdtemp");
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipe(ready) < 0)
		die(-errno, "socketpair");
	/* valgrind's answer is this program, not valgrind's. */
	k = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (k < 0)
		die(-errno, "/proc/self/exe");
	self[k] = 0;
	/* Before any sd-bus or sd-event object exists. */
	pid = fork();
	if (pid < 0)
		die(-errno, "fork");
	if (pid == 0) {
		char spec[PATH_MAX + 32], cs[16], ns[16], ws[16];

		close(sv[0]);
		close(ready[1]);
		snprintf(spec, sizeof(spec), "%d,%d,%s", sv[1], ready[0], dir);
		snprintf(cs, sizeof(cs), "%u", o.containers);
		snprintf(ns, sizeof(ns), "%u", o.switches);
		snprintf(ws, sizeof(ws), "%u", o.warmup);
		if (fcntl(sv[1], F_SETFD, 0) < 0)
			die(-errno, "fcntl");
		execl(self, "devns-switch-count", "-C", spec, "-c", cs, "-n", ns, "-w", ws,
		      (char *)NULL);
		die(-errno, "exec");
	}
	close(sv[1]);
	close(ready[0]);

	b = broker_make(dir, sv[0], &t, &n);
	if (write(ready[1], "x", 1) != 1)
		die(-errno, "ready");
	close(ready[1]);
	add_containers(b, o.containers);

	/* One switch to each container as its controller takes its devices. */
	run_until(b, &n.switches, o.containers + o.warmup, pid);
	CALLGRIND_ZERO_STATS;
	t0 = now_ns();
	run_until(b, &n.switches, o.containers + o.warmup + o.switches, pid);
	CALLGRIND_DUMP_STATS_AT("switches");
	printf("%u containers, %u switches: %.1f us per switch\n", o.containers, o.switches,
	       (now_ns() - t0) / 1e3 / o.switches);
	if (o.memory)
		print_memory(o.containers);

	/* Until the clients have read everything and hung up. */
	while (waitpid(pid, &status, WNOHANG) == 0)
		if (sd_event_run(b->event, 100000) < 0)
			break;
	if (waitpid(pid, &status, 0) == pid && (!WIFEXITED(status) || WEXITSTATUS(status) != 0))
		fprintf(stderr, "devns-switch-count: the clients failed\n");
	broker_free(b);
	dbus_transport_free(t);
	{
		char path[PATH_MAX];

		snprintf(path, sizeof(path), "%s/state", dir);
		(void)unlink(path);
		(void)rmdir(dir);
	}
	return 0;
}
