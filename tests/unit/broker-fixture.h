/* SPDX-License-Identifier: MIT */
/*
 * A broker built in-process, for D-Bus tests without a bus daemon.
 *
 * Its bus is the server end of a socketpair; a client sd_bus sits on the
 * other end. Both, and every container endpoint, run on the broker's event
 * loop: fx_call() sends a method call and runs the loop until the answer
 * arrives. The runtime directory is a fresh temporary directory, with a short
 * name: socket paths below it must fit in sun_path.
 *
 * The broker decides who may change state by the peer's credentials, which
 * the kernel records when the socketpair is made. So a client that is not
 * root is the test itself when it runs as an ordinary user, and a socketpair
 * made by a child that setuid()s to nobody when it runs as root. A test that
 * needs a root client (ROOT_TEST) runs, for an ordinary user, in a child that
 * is root of a new user namespace.
 *
 * Each test file is one executable, so everything here is static.
 */
#pragma once

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>
#include <systemd/sd-id128.h>

#include "broker/broker.h"
#include "broker/container.h"
#include "broker/reaper.h"
#include "compat/seatd-server.h"
#include "dbus/dbus.h"
#include "test.h"

#define FX_NOBODY 65534
#define FX_TIMEOUT_USEC (5 * 1000000ULL)

#define FX_UNUSED __attribute__((unused))

struct fixture {
	struct broker *b;
	struct dbus_transport *t;
	struct broker_seat *seat0;
	sd_bus *client; /* on the broker's bus */
	char dir[96];   /* temporary: the runtime directory */
};

/* The transport of the fixture set up last, for FX_PATH(). */
static struct dbus_transport *fx_transport;

/* The object path of a container or seat on the broker's bus. */
#define FX_PATH(x) _Generic((x),                                                        \
	struct container *: dbus_container_of(fx_transport, (struct container *)(void *)(x))->path, \
	struct broker_seat *: dbus_seat_of(fx_transport, (struct broker_seat *)(void *)(x))->path)

static FX_UNUSED uint64_t fx_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000ULL + (uint64_t)ts.tv_nsec / 1000;
}

/* Sends n fds over a socket with SCM_RIGHTS; 0 or -errno. */
static FX_UNUSED int fx_send_fds(int sock, const int *fds, unsigned n)
{
	char byte = 'F';
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = CMSG_SPACE(sizeof(int) * n),
	};
	struct cmsghdr *cm;

	if (n == 0 || n > 4)
		return -EINVAL;
	memset(&u, 0, sizeof(u));
	cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int) * n);
	memcpy(CMSG_DATA(cm), fds, sizeof(int) * n);
	return sendmsg(sock, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Receives exactly n fds; 0 or a negative errno. */
static FX_UNUSED int fx_recv_fds(int sock, int *fds, unsigned n)
{
	char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = 1 };
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} u;
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = u.buf, .msg_controllen = sizeof(u.buf),
	};
	struct cmsghdr *cm;
	ssize_t k;

	if (n == 0 || n > 4)
		return -EINVAL;
	do
		k = recvmsg(sock, &mh, MSG_CMSG_CLOEXEC);
	while (k < 0 && errno == EINTR);
	if (k < 0)
		return -errno;
	if (k == 0)
		return -ECONNRESET;
	cm = CMSG_FIRSTHDR(&mh);
	if (!cm || cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS ||
	    cm->cmsg_len != CMSG_LEN(sizeof(int) * n))
		return -EBADMSG;
	memcpy(fds, CMSG_DATA(cm), sizeof(int) * n);
	return 0;
}

/* Drops to nobody in a child process: 0, or -errno in the child. */
static FX_UNUSED int fx_become_nobody(void)
{
	if (setgroups(0, NULL) < 0 || setgid(FX_NOBODY) < 0 || setuid(FX_NOBODY) < 0)
		return -errno;
	return geteuid() == FX_NOBODY ? 0 : -EPERM;
}

/* A connected socketpair whose peer credentials are not root's: made by a
 * child that became nobody (when we are root), or by us (when we are not). */
static FX_UNUSED int fx_socketpair_unprivileged(int sv[2])
{
	int chan[2], r, status;
	pid_t pid;

	if (geteuid() != 0)
		return socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ? -errno : 0;
	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, chan) < 0)
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

/* Runs the loop until *flag, or the timeout; returns *flag. */
static FX_UNUSED bool fx_run_until(struct fixture *f, const bool *flag)
{
	uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

	while (!*flag && fx_now() < deadline)
		if (sd_event_run(f->b->event, 100000) < 0)
			break;
	return *flag;
}

/* Runs whatever is pending, without waiting. */
static FX_UNUSED void fx_run_pending(struct fixture *f)
{
	for (int i = 0; i < 1000; i++)
		if (sd_event_run(f->b->event, 0) <= 0)
			return;
}

/* Runs the loop for a while, for things that should not happen. */
static FX_UNUSED void fx_run_for(struct fixture *f, uint64_t usec)
{
	uint64_t deadline = fx_now() + usec;

	while (fx_now() < deadline)
		if (sd_event_run(f->b->event, deadline - fx_now()) < 0)
			return;
}

static FX_UNUSED bool fx_wait_ready(struct fixture *f, sd_bus *bus)
{
	uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

	while (sd_bus_is_ready(bus) <= 0 && fx_now() < deadline)
		if (sd_event_run(f->b->event, 100000) < 0)
			break;
	return sd_bus_is_ready(bus) > 0;
}

/* A client on a connected fd (taken), attached to the broker's loop. With
 * hello, it is a bus client and sends org.freedesktop.DBus.Hello first. */
static FX_UNUSED sd_bus *fx_client_on_fd(struct fixture *f, int fd, bool hello)
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

/* Makes the broker's bus the server end of fd (taken), with seat0 and the
 * objects registered. */
static FX_UNUSED int fx_serve(struct fixture *f, int fd)
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
	    (r = broker_get_seat(b, "seat0", &f->seat0)) < 0)
		return r;
	fx_transport = f->t;
	return 0;
}

static FX_UNUSED void fx_teardown(struct fixture *f);

/* A broker with seat0 and a client. unprivileged: the client is never root
 * (otherwise it is whoever runs the test). 0 or a negative errno. */
static FX_UNUSED int fx_setup(struct fixture *f, bool unprivileged)
{
	const char *tmp = getenv("TMPDIR");
	struct broker *b;
	int sv[2] = { -1, -1 };
	int r;

	memset(f, 0, sizeof(*f));
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
	r = fx_serve(f, sv[0]);
	if (r < 0) {
		close(sv[1]);
		return r;
	}
	f->client = fx_client_on_fd(f, sv[1], false);
	if (!f->client)
		return -EIO;
	return fx_wait_ready(f, f->client) ? 0 : -ETIMEDOUT;
}

static FX_UNUSED void fx_teardown(struct fixture *f)
{
	char path[PATH_MAX];

	f->client = sd_bus_flush_close_unref(f->client);
	if (f->b) {
		/* Connections dropped last are freed from the loop. */
		if (f->b->event)
			fx_run_pending(f);
		broker_free(f->b);
		f->b = NULL;
	}
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

#define FX_SETUP(f, unprivileged)                                       \
	do {                                                            \
		int fx_r_ = fx_setup((f), (unprivileged));              \
		if (fx_r_ < 0) {                                        \
			fx_teardown(f);                                 \
			FAIL("broker fixture: %s", strerror(-fx_r_));   \
		}                                                       \
	} while (0)

/* Calls, waiting for the answer. */

struct fx_wait {
	bool done;
	sd_bus_message *reply;
};

static FX_UNUSED int fx_on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct fx_wait *w = userdata;

	w->reply = sd_bus_message_ref(m);
	w->done = true;
	return 1;
}

/* Sends a method call built from types and the arguments after it and runs
 * the loop until the answer: a method return or an error message, which
 * the caller unrefs; NULL if none could be had. */
static FX_UNUSED sd_bus_message *fx_callv(struct fixture *f, sd_bus *bus, const char *path,
					  const char *interface, const char *member,
					  const char *types, va_list ap)
{
	struct fx_wait w = { 0 };
	sd_bus_message *m = NULL;
	sd_bus_slot *slot = NULL;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, NULL, path, interface, member);
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

static FX_UNUSED sd_bus_message *fx_call(struct fixture *f, sd_bus *bus, const char *path,
					 const char *interface, const char *member,
					 const char *types, ...)
{
	sd_bus_message *reply;
	va_list ap;

	va_start(ap, types);
	reply = fx_callv(f, bus, path, interface, member, types, ap);
	va_end(ap);
	return reply;
}

/* "ok" for a method return, the error name for an error, else a note. */
static FX_UNUSED const char *fx_outcome(sd_bus_message *m)
{
	const sd_bus_error *e;

	if (!m)
		return "(no answer)";
	e = sd_bus_message_get_error(m);
	if (e)
		return e->name;
	return sd_bus_message_is_method_error(m, NULL) ? "(error without name)" : "ok";
}

/* Checks that m is the expected outcome ("ok" or an error name) and unrefs
 * it; on a mismatch the error message is shown too. Returns true if so. */
static FX_UNUSED bool fx_expect_at(const char *file, int line, const char *expected,
				   sd_bus_message *m, const char *what)
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

/* Calls and checks the outcome: ASSERT_CALL(f, "ok", bus, path, iface,
 * member, types, args...). Ends the test on a mismatch. */
#define ASSERT_CALL(f, expected, bus, path, iface, member, ...)               \
	do {                                                                  \
		if (!fx_expect_at(__FILE__, __LINE__, (expected),             \
				  fx_call((f), (bus), (path), (iface), (member), \
					  __VA_ARGS__),                       \
				  (member)))                                  \
			return;                                               \
	} while (0)

/* The same, going on after a mismatch. */
#define EXPECT_CALL(f, expected, bus, path, iface, member, ...)               \
	((void)fx_expect_at(__FILE__, __LINE__, (expected),                   \
			    fx_call((f), (bus), (path), (iface), (member),     \
				    __VA_ARGS__),                             \
			    (member)))

/* A property's value, the reply positioned inside the variant; NULL and a
 * diagnostic if the Get failed. The caller reads and unrefs. */
static FX_UNUSED sd_bus_message *fx_get_property(struct fixture *f, sd_bus *bus, const char *path,
						 const char *interface, const char *property,
						 const char *type)
{
	sd_bus_message *m = fx_call(f, bus, path, "org.freedesktop.DBus.Properties", "Get", "ss",
				    interface, property);

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

/* A string property, or NULL; the caller frees. */
static FX_UNUSED char *fx_get_string(struct fixture *f, sd_bus *bus, const char *path,
				     const char *interface, const char *property)
{
	sd_bus_message *m = fx_get_property(f, bus, path, interface, property, "s");
	const char *s = NULL;
	char *copy = NULL;

	if (m && sd_bus_message_read(m, "s", &s) > 0)
		copy = strdup(s);
	sd_bus_message_unref(m);
	return copy;
}

/* A boolean property: 0, 1, or -1 if it could not be read. */
static FX_UNUSED int fx_get_bool(struct fixture *f, sd_bus *bus, const char *path,
				 const char *interface, const char *property)
{
	sd_bus_message *m = fx_get_property(f, bus, path, interface, property, "b");
	int v = -1;

	if (m && sd_bus_message_read(m, "b", &v) <= 0)
		v = -1;
	sd_bus_message_unref(m);
	return v;
}

/* A container of the broker, made directly (no privilege needed). */
static FX_UNUSED struct container *fx_add_container(struct fixture *f, const char *name,
						    pid_t leader, bool allow_activate)
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

static FX_UNUSED void fx_endpoint_path(struct fixture *f, const char *name, char *buf, size_t size)
{
	snprintf(buf, size, "%s/%s/bus", f->b->containers_dir, name);
}

/* A connected socket to a container's endpoint, or -errno. */
static FX_UNUSED int fx_connect(const char *path)
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

/* A client of the container's endpoint, ready to call. */
static FX_UNUSED sd_bus *fx_endpoint_client(struct fixture *f, const char *name, bool hello)
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
		sd_bus_flush_close_unref(bus);
		return NULL;
	}
	return bus;
}

static FX_UNUSED int fx_write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = write(fd, text, strlen(text));
	close(fd);
	return n == (ssize_t)strlen(text) ? 0 : -EIO;
}

/* Makes the calling (single-threaded) process root of a new user namespace,
 * our uid and gid mapped to 0. 0 or -errno. */
static FX_UNUSED int fx_enter_userns_as_root(void)
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
 * Runs body as root: directly when we are; otherwise in a child that is root
 * of a new user namespace, where the broker sees the test's connections as
 * root's too (peer credentials are translated into the reader's namespace).
 * The test is skipped when neither is possible. The child's results reach
 * the test through its exit status, its diagnostics through stdout.
 */
static FX_UNUSED void fx_as_root(void (*body)(void))
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

/* A test that changes the broker's state, so needs a root client. */
#define ROOT_TEST(name)                                                 \
	static void root_test_##name(void);                             \
	TEST(name)                                                      \
	{                                                               \
		fx_as_root(root_test_##name);                           \
	}                                                               \
	static void root_test_##name(void)

/*
 * A process in a new pid namespace below ours (as root, or in a new user
 * namespace when that is allowed). It connects to a socket path on request
 * and hands the connected fd back, so that the broker sees a peer of that
 * namespace. It exits when ctl closes.
 */
struct fx_nsproc {
	pid_t child; /* in our namespace, parent of inner */
	pid_t inner; /* pid 1 of the new namespace, as we see it */
	int ctl;
};

static FX_UNUSED void fx_nsproc_serve(int ctl)
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

/* 0, -EPERM (no way to make a pid namespace here), or -errno. */
static FX_UNUSED int fx_nsproc_start(struct fx_nsproc *p)
{
	int s[2], r;
	ssize_t n;

	p->child = p->inner = 0;
	p->ctl = -1;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, s) < 0)
		return -errno;
	p->child = fork();
	if (p->child < 0) {
		r = -errno;
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
			fx_nsproc_serve(s[1]);
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
	if (n != sizeof(r) || r <= 0) {
		close(p->ctl);
		p->ctl = -1;
		waitpid(p->child, NULL, 0);
		p->child = 0;
		return n != sizeof(r) ? -EIO : r == -EINVAL || r == -ENOSPC ? -EPERM : r;
	}
	p->inner = r;
	return 0;
}

/* A socket connected to path by the process in the namespace, or -errno. */
static FX_UNUSED int fx_nsproc_connect(struct fx_nsproc *p, const char *path)
{
	int fd, r;

	if (send(p->ctl, path, strlen(path), MSG_NOSIGNAL) < 0)
		return -errno;
	r = fx_recv_fds(p->ctl, &fd, 1);
	return r < 0 ? r : fd;
}

static FX_UNUSED void fx_nsproc_stop(struct fx_nsproc *p)
{
	if (p->ctl >= 0)
		close(p->ctl);
	p->ctl = -1;
	if (p->child > 0)
		while (waitpid(p->child, NULL, 0) < 0 && errno == EINTR)
			;
	p->child = p->inner = 0;
}
