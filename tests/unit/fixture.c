/* SPDX-License-Identifier: MIT */
/* The broker built in-process of fixture.h. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "common/fd-pass.h"
#include "common/reaper.h"
#include "compat/seatd-server.h"
#include "fixture.h"
#include "login1/login1.h"

struct dbus_transport *fx_transport;

uint64_t fx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

int fx_send_fds(int sock, const int *fds, unsigned n)
{
	char byte = 'F';
	ssize_t k;

	if (n == 0)
		return -EINVAL;
	k = fd_pass_send(sock, &byte, 1, fds, n);
	return k < 0 ? (int)k : 0;
}

int fx_recv_fds(int sock, int *fds, unsigned n)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	size_t got;
	bool truncated;
	char byte;
	ssize_t k;

	if (n == 0)
		return -EINVAL;
	/* fd_pass_recv() does not wait; the sender may not have sent yet. */
	while (poll(&p, 1, -1) < 0)
		if (errno != EINTR)
			return -errno;
	k = fd_pass_recv(sock, &byte, 1, fds, n, &got, &truncated);
	if (k < 0)
		return (int)k;
	if (k == 0 || got != n || truncated) {
		fd_pass_close(fds, got);
		return k == 0 ? -ECONNRESET : -EBADMSG;
	}
	return 0;
}

int fx_become_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setgid(FX_NOBODY) < 0 || setuid(FX_NOBODY) < 0)
		return -errno;
	return geteuid() == FX_NOBODY ? 0 : -EPERM;
}

int fx_socketpair_unprivileged(int sv[2])
{
	int chan[2], r, status;
	pid_t pid;

	if (geteuid() != 0)
		return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ? -errno : 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(chan[0]);
		close(chan[1]);
		return r;
	}
	if (pid == 0) {
		int p[2];

		close(chan[0]);
		if (fx_become_nobody() < 0 ||
		    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0 ||
		    fx_send_fds(chan[1], p, 2) < 0)
			_exit(1);
		_exit(0);
	}
	close(chan[1]);
	r = fx_recv_fds(chan[0], sv, 2);
	close(chan[0]);
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (r == 0) {
			close(sv[0]);
			close(sv[1]);
		}
		return r < 0 ? r : -ECHILD;
	}
	return r;
}

/* ---- The event loop ---- */

bool fx_run_until(struct fixture *f, const bool *flag)
{
	uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

	while (!*flag && fx_now() < deadline)
		if (sd_event_run(f->b->event, 100000) < 0)
			break;
	return *flag;
}

void fx_run_pending(struct fixture *f)
{
	for (int i = 0; i < 1000; i++)
		if (sd_event_run(f->b->event, 0) <= 0)
			return;
}

void fx_run_for(struct fixture *f, uint64_t usec)
{
	uint64_t deadline = fx_now() + usec;

	while (fx_now() < deadline)
		if (sd_event_run(f->b->event, deadline - fx_now()) < 0)
			return;
}

bool fx_wait_ready(struct fixture *f, sd_bus *bus)
{
	uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

	while (sd_bus_is_ready(bus) <= 0 && fx_now() < deadline)
		if (sd_event_run(f->b->event, 100000) < 0)
			break;
	return sd_bus_is_ready(bus) > 0;
}

/* ---- Connections ---- */

/* A client on fd (taken), not kept by the fixture. */
static sd_bus *client_on_fd(struct fixture *f, int fd, bool hello)
{
	sd_bus *bus = NULL;
	int r;

	r = sd_bus_new(&bus);
	if (r < 0) {
		close(fd);
		return NULL;
	}
	if ((r = sd_bus_set_fd(bus, fd, fd)) < 0) {
		close(fd);
		goto fail;
	}
	if ((r = sd_bus_negotiate_fds(bus, 1)) < 0 ||
	    (hello && (r = sd_bus_set_bus_client(bus, 1)) < 0) ||
	    (r = sd_bus_start(bus)) < 0 ||
	    (r = sd_bus_attach_event(bus, f->b->event, SD_EVENT_PRIORITY_NORMAL)) < 0)
		goto fail;
	return bus;
fail:
	printf("# cannot set up a client connection: %s\n", strerror(-r));
	sd_bus_flush_close_unref(bus);
	return NULL;
}

sd_bus *fx_keep_bus(struct fixture *f, sd_bus *bus)
{
	sd_bus **buses;

	if (!bus)
		return NULL;
	buses = realloc(f->buses, (f->n_buses + 1) * sizeof(*buses));
	if (!buses) {
		printf("# out of memory\n");
		sd_bus_flush_close_unref(bus);
		return NULL;
	}
	f->buses = buses;
	f->buses[f->n_buses++] = bus;
	return bus;
}

void fx_close_bus(struct fixture *f, sd_bus *bus)
{
	for (unsigned i = 0; i < f->n_buses; i++)
		if (f->buses[i] == bus) {
			sd_bus_flush_close_unref(bus);
			f->buses[i] = f->buses[--f->n_buses];
			return;
		}
	test_fail_at(__FILE__, __LINE__, "fx_close_bus: not a connection of the fixture");
}

sd_bus *fx_client_on_fd(struct fixture *f, int fd, bool hello)
{
	return fx_keep_bus(f, client_on_fd(f, fd, hello));
}

int fx_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

void fx_endpoint_path(struct fixture *f, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s/bus", f->b->containers_dir, name);
}

sd_bus *fx_endpoint_client(struct fixture *f, const char *name, bool hello)
{
	char path[PATH_MAX];
	sd_bus *bus;
	int fd;

	fx_endpoint_path(f, name, path, sizeof(path));
	fd = fx_connect(path);
	if (fd < 0) {
		printf("# cannot connect to %s: %s\n", path, strerror(-fd));
		return NULL;
	}
	bus = fx_client_on_fd(f, fd, hello);
	if (bus && !fx_wait_ready(f, bus)) {
		printf("# the endpoint of %s did not answer\n", name);
		fx_close_bus(f, bus);
		return NULL;
	}
	return bus;
}

/* ---- Setting up ---- */

/* Makes the broker's bus the server end of fd (taken), with seat0 and the
 * objects registered. */
static int serve(struct fixture *f, int fd)
{
	struct broker *b = f->b;
	sd_bus *bus = NULL;
	sd_id128_t id;
	int r;

	r = sd_bus_new(&bus);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = sd_bus_set_fd(bus, fd, fd);
	if (r < 0) {
		close(fd);
		sd_bus_unref(bus);
		return r;
	}
	if ((r = sd_id128_randomize(&id)) < 0 ||
	    (r = sd_bus_set_server(bus, 1, id)) < 0 ||
	    (r = sd_bus_set_anonymous(bus, 1)) < 0 ||
	    (r = sd_bus_negotiate_fds(bus, 1)) < 0 ||
	    (r = sd_bus_start(bus)) < 0) {
		sd_bus_unref(bus);
		return r;
	}
	/* The transports devnsd has, before the first seat. */
	if ((r = dbus_transport_new_on_bus(b, bus, &f->t)) < 0 ||
	    (r = seatd_transport_listen(b)) < 0 ||
	    (r = login1_transport_listen(b)) < 0 ||
	    (r = broker_get_seat(b, "seat0", &f->seat0)) < 0)
		return r;
	fx_transport = f->t;
	return 0;
}

static int setup(struct fixture *f, bool unprivileged)
{
	const char *tmp = getenv("TMPDIR");
	struct broker *b;
	int sv[2] = { -1, -1 };
	int r;

	snprintf(f->dir, sizeof(f->dir), "%s/dns-XXXXXX",
		 tmp && *tmp && strlen(tmp) < 48 ? tmp : "/tmp");
	if (!mkdtemp(f->dir)) {
		f->dir[0] = '\0';
		return -errno;
	}
	b = f->b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	list_init(&b->seats);
	list_init(&b->containers);
	list_init(&b->lessors);
	config_init(&b->config);
	b->runtime_dir = strdup(f->dir);
	if (!b->runtime_dir)
		return -ENOMEM;
	if (asprintf(&b->containers_dir, "%s/containers", b->runtime_dir) < 0) {
		b->containers_dir = NULL;
		return -ENOMEM;
	}
	if (mkdir(b->containers_dir, 0755) < 0)
		return -errno;
	if ((r = reaper_new(&b->reaper)) < 0 || (r = sd_event_new(&b->event)) < 0)
		return r;

	if (unprivileged)
		r = fx_socketpair_unprivileged(sv);
	else
		r = socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ? -errno : 0;
	if (r < 0)
		return r;
	r = serve(f, sv[0]);
	if (r < 0) {
		close(sv[1]);
		return r;
	}
	f->client = client_on_fd(f, sv[1], false);
	if (!f->client)
		return -EIO;
	return fx_wait_ready(f, f->client) ? 0 : -ETIMEDOUT;
}

void fx_teardown(struct fixture *f)
{
	char path[PATH_MAX];

	fx_destination = NULL;
	/* The last connections first, as clients that go. */
	while (f->n_buses > 0)
		sd_bus_flush_close_unref(f->buses[--f->n_buses]);
	f->client = sd_bus_flush_close_unref(f->client);
	if (f->b) {
		/* Connections dropped last are freed from the loop. */
		if (f->b->event)
			fx_run_pending(f);
		broker_free(f->b);
		f->b = NULL;
	}
	if (fx_transport == f->t)
		fx_transport = NULL;
	dbus_transport_free(f->t);
	f->t = NULL;
	if (f->dir[0]) {
		snprintf(path, sizeof(path), "%s/containers", f->dir);
		if (rmdir(path) < 0 && errno != ENOENT)
			printf("# cannot remove %s: %s\n", path, strerror(errno));
		/* The broker keeps its state file (broker/state.c) until a
		 * clean stop, which the fixture does not go through. */
		snprintf(path, sizeof(path), "%s/state", f->dir);
		(void)unlink(path);
		if (rmdir(f->dir) < 0)
			printf("# cannot remove %s: %s\n", f->dir, strerror(errno));
		f->dir[0] = '\0';
	}
}

static void fixture_free(void *data)
{
	struct fixture *f = data;

	fx_teardown(f);
	free(f->buses);
	free(f);
}

int fx_setup(struct fixture **ret, bool unprivileged)
{
	struct fixture *f = calloc(1, sizeof(*f));

	*ret = f;
	if (!f)
		return -ENOMEM;
	test_defer(fixture_free, f);
	return setup(f, unprivileged);
}

/* ---- Calls ---- */

int fx_on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct fx_wait *w = userdata;

	w->reply = sd_bus_message_ref(m);
	w->done = true;
	return 1;
}

const char *fx_destination;

sd_bus_message *fx_callv(struct fixture *f, sd_bus *bus, const char *path, const char *interface,
			 const char *member, const char *types, va_list ap)
{
	struct fx_wait w = { 0 };
	sd_bus_message *m = NULL;
	sd_bus_slot *slot = NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, fx_destination, path, interface, member);
	if (r >= 0 && types)
		r = sd_bus_message_appendv(m, types, ap);
	if (r >= 0)
		r = sd_bus_call_async(bus, &slot, m, fx_on_reply, &w, FX_TIMEOUT_USEC);
	sd_bus_message_unref(m);
	if (r < 0) {
		printf("# cannot call %s.%s on %s: %s\n", interface, member, path, strerror(-r));
		return NULL;
	}
	if (!fx_run_until(f, &w.done))
		printf("# no answer to %s.%s on %s\n", interface, member, path);
	sd_bus_slot_unref(slot);
	return w.reply;
}

sd_bus_message *fx_call(struct fixture *f, sd_bus *bus, const char *path, const char *interface,
			const char *member, const char *types, ...)
{
	sd_bus_message *reply;
	va_list ap;

	va_start(ap, types);
	reply = fx_callv(f, bus, path, interface, member, types, ap);
	va_end(ap);
	return reply;
}

const char *fx_outcome(sd_bus_message *m)
{
	const sd_bus_error *e;

	if (!m)
		return "(no answer)";
	e = sd_bus_message_get_error(m);
	if (e)
		return e->name;
	return sd_bus_message_is_method_error(m, NULL) ? "(error without name)" : "ok";
}

bool fx_expect_at(const char *file, int line, const char *expected, sd_bus_message *m,
		  const char *what)
{
	const char *got = fx_outcome(m);
	bool ok = strcmp(got, expected) == 0;

	if (!ok) {
		const sd_bus_error *e = m ? sd_bus_message_get_error(m) : NULL;

		test_fail_at(file, line, "%s: expected %s, got %s%s%s%s", what, expected, got,
			     e && e->message ? " (\"" : "", e && e->message ? e->message : "",
			     e && e->message ? "\")" : "");
	}
	sd_bus_message_unref(m);
	return ok;
}

sd_bus_message *fx_get_property(struct fixture *f, sd_bus *bus, const char *path,
				const char *interface, const char *property, const char *type)
{
	sd_bus_message *m = fx_call(f, bus, path, PROPS, "Get", "ss", interface, property);

	if (!m || sd_bus_message_is_method_error(m, NULL)) {
		printf("# Get %s.%s on %s: %s\n", interface, property, path, fx_outcome(m));
		sd_bus_message_unref(m);
		return NULL;
	}
	if (sd_bus_message_enter_container(m, 'v', type) < 0) {
		printf("# %s.%s is not of type %s\n", interface, property, type);
		sd_bus_message_unref(m);
		return NULL;
	}
	return m;
}

char *fx_get_string(struct fixture *f, sd_bus *bus, const char *path, const char *interface,
		    const char *property)
{
	sd_bus_message *m = fx_get_property(f, bus, path, interface, property, "s");
	const char *s = NULL;
	char *copy = NULL;

	if (m && sd_bus_message_read(m, "s", &s) > 0)
		copy = strdup(s);
	sd_bus_message_unref(m);
	return copy;
}

int fx_get_bool(struct fixture *f, sd_bus *bus, const char *path, const char *interface,
		const char *property)
{
	sd_bus_message *m = fx_get_property(f, bus, path, interface, property, "b");
	int v = -1;

	if (m && sd_bus_message_read(m, "b", &v) <= 0)
		v = -1;
	sd_bus_message_unref(m);
	return v;
}

/* ---- The broker's state ---- */

struct container *fx_add_container(struct fixture *f, const char *name, pid_t leader,
				   bool allow_activate)
{
	struct container_options opts = { .allow_activate = allow_activate };
	struct container *c = NULL;
	int r;

	r = container_new(f->b, name, f->seat0, leader > 0 ? leader : getpid(), &opts, &c);
	if (r < 0) {
		printf("# container_new(%s): %s\n", name, strerror(-r));
		return NULL;
	}
	return c;
}

struct container *fx_add_container_option(struct fixture *f, const char *name, pid_t leader,
					  const char *option, uint32_t value)
{
	const struct broker_option *o = broker_find_option(f->b, option);
	struct container_options opts = { 0 };
	struct container *c = NULL;
	int r;

	r = o ? container_options_set(&opts, o, value) : -ENOENT;
	if (r >= 0)
		r = container_new(f->b, name, f->seat0, leader > 0 ? leader : getpid(), &opts, &c);
	if (r < 0) {
		printf("# container_new(%s, %s): %s\n", name, option, strerror(-r));
		return NULL;
	}
	return c;
}

struct seat_device *fx_add_null_device(struct broker_seat *bs, const char *sysname,
				       enum seat_device_type type)
{
	struct seat_device *d;

	if (seat_add_device(bs->seat, sysname, makedev(NULL_MAJOR, NULL_MINOR), type, &d) < 0)
		return NULL;
	d->userdata = strdup("/dev/null");
	return d;
}

bool fx_activate(struct fixture *f, struct container *c)
{
	if (geteuid() == 0) {
		sd_bus_message *m = fx_call(f, f->client, MANAGER_PATH, MANAGER_INTERFACE,
					    "SwitchContainer", "ss", c->seat->seat->id, c->name);
		return fx_expect_at(__FILE__, __LINE__, "ok", m, "SwitchContainer");
	}
	if (broker_switch(c->seat, SEAT_SWITCH_TO, c, NULL, NULL) < 0)
		return false;
	fx_run_pending(f);
	return container_is_active(c);
}

char *fx_container_path(const char *name)
{
	char *path = NULL;

	if (sd_bus_path_encode(CONTAINER_PATH_PREFIX, name, &path) < 0)
		return NULL;
	return path;
}

bool fx_path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* ---- Signals ---- */

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct fx_recorder *rec = userdata;
	const char *member = sd_bus_message_get_member(m);
	char line[200] = "";
	uint32_t maj, min;
	const char *s, *o;
	int fd;

	if (!member)
		return 0;
	if (sd_bus_message_is_signal(m, NULL, "PauseDevice") &&
	    sd_bus_message_read(m, "uus", &maj, &min, &s) > 0) {
		snprintf(line, sizeof(line), "%s PauseDevice %u %u %s",
			 sd_bus_message_get_path(m), maj, min, s);
	} else if (sd_bus_message_is_signal(m, NULL, "ResumeDevice") &&
		   sd_bus_message_read(m, "uuh", &maj, &min, &fd) > 0) {
		if (rec->fd >= 0)
			close(rec->fd);
		rec->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		snprintf(line, sizeof(line), "%s ResumeDevice %u %u",
			 sd_bus_message_get_path(m), maj, min);
	} else if (sd_bus_message_is_signal(m, PROPS, "PropertiesChanged") &&
		   sd_bus_message_read(m, "s", &s) > 0 &&
		   sd_bus_message_enter_container(m, 'a', "{sv}") > 0) {
		size_t k = (size_t)snprintf(line, sizeof(line), "%s PropertiesChanged %s",
					    sd_bus_message_get_path(m), s);
		while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
			if (sd_bus_message_read(m, "s", &o) <= 0)
				break;
			if (k < sizeof(line))
				k += (size_t)snprintf(line + k, sizeof(line) - k, " %s", o);
			sd_bus_message_skip(m, "v");
			sd_bus_message_exit_container(m);
		}
	} else if (sd_bus_message_read(m, "so", &s, &o) > 0) {
		snprintf(line, sizeof(line), "%s %s %s", member, s, o);
	} else {
		snprintf(line, sizeof(line), "%s", member);
	}
	if (rec->n < FX_REC_MAX)
		snprintf(rec->lines[rec->n++], sizeof(rec->lines[0]), "%s", line);
	return 0;
}

static void recorder_free(void *data)
{
	struct fx_recorder *rec = data;

	sd_bus_slot_unref(rec->slot);
	if (rec->fd >= 0)
		close(rec->fd);
	free(rec);
}

struct fx_recorder *fx_recorder_new(sd_bus *bus)
{
	struct fx_recorder *rec = calloc(1, sizeof(*rec));

	if (!rec)
		return NULL;
	rec->fd = -1;
	test_defer(recorder_free, rec);
	if (sd_bus_match_signal(bus, &rec->slot, NULL, NULL, NULL, NULL, on_signal, rec) < 0)
		return NULL;
	return rec;
}

bool fx_rec_has(const struct fx_recorder *rec, const char *line)
{
	for (unsigned i = 0; i < rec->n; i++)
		if (strcmp(rec->lines[i], line) == 0)
			return true;
	return false;
}

bool fx_rec_wait(struct fixture *f, const struct fx_recorder *rec, const char *line)
{
	uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

	while (!fx_rec_has(rec, line) && fx_now() < deadline)
		if (sd_event_run(f->b->event, 100000) < 0)
			break;
	if (fx_rec_has(rec, line))
		return true;
	printf("# no signal \"%s\"; seen:\n", line);
	for (unsigned i = 0; i < rec->n; i++)
		printf("#   %s\n", rec->lines[i]);
	return false;
}

/* ---- Other users and namespaces ---- */

int fx_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

int fx_enter_userns_as_root(void)
{
	uid_t uid = geteuid();
	gid_t gid = getegid();
	char map[64];
	int r;

	if (unshare(CLONE_NEWUSER) < 0)
		return -errno;
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)uid);
	if ((r = fx_write_file("/proc/self/setgroups", "deny")) < 0 ||
	    (r = fx_write_file("/proc/self/uid_map", map)) < 0)
		return r;
	snprintf(map, sizeof(map), "0 %u 1", (unsigned)gid);
	if ((r = fx_write_file("/proc/self/gid_map", map)) < 0)
		return r;
	return geteuid() == 0 ? 0 : -EPERM;
}

/*
 * As an ordinary user, body runs in a child that is root of a new user
 * namespace, where the broker sees the test's connections as root's too
 * (peer credentials are translated into the reader's namespace). The
 * child's results reach the test through its exit status, its diagnostics
 * through stdout.
 */
void fx_as_root(void (*body)(void))
{
	static char reason[256];
	int status, p[2];
	ssize_t n;
	pid_t pid;

	if (geteuid() == 0) {
		body();
		return;
	}
	/* The child's skip reason comes back through a pipe. */
	if (pipe2(p, O_CLOEXEC) < 0) {
		test_fail_at(__FILE__, __LINE__, "pipe: %s", strerror(errno));
		return;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		test_fail_at(__FILE__, __LINE__, "fork: %s", strerror(errno));
		close(p[0]);
		close(p[1]);
		return;
	}
	if (pid == 0) {
		close(p[0]);
		if (fx_enter_userns_as_root() < 0)
			_exit(77);
		body();
		/* The runner's cleanups do not run in this process. */
		test_run_deferred();
		fflush(stdout);
		if (!test_failed && test_skip_reason)
			(void)!write(p[1], test_skip_reason, strlen(test_skip_reason));
		_exit(test_failed ? 1 : 0);
	}
	close(p[1]);
	n = read(p[0], reason, sizeof(reason) - 1);
	close(p[0]);
	reason[n > 0 ? n : 0] = '\0';
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			test_fail_at(__FILE__, __LINE__, "waitpid: %s", strerror(errno));
			return;
		}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 77)
		test_skip_reason = "needs root or a user namespace";
	else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		test_fail_at(__FILE__, __LINE__, "the test failed in its user namespace (status %#x)",
			     (unsigned)status);
	else if (reason[0])
		test_skip_reason = reason;
}

static void kill_child(void *data)
{
	pid_t pid = (pid_t)(intptr_t)data;

	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

pid_t fx_idle_child(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		for (;;)
			pause();
	}
	/* Reaped only here, so the pid is not another's when it is killed. */
	test_defer(kill_child, (void *)(intptr_t)pid);
	return pid;
}

int fx_connect_as(const char *path, uid_t uid)
{
	int chan[2], fd = -1, r;
	pid_t pid;

	if (uid == geteuid())
		return fx_connect(path);
	if (geteuid() != 0)
		return -EPERM;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		r = -errno;
		close(chan[0]);
		close(chan[1]);
		return r;
	}
	if (pid == 0) {
		/* Found while root, connected as uid: the socket's directory
		 * need not be open to uid. */
		int node = open(path, O_PATH | O_CLOEXEC), s = -1;
		char proc[64];

		close(chan[0]);
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", node);
		if (node >= 0 && setgroups(0, NULL) == 0 && setgid(FX_NOBODY) == 0 &&
		    setuid(uid) == 0 && prctl(PR_SET_DUMPABLE, 1) == 0)
			s = fx_connect(proc);
		if (s < 0 || fx_send_fds(chan[1], &s, 1) < 0)
			_exit(1);
		/* The broker identifies a peer by its pid when it accepts. */
		for (;;)
			pause();
	}
	close(chan[1]);
	test_defer(kill_child, (void *)(intptr_t)pid);
	r = fx_recv_fds(chan[0], &fd, 1);
	close(chan[0]);
	return r < 0 ? r : fd;
}

pid_t fx_userns_child(const char *uid_map)
{
	int p[2], q[2];
	char path[64], c = 0;
	pid_t pid;
	int r = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	if (pipe2(q, O_CLOEXEC) < 0) {
		r = -errno;
		close(p[0]);
		close(p[1]);
		return r;
	}
	pid = fork();
	if (pid < 0) {
		r = -errno;
		goto out;
	}
	if (pid == 0) {
		close(p[0]);
		close(q[1]);
		if (unshare(CLONE_NEWUSER) == 0)
			(void)!write(p[1], "1", 1);
		close(p[1]);
		/* Lives on once its map is written. */
		(void)!read(q[0], &c, 1);
		for (;;)
			pause();
	}
	test_defer(kill_child, (void *)(intptr_t)pid);
	close(p[1]);
	p[1] = -1;
	if (read(p[0], &c, 1) != 1 || c != '1') {
		r = -EPERM;
		goto out;
	}
	snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)pid);
	r = fx_write_file(path, uid_map);
out:
	close(p[0]);
	if (p[1] >= 0)
		close(p[1]);
	close(q[0]);
	close(q[1]);
	return r < 0 ? r : pid;
}

pid_t fx_chroot_child(const char *root)
{
	int p[2];
	pid_t pid;
	char ok = 0;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -errno;
	}
	if (pid == 0) {
		close(p[0]);
		if ((geteuid() == 0 || fx_enter_userns_as_root() >= 0) && chroot(root) == 0 &&
		    chdir("/") == 0)
			(void)!write(p[1], "1", 1);
		close(p[1]);
		for (;;)
			pause();
	}
	close(p[1]);
	test_defer(kill_child, (void *)(intptr_t)pid);
	if (read(p[0], &ok, 1) != 1 || ok != '1')
		pid = -EPERM;
	close(p[0]);
	return pid;
}

pid_t fx_spawn(const char *const argv[])
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0)
			dup2(null, STDIN_FILENO);
		execvp(argv[0], (char *const *)argv);
		_exit(127);
	}
	test_defer(kill_child, (void *)(intptr_t)pid);
	return pid;
}

static void nsproc_serve(int ctl)
{
	char path[PATH_MAX];

	for (;;) {
		ssize_t n = recv(ctl, path, sizeof(path) - 1, 0);
		int fd;

		if (n <= 0)
			_exit(0);
		path[n] = '\0';
		fd = fx_connect(path);
		if (fd < 0 || fx_send_fds(ctl, &fd, 1) < 0)
			_exit(1);
		close(fd);
	}
}

static void nsproc_stop(void *data)
{
	struct fx_nsproc *p = data;

	if (p->ctl >= 0)
		close(p->ctl);
	if (p->child > 0)
		while (waitpid(p->child, NULL, 0) < 0 && errno == EINTR)
			;
	free(p);
}

int fx_nsproc_start(struct fx_nsproc **ret)
{
	struct fx_nsproc *p;
	int s[2], r;
	ssize_t n;

	*ret = NULL;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->ctl = -1;
	test_defer(nsproc_stop, p);
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s) < 0)
		return -errno;
	p->child = fork();
	if (p->child < 0) {
		r = -errno;
		p->child = 0;
		close(s[0]);
		close(s[1]);
		return r;
	}
	if (p->child == 0) {
		int result;
		pid_t inner;

		close(s[0]);
		if (unshare(CLONE_NEWPID) < 0 && unshare(CLONE_NEWUSER | CLONE_NEWPID) < 0) {
			result = -errno;
			(void)!write(s[1], &result, sizeof(result));
			_exit(0);
		}
		inner = fork();
		if (inner == 0)
			nsproc_serve(s[1]);
		result = inner < 0 ? -errno : inner;
		(void)!write(s[1], &result, sizeof(result));
		close(s[1]);
		if (inner > 0)
			while (waitpid(inner, NULL, 0) < 0 && errno == EINTR)
				;
		_exit(0);
	}
	close(s[1]);
	p->ctl = s[0];
	n = read(p->ctl, &r, sizeof(r));
	if (n != sizeof(r) || r <= 0)
		return n != sizeof(r) ? -EIO : r == -EINVAL || r == -ENOSPC ? -EPERM : r;
	p->inner = r;
	*ret = p;
	return 0;
}

int fx_nsproc_connect(struct fx_nsproc *p, const char *path)
{
	int fd, r;

	if (send(p->ctl, path, strlen(path), MSG_NOSIGNAL) < 0)
		return -errno;
	r = fx_recv_fds(p->ctl, &fd, 1);
	return r < 0 ? r : fd;
}
