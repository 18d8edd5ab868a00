/* SPDX-License-Identifier: MIT */
/*
 * The seat state machine against a fake struct seat_ops.
 *
 * The fake records every call, in order, as a line of a log ("revoke
 * c1/event3", "pause c1/card0 pause", "kernel c2", "done r1 0", ...), so a test
 * states the exact sequence of effects a transition must have. It can be told
 * to make one operation fail ("set" on "c2/card0" returns -EBUSY).
 *
 * It also models the device side: which handles hold DRM master or a live
 * evdev fd, after every open, revoke, drop, set and reopen. Whenever a handle
 * becomes live while a handle of another container is live, whenever a
 * "force" pause is sent for a handle that is still live, and after every
 * finished switch request (the seat invariant: the active container has all
 * its handles live, every other container all its handles paused, never two
 * containers live), a broken rule fails the running test at once.
 *
 * Switch requests carry a string as cookie, logged by switch_done.
 *
 * Leases: the fake's device_leased says yes for the (container, card) pairs
 * given with fake_lease(). A lease handle is live on the device side from its
 * open to its close whatever happens, and does not count in the rules above;
 * while a card has a lease no other handle of it may hold master.
 */
#include <errno.h>
#include <stdarg.h>
#include <sys/sysmacros.h>

#include "common/macro.h"
#include "seat/seat.h"
#include "test.h"

#define CARD0 makedev(226, 0)
#define CARD1 makedev(226, 1)
#define EV3 makedev(13, 67)
#define EV4 makedev(13, 68)

#define FAKE_LOG_MAX 256
#define FAKE_LINE_MAX 96
#define FAKE_OPEN_MAX 64
#define FAKE_FAIL_MAX 4

struct fake_open {
	struct seat_handle *h;
	bool live; /* master held / fd not revoked */
};

struct fake_fail {
	const char *op;   /* "open", "revoke", "drop", "set", "reopen", "kernel" */
	const char *what; /* "c2/card0", or a container name or "none" for "kernel" */
	int r;
};

struct fake {
	struct seat *seat;
	struct seat_container *c1, *c2, *c3;

	char log[FAKE_LOG_MAX][FAKE_LINE_MAX];
	unsigned n_log;

	struct fake_fail fails[FAKE_FAIL_MAX];
	unsigned n_fails;

	struct fake_open open[FAKE_OPEN_MAX];
	unsigned n_open;
	int next_fd;

	uint64_t timer; /* armed timeout, 0 when disarmed */
	unsigned timer_arms;

	/* handles_changed, apart from the log: "c1 wait", "c2 go", ... */
	char changed[16][FAKE_LINE_MAX];
	unsigned n_changed;

	/* "c1/card1": c1's outputs are on card1 */
	char leased[4][FAKE_LINE_MAX];
	unsigned n_leased;
};

static const char *errname(int r)
{
	static char buf[16];

	switch (-r) {
	case 0: return "0";
	case EALREADY: return "-EALREADY";
	case EBUSY: return "-EBUSY";
	case EEXIST: return "-EEXIST";
	case EINVAL: return "-EINVAL";
	case EIO: return "-EIO";
	case ENODEV: return "-ENODEV";
	case ENOTCONN: return "-ENOTCONN";
	case EACCES: return "-EACCES";
	case ESHUTDOWN: return "-ESHUTDOWN";
	case ESRCH: return "-ESRCH";
	}
	snprintf(buf, sizeof(buf), "%d", r);
	return buf;
}

static const char *cname(const struct seat_container *c)
{
	return c ? c->name : "none";
}

__attribute__((format(printf, 2, 3)))
static void fake_logf(struct fake *f, const char *fmt, ...)
{
	va_list ap;

	if (f->n_log == FAKE_LOG_MAX) {
		EXPECT_FAIL("call log full");
		return;
	}
	va_start(ap, fmt);
	vsnprintf(f->log[f->n_log++], FAKE_LINE_MAX, fmt, ap);
	va_end(ap);
}

static void fake_log_clear(struct fake *f)
{
	f->n_log = 0;
}

static void fake_log_dump(struct fake *f)
{
	printf("#   actual calls:\n");
	for (unsigned i = 0; i < f->n_log; i++)
		printf("#     %s\n", f->log[i]);
}

static int fake_log_index(struct fake *f, const char *line)
{
	for (unsigned i = 0; i < f->n_log; i++)
		if (strcmp(f->log[i], line) == 0)
			return (int)i;
	return -1;
}

static unsigned fake_log_count_prefix(struct fake *f, const char *prefix)
{
	unsigned n = 0;

	for (unsigned i = 0; i < f->n_log; i++)
		n += strncmp(f->log[i], prefix, strlen(prefix)) == 0;
	return n;
}

/* The log is exactly exp (NULL-terminated); clears it. */
static bool fake_log_is(struct fake *f, const char *file, int line,
			const char *const *exp)
{
	unsigned n = 0;
	bool same;

	while (exp[n])
		n++;
	same = n == f->n_log;
	for (unsigned i = 0; same && i < n; i++)
		same = strcmp(exp[i], f->log[i]) == 0;
	if (!same) {
		test_fail_at(file, line, "call log differs");
		printf("#   expected calls:\n");
		for (unsigned i = 0; i < n; i++)
			printf("#     %s\n", exp[i]);
		fake_log_dump(f);
	}
	fake_log_clear(f);
	return same;
}

/* exp (NULL-terminated) appears in the log in this order, maybe with other
 * calls between; does not clear it. */
static bool fake_log_has(struct fake *f, const char *file, int line,
			 const char *const *exp)
{
	unsigned i = 0, j = 0;

	for (; exp[j] && i < f->n_log; i++)
		if (strcmp(exp[j], f->log[i]) == 0)
			j++;
	if (exp[j]) {
		test_fail_at(file, line, "call \"%s\" missing or out of order", exp[j]);
		fake_log_dump(f);
		return false;
	}
	return true;
}

#define EXPECT_CALLS(f, ...)                                                   \
	do {                                                                   \
		if (!fake_log_is(f, __FILE__, __LINE__,                        \
				 (const char *const[]){ __VA_ARGS__, NULL }))  \
			return;                                                \
	} while (0)

#define EXPECT_NO_CALLS(f)                                                     \
	do {                                                                   \
		if (!fake_log_is(f, __FILE__, __LINE__,                        \
				 (const char *const[]){ NULL }))               \
			return;                                                \
	} while (0)

#define EXPECT_CALLS_IN_ORDER(f, ...)                                          \
	do {                                                                   \
		if (!fake_log_has(f, __FILE__, __LINE__,                       \
				  (const char *const[]){ __VA_ARGS__, NULL })) \
			return;                                                \
	} while (0)

#define EXPECT_NOT_CALLED(f, line)                                             \
	do {                                                                   \
		if (fake_log_index(f, line) >= 0) {                            \
			test_fail_at(__FILE__, __LINE__, "unexpected call \"%s\"", \
				     line);                                    \
			fake_log_dump(f);                                      \
			return;                                                \
		}                                                              \
	} while (0)

static void fake_fail_op(struct fake *f, const char *op, const char *what, int r)
{
	if (f->n_fails == FAKE_FAIL_MAX)
		abort();
	f->fails[f->n_fails++] = (struct fake_fail){ op, what, r };
}

static int fake_result(struct fake *f, const char *op, const char *what)
{
	for (unsigned i = 0; i < f->n_fails; i++)
		if (strcmp(f->fails[i].op, op) == 0 && strcmp(f->fails[i].what, what) == 0)
			return f->fails[i].r;
	return 0;
}

static const char *hname(const struct seat_handle *h, char *buf, size_t n)
{
	snprintf(buf, n, "%s/%s", h->container->name, h->device->sysname);
	return buf;
}

#define HNAME(h) hname(h, (char[FAKE_LINE_MAX]){ 0 }, FAKE_LINE_MAX)

static struct fake_open *fake_find_open(struct fake *f, const struct seat_handle *h)
{
	for (unsigned i = 0; i < f->n_open; i++)
		if (f->open[i].h == h)
			return &f->open[i];
	return NULL;
}

/* h just became live: no other container may hold anything live, and no
 * card with a lease may give master to anything but the lease. */
static void fake_check_exclusive(struct fake *f, const struct seat_handle *h)
{
	if (h->lease)
		return;
	if (h->device->type == SEAT_DEVICE_DRM && h->device->leases > 0)
		EXPECT_FAIL("%s got master of a card with %u leases", HNAME(h),
			    h->device->leases);
	for (unsigned i = 0; i < f->n_open; i++) {
		const struct seat_handle *o = f->open[i].h;
		if (f->open[i].live && !o->lease && o->container != h->container)
			EXPECT_FAIL("%s became live while %s is live", HNAME(h), HNAME(o));
	}
}

static struct fake_open *fake_expect_open(struct fake *f, const struct seat_handle *h,
					  const char *op)
{
	struct fake_open *o = fake_find_open(f, h);

	if (!o)
		EXPECT_FAIL("%s on %s, which is not open", op, HNAME(h));
	return o;
}

static void fake_expect_type(const struct seat_handle *h, enum seat_device_type t,
			     const char *op)
{
	if (h->device->type != t)
		EXPECT_FAIL("%s on %s, a %s device", op, HNAME(h),
			    seat_device_type_to_string(h->device->type));
}

static int fake_handle_open(void *ud, struct seat_handle *h, bool live)
{
	struct fake *f = ud;
	int r = fake_result(f, "open", HNAME(h));

	fake_logf(f, "open %s %s", HNAME(h), live ? "live" : "paused");
	if (r < 0)
		return r;
	if (fake_find_open(f, h))
		EXPECT_FAIL("%s opened twice", HNAME(h));
	if (f->n_open == FAKE_OPEN_MAX)
		abort();
	if (live)
		fake_check_exclusive(f, h);
	f->open[f->n_open++] = (struct fake_open){ h, live };
	h->fd = f->next_fd++;
	return 0;
}

static void fake_handle_close(void *ud, struct seat_handle *h)
{
	struct fake *f = ud;
	struct fake_open *o = fake_expect_open(f, h, "close");

	fake_logf(f, "close %s", HNAME(h));
	if (o)
		*o = f->open[--f->n_open];
	h->fd = -1;
}

static int fake_handle_revoke(void *ud, struct seat_handle *h)
{
	struct fake *f = ud;
	struct fake_open *o = fake_expect_open(f, h, "revoke");
	int r = fake_result(f, "revoke", HNAME(h));

	fake_logf(f, "revoke %s", HNAME(h));
	fake_expect_type(h, SEAT_DEVICE_EVDEV, "revoke");
	if (r < 0)
		return r;
	if (o)
		o->live = false;
	return 0;
}

static int fake_handle_drop_master(void *ud, struct seat_handle *h)
{
	struct fake *f = ud;
	struct fake_open *o = fake_expect_open(f, h, "drop");
	int r = fake_result(f, "drop", HNAME(h));

	fake_logf(f, "drop %s", HNAME(h));
	fake_expect_type(h, SEAT_DEVICE_DRM, "drop");
	if (r < 0)
		return r;
	if (o)
		o->live = false;
	return 0;
}

static int fake_handle_set_master(void *ud, struct seat_handle *h)
{
	struct fake *f = ud;
	struct fake_open *o = fake_expect_open(f, h, "set");
	int r = fake_result(f, "set", HNAME(h));

	fake_logf(f, "set %s", HNAME(h));
	fake_expect_type(h, SEAT_DEVICE_DRM, "set");
	if (r < 0)
		return r;
	fake_check_exclusive(f, h);
	if (o)
		o->live = true;
	return 0;
}

static int fake_handle_reopen(void *ud, struct seat_handle *h)
{
	struct fake *f = ud;
	struct fake_open *o = fake_expect_open(f, h, "reopen");
	int r = fake_result(f, "reopen", HNAME(h));

	fake_logf(f, "reopen %s", HNAME(h));
	fake_expect_type(h, SEAT_DEVICE_EVDEV, "reopen");
	if (r < 0)
		return r;
	fake_check_exclusive(f, h);
	if (o)
		o->live = true;
	h->fd = f->next_fd++;
	return 0;
}

static int fake_kernel_activate(void *ud, struct seat *s, struct seat_container *c)
{
	struct fake *f = ud;

	fake_logf(f, "kernel %s", cname(c));
	return fake_result(f, "kernel", cname(c));
}

static void fake_notify_pause(void *ud, struct seat_handle *h, enum seat_pause_type type)
{
	struct fake *f = ud;
	struct fake_open *o = fake_find_open(f, h);

	fake_logf(f, "pause %s %s", HNAME(h), seat_pause_type_to_string(type));
	if (h->lease && type != SEAT_PAUSE_GONE)
		EXPECT_FAIL("pause of the lease %s", HNAME(h));
	if (type == SEAT_PAUSE_FORCE && (h->state != SEAT_HANDLE_PAUSED || (o && o->live)))
		EXPECT_FAIL("\"force\" pause of %s, which is still live", HNAME(h));
	if (type == SEAT_PAUSE_PAUSE && h->state != SEAT_HANDLE_PAUSING)
		EXPECT_FAIL("\"pause\" of %s, which is not pausing", HNAME(h));
}

static void fake_notify_resume(void *ud, struct seat_handle *h)
{
	struct fake *f = ud;
	struct fake_open *o = fake_find_open(f, h);

	fake_logf(f, "resume %s", HNAME(h));
	/* A card file beside a lease is resumed without master. */
	if (h->state != SEAT_HANDLE_LIVE || !o ||
	    (!o->live && (h->device->type == SEAT_DEVICE_EVDEV || seat_handle_gets_master(h))))
		EXPECT_FAIL("resume of %s, which is not live", HNAME(h));
	if (h->lease)
		EXPECT_FAIL("resume of the lease %s", HNAME(h));
}

static void fake_pause_forced(void *ud, struct seat_handle *h)
{
	fake_logf(ud, "forced %s", HNAME(h));
}

/* Like the broker's timer: disarming one that is not armed is no event, so
 * it is not logged. */
static void fake_timer_set(void *ud, struct seat *s, uint64_t usec)
{
	struct fake *f = ud;

	if (usec > 0 || f->timer > 0)
		fake_logf(f, "timer %" PRIu64, usec);
	f->timer = usec;
	f->timer_arms += usec > 0;
}

static const char *state_name(enum seat_handle_state st)
{
	return st == SEAT_HANDLE_LIVE ? "live" : st == SEAT_HANDLE_PAUSING ? "pausing" : "paused";
}

/* The seat invariant between switches: the active container (if any) has
 * every handle live, on the seat's books and on the device side; every other
 * container has every handle paused; at most one container is live. */
static bool fake_check_seat(struct fake *f, const char *when)
{
	struct seat *s = f->seat;
	struct seat_container *c;
	struct seat_handle *h;
	unsigned live_containers = 0;
	bool ok = true, active_listed = s->active == NULL;

	list_for_each(c, &s->containers, link) {
		bool want_live = c == s->active, any_live = false;
		enum seat_handle_state want_state = want_live ? SEAT_HANDLE_LIVE : SEAT_HANDLE_PAUSED;

		active_listed |= want_live;
		if (seat_container_is_live(c) != want_live) {
			EXPECT_FAIL("%s: seat_container_is_live(%s) is %d", when, c->name,
				    !want_live);
			ok = false;
		}
		list_for_each(h, &c->handles, link) {
			struct fake_open *o = fake_find_open(f, h);
			enum seat_handle_state want = h->lease ? SEAT_HANDLE_LIVE : want_state;
			/* A lease is live on the device whatever; a card file
			 * beside a lease never is. */
			bool want_device_live = h->lease ||
				(want_live && (h->device->type == SEAT_DEVICE_EVDEV ||
					       h->device->leases == 0));

			/* Unplugged: paused until its remove event. */
			if (fake_result(f, "reopen", HNAME(h)) == -ENODEV && h->state == SEAT_HANDLE_PAUSED)
				continue;
			if (h->state != want) {
				EXPECT_FAIL("%s: %s is %s, expected %s", when, HNAME(h),
					    state_name(h->state), state_name(want));
				ok = false;
			}
			if (!o) {
				EXPECT_FAIL("%s: %s is not open", when, HNAME(h));
				ok = false;
			} else if (o->live != want_device_live) {
				EXPECT_FAIL("%s: %s is %s on the device side", when, HNAME(h),
					    o->live ? "live" : "revoked");
				ok = false;
			}
			any_live |= o && o->live && !h->lease;
		}
		live_containers += any_live;
	}
	if (live_containers > 1) {
		EXPECT_FAIL("%s: %u containers are live", when, live_containers);
		ok = false;
	}
	if (!active_listed) {
		EXPECT_FAIL("%s: the active container is not one of the seat's", when);
		ok = false;
	}
	if (s->current || s->leaving || s->pending_acks) {
		EXPECT_FAIL("%s: the seat is not idle", when);
		ok = false;
	}
	return ok;
}

#define CHECK_SEAT(f)                                   \
	do {                                            \
		if (!fake_check_seat(f, "seat"))        \
			return;                         \
	} while (0)

static void fake_switch_done(void *ud, struct seat *s, void *cookie, int r)
{
	struct fake *f = ud;
	char when[FAKE_LINE_MAX];

	fake_logf(f, "done %s %s", (const char *)cookie, errname(r));
	snprintf(when, sizeof(when), "after request %s", (const char *)cookie);
	/* Requests answered while the next one waits keep the seat busy. */
	if (!s->current)
		fake_check_seat(f, when);
}

static void fake_active_changed(void *ud, struct seat *s, struct seat_container *old)
{
	struct fake *f = ud;

	fake_logf(f, "active %s->%s", cname(old), cname(s->active));
	if (old == s->active)
		EXPECT_FAIL("active_changed without a change (%s)", cname(old));
}

static void fake_handles_changed(void *ud, struct seat_container *c)
{
	struct fake *f = ud;

	if (f->n_changed < ARRAY_SIZE(f->changed))
		snprintf(f->changed[f->n_changed++], FAKE_LINE_MAX, "%s %s", c->name,
			 c->seat->pending_acks ? "wait" : "go");
}

static bool fake_device_leased(void *ud, struct seat_container *c, struct seat_device *d)
{
	struct fake *f = ud;
	char name[FAKE_LINE_MAX];

	snprintf(name, sizeof(name), "%s/%s", c->name, d->sysname);
	for (unsigned i = 0; i < f->n_leased; i++)
		if (strcmp(f->leased[i], name) == 0)
			return true;
	return false;
}

static void fake_lease(struct fake *f, const char *container, const char *card)
{
	if (f->n_leased == ARRAY_SIZE(f->leased))
		abort();
	snprintf(f->leased[f->n_leased++], FAKE_LINE_MAX, "%s/%s", container, card);
}

static const struct seat_ops fake_ops = {
	.device_leased = fake_device_leased,
	.handle_open = fake_handle_open,
	.handle_close = fake_handle_close,
	.handle_revoke = fake_handle_revoke,
	.handle_drop_master = fake_handle_drop_master,
	.handle_set_master = fake_handle_set_master,
	.handle_reopen = fake_handle_reopen,
	.kernel_activate = fake_kernel_activate,
	.notify_pause = fake_notify_pause,
	.notify_resume = fake_notify_resume,
	.pause_forced = fake_pause_forced,
	.handles_changed = fake_handles_changed,
	.timer_set = fake_timer_set,
	.switch_done = fake_switch_done,
	.active_changed = fake_active_changed,
};

/* A seat "seat0" with card0, card1, event3 and event4, no container. */
static struct fake *fake_new(void)
{
	struct fake *f = calloc(1, sizeof(*f));

	if (!f || seat_new(&f->seat, "seat0", &fake_ops, f) < 0 ||
	    seat_add_device(f->seat, "card0", CARD0, SEAT_DEVICE_DRM, NULL) < 0 ||
	    seat_add_device(f->seat, "card1", CARD1, SEAT_DEVICE_DRM, NULL) < 0 ||
	    seat_add_device(f->seat, "event3", EV3, SEAT_DEVICE_EVDEV, NULL) < 0 ||
	    seat_add_device(f->seat, "event4", EV4, SEAT_DEVICE_EVDEV, NULL) < 0)
		abort();
	f->next_fd = 100;
	return f;
}

/* Removes everything (checking that every open handle gets closed). */
static void fake_freep(struct fake **fp)
{
	struct fake *f = *fp;
	struct seat *s;

	if (!f)
		return;
	s = f->seat;
	while (!list_empty(&s->containers))
		seat_remove_container(list_first(&s->containers, struct seat_container, link));
	while (!list_empty(&s->devices))
		seat_remove_device(list_first(&s->devices, struct seat_device, link));
	for (unsigned i = 0; i < f->n_open; i++)
		EXPECT_FAIL("%s was never closed", HNAME(f->open[i].h));
	seat_free(s);
	free(f);
}

#define FAKE(f) __attribute__((cleanup(fake_freep))) struct fake *f = fake_new()

static int sw(struct fake *f, struct seat_container *target, const char *cookie)
{
	return seat_switch(f->seat, SEAT_SWITCH_TO, target, (void *)cookie);
}

static int sw_kind(struct fake *f, enum seat_switch_kind kind, const char *cookie)
{
	return seat_switch(f->seat, kind, NULL, (void *)cookie);
}

static struct seat_handle *H(struct seat_container *c, dev_t devnum)
{
	return seat_container_find_handle(c, devnum);
}

/* Adds and controls c1, c2 and c3 (as many as n). */
static int add_containers(struct fake *f, unsigned n)
{
	struct seat_container **slot[] = { &f->c1, &f->c2, &f->c3 };
	static const char *const names[] = { "c1", "c2", "c3" };
	int r;

	for (unsigned i = 0; i < n; i++) {
		r = seat_add_container(f->seat, names[i], slot[i]);
		if (r < 0)
			return r;
		r = seat_container_take_control(*slot[i]);
		if (r < 0)
			return r;
	}
	return 0;
}

/* c takes each devnum of the 0-terminated list, in order. */
static int take(struct seat_container *c, ...)
{
	struct seat_handle *h;
	va_list ap;
	dev_t d;
	int r = 0;

	va_start(ap, c);
	while (r >= 0 && (d = va_arg(ap, dev_t)) != 0)
		r = seat_container_take_device(c, d, &h);
	va_end(ap);
	return r;
}

/*
 * c1 active holding card0, event3, event4; c2 holding the same, paused. The
 * DRM device comes first in each list, so that evdev being paused before DRM
 * is the seat's doing and not the list's. The log is cleared.
 */
static int setup_two(struct fake *f)
{
	int r;

	r = add_containers(f, 2);
	if (r >= 0)
		r = take(f->c1, CARD0, EV3, EV4, (dev_t)0);
	if (r >= 0)
		r = sw(f, f->c1, "r0");
	if (r >= 0)
		r = take(f->c2, CARD0, EV3, EV4, (dev_t)0);
	if (r >= 0 && f->seat->active != f->c1)
		r = -EIO;
	fake_log_clear(f);
	return r;
}

/* ------------------------------------------------------------------------ */
/* Devices and containers */

TEST(seat_new_defaults)
{
	FAKE(f);

	ASSERT_EQ_STR("seat0", f->seat->id);
	ASSERT_NULL(f->seat->active);
	ASSERT_EQ_INT(500000, f->seat->pause_timeout_usec);
	seat_set_pause_timeout(f->seat, 2000000);
	ASSERT_EQ_INT(2000000, f->seat->pause_timeout_usec);
	seat_free(NULL);
	EXPECT_NO_CALLS(f);
}

TEST(type_strings)
{
	ASSERT_EQ_STR("drm", seat_device_type_to_string(SEAT_DEVICE_DRM));
	ASSERT_EQ_STR("evdev", seat_device_type_to_string(SEAT_DEVICE_EVDEV));
	ASSERT_EQ_STR("pause", seat_pause_type_to_string(SEAT_PAUSE_PAUSE));
	ASSERT_EQ_STR("force", seat_pause_type_to_string(SEAT_PAUSE_FORCE));
	ASSERT_EQ_STR("gone", seat_pause_type_to_string(SEAT_PAUSE_GONE));
}

TEST(device_add_find_remove)
{
	FAKE(f);
	struct seat_device *d;
	dev_t card2 = makedev(226, 2);

	ASSERT_NULL(seat_find_device(f->seat, card2));
	ASSERT_EQ_INT(0, seat_add_device(f->seat, "card2", card2, SEAT_DEVICE_DRM, &d));
	ASSERT_NOT_NULL(d);
	ASSERT_EQ_PTR(d, seat_find_device(f->seat, card2));
	ASSERT_EQ_STR("card2", d->sysname);
	ASSERT_EQ_INT(card2, d->devnum);
	ASSERT_EQ_INT(SEAT_DEVICE_DRM, d->type);
	ASSERT_EQ_PTR(f->seat, d->seat);
	ASSERT_EQ_INT(5, list_length(&f->seat->devices));

	seat_remove_device(d);
	ASSERT_NULL(seat_find_device(f->seat, card2));
	ASSERT_NOT_NULL(seat_find_device(f->seat, CARD0));
	ASSERT_EQ_INT(4, list_length(&f->seat->devices));
	EXPECT_NO_CALLS(f);
}

TEST(device_duplicate_devnum)
{
	FAKE(f);
	struct seat_device *d = NULL;

	ASSERT_EQ_INT(-EEXIST, seat_add_device(f->seat, "card0", CARD0, SEAT_DEVICE_DRM, &d));
	ASSERT_EQ_INT(-EEXIST, seat_add_device(f->seat, "other", CARD0, SEAT_DEVICE_EVDEV, &d));
	ASSERT_NULL(d);
	ASSERT_EQ_INT(4, list_length(&f->seat->devices));
	ASSERT_EQ_STR("card0", seat_find_device(f->seat, CARD0)->sysname);
}

TEST(container_add_find_remove)
{
	FAKE(f);
	struct seat_container *a, *b;

	ASSERT_NULL(seat_find_container(f->seat, "a"));
	ASSERT_EQ_INT(0, seat_add_container(f->seat, "a", &a));
	ASSERT_EQ_INT(0, seat_add_container(f->seat, "b", &b));
	ASSERT_EQ_PTR(a, seat_find_container(f->seat, "a"));
	ASSERT_EQ_PTR(b, seat_find_container(f->seat, "b"));
	ASSERT_NULL(seat_find_container(f->seat, "c"));
	ASSERT_EQ_STR("a", a->name);
	ASSERT_EQ_PTR(f->seat, a->seat);
	ASSERT_FALSE(a->controlled);
	ASSERT_TRUE(list_empty(&a->handles));
	ASSERT_FALSE(seat_container_is_live(a));

	seat_remove_container(a);
	ASSERT_NULL(seat_find_container(f->seat, "a"));
	ASSERT_EQ_PTR(b, seat_find_container(f->seat, "b"));
	/* Neither held nor active: removing it has no effect outside. */
	EXPECT_NO_CALLS(f);
}

TEST(container_duplicate_name)
{
	FAKE(f);
	struct seat_container *a, *dup = NULL;

	ASSERT_EQ_INT(0, seat_add_container(f->seat, "a", &a));
	ASSERT_EQ_INT(-EEXIST, seat_add_container(f->seat, "a", &dup));
	ASSERT_NULL(dup);
	ASSERT_EQ_INT(1, list_length(&f->seat->containers));
	/* A removed name can be registered again. */
	seat_remove_container(a);
	ASSERT_EQ_INT(0, seat_add_container(f->seat, "a", &a));
}

TEST(container_nth_registration_order)
{
	FAKE(f);

	ASSERT_NULL(seat_container_nth(f->seat, 0));
	ASSERT_EQ_INT(0, add_containers(f, 3));
	ASSERT_EQ_PTR(f->c1, seat_container_nth(f->seat, 0));
	ASSERT_EQ_PTR(f->c2, seat_container_nth(f->seat, 1));
	ASSERT_EQ_PTR(f->c3, seat_container_nth(f->seat, 2));
	ASSERT_NULL(seat_container_nth(f->seat, 3));

	seat_remove_container(f->c2);
	ASSERT_EQ_PTR(f->c1, seat_container_nth(f->seat, 0));
	ASSERT_EQ_PTR(f->c3, seat_container_nth(f->seat, 1));
	ASSERT_NULL(seat_container_nth(f->seat, 2));
}

/* ------------------------------------------------------------------------ */
/* Control and devices */

TEST(take_control_twice)
{
	FAKE(f);
	struct seat_container *c;

	ASSERT_EQ_INT(0, seat_add_container(f->seat, "c1", &c));
	ASSERT_EQ_INT(0, seat_container_take_control(c));
	ASSERT_TRUE(c->controlled);
	ASSERT_EQ_INT(-EBUSY, seat_container_take_control(c));
	ASSERT_TRUE(c->controlled);
	seat_container_release_control(c);
	ASSERT_FALSE(c->controlled);
	ASSERT_EQ_INT(0, seat_container_take_control(c));
	EXPECT_NO_CALLS(f);
}

TEST(take_device_without_control)
{
	FAKE(f);
	struct seat_container *c;
	struct seat_handle *h = NULL;

	ASSERT_EQ_INT(0, seat_add_container(f->seat, "c1", &c));
	ASSERT_EQ_INT(-ENOTCONN, seat_container_take_device(c, CARD0, &h));
	ASSERT_NULL(h);
	ASSERT_NULL(H(c, CARD0));
	EXPECT_NO_CALLS(f);
}

TEST(take_device_unknown_devnum)
{
	FAKE(f);
	struct seat_handle *h = NULL;

	ASSERT_EQ_INT(0, add_containers(f, 1));
	ASSERT_EQ_INT(-ENODEV, seat_container_take_device(f->c1, makedev(226, 9), &h));
	ASSERT_EQ_INT(-ENODEV, seat_container_take_device(f->c1, makedev(1, 3), &h));
	ASSERT_NULL(h);
	ASSERT_TRUE(list_empty(&f->c1->handles));
	EXPECT_NO_CALLS(f);
}

TEST(take_device_twice)
{
	FAKE(f);
	struct seat_handle *h, *h2 = NULL;

	ASSERT_EQ_INT(0, add_containers(f, 1));
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, CARD0, &h));
	ASSERT_EQ_INT(-EALREADY, seat_container_take_device(f->c1, CARD0, &h2));
	ASSERT_NULL(h2);
	ASSERT_EQ_INT(1, list_length(&f->c1->handles));
	EXPECT_CALLS(f, "open c1/card0 paused");
}

TEST(take_device_inactive_is_paused)
{
	FAKE(f);
	struct seat_handle *card, *ev;

	ASSERT_EQ_INT(0, add_containers(f, 1));
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, CARD0, &card));
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, EV3, &ev));
	EXPECT_CALLS(f, "open c1/card0 paused", "open c1/event3 paused");
	ASSERT_EQ_PTR(card, H(f->c1, CARD0));
	ASSERT_EQ_PTR(ev, H(f->c1, EV3));
	ASSERT_EQ_PTR(f->c1, card->container);
	ASSERT_EQ_PTR(seat_find_device(f->seat, CARD0), card->device);
	ASSERT_EQ_INT(SEAT_HANDLE_PAUSED, card->state);
	ASSERT_EQ_INT(SEAT_HANDLE_PAUSED, ev->state);
	ASSERT_TRUE(card->fd >= 0);
	ASSERT_FALSE(seat_container_is_live(f->c1));
}

TEST(take_device_active_is_live)
{
	FAKE(f);
	struct seat_handle *card, *ev;

	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r"));
	ASSERT_TRUE(seat_container_is_live(f->c1));
	fake_log_clear(f);

	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, CARD0, &card));
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, EV3, &ev));
	ASSERT_EQ_INT(0, seat_container_take_device(f->c2, CARD0, &card));
	EXPECT_CALLS(f, "open c1/card0 live", "open c1/event3 live", "open c2/card0 paused");
	ASSERT_EQ_INT(SEAT_HANDLE_LIVE, H(f->c1, CARD0)->state);
	ASSERT_EQ_INT(SEAT_HANDLE_LIVE, H(f->c1, EV3)->state);
	ASSERT_EQ_INT(SEAT_HANDLE_PAUSED, H(f->c2, CARD0)->state);
	CHECK_SEAT(f);
}

TEST(take_device_open_fails)
{
	FAKE(f);
	struct seat_handle *h = NULL;

	ASSERT_EQ_INT(0, add_containers(f, 1));
	fake_fail_op(f, "open", "c1/card0", -EACCES);
	ASSERT_EQ_INT(-EACCES, seat_container_take_device(f->c1, CARD0, &h));
	ASSERT_NULL(h);
	ASSERT_NULL(H(f->c1, CARD0));
	EXPECT_CALLS(f, "open c1/card0 paused");
	/* Nothing half-made stays behind: the next try works. */
	f->n_fails = 0;
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, CARD0, &h));
	ASSERT_EQ_PTR(h, H(f->c1, CARD0));
}

TEST(release_device)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	seat_handle_release(H(f->c1, CARD0));
	EXPECT_CALLS(f, "close c1/card0");
	ASSERT_NULL(H(f->c1, CARD0));
	ASSERT_NOT_NULL(seat_find_device(f->seat, CARD0));
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	/* It can be taken again, live. */
	ASSERT_EQ_INT(0, take(f->c1, CARD0, (dev_t)0));
	EXPECT_CALLS(f, "open c1/card0 live");
	CHECK_SEAT(f);
}

TEST(release_control_releases_every_handle)
{
	FAKE(f);
	struct seat_handle *h;

	ASSERT_EQ_INT(0, setup_two(f));
	seat_container_release_control(f->c2);
	EXPECT_CALLS(f, "close c2/card0", "close c2/event3", "close c2/event4");
	seat_container_release_control(f->c1);
	EXPECT_CALLS(f, "close c1/card0", "close c1/event3", "close c1/event4");
	ASSERT_TRUE(list_empty(&f->c1->handles));
	ASSERT_FALSE(f->c1->controlled);
	/* Releasing control does not deactivate. */
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	ASSERT_EQ_INT(-ENOTCONN, seat_container_take_device(f->c1, CARD0, &h));
	ASSERT_EQ_INT(0, seat_container_take_control(f->c1));
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, CARD0, &h));
	EXPECT_CALLS(f, "open c1/card0 live");
}

/* ------------------------------------------------------------------------ */
/* Switching */

TEST(switch_from_none)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c1, CARD0, EV3, (dev_t)0));
	fake_log_clear(f);

	ASSERT_EQ_INT(0, sw(f, f->c1, "r"));
	EXPECT_CALLS(f,
		     "kernel c1",
		     "set c1/card0",
		     "reopen c1/event3",
		     "resume c1/card0",
		     "resume c1/event3",
		     "active none->c1",
		     "done r 0");
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	ASSERT_TRUE(seat_container_is_live(f->c1));
	ASSERT_FALSE(seat_container_is_live(f->c2));
	ASSERT_EQ_INT(0, f->timer_arms);
	CHECK_SEAT(f);
}

TEST(switch_from_none_without_devices)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 1));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r"));
	EXPECT_CALLS(f, "kernel c1", "active none->c1", "done r 0");
	ASSERT_EQ_PTR(f->c1, f->seat->active);
}

TEST(switch_to_active_is_noop)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r"));
	EXPECT_CALLS(f, "done r 0");
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	CHECK_SEAT(f);
}

TEST(switch_to_none_when_none_is_noop)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 1));
	ASSERT_EQ_INT(0, sw(f, NULL, "r"));
	EXPECT_CALLS(f, "done r 0");
	ASSERT_NULL(f->seat->active);
}

TEST(switch_target_of_other_seat)
{
	FAKE(f);
	FAKE(g);
	struct seat_container *other;

	ASSERT_EQ_INT(0, seat_add_container(g->seat, "x", &other));
	ASSERT_EQ_INT(-EINVAL, sw(f, other, "r"));
	EXPECT_NO_CALLS(f);
	EXPECT_NO_CALLS(g);
	ASSERT_NULL(f->seat->active);
}

TEST(switch_a_to_b_contract_order)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	/* Steps 1 and 2: input revoked and force-paused at once, before the
	 * DRM pause; then the seat waits, with nothing of c2 done yet. */
	EXPECT_CALLS(f,
		     "revoke c1/event3",
		     "pause c1/event3 force",
		     "revoke c1/event4",
		     "pause c1/event4 force",
		     "pause c1/card0 pause",
		     "timer 500000");
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	ASSERT_FALSE(seat_container_is_live(f->c1));
	ASSERT_FALSE(seat_container_is_live(f->c2));
	ASSERT_EQ_INT(SEAT_HANDLE_PAUSING, H(f->c1, CARD0)->state);
	ASSERT_EQ_INT(SEAT_HANDLE_PAUSED, H(f->c1, EV3)->state);
	ASSERT_EQ_INT(SEAT_HANDLE_PAUSED, H(f->c1, EV4)->state);
	ASSERT_EQ_INT(SEAT_HANDLE_PAUSED, H(f->c2, CARD0)->state);
	ASSERT_EQ_INT(500000, f->timer);

	/* The acknowledgement: steps 2 (end) to 5. */
	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS(f,
		     "drop c1/card0",
		     "timer 0",
		     "kernel c2",
		     "set c2/card0",
		     "reopen c2/event3",
		     "reopen c2/event4",
		     "resume c2/card0",
		     "resume c2/event3",
		     "resume c2/event4",
		     "active c1->c2",
		     "done r 0");
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	ASSERT_EQ_INT(0, f->timer);
	ASSERT_TRUE(seat_container_is_live(f->c2));
	ASSERT_FALSE(seat_container_is_live(f->c1));
	CHECK_SEAT(f);
}

TEST(switch_back_and_forth)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	for (int i = 0; i < 3; i++) {
		ASSERT_EQ_INT(0, sw(f, f->c2, "to2"));
		seat_handle_pause_complete(H(f->c1, CARD0));
		ASSERT_EQ_PTR(f->c2, f->seat->active);
		CHECK_SEAT(f);
		ASSERT_EQ_INT(0, sw(f, f->c1, "to1"));
		EXPECT_CALLS_IN_ORDER(f, "revoke c2/event3", "pause c2/card0 pause");
		seat_pause_timeout(f->seat);
		ASSERT_EQ_PTR(f->c1, f->seat->active);
		CHECK_SEAT(f);
		fake_log_clear(f);
	}
}

TEST(switch_waits_for_every_drm_device)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c1, CARD0, CARD1, EV3, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r0"));
	fake_log_clear(f);

	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	EXPECT_CALLS(f,
		     "revoke c1/event3",
		     "pause c1/event3 force",
		     "pause c1/card0 pause",
		     "pause c1/card1 pause",
		     "timer 500000");
	ASSERT_EQ_INT(2, f->seat->pending_acks);
	seat_handle_pause_complete(H(f->c1, CARD1));
	EXPECT_CALLS(f, "drop c1/card1");
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS(f, "drop c1/card0", "timer 0", "kernel c2", "active c1->c2", "done r 0");
	CHECK_SEAT(f);
}

TEST(pause_timeout_forces)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);

	/* No acknowledgement: the broker's timer fires. */
	seat_pause_timeout(f->seat);
	EXPECT_CALLS(f,
		     "forced c1/card0",
		     "drop c1/card0",
		     "timer 0",
		     "kernel c2",
		     "set c2/card0",
		     "reopen c2/event3",
		     "reopen c2/event4",
		     "resume c2/card0",
		     "resume c2/event3",
		     "resume c2/event4",
		     "active c1->c2",
		     "done r 0");
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	CHECK_SEAT(f);

	/* A late acknowledgement changes nothing. */
	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_NO_CALLS(f);
	CHECK_SEAT(f);
}

TEST(pause_timeout_forces_only_unanswered)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c1, CARD0, CARD1, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r0"));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	seat_handle_pause_complete(H(f->c1, CARD0));
	fake_log_clear(f);

	seat_pause_timeout(f->seat);
	EXPECT_CALLS(f,
		     "forced c1/card1",
		     "drop c1/card1",
		     "timer 0",
		     "kernel c2",
		     "active c1->c2",
		     "done r 0");
	CHECK_SEAT(f);
}

TEST(pause_timeout_when_idle_is_ignored)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	seat_pause_timeout(f->seat);
	EXPECT_NO_CALLS(f);
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	CHECK_SEAT(f);
}

TEST(pause_complete_not_pausing_is_ignored)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	/* Idle: a live handle and a paused one. */
	seat_handle_pause_complete(H(f->c1, CARD0));
	seat_handle_pause_complete(H(f->c2, CARD0));
	EXPECT_NO_CALLS(f);
	CHECK_SEAT(f);

	/* During the handshake: c1's revoked evdev, and c2's card. */
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);
	seat_handle_pause_complete(H(f->c1, EV3));
	seat_handle_pause_complete(H(f->c2, CARD0));
	EXPECT_NO_CALLS(f);
	ASSERT_EQ_INT(1, f->seat->pending_acks);
	ASSERT_EQ_PTR(f->c1, f->seat->active);

	seat_handle_pause_complete(H(f->c1, CARD0));
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	CHECK_SEAT(f);
}

TEST(pause_complete_duplicate_is_ignored)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c1, CARD0, CARD1, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r0"));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);

	seat_handle_pause_complete(H(f->c1, CARD0));
	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS(f, "drop c1/card0");
	ASSERT_EQ_INT(1, f->seat->pending_acks);
	ASSERT_EQ_PTR(f->c1, f->seat->active);

	seat_handle_pause_complete(H(f->c1, CARD1));
	EXPECT_CALLS(f, "drop c1/card1", "timer 0", "kernel c2", "active c1->c2", "done r 0");
	seat_handle_pause_complete(H(f->c1, CARD1));
	EXPECT_NO_CALLS(f);
	CHECK_SEAT(f);
}

TEST(pause_timeout_zero_forces_at_once)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	seat_set_pause_timeout(f->seat, 0);
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	/* No "pause" to acknowledge: master dropped, then reported. */
	EXPECT_CALLS(f,
		     "revoke c1/event3",
		     "pause c1/event3 force",
		     "revoke c1/event4",
		     "pause c1/event4 force",
		     "drop c1/card0",
		     "pause c1/card0 force",
		     "kernel c2",
		     "set c2/card0",
		     "reopen c2/event3",
		     "reopen c2/event4",
		     "resume c2/card0",
		     "resume c2/event3",
		     "resume c2/event4",
		     "active c1->c2",
		     "done r 0");
	ASSERT_EQ_INT(0, f->timer_arms);
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	CHECK_SEAT(f);
}

TEST(switch_from_input_only_does_not_wait)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c1, EV3, (dev_t)0));
	ASSERT_EQ_INT(0, take(f->c2, EV3, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r0"));
	fake_log_clear(f);

	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	EXPECT_CALLS(f,
		     "revoke c1/event3",
		     "pause c1/event3 force",
		     "kernel c2",
		     "reopen c2/event3",
		     "resume c2/event3",
		     "active c1->c2",
		     "done r 0");
	ASSERT_EQ_INT(0, f->timer_arms);
	CHECK_SEAT(f);
}

TEST(switch_to_none)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, sw(f, NULL, "r"));
	EXPECT_CALLS(f,
		     "revoke c1/event3",
		     "pause c1/event3 force",
		     "revoke c1/event4",
		     "pause c1/event4 force",
		     "pause c1/card0 pause",
		     "timer 500000");
	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS(f, "drop c1/card0", "timer 0", "kernel none", "active c1->none", "done r 0");
	ASSERT_NULL(f->seat->active);
	ASSERT_FALSE(seat_container_is_live(f->c1));
	CHECK_SEAT(f);

	/* And back. */
	ASSERT_EQ_INT(0, sw(f, f->c1, "r2"));
	EXPECT_CALLS_IN_ORDER(f, "kernel c1", "resume c1/card0", "active none->c1", "done r2 0");
	CHECK_SEAT(f);
}

TEST(switch_during_handshake_take_device_is_paused)
{
	FAKE(f);
	struct seat_handle *h;

	ASSERT_EQ_INT(0, setup_two(f));
	seat_container_release_control(f->c2);
	ASSERT_EQ_INT(0, seat_container_take_control(f->c2));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	seat_handle_release(H(f->c1, EV4));
	fake_log_clear(f);

	/* Neither the leaving container nor the target is live now. */
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, EV4, &h));
	ASSERT_EQ_INT(0, seat_container_take_device(f->c2, CARD0, &h));
	ASSERT_EQ_INT(0, seat_container_take_device(f->c2, EV3, &h));
	EXPECT_CALLS(f, "open c1/event4 paused", "open c2/card0 paused", "open c2/event3 paused");

	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS(f,
		     "drop c1/card0",
		     "timer 0",
		     "kernel c2",
		     "set c2/card0",
		     "reopen c2/event3",
		     "resume c2/card0",
		     "resume c2/event3",
		     "active c1->c2",
		     "done r 0");
	CHECK_SEAT(f);
}

/* ------------------------------------------------------------------------ */
/* Failures part-way: the seat ends with no active container. */

TEST(switch_fails_set_master_rolls_back)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c1, CARD0, EV3, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r0"));
	/* The card last, so that input is live again when it fails. */
	ASSERT_EQ_INT(0, take(f->c2, EV3, EV4, CARD0, (dev_t)0));
	fake_fail_op(f, "set", "c2/card0", -EBUSY);
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);

	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS(f,
		     "drop c1/card0",
		     "timer 0",
		     "kernel c2",
		     "reopen c2/event3",
		     "reopen c2/event4",
		     "set c2/card0",
		     "revoke c2/event3",
		     "revoke c2/event4",
		     "kernel none",
		     "active c1->none",
		     "done r -EBUSY");
	ASSERT_NULL(f->seat->active);
	ASSERT_FALSE(seat_container_is_live(f->c1));
	ASSERT_FALSE(seat_container_is_live(f->c2));
	CHECK_SEAT(f);

	/* The seat is usable: once the card can be had, the switch works. */
	f->n_fails = 0;
	ASSERT_EQ_INT(0, sw(f, f->c2, "r2"));
	EXPECT_CALLS(f,
		     "kernel c2",
		     "reopen c2/event3",
		     "reopen c2/event4",
		     "set c2/card0",
		     "resume c2/event3",
		     "resume c2/event4",
		     "resume c2/card0",
		     "active none->c2",
		     "done r2 0");
	CHECK_SEAT(f);
}

TEST(switch_fails_reopen_rolls_back)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	fake_fail_op(f, "reopen", "c2/event4", -EBUSY);
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);

	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS(f,
		     "drop c1/card0",
		     "timer 0",
		     "kernel c2",
		     "set c2/card0",
		     "reopen c2/event3",
		     "reopen c2/event4",
		     "drop c2/card0",
		     "revoke c2/event3",
		     "kernel none",
		     "active c1->none",
		     "done r -EBUSY");
	ASSERT_NULL(f->seat->active);
	CHECK_SEAT(f);
}

/* Unplugged between the pause and the resume: the switch completes with
 * the other devices, and the remove event withdraws it afterwards. */
TEST(switch_resumes_without_device_gone_meanwhile)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	fake_fail_op(f, "reopen", "c2/event4", -ENODEV);
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);

	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS(f,
		     "drop c1/card0",
		     "timer 0",
		     "kernel c2",
		     "set c2/card0",
		     "reopen c2/event3",
		     "reopen c2/event4",
		     "resume c2/card0",
		     "resume c2/event3",
		     "active c1->c2",
		     "done r 0");
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	ASSERT_EQ_INT(SEAT_HANDLE_PAUSED, H(f->c2, EV4)->state);
	fake_log_clear(f);

	seat_remove_device(seat_find_device(f->seat, EV4));
	EXPECT_CALLS(f,
		     "pause c1/event4 gone",
		     "close c1/event4",
		     "pause c2/event4 gone",
		     "close c2/event4");
	CHECK_SEAT(f);
}

/* A grabbed keyboard of the active container: revoked, then a fresh file. */
TEST(refresh_live_evdev_handle)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, seat_handle_refresh(H(f->c1, EV3)));
	EXPECT_CALLS(f,
		     "revoke c1/event3",
		     "pause c1/event3 force",
		     "reopen c1/event3",
		     "resume c1/event3");
	ASSERT_EQ_INT(SEAT_HANDLE_LIVE, H(f->c1, EV3)->state);
	CHECK_SEAT(f);
}

TEST(refresh_refuses_other_handles)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	/* A card, and a background container's paused keyboard. */
	ASSERT_EQ_INT(-EINVAL, seat_handle_refresh(H(f->c1, CARD0)));
	ASSERT_EQ_INT(-EINVAL, seat_handle_refresh(H(f->c2, EV3)));
	/* During a switch away, the keyboard is revoked already. */
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);
	ASSERT_EQ_INT(-EINVAL, seat_handle_refresh(H(f->c1, EV3)));
	EXPECT_NO_CALLS(f);
	seat_handle_pause_complete(H(f->c1, CARD0));
	CHECK_SEAT(f);
}

TEST(refresh_reopen_fails_leaves_it_paused)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	fake_fail_op(f, "reopen", "c1/event4", -ENODEV);
	ASSERT_EQ_INT(-ENODEV, seat_handle_refresh(H(f->c1, EV4)));
	EXPECT_CALLS(f,
		     "revoke c1/event4",
		     "pause c1/event4 force",
		     "reopen c1/event4");
	ASSERT_EQ_INT(SEAT_HANDLE_PAUSED, H(f->c1, EV4)->state);
}

/* Checks that handles_changed was called for exactly the lines given
 * (NULL-terminated) since the last check. */
static void check_changed(struct fake *f, ...)
{
	const char *line;
	unsigned i = 0;
	va_list ap;

	va_start(ap, f);
	for (; (line = va_arg(ap, const char *)); i++)
		if (i >= f->n_changed || strcmp(f->changed[i], line) != 0)
			EXPECT_FAIL("handles_changed #%u: expected \"%s\", got \"%s\"", i, line,
				    i < f->n_changed ? f->changed[i] : "(nothing)");
	va_end(ap);
	for (; i < f->n_changed; i++)
		EXPECT_FAIL("handles_changed #%u: unexpected \"%s\"", i, f->changed[i]);
	f->n_changed = 0;
}

/* The paused flags of a container's handles change when its switch away
 * begins (pausing counts as paused: the acknowledgement and the timeout
 * change nothing a client sees) and when it is resumed: one call per
 * container and step, the leaving one's while the seat waits. */
TEST(handles_changed_once_per_step)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	f->n_changed = 0;
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	check_changed(f, "c1 wait", NULL);
	seat_handle_pause_complete(H(f->c1, CARD0));
	check_changed(f, "c2 go", NULL);

	/* Input only: no wait, the pause and the resume in one go. */
	seat_handle_release(H(f->c2, CARD0));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r2"));
	check_changed(f, "c2 go", "c1 go", NULL);
	ASSERT_EQ_INT(0, sw(f, f->c2, "r3"));
	check_changed(f, "c1 wait", NULL);
	seat_pause_timeout(f->seat);
	check_changed(f, "c2 go", NULL);

	/* A failed resume leaves the target as it was. */
	fake_fail_op(f, "reopen", "c1/event3", -EIO);
	seat_handle_release(H(f->c2, EV4));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r4"));
	check_changed(f, "c2 go", NULL);
	CHECK_SEAT(f);
}

/* A refresh that cannot reopen leaves the handle paused. */
TEST(handles_changed_refresh_fails)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	f->n_changed = 0;
	ASSERT_EQ_INT(0, seat_handle_refresh(H(f->c1, EV3)));
	check_changed(f, NULL);
	fake_fail_op(f, "reopen", "c1/event4", -ENODEV);
	ASSERT_EQ_INT(-ENODEV, seat_handle_refresh(H(f->c1, EV4)));
	check_changed(f, "c1 go", NULL);
}

TEST(switch_fails_kernel_activate)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	fake_fail_op(f, "kernel", "c2", -EIO);
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);

	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS(f,
		     "drop c1/card0",
		     "timer 0",
		     "kernel c2",
		     "kernel none",
		     "active c1->none",
		     "done r -EIO");
	ASSERT_NULL(f->seat->active);
	CHECK_SEAT(f);
}

TEST(switch_fails_from_none)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 1));
	ASSERT_EQ_INT(0, take(f->c1, EV3, CARD0, (dev_t)0));
	fake_fail_op(f, "set", "c1/card0", -EBUSY);
	fake_log_clear(f);

	ASSERT_EQ_INT(0, sw(f, f->c1, "r"));
	/* No active_changed: none before, none after. */
	EXPECT_CALLS(f,
		     "kernel c1",
		     "reopen c1/event3",
		     "set c1/card0",
		     "revoke c1/event3",
		     "kernel none",
		     "done r -EBUSY");
	ASSERT_NULL(f->seat->active);
	CHECK_SEAT(f);
}

TEST(switch_fails_then_queued_request_runs)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	fake_fail_op(f, "kernel", "c2", -EIO);
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r2"));
	fake_log_clear(f);

	seat_pause_timeout(f->seat);
	EXPECT_CALLS_IN_ORDER(f,
			      "kernel c2",
			      "kernel none",
			      "active c1->none",
			      "done r1 -EIO",
			      "kernel c1",
			      "set c1/card0",
			      "resume c1/card0",
			      "active none->c1",
			      "done r2 0");
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	CHECK_SEAT(f);
}

/* ------------------------------------------------------------------------ */
/* Queued requests and cycling */

TEST(switch_queued_while_waiting)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, seat_add_container(f->seat, "c3", &f->c3));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	fake_log_clear(f);

	/* Queued: nothing happens until the first switch is over. */
	ASSERT_EQ_INT(0, sw(f, f->c3, "r2"));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r3"));
	EXPECT_NO_CALLS(f);
	ASSERT_EQ_INT(2, list_length(&f->seat->requests));

	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS(f,
		     "drop c1/card0",
		     "timer 0",
		     "kernel c2",
		     "set c2/card0",
		     "reopen c2/event3",
		     "reopen c2/event4",
		     "resume c2/card0",
		     "resume c2/event3",
		     "resume c2/event4",
		     "active c1->c2",
		     "done r1 0",
		     /* r2 starts at once: c2 -> c3 */
		     "revoke c2/event3",
		     "pause c2/event3 force",
		     "revoke c2/event4",
		     "pause c2/event4 force",
		     "pause c2/card0 pause",
		     "timer 500000");
	ASSERT_EQ_PTR(f->c2, f->seat->active);

	seat_handle_pause_complete(H(f->c2, CARD0));
	EXPECT_CALLS(f,
		     "drop c2/card0",
		     "timer 0",
		     "kernel c3",
		     "active c2->c3",
		     "done r2 0",
		     /* r3: c3 holds nothing, nothing to wait for */
		     "kernel c1",
		     "set c1/card0",
		     "reopen c1/event3",
		     "reopen c1/event4",
		     "resume c1/card0",
		     "resume c1/event3",
		     "resume c1/event4",
		     "active c3->c1",
		     "done r3 0");
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	ASSERT_TRUE(list_empty(&f->seat->requests));
	CHECK_SEAT(f);
}

TEST(switch_queued_to_same_target)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r2"));
	fake_log_clear(f);
	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS_IN_ORDER(f, "kernel c2", "active c1->c2", "done r1 0", "done r2 0");
	ASSERT_EQ_INT(1, fake_log_count_prefix(f, "kernel "));
	CHECK_SEAT(f);
}

TEST(switch_next_previous_wraps)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 3));
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_NEXT, "n1"));
	EXPECT_CALLS(f, "kernel c1", "active none->c1", "done n1 0");
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_NEXT, "n2"));
	EXPECT_CALLS(f, "kernel c2", "active c1->c2", "done n2 0");
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_NEXT, "n3"));
	EXPECT_CALLS(f, "kernel c3", "active c2->c3", "done n3 0");
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_NEXT, "n4"));
	EXPECT_CALLS(f, "kernel c1", "active c3->c1", "done n4 0");
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_PREVIOUS, "p1"));
	EXPECT_CALLS(f, "kernel c3", "active c1->c3", "done p1 0");
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_PREVIOUS, "p2"));
	EXPECT_CALLS(f, "kernel c2", "active c3->c2", "done p2 0");
	ASSERT_EQ_PTR(f->c2, f->seat->active);
}

TEST(switch_previous_from_none_is_last)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 3));
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_PREVIOUS, "p"));
	EXPECT_CALLS(f, "kernel c3", "active none->c3", "done p 0");
	ASSERT_EQ_PTR(f->c3, f->seat->active);
}

TEST(switch_next_previous_without_containers)
{
	FAKE(f);

	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_NEXT, "n"));
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_PREVIOUS, "p"));
	EXPECT_CALLS(f, "done n 0", "done p 0");
	ASSERT_NULL(f->seat->active);
}

TEST(switch_next_single_container_is_noop)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 1));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r"));
	fake_log_clear(f);
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_NEXT, "n"));
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_PREVIOUS, "p"));
	EXPECT_CALLS(f, "done n 0", "done p 0");
	ASSERT_EQ_PTR(f->c1, f->seat->active);
}

TEST(switch_next_queued_resolves_when_run)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, seat_add_container(f->seat, "c3", &f->c3));
	/* c1 -> c2 waits; "next" is from c2 (to c3), not from c1. */
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_NEXT, "n"));
	seat_handle_pause_complete(H(f->c1, CARD0));
	seat_handle_pause_complete(H(f->c2, CARD0));
	EXPECT_CALLS_IN_ORDER(f, "active c1->c2", "done r1 0", "kernel c3", "active c2->c3",
			      "done n 0");
	ASSERT_EQ_PTR(f->c3, f->seat->active);
	CHECK_SEAT(f);
}

/* ------------------------------------------------------------------------ */
/* Containers removed */

TEST(remove_active_container)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	seat_remove_container(f->c1);
	EXPECT_CALLS(f,
		     "close c1/card0",
		     "close c1/event3",
		     "close c1/event4",
		     "kernel none",
		     "active c1->none");
	ASSERT_NULL(f->seat->active);
	ASSERT_NULL(seat_find_container(f->seat, "c1"));
	CHECK_SEAT(f);
}

TEST(remove_inactive_container)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	seat_remove_container(f->c2);
	EXPECT_CALLS(f, "close c2/card0", "close c2/event3", "close c2/event4");
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	CHECK_SEAT(f);
}

TEST(remove_pausing_container_finishes_switch)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);

	seat_remove_container(f->c1);
	EXPECT_CALLS_IN_ORDER(f,
			      "close c1/card0",
			      "timer 0",
			      "kernel c2",
			      "set c2/card0",
			      "reopen c2/event3",
			      "reopen c2/event4",
			      "resume c2/card0",
			      "resume c2/event3",
			      "resume c2/event4",
			      "active c1->c2",
			      "done r 0");
	ASSERT_EQ_INT(3, fake_log_count_prefix(f, "close c1/"));
	ASSERT_EQ_INT(1, fake_log_count_prefix(f, "done "));
	EXPECT_NOT_CALLED(f, "kernel none");
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	ASSERT_NULL(seat_find_container(f->seat, "c1"));
	ASSERT_EQ_INT(0, f->timer);
	CHECK_SEAT(f);
}

TEST(release_control_of_pausing_container_finishes_switch)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);

	/* The controller of c1 went away mid-handshake. */
	seat_container_release_control(f->c1);
	EXPECT_CALLS_IN_ORDER(f, "close c1/card0", "timer 0", "kernel c2", "resume c2/card0",
			      "active c1->c2", "done r 0");
	ASSERT_EQ_INT(3, fake_log_count_prefix(f, "close c1/"));
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	CHECK_SEAT(f);
}

TEST(release_pausing_device_counts_as_ack)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);

	seat_handle_release(H(f->c1, CARD0));
	EXPECT_CALLS_IN_ORDER(f, "close c1/card0", "timer 0", "kernel c2", "active c1->c2",
			      "done r 0");
	EXPECT_NOT_CALLED(f, "forced c1/card0");
	CHECK_SEAT(f);
}

TEST(remove_target_while_waiting)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);

	seat_remove_container(f->c2);
	f->c2 = NULL;
	EXPECT_CALLS(f, "close c2/card0", "close c2/event3", "close c2/event4");

	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS_IN_ORDER(f, "drop c1/card0", "timer 0", "kernel none", "active c1->none",
			      "done r -ESRCH");
	ASSERT_EQ_INT(0, fake_log_count_prefix(f, "kernel c"));
	ASSERT_EQ_INT(0, fake_log_count_prefix(f, "resume "));
	ASSERT_NULL(f->seat->active);
	CHECK_SEAT(f);
}

TEST(remove_target_while_waiting_then_timeout)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	seat_remove_container(f->c2);
	fake_log_clear(f);

	seat_pause_timeout(f->seat);
	EXPECT_CALLS_IN_ORDER(f, "forced c1/card0", "drop c1/card0", "timer 0", "kernel none",
			      "active c1->none", "done r -ESRCH");
	ASSERT_NULL(f->seat->active);
	CHECK_SEAT(f);
}

TEST(remove_queued_target)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	ASSERT_EQ_INT(0, seat_add_container(f->seat, "c3", &f->c3));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	ASSERT_EQ_INT(0, sw(f, f->c3, "r2"));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r3"));
	fake_log_clear(f);

	seat_remove_container(f->c3);
	EXPECT_NO_CALLS(f);

	seat_handle_pause_complete(H(f->c1, CARD0));
	EXPECT_CALLS_IN_ORDER(f, "active c1->c2", "done r1 0", "done r2 -ESRCH",
			      "pause c2/card0 pause");
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	seat_handle_pause_complete(H(f->c2, CARD0));
	EXPECT_CALLS_IN_ORDER(f, "kernel c1", "active c2->c1", "done r3 0");
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	CHECK_SEAT(f);
}

/* ------------------------------------------------------------------------ */
/* Devices removed */

TEST(remove_device_held)
{
	FAKE(f);
	struct seat_handle *h;

	ASSERT_EQ_INT(0, setup_two(f));
	seat_remove_device(seat_find_device(f->seat, CARD0));
	EXPECT_CALLS(f,
		     "pause c1/card0 gone",
		     "close c1/card0",
		     "pause c2/card0 gone",
		     "close c2/card0");
	ASSERT_NULL(seat_find_device(f->seat, CARD0));
	ASSERT_NULL(H(f->c1, CARD0));
	ASSERT_NULL(H(f->c2, CARD0));
	ASSERT_NOT_NULL(H(f->c1, EV3));
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	CHECK_SEAT(f);

	/* The devnum is unknown now. */
	ASSERT_EQ_INT(-ENODEV, seat_container_take_device(f->c1, CARD0, &h));
}

TEST(remove_device_not_held)
{
	FAKE(f);

	ASSERT_EQ_INT(0, setup_two(f));
	seat_remove_device(seat_find_device(f->seat, CARD1));
	EXPECT_NO_CALLS(f);
	ASSERT_NULL(seat_find_device(f->seat, CARD1));
	CHECK_SEAT(f);
}

TEST(remove_pausing_device_counts_as_ack)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c1, CARD0, CARD1, EV3, (dev_t)0));
	ASSERT_EQ_INT(0, take(f->c2, EV3, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r0"));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	fake_log_clear(f);

	/* One of the two cards goes: one acknowledgement left. */
	seat_remove_device(seat_find_device(f->seat, CARD1));
	EXPECT_CALLS(f, "pause c1/card1 gone", "close c1/card1");
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	ASSERT_EQ_INT(1, f->seat->pending_acks);

	/* The other goes too: nothing left to wait for. */
	seat_remove_device(seat_find_device(f->seat, CARD0));
	EXPECT_CALLS(f,
		     "pause c1/card0 gone",
		     "close c1/card0",
		     "timer 0",
		     "kernel c2",
		     "reopen c2/event3",
		     "resume c2/event3",
		     "active c1->c2",
		     "done r 0");
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	CHECK_SEAT(f);
}

/* ------------------------------------------------------------------------ */
/* The seat invariant over a longer run */

TEST(invariant_over_many_switches)
{
	FAKE(f);
	static const char *const cookie[8] = { "s0", "s1", "s2", "s3", "s4", "s5", "s6", "s7" };
	unsigned waits = 0;

	ASSERT_EQ_INT(0, add_containers(f, 3));
	ASSERT_EQ_INT(0, take(f->c1, CARD0, EV3, EV4, (dev_t)0));
	ASSERT_EQ_INT(0, take(f->c2, EV3, CARD0, CARD1, (dev_t)0));
	ASSERT_EQ_INT(0, take(f->c3, EV4, (dev_t)0));
	struct seat_container *order[] = { f->c1, f->c3, f->c2, NULL };

	for (unsigned i = 0; i < 8; i++) {
		struct seat_container *target = order[i % 4];
		struct seat_container *from = f->seat->active;

		ASSERT_EQ_INT(0, sw(f, target, cookie[i]));
		if (f->seat->current) {
			/* Waiting: answered and timed out in turn. */
			ASSERT_NOT_NULL(from);
			ASSERT_FALSE(seat_container_is_live(from));
			if (waits++ % 2) {
				struct seat_handle *h, *tmp;
				list_for_each_safe(h, tmp, &from->handles, link)
					seat_handle_pause_complete(h);
			} else {
				seat_pause_timeout(f->seat);
			}
		}
		ASSERT_EQ_PTR(target, f->seat->active);
		CHECK_SEAT(f);
	}
	ASSERT_EQ_INT(8, fake_log_count_prefix(f, "done "));
	ASSERT_TRUE(waits >= 4);
	ASSERT_TRUE(fake_log_index(f, "forced c1/card0") >= 0);
	ASSERT_TRUE(fake_log_index(f, "drop c2/card1") >= 0);
}

/* ------------------------------------------------------------------------ */
/* Known bugs */

TEST(remove_pausing_container_then_next_skips_it)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c1, CARD0, EV3, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r0"));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_NEXT, "n"));
	fake_log_clear(f);

	/* c1 is removed while being paused: r1 completes, then "next" from c2
	 * has only c2 left and is a no-op. */
	seat_remove_container(f->c1);
	EXPECT_CALLS_IN_ORDER(f, "active c1->c2", "done r1 0", "done n 0");
	EXPECT_NOT_CALLED(f, "kernel c1");
	EXPECT_NOT_CALLED(f, "resume c1/event3");
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	CHECK_SEAT(f);
}

TEST(remove_pausing_container_then_next_no_use_after_free)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c1, CARD0, (dev_t)0));
	ASSERT_EQ_INT(0, take(f->c2, CARD0, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r0"));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	ASSERT_EQ_INT(0, sw_kind(f, SEAT_SWITCH_NEXT, "n"));
	fake_log_clear(f);

	seat_remove_container(f->c1);
	EXPECT_CALLS_IN_ORDER(f, "active c1->c2", "done r1 0", "done n 0");
	EXPECT_NOT_CALLED(f, "pause c2/card0 pause");
	ASSERT_NULL(f->seat->current);
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	CHECK_SEAT(f);
}

TEST(remove_pausing_device_not_resumed_in_target)
{
	FAKE(f);

	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c1, CARD0, (dev_t)0));
	ASSERT_EQ_INT(0, take(f->c2, CARD0, EV3, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r0"));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r"));
	/* As the kernel answers for an unplugged DRM device. */
	fake_fail_op(f, "set", "c2/card0", -ENODEV);
	fake_log_clear(f);

	seat_remove_device(seat_find_device(f->seat, CARD0));
	EXPECT_CALLS_IN_ORDER(f, "pause c1/card0 gone", "close c1/card0", "kernel c2");
	EXPECT_CALLS_IN_ORDER(f, "pause c2/card0 gone", "close c2/card0", "kernel c2",
			      "reopen c2/event3", "resume c2/event3", "active c1->c2",
			      "done r 0");
	EXPECT_NOT_CALLED(f, "set c2/card0");
	EXPECT_NOT_CALLED(f, "resume c2/card0");
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	CHECK_SEAT(f);
}

/* ------------------------------------------------------------------------ */
/* Restart: adopted handles */

/* c adopts devnum as a file the fake knows as open in that state. */
static struct seat_handle *adopt(struct fake *f, struct seat_container *c, dev_t devnum,
				 enum seat_handle_state state)
{
	struct seat_handle *h = NULL;

	if (seat_container_adopt(c, seat_find_device(f->seat, devnum), f->next_fd, state, &h) < 0)
		return NULL;
	f->next_fd++;
	f->open[f->n_open++] = (struct fake_open){ h, state == SEAT_HANDLE_LIVE };
	return h;
}

TEST(adopt_without_controller_then_switch_pauses_it)
{
	FAKE(f);
	struct seat_container *old;

	ASSERT_EQ_INT(0, seat_add_container(f->seat, "c1", &f->c1));
	ASSERT_EQ_INT(0, seat_add_container(f->seat, "c2", &f->c2));
	/* c1 was active before the restart and still holds live files. */
	ASSERT_NOT_NULL(adopt(f, f->c1, CARD0, SEAT_HANDLE_LIVE));
	ASSERT_NOT_NULL(adopt(f, f->c1, EV3, SEAT_HANDLE_LIVE));
	seat_restore_active(f->seat, f->c1);
	ASSERT_FALSE(f->c1->controlled);
	EXPECT_NO_CALLS(f);

	/* Nobody answers the pause: no controller; the timeout forces it. */
	old = f->seat->active;
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	ASSERT_EQ_PTR(old, f->seat->active);
	seat_pause_timeout(f->seat);
	ASSERT_EQ_PTR(f->c2, f->seat->active);
	EXPECT_CALLS_IN_ORDER(f, "revoke c1/event3", "drop c1/card0", "kernel c2", "done r1 0");
	ASSERT_EQ_INT(SEAT_HANDLE_PAUSED, H(f->c1, CARD0)->state);
	ASSERT_EQ_INT(SEAT_HANDLE_PAUSED, H(f->c1, EV3)->state);
}

TEST(adopted_handle_is_claimed_not_reopened)
{
	FAKE(f);
	struct seat_handle *card, *h = NULL;

	ASSERT_EQ_INT(0, seat_add_container(f->seat, "c1", &f->c1));
	card = adopt(f, f->c1, CARD0, SEAT_HANDLE_PAUSED);
	ASSERT_NOT_NULL(card);
	/* Without control: refused as ever. */
	ASSERT_EQ_INT(-ENOTCONN, seat_container_take_device(f->c1, CARD0, &h));
	ASSERT_EQ_INT(0, seat_container_take_control(f->c1));
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, CARD0, &h));
	ASSERT_EQ_PTR(card, h);
	ASSERT_FALSE(h->adopted);
	EXPECT_NOT_CALLED(f, "open c1/card0 paused");
	/* Claimed once; a second take is the usual error. */
	ASSERT_EQ_INT(-EALREADY, seat_container_take_device(f->c1, CARD0, &h));
}

TEST(adopted_paused_evdev_reopened_when_claimed_live)
{
	FAKE(f);
	struct seat_handle *h = NULL;

	ASSERT_EQ_INT(0, seat_add_container(f->seat, "c1", &f->c1));
	/* Active before the restart, but its evdev file was revoked already. */
	ASSERT_NOT_NULL(adopt(f, f->c1, EV3, SEAT_HANDLE_PAUSED));
	seat_restore_active(f->seat, f->c1);
	ASSERT_EQ_INT(0, seat_container_take_control(f->c1));
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, EV3, &h));
	ASSERT_EQ_INT(SEAT_HANDLE_LIVE, h->state);
	EXPECT_CALLS(f, "reopen c1/event3");
}

TEST(adopt_refuses_bad_input)
{
	FAKE(f);
	struct seat_handle *h = NULL;

	ASSERT_EQ_INT(0, seat_add_container(f->seat, "c1", &f->c1));
	ASSERT_EQ_INT(-EINVAL, seat_container_adopt(f->c1, seat_find_device(f->seat, CARD0), 5,
						     SEAT_HANDLE_PAUSING, &h));
	ASSERT_NOT_NULL(adopt(f, f->c1, CARD0, SEAT_HANDLE_PAUSED));
	ASSERT_EQ_INT(-EALREADY, seat_container_adopt(f->c1, seat_find_device(f->seat, CARD0), 6,
						       SEAT_HANDLE_PAUSED, &h));
}

/* ------------------------------------------------------------------------ */
/* Leases: a container's outputs stay its own */

TEST(lease_is_live_and_left_alone_by_switches)
{
	FAKE(f);
	struct seat_handle *h = NULL;

	fake_lease(f, "c1", "card1");
	ASSERT_EQ_INT(0, add_containers(f, 2));
	/* Taken while c1 is in the background: live all the same. */
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, CARD1, &h));
	ASSERT_TRUE(h->lease);
	ASSERT_EQ_INT(SEAT_HANDLE_LIVE, h->state);
	ASSERT_EQ_INT(1, h->device->leases);
	ASSERT_EQ_INT(0, take(f->c1, EV3, (dev_t)0));
	ASSERT_EQ_INT(0, take(f->c2, CARD0, EV3, (dev_t)0));
	EXPECT_CALLS(f, "open c1/card1 live", "open c1/event3 paused", "open c2/card0 paused",
		     "open c2/event3 paused");

	ASSERT_EQ_INT(0, sw(f, f->c1, "r1"));
	EXPECT_CALLS(f, "kernel c1", "reopen c1/event3", "resume c1/event3", "active none->c1",
		     "done r1 0");
	CHECK_SEAT(f);
	/* Away from c1: only its input moves; no pause to wait for. */
	ASSERT_EQ_INT(0, sw(f, f->c2, "r2"));
	EXPECT_CALLS(f, "revoke c1/event3", "pause c1/event3 force", "kernel c2", "set c2/card0",
		     "reopen c2/event3", "resume c2/card0", "resume c2/event3", "active c1->c2",
		     "done r2 0");
	CHECK_SEAT(f);
	ASSERT_EQ_INT(SEAT_HANDLE_LIVE, H(f->c1, CARD1)->state);
	ASSERT_FALSE(H(f->c2, CARD0)->lease);
}

TEST(lease_takes_master_from_the_card_file_and_gives_it_back)
{
	FAKE(f);
	struct seat_handle *h = NULL;

	fake_lease(f, "c1", "card1");
	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c2, CARD1, EV3, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	CHECK_SEAT(f);
	fake_log_clear(f);

	/* The broker needs master of card1 to lease it: c2 loses it. */
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, CARD1, &h));
	EXPECT_CALLS(f, "drop c2/card1", "open c1/card1 live");
	ASSERT_FALSE(seat_handle_gets_master(H(f->c2, CARD1)));
	CHECK_SEAT(f);

	/* c2's card file is paused and resumed as ever, never master. */
	ASSERT_EQ_INT(0, take(f->c1, EV4, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r2"));
	seat_handle_pause_complete(H(f->c2, CARD1));
	ASSERT_EQ_PTR(f->c1, f->seat->active);
	EXPECT_NOT_CALLED(f, "drop c2/card1");
	ASSERT_EQ_INT(0, sw(f, f->c2, "r3"));
	EXPECT_CALLS_IN_ORDER(f, "pause c2/card1 pause", "kernel c1", "reopen c1/event4",
			      "resume c2/card1", "done r3 0");
	EXPECT_NOT_CALLED(f, "set c2/card1");
	CHECK_SEAT(f);
	fake_log_clear(f);

	/* The last lease gone, the live container's card file is master. */
	seat_handle_release(H(f->c1, CARD1));
	EXPECT_CALLS(f, "close c1/card1", "set c2/card1");
	ASSERT_TRUE(seat_handle_gets_master(H(f->c2, CARD1)));
	CHECK_SEAT(f);
}

TEST(lease_gone_tells_its_container_and_gives_master_back)
{
	FAKE(f);
	struct seat_handle *h = NULL;

	fake_lease(f, "c1", "card1");
	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c2, CARD1, EV3, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, CARD1, &h));
	CHECK_SEAT(f);
	fake_log_clear(f);

	/* Its connector went away: c1 hears "gone" as for a removed card,
	 * its lease closes, and c2's card file in front is master again. */
	seat_handle_gone(h);
	EXPECT_CALLS_IN_ORDER(f, "pause c1/card1 gone", "close c1/card1", "set c2/card1");
	ASSERT_NULL(seat_container_find_handle(f->c1, CARD1));
	ASSERT_EQ_INT(0, seat_find_device(f->seat, CARD1)->leases);
	ASSERT_TRUE(seat_handle_gets_master(H(f->c2, CARD1)));
	CHECK_SEAT(f);
	/* The card stays: c1 may take it again. */
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, CARD1, &h));
	ASSERT_TRUE(h->lease);
	CHECK_SEAT(f);
}

TEST(lease_released_while_the_card_file_is_in_the_background)
{
	FAKE(f);

	fake_lease(f, "c1", "card1");
	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c1, CARD1, (dev_t)0));
	ASSERT_EQ_INT(0, take(f->c2, CARD1, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c1, "r1"));
	CHECK_SEAT(f);
	fake_log_clear(f);
	seat_container_release_control(f->c1);
	EXPECT_CALLS(f, "close c1/card1");
	/* Without a lease, the next switch gives master as usual. */
	ASSERT_EQ_INT(0, sw(f, f->c2, "r2"));
	EXPECT_CALLS_IN_ORDER(f, "kernel c2", "set c2/card1", "resume c2/card1");
	CHECK_SEAT(f);
}

TEST(lease_that_fails_gives_master_back)
{
	FAKE(f);
	struct seat_handle *h = NULL;

	fake_lease(f, "c1", "card1");
	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c2, CARD1, (dev_t)0));
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	fake_log_clear(f);
	fake_fail_op(f, "open", "c1/card1", -EBUSY);
	ASSERT_EQ_INT(-EBUSY, seat_container_take_device(f->c1, CARD1, &h));
	EXPECT_CALLS(f, "drop c2/card1", "open c1/card1 live", "set c2/card1");
	ASSERT_EQ_INT(0, seat_find_device(f->seat, CARD1)->leases);
	ASSERT_NULL(H(f->c1, CARD1));
	CHECK_SEAT(f);
}

TEST(lease_of_one_card_leaves_the_other_alone)
{
	FAKE(f);

	fake_lease(f, "c1", "card1");
	ASSERT_EQ_INT(0, add_containers(f, 2));
	ASSERT_EQ_INT(0, take(f->c1, CARD1, CARD0, (dev_t)0));
	ASSERT_EQ_INT(0, take(f->c2, CARD0, (dev_t)0));
	ASSERT_FALSE(H(f->c1, CARD0)->lease);
	ASSERT_EQ_INT(0, sw(f, f->c2, "r1"));
	EXPECT_CALLS_IN_ORDER(f, "set c2/card0", "resume c2/card0");
	ASSERT_EQ_INT(0, sw(f, f->c1, "r2"));
	seat_handle_pause_complete(H(f->c2, CARD0));
	EXPECT_CALLS_IN_ORDER(f, "pause c2/card0 pause", "drop c2/card0", "set c1/card0",
			      "resume c1/card0", "done r2 0");
	CHECK_SEAT(f);
}

TEST(lease_adopted_after_a_restart_stays_live)
{
	FAKE(f);
	struct seat_handle *h;

	fake_lease(f, "c1", "card1");
	ASSERT_EQ_INT(0, seat_add_container(f->seat, "c1", &f->c1));
	h = adopt(f, f->c1, CARD1, SEAT_HANDLE_LIVE);
	ASSERT_NOT_NULL(h);
	ASSERT_TRUE(h->lease);
	ASSERT_EQ_INT(1, h->device->leases);
	ASSERT_EQ_INT(0, seat_container_take_control(f->c1));
	ASSERT_EQ_INT(0, seat_container_take_device(f->c1, CARD1, &h));
	ASSERT_EQ_INT(SEAT_HANDLE_LIVE, h->state);
	EXPECT_NO_CALLS(f);
	seat_remove_container(f->c1);
	f->c1 = NULL;
	ASSERT_EQ_INT(0, seat_find_device(f->seat, CARD1)->leases);
	EXPECT_CALLS(f, "close c1/card1");
}

TEST_MAIN
