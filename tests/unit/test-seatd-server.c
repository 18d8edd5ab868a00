/* SPDX-License-Identifier: MIT */
/*
 * The seatd endpoint against the real seat state machine and the real
 * container controller code, in one process: the server listens on a
 * socket in a temporary directory, the test connects as the client (it is
 * in its own pid namespace, so it is admitted) and runs the event loop
 * between requests. The container's "leader" is the test itself, so paths
 * resolve in the test's root.
 *
 * The seat has two devices: "card0" (DRM) whose number is that of /dev/null
 * and "event0" (evdev) with that of /dev/zero; the fake seat ops open
 * /dev/null for every handle and log what they do, so a test can check the
 * order of revokes, pauses and master changes against the messages.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "broker/broker.h"
#include "broker/container.h"
#include "broker/peer.h"
#include "common/fd-pass.h"
#include "common/fd-store.h"
#include "common/macro.h"
#include "common/root-resolve.h"
#include "compat/seatd-proto.h"
#include "compat/seatd-server.h"
#include "fixture.h"
#include "test.h"

/* As compat/seatd-server.c. */
#define SEATD_MAX_CLIENTS 32

#define CARD makedev(1, 3)  /* /dev/null */
#define EVDEV makedev(1, 5) /* /dev/zero */

struct env {
	sd_event *event;
	struct broker broker;
	struct broker_seat bs;
	struct seat *seat;
	struct container c1, c2;
	struct seatd_server *srv;
	const char *dir; /* removed after the test */
	char sock[128];
	char log[128][64];
	unsigned n_log;
	unsigned switches_done;
	bool timer_armed;
};

static void env_log(struct env *e, const char *fmt, ...) _printf_(2, 3);
static void env_log(struct env *e, const char *fmt, ...)
{
	va_list ap;

	if (e->n_log == ARRAY_SIZE(e->log))
		return;
	va_start(ap, fmt);
	vsnprintf(e->log[e->n_log++], sizeof(e->log[0]), fmt, ap);
	va_end(ap);
}

/* The index of the first log line equal to line, or -1. */
static int log_find(struct env *e, const char *line)
{
	for (unsigned i = 0; i < e->n_log; i++)
		if (strcmp(e->log[i], line) == 0)
			return (int)i;
	return -1;
}

static const char *hname(struct seat_handle *h)
{
	static char buf[64];

	snprintf(buf, sizeof(buf), "%s/%s", h->container->name, h->device->sysname);
	return buf;
}

static int op_open(void *ud, struct seat_handle *h, bool live)
{
	h->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	env_log(ud, "open %s %s", hname(h), live ? "live" : "paused");
	return h->fd < 0 ? -errno : 0;
}

static void op_close(void *ud, struct seat_handle *h)
{
	env_log(ud, "close %s", hname(h));
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
}

static int op_revoke(void *ud, struct seat_handle *h)
{
	env_log(ud, "revoke %s", hname(h));
	return 0;
}

static int op_drop(void *ud, struct seat_handle *h)
{
	env_log(ud, "drop %s", hname(h));
	return 0;
}

static int op_set(void *ud, struct seat_handle *h)
{
	env_log(ud, "set %s", hname(h));
	return 0;
}

static int op_reopen(void *ud, struct seat_handle *h)
{
	env_log(ud, "reopen %s", hname(h));
	close(h->fd);
	h->fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	return h->fd < 0 ? -errno : 0;
}

static int op_kernel(void *ud, struct seat *s, struct seat_container *c)
{
	return 0;
}

static void op_notify_pause(void *ud, struct seat_handle *h, enum seat_pause_type type)
{
	env_log(ud, "pause %s %s", hname(h), seat_pause_type_to_string(type));
	container_notify_pause(h->container->userdata, h, type);
}

static void op_notify_resume(void *ud, struct seat_handle *h)
{
	env_log(ud, "resume %s", hname(h));
	container_notify_resume(h->container->userdata, h);
}

static void op_forced(void *ud, struct seat_handle *h)
{
	env_log(ud, "forced %s", hname(h));
}

static void op_timer(void *ud, struct seat *s, uint64_t usec)
{
	struct env *e = ud;

	e->timer_armed = usec > 0;
}

static void op_done(void *ud, struct seat *s, void *cookie, int r)
{
	struct env *e = ud;

	free(cookie); /* broker_switch()'s request */
	e->switches_done++;
	env_log(e, "done %d", r);
}

static void op_active(void *ud, struct seat *s, struct seat_container *old)
{
	if (old)
		container_notify_activated(old->userdata, false);
	if (s->active)
		container_notify_activated(s->active->userdata, true);
}

static void op_handles_changed(void *ud, struct seat_container *c)
{
}

static const struct seat_ops fake_ops = {
	.handle_open = op_open,
	.handle_close = op_close,
	.handle_revoke = op_revoke,
	.handle_drop_master = op_drop,
	.handle_set_master = op_set,
	.handle_reopen = op_reopen,
	.kernel_activate = op_kernel,
	.notify_pause = op_notify_pause,
	.notify_resume = op_notify_resume,
	.pause_forced = op_forced,
	.handles_changed = op_handles_changed,
	.timer_set = op_timer,
	.switch_done = op_done,
	.active_changed = op_active,
};

static int container_init(struct env *e, struct container *c, const char *name)
{
	int r;

	c->broker = &e->broker;
	c->seat = &e->bs;
	c->name = (char *)name;
	c->leader = getpid();
	c->pidfd = pidfd_open(getpid(), 0);
	list_init(&c->link);
	if (c->pidfd < 0)
		return -errno;
	r = pidns_of_pid(getpid(), &c->pidns);
	if (r < 0)
		return r;
	r = seat_add_container(e->seat, name, &c->sc);
	if (r < 0)
		return r;
	c->sc->userdata = c;
	return 0;
}

static void env_free(void *data);

/* The env, torn down after the test; 0 or -errno. */
static int env_setup(struct env **ret)
{
	struct env *e;
	int r;

	e = *ret = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->dir = test_tmpdir("test-seatd");
	if (!e->dir) {
		free(e);
		*ret = NULL;
		return -EIO;
	}
	test_defer(env_free, e);
	snprintf(e->sock, sizeof(e->sock), "%s/seatd.sock", e->dir);
	r = sd_event_new(&e->event);
	if (r < 0)
		return r;
	e->broker.event = e->event;
	list_init(&e->broker.seats);
	list_init(&e->broker.containers);
	list_init(&e->broker.lessors);
	r = seat_new(&e->seat, "seat0", &fake_ops, e);
	if (r < 0)
		return r;
	e->bs.broker = &e->broker;
	e->bs.seat = e->seat;
	e->seat->userdata = &e->bs;
	if ((r = seat_add_device(e->seat, "card0", CARD, SEAT_DEVICE_DRM, NULL)) < 0 ||
	    (r = seat_add_device(e->seat, "event0", EVDEV, SEAT_DEVICE_EVDEV, NULL)) < 0 ||
	    (r = container_init(e, &e->c1, "c1")) < 0 ||
	    (r = container_init(e, &e->c2, "c2")) < 0)
		return r;
	return seatd_server_new(&e->c1, e->sock, &e->srv);
}

static void env_free(void *data)
{
	struct env *e = data;
	struct seat_device *d, *tmp;

	/* As container_free: control first, then the endpoint. */
	container_release_control(&e->c1);
	container_release_control(&e->c2);
	seatd_server_free(e->srv);
	if (e->c1.sc)
		seat_remove_container(e->c1.sc);
	if (e->c2.sc)
		seat_remove_container(e->c2.sc);
	if (e->c1.pidfd > 0)
		close(e->c1.pidfd);
	if (e->c2.pidfd > 0)
		close(e->c2.pidfd);
	if (e->seat) {
		list_for_each_safe(d, tmp, &e->seat->devices, link)
			seat_remove_device(d);
		seat_free(e->seat);
	}
	sd_event_unref(e->event);
	free(e);
}

static void pump(struct env *e)
{
	while (sd_event_run(e->event, 0) > 0)
		;
}

/* The client side, with the buffering libseat has. */
struct tclient {
	int fd;
	uint8_t buf[4096];
	size_t len;
	int fds[256];
	unsigned n_fds;
	bool eof;
};

static int tc_connect(struct env *e, struct tclient *t)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };

	memset(t, 0, sizeof(*t));
	strcpy(sa.sun_path, e->sock);
	t->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (t->fd < 0 || connect(t->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	pump(e);
	return 0;
}

static void tc_close(struct env *e, struct tclient *t)
{
	for (unsigned i = 0; i < t->n_fds; i++)
		close(t->fds[i]);
	t->n_fds = 0;
	if (t->fd >= 0)
		close(t->fd);
	t->fd = -1;
	pump(e);
}

static void tc_send_bytes(struct env *e, struct tclient *t, const void *buf, size_t n)
{
	if (write(t->fd, buf, n) != (ssize_t)n)
		EXPECT_FAIL("write to the server failed: %m");
	pump(e);
}

static void tc_send(struct env *e, struct tclient *t, struct seatd_request req)
{
	uint8_t buf[SEATD_MAX_MESSAGE];
	ssize_t n = seatd_write_request(buf, sizeof(buf), &req);

	if (n < 0)
		EXPECT_FAIL("cannot write request %u", req.opcode);
	else
		tc_send_bytes(e, t, buf, (size_t)n);
}

static void tc_fill(struct env *e, struct tclient *t)
{
	pump(e);
	while (t->len < sizeof(t->buf)) {
		size_t got;
		ssize_t n = fd_pass_recv(t->fd, t->buf + t->len, sizeof(t->buf) - t->len,
					 t->fds + t->n_fds, ARRAY_SIZE(t->fds) - t->n_fds, &got, NULL);

		if (n < 0)
			return;
		t->n_fds += got;
		if (n == 0) {
			t->eof = true;
			return;
		}
		t->len += (size_t)n;
	}
}

/* The next message: 1 and *rep (and *fd for device-opened), 0 if none. */
static int tc_next(struct env *e, struct tclient *t, struct seatd_reply *rep, int *fd)
{
	ssize_t n;

	tc_fill(e, t);
	n = seatd_parse_reply(t->buf, t->len, rep);
	if (n <= 0)
		return (int)n;
	memmove(t->buf, t->buf + n, t->len - (size_t)n);
	t->len -= (size_t)n;
	if (fd)
		*fd = -1;
	if (rep->opcode == SEATD_SERVER_DEVICE_OPENED && t->n_fds > 0) {
		int got = t->fds[0];

		memmove(t->fds, t->fds + 1, --t->n_fds * sizeof(int));
		if (fd)
			*fd = got;
		else
			close(got);
	}
	return 1;
}

static bool tc_expect(struct env *e, struct tclient *t, uint16_t opcode, struct seatd_reply *out,
		      int *fd)
{
	struct seatd_reply rep;
	int r = tc_next(e, t, &rep, fd);

	if (r <= 0) {
		EXPECT_FAIL("expected %s, got %s", seatd_opcode_to_string(opcode),
			    r == 0 ? (t->eof ? "end of file" : "nothing") : "garbage");
		return false;
	}
	if (rep.opcode != opcode) {
		EXPECT_FAIL("expected %s, got %s (error %d)", seatd_opcode_to_string(opcode),
			    seatd_opcode_to_string(rep.opcode), rep.error);
		return false;
	}
	if (out)
		*out = rep;
	return true;
}

static bool tc_expect_error(struct env *e, struct tclient *t, int error)
{
	struct seatd_reply rep;

	if (!tc_expect(e, t, SEATD_SERVER_ERROR, &rep, NULL))
		return false;
	if (rep.error != error) {
		EXPECT_FAIL("expected error %d (%s), got %d (%s)", error, strerror(error), rep.error,
			    strerror(rep.error));
		return false;
	}
	return true;
}

static bool tc_expect_nothing(struct env *e, struct tclient *t)
{
	struct seatd_reply rep;

	if (tc_next(e, t, &rep, NULL) != 0) {
		EXPECT_FAIL("expected nothing, got %s", seatd_opcode_to_string(rep.opcode));
		return false;
	}
	return true;
}

static void tc_simple(struct env *e, struct tclient *t, uint16_t opcode)
{
	tc_send(e, t, (struct seatd_request) { .opcode = opcode });
}

static void tc_open(struct env *e, struct tclient *t, const char *path)
{
	struct seatd_request req = { .opcode = SEATD_CLIENT_OPEN_DEVICE };

	snprintf(req.path, sizeof(req.path), "%s", path);
	tc_send(e, t, req);
}

static void tc_close_device(struct env *e, struct tclient *t, int id)
{
	tc_send(e, t, (struct seatd_request) { .opcode = SEATD_CLIENT_CLOSE_DEVICE, .device_id = id });
}

/* Opens path and returns its device id, or -1 after reporting why. */
static int tc_open_ok(struct env *e, struct tclient *t, const char *path, int *fd)
{
	struct seatd_reply rep;
	int got = -1;

	tc_open(e, t, path);
	if (!tc_expect(e, t, SEATD_SERVER_DEVICE_OPENED, &rep, &got))
		return -1;
	if (got < 0) {
		EXPECT_FAIL("device-opened for %s came without an fd", path);
		return -1;
	}
	if (fd)
		*fd = got;
	else
		close(got);
	return rep.device_id;
}

static void switch_to(struct env *e, struct container *c)
{
	int r = broker_switch(&e->bs, SEAT_SWITCH_TO, c, NULL, NULL);

	if (r < 0)
		EXPECT_FAIL("broker_switch: %s", strerror(-r));
	pump(e);
}

/* Declares e; the runner tears it down and checks that no fd was left
 * open. */
#define SETUP(e)                                                        \
	struct env *e;                                                  \
	do {                                                            \
		int r_ = env_setup(&e);                                 \
		if (!TEST_CHECK(r_ >= 0))                               \
			FAIL("setup: %s", strerror(-r_));               \
	} while (0)

/* ---------------------------------------------------------------- tests */

TEST(ping_before_anything)
{
	struct tclient t;

	SETUP(e);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_PING);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_PONG, NULL, NULL));
	ASSERT_TRUE(tc_expect_nothing(e, &t));
	tc_close(e, &t);
}

TEST(open_seat_while_inactive_then_enable)
{
	struct seatd_reply rep;
	struct tclient t;

	SETUP(e);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, &rep, NULL));
	ASSERT_EQ_STR("seat0", rep.seat_name);
	ASSERT_TRUE(tc_expect_nothing(e, &t)); /* not active: no enable */
	ASSERT_TRUE(e->c1.sc->controlled);
	ASSERT_NOT_NULL(e->c1.controller_ops);
	ASSERT_EQ_STR("seatd", e->c1.controller_ops->name);

	/* seatd: opening a device needs an enabled client. */
	tc_open(e, &t, "/dev/null");
	ASSERT_TRUE(tc_expect_error(e, &t, EPERM));
	ASSERT_TRUE(list_empty(&e->c1.sc->handles));

	switch_to(e, &e->c1);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
	ASSERT_TRUE(tc_expect_nothing(e, &t));

	tc_simple(e, &t, SEATD_CLIENT_CLOSE_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_CLOSED, NULL, NULL));
	ASSERT_FALSE(e->c1.sc->controlled);
	ASSERT_NULL(e->c1.controller_ops);
	tc_close(e, &t);
}

TEST(open_seat_while_active_enables_at_once)
{
	struct tclient t;

	SETUP(e);
	switch_to(e, &e->c1);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
	/* A second open-seat on the same connection is refused. */
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect_error(e, &t, EBUSY));
	tc_close(e, &t);
	/* Hanging up releases control. */
	ASSERT_FALSE(e->c1.sc->controlled);
}

TEST(open_and_close_devices)
{
	struct stat st;
	struct tclient t;
	int fd = -1, id1, id2, id3;

	SETUP(e);
	switch_to(e, &e->c1);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));

	id1 = tc_open_ok(e, &t, "/dev/null", &fd);
	ASSERT_TRUE(id1 > 0);
	/* The fd is the broker's open file (the fake opens /dev/null). */
	ASSERT_EQ_INT(0, fstat(fd, &st));
	ASSERT_EQ_INT(CARD, st.st_rdev);
	close(fd);
	ASSERT_TRUE(log_find(e, "open c1/card0 live") >= 0);

	/* The same device again: the same id, nothing opened twice. */
	id2 = tc_open_ok(e, &t, "/dev/null", NULL);
	ASSERT_EQ_INT(id1, id2);
	ASSERT_EQ_INT(1, list_length(&e->c1.sc->handles));
	id3 = tc_open_ok(e, &t, "/dev/zero", NULL);
	ASSERT_TRUE(id3 > 0 && id3 != id1);
	ASSERT_EQ_INT(2, list_length(&e->c1.sc->handles));

	/* Closed once per open. */
	tc_close_device(e, &t, id1);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DEVICE_CLOSED, NULL, NULL));
	ASSERT_EQ_INT(2, list_length(&e->c1.sc->handles));
	tc_close_device(e, &t, id1);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DEVICE_CLOSED, NULL, NULL));
	ASSERT_EQ_INT(1, list_length(&e->c1.sc->handles));
	ASSERT_TRUE(log_find(e, "close c1/card0") >= 0);
	tc_close_device(e, &t, id1);
	ASSERT_TRUE(tc_expect_error(e, &t, EBADF));
	tc_close_device(e, &t, 4242);
	ASSERT_TRUE(tc_expect_error(e, &t, EBADF));
	tc_close(e, &t);
	ASSERT_TRUE(list_empty(&e->c1.sc->handles));
}

TEST(only_brokered_devices)
{
	char path[128];
	struct tclient t;

	SETUP(e);
	switch_to(e, &e->c1);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));

	/* A character device the seat does not broker (1:8, /dev/random),
	 * a missing path, a directory, a relative path, a magic link. */
	tc_open(e, &t, "/dev/random");
	ASSERT_TRUE(tc_expect_error(e, &t, ENOENT));
	tc_open(e, &t, "/dev/does-not-exist");
	ASSERT_TRUE(tc_expect_error(e, &t, ENOENT));
	tc_open(e, &t, "/dev");
	ASSERT_TRUE(tc_expect_error(e, &t, ENOENT));
	tc_open(e, &t, "dev/null");
	ASSERT_TRUE(tc_expect_error(e, &t, EINVAL));
	tc_open(e, &t, "");
	ASSERT_TRUE(tc_expect_error(e, &t, EINVAL));
	tc_open(e, &t, "/proc/self/root/dev/null");
	ASSERT_TRUE(tc_expect_error(e, &t, ELOOP));
	ASSERT_TRUE(list_empty(&e->c1.sc->handles));

	/* A symlink inside the root is followed. */
	snprintf(path, sizeof(path), "%s/card", e->dir);
	ASSERT_EQ_INT(0, symlink("/dev/null", path));
	ASSERT_TRUE(tc_open_ok(e, &t, path, NULL) > 0);
	unlink(path);
	tc_close(e, &t);
}

TEST(switch_disables_then_enables)
{
	struct tclient t;
	int id_card, id_ev, id_ev2, i_revoke, i_drop;

	SETUP(e);
	switch_to(e, &e->c1);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
	id_card = tc_open_ok(e, &t, "/dev/null", NULL);
	id_ev = tc_open_ok(e, &t, "/dev/zero", NULL);
	ASSERT_TRUE(id_card > 0 && id_ev > 0);

	/* Away: evdev revoked at once, one DISABLE_SEAT, the switch waits
	 * for the acknowledgement with master still held. */
	e->n_log = 0;
	e->switches_done = 0;
	switch_to(e, &e->c2);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DISABLE_SEAT, NULL, NULL));
	ASSERT_TRUE(tc_expect_nothing(e, &t));
	i_revoke = log_find(e, "revoke c1/event0");
	ASSERT_EQ_INT(0, i_revoke);
	ASSERT_TRUE(log_find(e, "pause c1/card0 pause") > i_revoke);
	ASSERT_EQ_INT(-1, log_find(e, "drop c1/card0"));
	ASSERT_EQ_INT(0, e->switches_done);
	ASSERT_TRUE(e->timer_armed);

	/* While disabled: libinput closes its evdev devices; opening fails. */
	tc_close_device(e, &t, id_ev);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DEVICE_CLOSED, NULL, NULL));
	tc_open(e, &t, "/dev/zero");
	ASSERT_TRUE(tc_expect_error(e, &t, EPERM));

	/* The acknowledgement drops master and completes the switch; no
	 * reply (libseat 0.7 reads none). */
	tc_simple(e, &t, SEATD_CLIENT_DISABLE_SEAT);
	ASSERT_TRUE(tc_expect_nothing(e, &t));
	i_drop = log_find(e, "drop c1/card0");
	ASSERT_TRUE(i_drop > i_revoke);
	ASSERT_TRUE(log_find(e, "done 0") > i_drop);
	ASSERT_EQ_PTR(e->c2.sc, e->seat->active);
	ASSERT_EQ_INT(1, e->switches_done);

	/* Back: master again, then one ENABLE_SEAT; evdev reopened fresh
	 * through open-device, with a new id. */
	e->n_log = 0;
	switch_to(e, &e->c1);
	ASSERT_TRUE(log_find(e, "set c1/card0") >= 0);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
	ASSERT_TRUE(tc_expect_nothing(e, &t));
	id_ev2 = tc_open_ok(e, &t, "/dev/zero", NULL);
	ASSERT_TRUE(id_ev2 > 0 && id_ev2 != id_ev);
	ASSERT_TRUE(log_find(e, "open c1/event0 live") >= 0);

	/* An acknowledgement nobody asked for changes nothing. */
	tc_simple(e, &t, SEATD_CLIENT_DISABLE_SEAT);
	ASSERT_TRUE(tc_expect_nothing(e, &t));
	ASSERT_EQ_PTR(e->c1.sc, e->seat->active);
	tc_close(e, &t);
}

TEST(disable_without_devices)
{
	struct tclient t;

	SETUP(e);
	switch_to(e, &e->c1);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
	/* Nothing to pause, so the switch does not wait, but the client is
	 * told all the same. */
	switch_to(e, &e->c2);
	ASSERT_EQ_INT(2, e->switches_done);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DISABLE_SEAT, NULL, NULL));
	tc_simple(e, &t, SEATD_CLIENT_DISABLE_SEAT);
	switch_to(e, NULL);
	ASSERT_TRUE(tc_expect_nothing(e, &t));
	switch_to(e, &e->c1);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
	tc_close(e, &t);
}

TEST(pause_timeout_then_late_ack)
{
	struct tclient t;

	SETUP(e);
	switch_to(e, &e->c1);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
	ASSERT_TRUE(tc_open_ok(e, &t, "/dev/null", NULL) > 0);

	switch_to(e, &e->c2);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DISABLE_SEAT, NULL, NULL));
	/* No acknowledgement: the seat's timer forces the pause. */
	seat_pause_timeout(e->seat);
	ASSERT_TRUE(log_find(e, "forced c1/card0") >= 0);
	ASSERT_EQ_PTR(e->c2.sc, e->seat->active);

	/* Back before the client answered: it is enabled again... */
	switch_to(e, &e->c1);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
	/* ...and its late acknowledgement of the old disable must not pause
	 * the next switch before it is acknowledged in turn. */
	tc_simple(e, &t, SEATD_CLIENT_DISABLE_SEAT);
	e->n_log = 0;
	switch_to(e, &e->c2);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DISABLE_SEAT, NULL, NULL));
	ASSERT_EQ_INT(-1, log_find(e, "drop c1/card0"));
	ASSERT_EQ_PTR(e->c1.sc, e->seat->active);
	tc_simple(e, &t, SEATD_CLIENT_DISABLE_SEAT);
	ASSERT_TRUE(log_find(e, "drop c1/card0") >= 0);
	ASSERT_EQ_PTR(e->c2.sc, e->seat->active);
	tc_close(e, &t);
}

TEST(switch_session)
{
	struct tclient t;

	SETUP(e);
	switch_to(e, &e->c1);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));

	/* Without AllowActivate nothing happens, and nothing is answered. */
	tc_send(e, &t, (struct seatd_request) { .opcode = SEATD_CLIENT_SWITCH_SESSION, .session = 2 });
	ASSERT_TRUE(tc_expect_nothing(e, &t));
	ASSERT_EQ_PTR(e->c1.sc, e->seat->active);

	e->c1.allow_activate = true;
	/* Out of range, 0 and negative sessions are ignored, as is itself. */
	for (int s = -1; s <= 3; s += 4) {
		tc_send(e, &t, (struct seatd_request) { .opcode = SEATD_CLIENT_SWITCH_SESSION, .session = s });
		ASSERT_TRUE(tc_expect_nothing(e, &t));
	}
	tc_send(e, &t, (struct seatd_request) { .opcode = SEATD_CLIENT_SWITCH_SESSION, .session = 0 });
	tc_send(e, &t, (struct seatd_request) { .opcode = SEATD_CLIENT_SWITCH_SESSION, .session = 1 });
	ASSERT_TRUE(tc_expect_nothing(e, &t));
	ASSERT_EQ_PTR(e->c1.sc, e->seat->active);

	/* Session 2 is the second container in registration order. */
	tc_send(e, &t, (struct seatd_request) { .opcode = SEATD_CLIENT_SWITCH_SESSION, .session = 2 });
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DISABLE_SEAT, NULL, NULL));
	ASSERT_EQ_PTR(e->c2.sc, e->seat->active);

	/* A disabled client may not switch (seatd: EPERM), even back. */
	tc_simple(e, &t, SEATD_CLIENT_DISABLE_SEAT);
	tc_send(e, &t, (struct seatd_request) { .opcode = SEATD_CLIENT_SWITCH_SESSION, .session = 1 });
	ASSERT_TRUE(tc_expect_nothing(e, &t));
	ASSERT_EQ_PTR(e->c2.sc, e->seat->active);
	tc_close(e, &t);
}

static void other_pause(struct container *c, void *d, struct seat_handle *h, enum seat_pause_type t)
{
}

static void other_resume(struct container *c, void *d, struct seat_handle *h)
{
}

static void other_released(struct container *c, void *d)
{
}

static const struct controller_ops other_ops = {
	.name = "other",
	.pause = other_pause,
	.resume = other_resume,
	.released = other_released,
};

TEST(one_controller_at_a_time)
{
	struct tclient a, b;
	int other;

	SETUP(e);
	switch_to(e, &e->c1);
	/* Another transport (D-Bus) controls: open-seat is refused. */
	ASSERT_EQ_INT(0, container_take_control(&e->c1, &other_ops, &other, false));
	ASSERT_EQ_INT(0, tc_connect(e, &a));
	tc_simple(e, &a, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect_error(e, &a, EBUSY));
	ASSERT_TRUE(container_controlled_by(&e->c1, &other_ops, &other));
	container_release_control(&e->c1);

	/* A seatd client controls: a second one and TakeControl are refused. */
	tc_simple(e, &a, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &a, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(tc_expect(e, &a, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
	ASSERT_EQ_INT(0, tc_connect(e, &b));
	tc_simple(e, &b, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect_error(e, &b, EBUSY));
	ASSERT_EQ_INT(-EBUSY, container_take_control(&e->c1, &other_ops, &other, false));

	/* Forced TakeControl replaces the seatd client, which is hung up on. */
	ASSERT_TRUE(tc_open_ok(e, &a, "/dev/null", NULL) > 0);
	ASSERT_EQ_INT(0, container_take_control(&e->c1, &other_ops, &other, true));
	pump(e);
	tc_fill(e, &a);
	ASSERT_TRUE(a.eof);
	ASSERT_TRUE(list_empty(&e->c1.sc->handles));
	ASSERT_TRUE(container_controlled_by(&e->c1, &other_ops, &other));
	container_release_control(&e->c1);
	tc_close(e, &a);
	tc_close(e, &b);
}

TEST(protocol_errors_close_the_connection)
{
	static const uint8_t unknown[] = { 42, 0, 0, 0 };
	static const uint8_t oversized[] = { 3, 0, 0xff, 0xff };
	static const uint8_t bad_size[] = { 7, 0, 1, 0, 0 };
	static const uint8_t truncated[] = { 3, 0, 20, 0, 5, 0, '/', 'd' };
	const struct {
		const char *name;
		const uint8_t *bytes;
		size_t len;
	} cases[] = {
		{ "unknown opcode", unknown, sizeof(unknown) },
		{ "oversized", oversized, sizeof(oversized) },
		{ "wrong size", bad_size, sizeof(bad_size) },
		{ "truncated, then hang-up", truncated, sizeof(truncated) },
	};

	SETUP(e);
	switch_to(e, &e->c1);
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct tclient t;

		ASSERT_EQ_INT(0, tc_connect(e, &t));
		tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
		ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
		ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
		ASSERT_TRUE(tc_open_ok(e, &t, "/dev/null", NULL) > 0);
		tc_send_bytes(e, &t, cases[i].bytes, cases[i].len);
		if (cases[i].bytes == truncated) {
			tc_fill(e, &t);
			if (t.eof)
				FAIL("%s: closed before the hang-up", cases[i].name);
			shutdown(t.fd, SHUT_WR);
		}
		tc_fill(e, &t);
		if (!t.eof)
			FAIL("%s: the connection stays open", cases[i].name);
		if (e->c1.sc->controlled || !list_empty(&e->c1.sc->handles))
			FAIL("%s: control or devices were not released", cases[i].name);
		tc_close(e, &t);
	}
}

TEST(seat_requests_without_a_seat)
{
	static const uint16_t ops[] = { SEATD_CLIENT_CLOSE_SEAT, SEATD_CLIENT_DISABLE_SEAT };

	SETUP(e);
	for (size_t i = 0; i < ARRAY_SIZE(ops); i++) {
		struct tclient t;

		ASSERT_EQ_INT(0, tc_connect(e, &t));
		tc_simple(e, &t, ops[i]);
		tc_fill(e, &t);
		ASSERT_TRUE(t.eof);
		tc_close(e, &t);
	}
	{
		struct tclient t;

		ASSERT_EQ_INT(0, tc_connect(e, &t));
		tc_open(e, &t, "/dev/null");
		tc_fill(e, &t);
		ASSERT_TRUE(t.eof);
		tc_close(e, &t);
	}
}

TEST(fds_sent_by_a_client_are_closed)
{
	uint8_t ping[4];
	struct seatd_request req = { .opcode = SEATD_CLIENT_PING };
	struct tclient t;
	int p[2];
	char c;

	SETUP(e);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	ASSERT_EQ_INT(0, pipe2(p, O_CLOEXEC | O_NONBLOCK));
	ASSERT_EQ_INT(4, seatd_write_request(ping, sizeof(ping), &req));
	ASSERT_EQ_INT(4, fd_pass_send(t.fd, ping, sizeof(ping), &p[1], 1));
	close(p[1]);
	pump(e);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_PONG, NULL, NULL));
	/* The write end's last copy was the server's: closed means EOF. */
	ASSERT_EQ_INT(0, read(p[0], &c, 1));
	close(p[0]);
	tc_close(e, &t);
}

/* A peer outside the container is hung up on at once, before it can send
 * a byte, and however many there are, none takes a connection slot. */
TEST(peer_outside_the_container_is_refused)
{
	struct pidns_id ours;
	struct tclient outsiders[SEATD_MAX_CLIENTS + 8], t;

	SETUP(e);
	switch_to(e, &e->c1);
	ours = e->c1.pidns;
	/* A namespace no process is in: the test is outside it. */
	e->c1.pidns = (struct pidns_id) { .dev = 0, .ino = 1 };
	for (size_t i = 0; i < ARRAY_SIZE(outsiders); i++) {
		ASSERT_EQ_INT(0, tc_connect(e, &outsiders[i]));
		tc_fill(e, &outsiders[i]);
		if (!outsiders[i].eof)
			FAIL("outsider %zu: the connection stays open", i);
	}
	if (e->c1.sc->controlled || !list_empty(&e->c1.sc->handles))
		FAIL("an outsider changed the container");
	for (size_t i = 0; i < ARRAY_SIZE(outsiders); i++)
		tc_close(e, &outsiders[i]);

	/* The container's own client is served afterwards. */
	e->c1.pidns = ours;
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	tc_close(e, &t);
}

TEST(too_many_devices)
{
	enum { N = SEATD_MAX_DEVICES + 1 };
	char path[128];
	struct tclient t;

	SETUP(e);
	/* N distinct device numbers need N nodes: made with mknod, which
	 * needs CAP_MKNOD. */
	for (int i = 0; i < N; i++) {
		snprintf(path, sizeof(path), "%s/n%d", e->dir, i);
		if (mknod(path, S_IFCHR | 0600, makedev(250, i)) < 0) {
			if (errno == EPERM)
				SKIP("mknod needs CAP_MKNOD");
			FAIL("mknod: %s", strerror(errno));
		}
		snprintf(path, sizeof(path), "event%d", 100 + i);
		ASSERT_EQ_INT(0, seat_add_device(e->seat, path, makedev(250, i), SEAT_DEVICE_EVDEV, NULL));
	}
	switch_to(e, &e->c1);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
	for (int i = 0; i < N - 1; i++) {
		snprintf(path, sizeof(path), "%s/n%d", e->dir, i);
		if (tc_open_ok(e, &t, path, NULL) <= 0)
			FAIL("device %d refused", i);
	}
	snprintf(path, sizeof(path), "%s/n%d", e->dir, N - 1);
	tc_open(e, &t, path);
	ASSERT_TRUE(tc_expect_error(e, &t, EMFILE));
	ASSERT_EQ_INT(SEATD_MAX_DEVICES, list_length(&e->c1.sc->handles));
	/* An already open one still counts as opened again. */
	snprintf(path, sizeof(path), "%s/n0", e->dir);
	ASSERT_TRUE(tc_open_ok(e, &t, path, NULL) > 0);
	tc_close(e, &t);
}

TEST(unread_messages_are_bounded)
{
	uint8_t pings[64 * 4];
	struct seatd_request req = { .opcode = SEATD_CLIENT_PING };
	struct tclient t;
	bool eof = false;

	SETUP(e);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	/* Pings without reading a single pong: once the socket is full and
	 * the queue too, the server gives up on the client. */
	for (size_t i = 0; i < ARRAY_SIZE(pings) / 4; i++)
		seatd_write_request(pings + 4 * i, 4, &req);
	for (int round = 0; round < 400; round++) {
		if (send(t.fd, pings, sizeof(pings), MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
			break;
		pump(e);
	}
	for (int i = 0; i < 100000 && !eof; i++) {
		char junk[65536];
		ssize_t n;

		pump(e);
		n = recv(t.fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n == 0)
			eof = true;
		else if (n < 0)
			break;
	}
	ASSERT_TRUE(eof);
	tc_close(e, &t);
}

TEST(server_freed_with_clients)
{
	struct tclient t;

	SETUP(e);
	switch_to(e, &e->c1);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
	ASSERT_TRUE(tc_open_ok(e, &t, "/dev/null", NULL) > 0);
	/* As container_free: control released, then the server freed while
	 * the client is still connected. */
	container_release_control(&e->c1);
	seatd_server_free(e->srv);
	e->srv = NULL;
	ASSERT_EQ_INT(-1, access(e->sock, F_OK));
	tc_fill(e, &t);
	ASSERT_TRUE(t.eof);
	tc_close(e, &t);
}

/* ---------------------------------------------------------------- restart */

/* A datagram socket in place of systemd's notify socket: what the server
 * keeps in the fd store arrives here, and the test hands it back to the
 * next server as a restarted devnsd gets it. */
struct store {
	int fd;
	char path[108]; /* sun_path */
};

static void store_free(void *data)
{
	struct store *st = data;

	unsetenv("NOTIFY_SOCKET");
	if (st->fd >= 0)
		close(st->fd);
	free(st);
}

static struct store *store_setup(struct env *e)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct store *st = calloc(1, sizeof(*st));

	if (!st)
		return NULL;
	test_defer(store_free, st);
	if ((size_t)snprintf(st->path, sizeof(st->path), "%s/notify", e->dir) >= sizeof(st->path))
		return NULL;
	memcpy(sa.sun_path, st->path, sizeof(st->path));
	st->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (st->fd < 0 || bind(st->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return NULL;
	setenv("NOTIFY_SOCKET", st->path, 1);
	return st;
}

/* The next message to the store: 1 for FDSTORE=1 (its name and fds, which
 * the caller owns), 2 for FDSTOREREMOVE=1 (its name), 0 for none. */
static int store_next(struct store *st, char *name, size_t size, int *fds, size_t *n_fds)
{
	char buf[512], *p;
	ssize_t n = fd_pass_recv(st->fd, buf, sizeof(buf) - 1, fds, 4, n_fds, NULL);

	if (n <= 0)
		return 0;
	buf[n] = '\0';
	p = strstr(buf, "FDNAME=");
	snprintf(name, size, "%.*s", p ? (int)strcspn(p + 7, "\n") : 0, p ? p + 7 : "");
	if (strstr(buf, "FDSTOREREMOVE=1"))
		return 2;
	return strstr(buf, "FDSTORE=1") ? 1 : 0;
}

/* The next message to the store about a name that starts with prefix; the
 * files of the others are closed. */
static int store_next_of(struct store *st, const char *prefix, char *name, size_t size,
			 int *fds, size_t *n_fds)
{
	int r;

	while ((r = store_next(st, name, size, fds, n_fds)) != 0) {
		if (strncmp(name, prefix, strlen(prefix)) == 0)
			return r;
		for (size_t i = 0; r == 1 && i < *n_fds; i++)
			close(fds[i]);
	}
	return 0;
}

/* A client with the seat open and the card taken; returns the stored
 * connection (name "seatd.c1.1", its fds in fds[0..2)). */
static bool stored_client(struct env *e, struct store *st, struct tclient *t, int *fds)
{
	char name[64];
	size_t n = 0;

	if (tc_connect(e, t) != 0)
		return false;
	if (store_next(st, name, sizeof(name), fds, &n) != 1 || strcmp(name, "seatd.c1.1") != 0 ||
	    n != 2) {
		EXPECT_FAIL("the connection was not stored as seatd.c1.1 with 2 fds (%s, %zu)", name, n);
		return false;
	}
	tc_simple(e, t, SEATD_CLIENT_OPEN_SEAT);
	return tc_expect(e, t, SEATD_SERVER_SEAT_OPENED, NULL, NULL) &&
	       tc_expect(e, t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL) &&
	       tc_open_ok(e, t, "/dev/null", NULL) == 1;
}

/* devnsd gone: its server and everything it held in memory (the seat's
 * state of c1 goes with it; a restarted devnsd builds it anew). Only the
 * store's copies keep the connection open. */
static void server_crash(struct env *e)
{
	container_release_control(&e->c1);
	seatd_server_free(e->srv);
	e->srv = NULL;
	pump(e);
}

/* The next devnsd: a new server that takes the stored files back. */
static bool server_restart(struct env *e, int *fds)
{
	int r;

	if (fd_store_hand_back("seatd.c1.1", fds[0]) < 0 ||
	    fd_store_hand_back("seatd.c1.1", fds[1]) < 0)
		return false;
	r = seatd_server_new(&e->c1, e->sock, &e->srv);
	if (r < 0) {
		EXPECT_FAIL("seatd_server_new: %s", strerror(-r));
		return false;
	}
	seatd_server_resume(e->srv);
	fd_store_drop_unclaimed();
	pump(e);
	return true;
}

TEST(a_restart_loses_nothing)
{
	struct seatd_request req = { .opcode = SEATD_CLIENT_OPEN_DEVICE };
	uint8_t buf[SEATD_MAX_MESSAGE];
	struct seatd_reply rep;
	struct store *st;
	struct tclient t;
	int fds[2], fd = -1, queued = -1;
	ssize_t n;

	SETUP(e);
	ASSERT_NOT_NULL(st = store_setup(e));
	switch_to(e, &e->c1);
	ASSERT_TRUE(stored_client(e, st, &t, fds));
	/* Half a request stays in the socket, where a crash cannot lose it. */
	snprintf(req.path, sizeof(req.path), "/dev/zero");
	n = seatd_write_request(buf, sizeof(buf), &req);
	ASSERT_TRUE(n > 6);
	tc_send_bytes(e, &t, buf, 6);
	ASSERT_EQ_INT(0, ioctl(fds[0], FIONREAD, &queued));
	ASSERT_EQ_INT(6, queued);
	tc_send_bytes(e, &t, buf + 6, (size_t)n - 6);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DEVICE_OPENED, &rep, &fd));
	ASSERT_EQ_INT(2, rep.device_id);
	close(fd);
	tc_close_device(e, &t, 2);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DEVICE_CLOSED, NULL, NULL));

	server_crash(e);
	/* While devnsd is away the client writes on: half a request... */
	tc_send_bytes(e, &t, buf, 6);

	ASSERT_TRUE(server_restart(e, fds));
	/* Nothing changed for the client: nothing to tell it. */
	ASSERT_TRUE(tc_expect_nothing(e, &t));
	ASSERT_TRUE(e->c1.sc->controlled);
	/* ...and the rest: the whole request is read, and the device gets the
	 * next id the client has not seen. */
	tc_send_bytes(e, &t, buf + 6, (size_t)n - 6);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DEVICE_OPENED, &rep, &fd));
	ASSERT_EQ_INT(3, rep.device_id);
	ASSERT_TRUE(fd >= 0);
	close(fd);
	/* The card keeps its id. */
	tc_close_device(e, &t, 1);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DEVICE_CLOSED, NULL, NULL));
	/* The same connection follows the next switch. */
	switch_to(e, &e->c2);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DISABLE_SEAT, NULL, NULL));
	tc_close(e, &t);
}

TEST(a_switch_while_devnsd_was_away_is_told_after_the_restart)
{
	struct store *st;
	struct tclient t;
	int fds[2];

	SETUP(e);
	ASSERT_NOT_NULL(st = store_setup(e));
	switch_to(e, &e->c1);
	ASSERT_TRUE(stored_client(e, st, &t, fds));
	server_crash(e);
	/* c1 has no controller meanwhile: the switch does not wait. */
	switch_to(e, &e->c2);
	ASSERT_TRUE(server_restart(e, fds));
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_DISABLE_SEAT, NULL, NULL));
	tc_simple(e, &t, SEATD_CLIENT_DISABLE_SEAT);
	switch_to(e, &e->c1);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_ENABLE_SEAT, NULL, NULL));
	tc_close(e, &t);
}

TEST(a_damaged_stored_state_drops_the_connection)
{
	static const uint8_t junk[16] = { 1, 2, 3 };
	char name[64];
	struct store *st;
	struct tclient t;
	size_t n = 0;
	int fds[2], r;

	SETUP(e);
	ASSERT_NOT_NULL(st = store_setup(e));
	switch_to(e, &e->c1);
	ASSERT_TRUE(stored_client(e, st, &t, fds));
	server_crash(e);
	/* Drain what the crash sent the store. */
	while ((r = store_next(st, name, sizeof(name), fds, &n)) == 2)
		;
	ASSERT_EQ_INT(0, r);
	ASSERT_EQ_INT((int)sizeof(junk), (int)pwrite(fds[1], junk, sizeof(junk), 0));
	ASSERT_TRUE(server_restart(e, fds));
	ASSERT_FALSE(e->c1.sc->controlled);
	tc_fill(e, &t);
	ASSERT_TRUE(t.eof);
	/* ...and dropped from the store too. */
	ASSERT_EQ_INT(2, store_next_of(st, "seatd.", name, sizeof(name), fds, &n));
	ASSERT_EQ_STR("seatd.c1.1", name);
	tc_close(e, &t);
}

/* A client that connects while devnsd is away waits in the listening
 * socket's backlog, which the store keeps, for the next devnsd. */
TEST(a_client_connecting_during_a_restart_is_served_by_the_next_devnsd)
{
	char name[64];
	struct store *st;
	struct tclient t;
	size_t n = 0;
	int lfd;

	SETUP(e);
	ASSERT_NOT_NULL(st = store_setup(e));
	switch_to(e, &e->c1);
	/* A server made with the store there: its listening socket is kept. */
	server_crash(e);
	ASSERT_EQ_INT(0, seatd_server_new(&e->c1, e->sock, &e->srv));
	ASSERT_EQ_INT(1, store_next_of(st, "listen.", name, sizeof(name), &lfd, &n));
	ASSERT_EQ_STR("listen.c1.seatd.sock", name);
	ASSERT_EQ_INT(1, (int)n);

	/* Connected, not yet accepted: devnsd dies before it gets to it. */
	memset(&t, 0, sizeof(t));
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		strcpy(sa.sun_path, e->sock);
		t.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ASSERT_TRUE(t.fd >= 0);
		ASSERT_EQ_INT(0, connect(t.fd, (struct sockaddr *)&sa, sizeof(sa)));
	}
	seatd_server_free(e->srv);
	e->srv = NULL;

	ASSERT_EQ_INT(0, fd_store_hand_back("listen.c1.seatd.sock", lfd));
	ASSERT_EQ_INT(0, seatd_server_new(&e->c1, e->sock, &e->srv));
	fd_store_drop_unclaimed();
	pump(e);
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	tc_close(e, &t);
}

static void server_freep(struct seatd_server **srv)
{
	seatd_server_free(*srv);
}

TEST(socket_path_longer_than_sun_path)
{
	char deep[256], sock[300], via[128];
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_(server_freep) struct seatd_server *srv = NULL;
	struct tclient t;
	int dirfd, r;

	SETUP(e);
	/* A long runtime directory and a 64-character container name. */
	snprintf(deep, sizeof(deep), "%s/a-longer-runtime-directory", e->dir);
	ASSERT_EQ_INT(0, mkdir(deep, 0755));
	snprintf(deep + strlen(deep), sizeof(deep) - strlen(deep), "/%s",
		 "c1234567890123456789012345678901234567890123456789012345678901234");
	ASSERT_EQ_INT(0, mkdir(deep, 0755));
	snprintf(sock, sizeof(sock), "%s/seatd.sock", deep);
	ASSERT_TRUE(strlen(sock) >= sizeof(sa.sun_path));
	r = seatd_server_new(&e->c1, sock, &srv);
	if (r < 0)
		FAIL("seatd_server_new with a %zu-byte path: %s", strlen(sock), strerror(-r));
	ASSERT_EQ_INT(0, access(sock, F_OK));

	/* A client in the container has a short path; here the same trick. */
	dirfd = open(deep, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ASSERT_TRUE(dirfd >= 0);
	snprintf(via, sizeof(via), "/proc/self/fd/%d/seatd.sock", dirfd);
	memset(&t, 0, sizeof(t));
	strcpy(sa.sun_path, via);
	t.fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_EQ_INT(0, connect(t.fd, (struct sockaddr *)&sa, sizeof(sa)));
	close(dirfd);
	pump(e);
	tc_simple(e, &t, SEATD_CLIENT_PING);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_PONG, NULL, NULL));
	tc_close(e, &t);

	seatd_server_free(TAKE_PTR(srv));
	ASSERT_EQ_INT(-1, access(sock, F_OK));
}

/* ---------------------------------------------------------------- paths */

TEST(resolve_in_root)
{
	const char *dir = test_tmpdir("test-seatd-root");
	char path[128];
	int rootfd, sysroot;
	dev_t devnum = 0;

	ASSERT_NOT_NULL(dir);
	snprintf(path, sizeof(path), "%s/dev", dir);
	ASSERT_EQ_INT(0, mkdir(path, 0755));
	snprintf(path, sizeof(path), "%s/dev/abs", dir);
	ASSERT_EQ_INT(0, symlink("/dev/null", path));
	snprintf(path, sizeof(path), "%s/dev/up", dir);
	ASSERT_EQ_INT(0, symlink("../../../../../../dev/null", path));
	snprintf(path, sizeof(path), "%s/file", dir);
	rootfd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
	ASSERT_TRUE(rootfd >= 0);
	close(rootfd);
	rootfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	ASSERT_TRUE(rootfd >= 0);

	/* Inside this root there is no /dev/null, however the path goes. */
	ASSERT_EQ_INT(-ENOENT, root_resolve_chrdev(rootfd, "/dev/null", &devnum));
	ASSERT_EQ_INT(-ENOENT, root_resolve_chrdev(rootfd, "/dev/abs", &devnum));
	ASSERT_EQ_INT(-ENOENT, root_resolve_chrdev(rootfd, "/dev/up", &devnum));
	ASSERT_EQ_INT(-ENOENT, root_resolve_chrdev(rootfd, "/../../../../dev/null", &devnum));
	ASSERT_EQ_INT(-ENODEV, root_resolve_chrdev(rootfd, "/file", &devnum));
	ASSERT_EQ_INT(-EINVAL, root_resolve_chrdev(rootfd, "file", &devnum));

	/* The real root has it. */
	sysroot = root_open_of_pid(getpid(), -1);
	ASSERT_TRUE(sysroot >= 0);
	ASSERT_EQ_INT(0, root_resolve_chrdev(sysroot, "/dev/null", &devnum));
	ASSERT_EQ_INT(CARD, devnum);
	ASSERT_EQ_INT(-ELOOP, root_resolve_chrdev(sysroot, "/proc/self/root/dev/null", &devnum));
	close(sysroot);
	close(rootfd);
}

TEST(root_of_an_exited_process)
{
	int pidfd;
	pid_t pid = fork();

	ASSERT_TRUE(pid >= 0);
	if (pid == 0)
		_exit(0);
	pidfd = pidfd_open(pid, 0);
	ASSERT_TRUE(pidfd >= 0);
	/* Exited but not reaped: /proc/PID/root may still open, the pidfd
	 * says the process is gone. */
	{
		struct pollfd p = { .fd = pidfd, .events = POLLIN };
		ASSERT_EQ_INT(1, poll(&p, 1, 10000));
	}
	ASSERT_TRUE(root_open_of_pid(pid, pidfd) < 0);
	close(pidfd);
	waitpid(pid, NULL, 0);
}

/* ------------------------------------------------------------ ControlUser */

#define CU_USER 4711u

static void set_control_user(struct container *c, uint32_t uid)
{
	static const struct broker_option control_user = { "ControlUser", BROKER_OPTION_UINT32 };

	c->options[0] = (struct broker_option_value) { &control_user, uid };
	c->n_options = 1;
}

/* tc_connect() with uid's credentials (fx_connect_as()). */
static int tc_connect_as(struct env *e, struct tclient *t, uid_t uid)
{
	memset(t, 0, sizeof(*t));
	t->fd = fx_connect_as(e->sock, uid);
	if (t->fd < 0)
		return t->fd;
	pump(e);
	return 0;
}

/* A user that is neither the ControlUser nor root: as root, nobody;
 * otherwise we, with the option set to another uid. */
static uid_t other_uid(void)
{
	return geteuid() == 0 ? FX_NOBODY : geteuid();
}

TEST(open_seat_control_user_refuses_other_uids)
{
	struct tclient t;

	SETUP(e);
	set_control_user(&e->c1, geteuid() == 0 ? CU_USER : geteuid() + 1);
	ASSERT_EQ_INT(0, tc_connect_as(e, &t, other_uid()));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect_error(e, &t, EPERM));
	ASSERT_FALSE(e->c1.sc->controlled);
	ASSERT_NULL(e->c1.controller_ops);
	/* The connection stays, as for any refused request. */
	tc_simple(e, &t, SEATD_CLIENT_PING);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_PONG, NULL, NULL));
	tc_close(e, &t);

	/* Without the option, the same user may. */
	e->c1.n_options = 0;
	ASSERT_EQ_INT(0, tc_connect_as(e, &t, other_uid()));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(e->c1.sc->controlled);
	tc_close(e, &t);
}

TEST(open_seat_control_user_admits_its_user)
{
	uid_t user = geteuid() == 0 ? CU_USER : geteuid();
	struct tclient t;

	SETUP(e);
	set_control_user(&e->c1, user);
	ASSERT_EQ_INT(0, tc_connect_as(e, &t, user));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(e->c1.sc->controlled);
	tc_close(e, &t);
}

static void open_seat_as_root(void)
{
	struct tclient t;

	SETUP(e);
	set_control_user(&e->c1, CU_USER);
	ASSERT_EQ_INT(0, tc_connect(e, &t));
	tc_simple(e, &t, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_TRUE(tc_expect(e, &t, SEATD_SERVER_SEAT_OPENED, NULL, NULL));
	ASSERT_TRUE(e->c1.sc->controlled);
	tc_close(e, &t);
}

/* Root of the container (here, of our own user namespace) may as well. */
TEST(open_seat_control_user_admits_root)
{
	fx_as_root(open_seat_as_root);
}

TEST_MAIN
