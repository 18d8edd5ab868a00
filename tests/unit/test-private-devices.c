/* SPDX-License-Identifier: MIT */
/*
 * Private devices of a container: the binder pool (broker/binder.c) and the
 * loop device methods (broker/loop.c, dbus/container-dbus.c) against a
 * broker built in-process (see fixture.h).
 *
 * No loop device is attached here: that needs /dev/loop-control and root,
 * and belongs to the vm suite (tests/vm/test-private-devices.py). What is
 * tested is everything in front of the ioctls: names, the backing file
 * checks, who owns what and who is refused, and what unregistration drops.
 * Ownership is recorded with container_add_loop() without an open file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "broker/binder.h"
#include "broker/config.h"
#include "broker/loop.h"
#include "common/macro.h"
#include "dbus/bus-error.h"
#include "fixture.h"

/* A fixture whose teardown leaves no state file behind: the broker removes
 * it on a clean stop of a broker that served. */
#define SETUP(f, unprivileged)                  \
	do {                                    \
		FX_SETUP(f, unprivileged);      \
		(f)->b->served = true;          \
	} while (0)

/* Device numbers nobody has open: a major no driver has. */
#define FREE_DEVNUM(n) makedev(4000, (n))

TEST(loop_names)
{
	static const char *const bad[] = {
		"", "loop", "loop01", "loop-1", "loop+1", " loop1", "loop1 ", "/dev/loop1",
		"LOOP1", "loop1x", "loopx", "loop99999999", "loop1/", "card0",
	};
	unsigned n = 99;

	ASSERT_EQ_INT(0, loop_parse_name("loop0", &n));
	ASSERT_EQ_INT(0, (int)n);
	ASSERT_EQ_INT(0, loop_parse_name("loop12", &n));
	ASSERT_EQ_INT(12, (int)n);
	ASSERT_EQ_INT(0, loop_parse_name("loop1048575", &n));
	ASSERT_EQ_INT(1048575, (int)n);
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++)
		if (loop_parse_name(bad[i], &n) != -EINVAL)
			EXPECT_FAIL("'%s' taken as a loop device name", bad[i]);
	ASSERT_EQ_INT(-EINVAL, loop_parse_name(NULL, &n));
}

/* The LoopDevices property, as "loop1 loop2", or NULL. */
static char *loop_devices(struct fixture *f, sd_bus *bus, const char *path)
{
	sd_bus_message *m = fx_get_property(f, bus, path, CONTAINER_INTERFACE, "LoopDevices", "as");
	char buf[256] = "";
	const char *s;
	size_t k = 0;

	if (!m)
		return NULL;
	if (sd_bus_message_enter_container(m, 'a', "s") < 0) {
		sd_bus_message_unref(m);
		return NULL;
	}
	while (sd_bus_message_read_basic(m, 's', &s) > 0 && k < sizeof(buf))
		k += (size_t)snprintf(buf + k, sizeof(buf) - k, "%s%s", k ? " " : "", s);
	sd_bus_message_unref(m);
	return strdup(buf);
}

static bool expect_loops(struct fixture *f, sd_bus *bus, const char *path, const char *want)
{
	char *got = loop_devices(f, bus, path);
	bool ok = got && strcmp(got, want) == 0;

	if (!ok)
		EXPECT_FAIL("LoopDevices at %s: '%s', want '%s'", path, got ? got : "(unreadable)", want);
	free(got);
	return ok;
}

/* Two containers of our own pid namespace, each with its endpoint. */
struct two {
	struct fixture *f;
	struct container *a, *b;
	sd_bus *ea, *eb;
};

static bool two_setup(struct two *t)
{
	memset(t, 0, sizeof(*t));
	if (fx_setup(&t->f, false) < 0)
		return false;
	t->f->b->served = true;
	t->a = fx_add_container(t->f, "a", 0, false);
	t->b = fx_add_container(t->f, "b", 0, false);
	if (!t->a || !t->b)
		return false;
	t->ea = fx_endpoint_client(t->f, "a", false);
	t->eb = fx_endpoint_client(t->f, "b", false);
	return t->ea && t->eb;
}

#define TWO_SETUP(t)                                          \
	do {                                                  \
		if (!TEST_CHECK(two_setup(t)))                \
			FAIL("cannot set up two containers"); \
	} while (0)

TEST(loop_refused_to_other_containers)
{
	struct two t;

	TWO_SETUP(&t);
	if (container_add_loop(t.a, 7, false, -1, NULL) < 0)
		FAIL("cannot record loop7");
	ASSERT_EQ_PTR(t.a, broker_find_loop(t.f->b, 7)->owner);

	/* b may neither take nor detach a's device... */
	EXPECT_CALL(t.f, BUS_ERROR_DEVICE_NOT_OWNED, t.eb, SELF_PATH, CONTAINER_INTERFACE,
		    "OpenLoopDevice", "s", "loop7");
	EXPECT_CALL(t.f, BUS_ERROR_DEVICE_NOT_OWNED, t.eb, SELF_PATH, CONTAINER_INTERFACE,
		    "DetachLoopDevice", "s", "loop7");
	/* ...nor a device nobody attached, nor a bad name. */
	EXPECT_CALL(t.f, BUS_ERROR_NO_SUCH_DEVICE, t.eb, SELF_PATH, CONTAINER_INTERFACE,
		    "OpenLoopDevice", "s", "loop8");
	EXPECT_CALL(t.f, BUS_ERROR_NO_SUCH_DEVICE, t.eb, SELF_PATH, CONTAINER_INTERFACE,
		    "DetachLoopDevice", "s", "loop8");
	EXPECT_CALL(t.f, SD_BUS_ERROR_INVALID_ARGS, t.eb, SELF_PATH, CONTAINER_INTERFACE,
		    "OpenLoopDevice", "s", "/dev/loop7");
	EXPECT_CALL(t.f, SD_BUS_ERROR_INVALID_ARGS, t.eb, SELF_PATH, CONTAINER_INTERFACE,
		    "DetachLoopDevice", "s", "loop07");
	expect_loops(t.f, t.ea, SELF_PATH, "loop7");
	expect_loops(t.f, t.eb, SELF_PATH, "");
	ASSERT_EQ_PTR(t.a, broker_find_loop(t.f->b, 7)->owner);

	/* The owner detaches it; then it is nobody's. */
	EXPECT_CALL(t.f, "ok", t.ea, SELF_PATH, CONTAINER_INTERFACE, "DetachLoopDevice", "s",
		    "loop7");
	expect_loops(t.f, t.ea, SELF_PATH, "");
	ASSERT_NULL(broker_find_loop(t.f->b, 7));
	EXPECT_CALL(t.f, BUS_ERROR_NO_SUCH_DEVICE, t.ea, SELF_PATH, CONTAINER_INTERFACE,
		    "DetachLoopDevice", "s", "loop7");
}

TEST(loop_devices_in_attach_order)
{
	struct two t;

	TWO_SETUP(&t);
	if (container_add_loop(t.a, 3, false, -1, NULL) < 0 ||
	    container_add_loop(t.a, 1, true, -1, NULL) < 0 ||
	    container_add_loop(t.b, 2, false, -1, NULL) < 0)
		FAIL("cannot record loop devices");
	expect_loops(t.f, t.ea, SELF_PATH, "loop3 loop1");
	expect_loops(t.f, t.eb, SELF_PATH, "loop2");
	/* The same on the broker's bus, at the full path. */
	expect_loops(t.f, t.f->client, FX_PATH(t.a), "loop3 loop1");
}

TEST(loop_unregistration_forgets_them)
{
	struct two t;

	TWO_SETUP(&t);
	if (container_add_loop(t.a, 4, false, -1, NULL) < 0 ||
	    container_add_loop(t.a, 5, false, -1, NULL) < 0)
		FAIL("cannot record loop devices");
	fx_close_bus(t.f, t.ea);
	t.ea = NULL;
	container_free(t.a);
	t.a = NULL;
	fx_run_pending(t.f);
	ASSERT_NULL(broker_find_loop(t.f->b, 4));
	ASSERT_NULL(broker_find_loop(t.f->b, 5));
	/* And what was a's is nobody's now, not b's. */
	EXPECT_CALL(t.f, BUS_ERROR_NO_SUCH_DEVICE, t.eb, SELF_PATH, CONTAINER_INTERFACE,
		    "OpenLoopDevice", "s", "loop4");
}

static void attach_expect(struct two *t, const char *what, int fd, int read_only,
			  const char *expected)
{
	sd_bus_message *m = fx_call(t->f, t->ea, SELF_PATH, CONTAINER_INTERFACE,
				    "AttachLoopDevice", "hb", fd, read_only);

	fx_expect_at(__FILE__, __LINE__, expected, m, what);
}

TEST(loop_attach_refuses_what_is_not_a_regular_file)
{
	char path[PATH_MAX];
	struct two t;
	int p[2], dir, file, write_only, append;

	TWO_SETUP(&t);
	ASSERT_EQ_INT(0, pipe2(p, O_CLOEXEC));
	dir = open(t.f->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	snprintf(path, sizeof(path), "%s/image", t.f->dir);
	file = open(path, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	write_only = open(path, O_WRONLY | O_CLOEXEC);
	append = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
	if (dir < 0 || file < 0 || write_only < 0 || append < 0) {
		unlink(path);
		FAIL("cannot open test files: %s", strerror(errno));
	}
	attach_expect(&t, "a pipe", p[0], 1, SD_BUS_ERROR_INVALID_ARGS);
	attach_expect(&t, "a directory", dir, 1, SD_BUS_ERROR_INVALID_ARGS);
	/* Writable asked of a file opened read-only. */
	attach_expect(&t, "a read-only file, read-write", file, 0, SD_BUS_ERROR_INVALID_ARGS);
	/* The device reads through the file; appending is not writing in place. */
	attach_expect(&t, "a write-only file", write_only, 0, SD_BUS_ERROR_INVALID_ARGS);
	attach_expect(&t, "a write-only file, read-only", write_only, 1, SD_BUS_ERROR_INVALID_ARGS);
	attach_expect(&t, "an append-only file", append, 0, SD_BUS_ERROR_INVALID_ARGS);
	attach_expect(&t, "an append-only file, read-only", append, 1, SD_BUS_ERROR_INVALID_ARGS);
	expect_loops(t.f, t.ea, SELF_PATH, "");
	close(write_only);
	close(append);
	close(p[0]);
	close(p[1]);
	close(dir);
	close(file);
	unlink(path);
}

/* On the broker's bus the loop methods are root's, like every Container
 * method there. */
TEST(loop_methods_refused_to_unprivileged_callers)
{
	struct fixture *f;
	struct container *c;
	int p[2];

	SETUP(f, true);
	c = fx_add_container(f, "web-1", 0, false);
	if (!c || pipe2(p, O_CLOEXEC) < 0)
		FAIL("setup");
	if (container_add_loop(c, 6, false, -1, NULL) < 0)
		FAIL("cannot record loop6");
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, FX_PATH(c), CONTAINER_INTERFACE,
		    "AttachLoopDevice", "hb", p[0], 1);
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, FX_PATH(c), CONTAINER_INTERFACE,
		    "OpenLoopDevice", "s", "loop6");
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, FX_PATH(c), CONTAINER_INTERFACE,
		    "DetachLoopDevice", "s", "loop6");
	/* The property is open to all, as in logind. */
	expect_loops(f, f->client, FX_PATH(c), "loop6");
	ASSERT_NOT_NULL(broker_find_loop(f->b, 6));
	close(p[0]);
	close(p[1]);
}

/* ------------------------------------------------------------- binder */

static char *binder_of(struct fixture *f, sd_bus *bus, const char *path)
{
	return fx_get_string(f, bus, path, CONTAINER_INTERFACE, "BinderDevice");
}

static void expect_binder_at(const char *file, int line, struct fixture *f,
			     struct container *c, const char *want)
{
	char *got = binder_of(f, f->client, FX_PATH(c));

	if (!got || strcmp(got, want) != 0)
		test_fail_at(file, line, "BinderDevice of %s: '%s', want '%s'", c->name,
			     got ? got : "(unreadable)", want);
	free(got);
}
#define EXPECT_BINDER(f, c, want) expect_binder_at(__FILE__, __LINE__, (f), (c), (want))

TEST(binder_one_device_per_container)
{
	struct fixture *f;
	struct container *a, *b, *c;
	sd_bus *ep;
	char *s;

	SETUP(f, false);
	ASSERT_EQ_INT(0, broker_binder_add(f->b, "binder1", "/dev/binder1", FREE_DEVNUM(1)));
	ASSERT_EQ_INT(0, broker_binder_add(f->b, "binder0", "/dev/binder0", FREE_DEVNUM(0)));
	a = fx_add_container(f, "a", 0, false);
	b = fx_add_container(f, "b", 0, false);
	c = fx_add_container(f, "c", 0, false);
	if (!a || !b || !c)
		FAIL("cannot add containers");
	/* In name order; the third goes without, and is registered all the
	 * same. */
	EXPECT_BINDER(f, a, "/dev/binder0");
	EXPECT_BINDER(f, b, "/dev/binder1");
	EXPECT_BINDER(f, c, "");
	/* The container reads it on its endpoint. */
	ep = fx_endpoint_client(f, "b", false);
	s = ep ? binder_of(f, ep, SELF_PATH) : NULL;
	if (!s || strcmp(s, "/dev/binder1") != 0)
		EXPECT_FAIL("BinderDevice on b's endpoint: %s", s ? s : "(unreadable)");
	free(s);
	if (ep)
		fx_close_bus(f, ep);

	/* Unregistered, a's device goes to the next container. */
	container_free(a);
	fx_run_pending(f);
	a = fx_add_container(f, "d", 0, false);
	ASSERT_NOT_NULL(a);
	EXPECT_BINDER(f, a, "/dev/binder0");
}

TEST(binder_least_used_first)
{
	struct fixture *f;
	struct container *a;

	SETUP(f, false);
	ASSERT_EQ_INT(0, broker_binder_add(f->b, "binder0", "/dev/binder0", FREE_DEVNUM(0)));
	ASSERT_EQ_INT(0, broker_binder_add(f->b, "binder1", "/dev/binder1", FREE_DEVNUM(1)));
	a = fx_add_container(f, "a", 0, false);
	ASSERT_NOT_NULL(a);
	EXPECT_BINDER(f, a, "/dev/binder0");
	container_free(a);
	fx_run_pending(f);
	/* binder0 is free again, but binder1 was never used. */
	a = fx_add_container(f, "b", 0, false);
	ASSERT_NOT_NULL(a);
	EXPECT_BINDER(f, a, "/dev/binder1");
}

/* A device some process still holds is not handed out: here /dev/null
 * (1:3) stands for a binder device that a process of an unregistered
 * container keeps open. */
TEST(binder_held_device_is_not_reused)
{
	struct fixture *f;
	struct container *a, *b;
	int fd;

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	ASSERT_TRUE(binder_device_is_held(makedev(1, 3)));
	ASSERT_FALSE(binder_device_is_held(FREE_DEVNUM(5)));

	SETUP(f, false);
	ASSERT_EQ_INT(0, broker_binder_add(f->b, "binder0", "/dev/null", makedev(1, 3)));
	ASSERT_EQ_INT(0, broker_binder_add(f->b, "binder1", "/dev/binder1", FREE_DEVNUM(1)));
	a = fx_add_container(f, "a", 0, false);
	b = fx_add_container(f, "b", 0, false);
	if (!a || !b) {
		close(fd);
		FAIL("cannot add containers");
	}
	EXPECT_BINDER(f, a, "/dev/binder1");
	EXPECT_BINDER(f, b, "");
	close(fd);
}

/* After a restart a container gets back the device it had, which its own
 * processes hold, or none if it had none. */
TEST(binder_restored_device)
{
	struct container_options had1 = { .binder = "binder1" }, had_none = { .binder = "" };
	struct fixture *f;
	struct container *a = NULL, *b = NULL;
	int fd;

	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_TRUE(fd >= 0);
	SETUP(f, false);
	ASSERT_EQ_INT(0, broker_binder_add(f->b, "binder0", "/dev/binder0", FREE_DEVNUM(0)));
	ASSERT_EQ_INT(0, broker_binder_add(f->b, "binder1", "/dev/null", makedev(1, 3)));
	if (container_new(f->b, "a", f->seat0, getpid(), &had1, &a) < 0 ||
	    container_new(f->b, "b", f->seat0, getpid(), &had_none, &b) < 0) {
		close(fd);
		FAIL("cannot add containers");
	}
	EXPECT_BINDER(f, a, "/dev/null");
	EXPECT_BINDER(f, b, "");
	close(fd);
}

TEST(binder_config_devices)
{
	_cleanup_(config_done) struct config c = { 0 };

	config_init(&c);
	ASSERT_NULL(c.binder_devices);
	ASSERT_EQ_INT(0, config_parse_string(&c, "[Binder]\nDevices=binder1 binder2\n", "test"));
	ASSERT_EQ_STR("binder1 binder2", c.binder_devices);
	ASSERT_EQ_INT(0, config_parse_string(&c, "[Binder]\nDevices=\n", "test"));
	ASSERT_EQ_STR("", c.binder_devices);
	ASSERT_EQ_INT(-EINVAL, config_parse_string(&c, "[Binder]\nDevices=binder1 loop0\n", "test"));
	ASSERT_EQ_INT(-EINVAL, config_parse_string(&c, "[Binder]\nDevices=binder/x\n", "test"));
	config_done(&c);
	ASSERT_NULL(c.binder_devices);
}

TEST_MAIN
