/* SPDX-License-Identifier: MIT */
/*
 * The D-Bus API on the broker's bus (org.devns.broker1(5)) against a broker
 * built in-process: the Manager, the seats and the containers, method
 * dispatch, errors, properties and signals, and who may change state.
 *
 * The broker's bus is a socketpair (see fixture.h). Tests that need a root
 * client (ROOT_TEST) run as root, or as root of a user namespace when the
 * suite runs as an ordinary user; tests of refused callers use a client
 * that is never root.
 */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "broker/state.h"
#include "common/macro.h"
#include "dbus/bus-error.h"
#include "fixture.h"

#define LONG_NAME "1234567890123456789012345678901234567890123456789012345678901234"
#define UNIX_PATH_MAX sizeof(((struct sockaddr_un *)NULL)->sun_path)

/* The directory part of path, in a static buffer. */
static const char *dirname_of(const char *path)
{
	static char buf[PATH_MAX];
	char *slash;

	snprintf(buf, sizeof(buf), "%s", path);
	slash = strrchr(buf, '/');
	if (slash && slash != buf)
		*slash = '\0';
	return buf;
}

/* RegisterContainer(name, seat, leader, {}) on the broker's bus. */
static sd_bus_message *register_container(struct fixture *f, const char *name, const char *seat,
					  uint32_t leader)
{
	return fx_call(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "RegisterContainer",
		       "ssua{sv}", name, seat, leader, 0);
}

/* ---- Manager ---- */

TEST(manager_list_seats)
{
	struct fixture *f;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	const char *id, *path;
	unsigned n = 0;
	bool seat0 = false;

	FX_SETUP(f, false);
	m = fx_call(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "ListSeats", NULL);
	if (strcmp(fx_outcome(m), "ok") != 0) {
		fx_expect_at(__FILE__, __LINE__, "ok", TAKE_PTR(m), "ListSeats");
		return;
	}
	ASSERT_EQ_INT(1, sd_bus_message_enter_container(m, 'a', "(so)"));
	while (sd_bus_message_read(m, "(so)", &id, &path) > 0) {
		n++;
		if (strcmp(id, "seat0") == 0) {
			seat0 = true;
			if (strcmp(path, SEAT0_PATH) != 0)
				EXPECT_FAIL("seat0 at %s", path);
		}
	}
	ASSERT_TRUE(seat0);
	ASSERT_EQ_INT(1, n);
}

TEST(manager_list_seats_two)
{
	struct fixture *f;
	struct broker_seat *bs;
	sd_bus_message *m;
	const char *id, *path;
	char ids[64] = "";

	FX_SETUP(f, false);
	ASSERT_EQ_INT(0, broker_get_seat(f->b, "seat1", &bs));
	ASSERT_EQ_STR("/org/devns/broker1/seat/seat1", FX_PATH(bs));
	m = fx_call(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "ListSeats", NULL);
	if (m && !sd_bus_message_is_method_error(m, NULL) &&
	    sd_bus_message_enter_container(m, 'a', "(so)") > 0)
		while (sd_bus_message_read(m, "(so)", &id, &path) > 0)
			snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%s=%s",
				 ids[0] ? " " : "", id, path + strlen(SEAT_PATH_PREFIX) + 1);
	sd_bus_message_unref(m);
	ASSERT_EQ_STR("seat0=seat0 seat1=seat1", ids);
}

TEST(manager_get_seat)
{
	struct fixture *f;
	sd_bus_message *m;
	const char *path = NULL;

	FX_SETUP(f, false);
	m = fx_call(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "GetSeat", "s", "seat0");
	if (m && !sd_bus_message_is_method_error(m, NULL))
		sd_bus_message_read(m, "o", &path);
	if (!path || strcmp(path, SEAT0_PATH) != 0)
		EXPECT_FAIL("GetSeat(seat0): %s %s", fx_outcome(m), path ? path : "");
	sd_bus_message_unref(m);

	/* The empty id means seat0, as in RegisterContainer. */
	path = NULL;
	m = fx_call(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "GetSeat", "s", "");
	if (m && !sd_bus_message_is_method_error(m, NULL))
		sd_bus_message_read(m, "o", &path);
	if (!path || strcmp(path, SEAT0_PATH) != 0)
		EXPECT_FAIL("GetSeat(\"\"): %s %s", fx_outcome(m), path ? path : "");
	sd_bus_message_unref(m);

	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_SEAT, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetSeat", "s", "seat9");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetSeat", "s", "bad");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetSeat", "s", "seat/0");
	/* A wrong signature is refused by sd-bus itself. */
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetSeat", "u", 0);
}

TEST(manager_get_container_errors)
{
	struct fixture *f;

	FX_SETUP(f, false);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetContainer", "s", "bad/name");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetContainer", "s", "");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetContainer", "s", "-web");
	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_CONTAINER, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetContainer", "s", "nope");
}

TEST(manager_get_and_list_containers)
{
	struct fixture *f;
	struct container *a, *b;
	sd_bus_message *m;
	const char *name, *seat, *path = NULL;
	char got[256] = "";
	int active;

	FX_SETUP(f, false);
	a = fx_add_container(f, "web-1", 0, false);
	b = fx_add_container(f, "db.2", 0, false);
	if (!a || !b)
		FAIL("cannot add containers");
	m = fx_call(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "GetContainer", "s", "web-1");
	if (m && !sd_bus_message_is_method_error(m, NULL))
		sd_bus_message_read(m, "o", &path);
	if (!path || strcmp(path, "/org/devns/broker1/container/web_2d1") != 0)
		EXPECT_FAIL("GetContainer(web-1): %s %s", fx_outcome(m), path ? path : "");
	sd_bus_message_unref(m);

	ASSERT_TRUE(fx_activate(f, b));
	m = fx_call(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers", NULL);
	if (m && !sd_bus_message_is_method_error(m, NULL) &&
	    sd_bus_message_enter_container(m, 'a', "(ssbo)") > 0)
		while (sd_bus_message_read(m, "(ssbo)", &name, &seat, &active, &path) > 0)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s %s %d %s",
				 got[0] ? "; " : "", name, seat, active,
				 path + strlen(CONTAINER_PATH_PREFIX) + 1);
	else
		EXPECT_FAIL("ListContainers: %s", fx_outcome(m));
	sd_bus_message_unref(m);
	/* Registration order. */
	ASSERT_EQ_STR("web-1 seat0 0 web_2d1; db.2 seat0 1 db_2e2", got);
}

TEST(manager_properties)
{
	struct fixture *f;
	char *version, *runtime_dir;
	int kernel;

	FX_SETUP(f, false);
	version = fx_get_string(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "Version");
	runtime_dir = fx_get_string(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "RuntimeDirectory");
	kernel = fx_get_bool(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "KernelDevns");
	if (!version || strcmp(version, DEVNS_VERSION) != 0)
		EXPECT_FAIL("Version: %s", version ? version : "(none)");
	if (!runtime_dir || strcmp(runtime_dir, f->b->runtime_dir) != 0)
		EXPECT_FAIL("RuntimeDirectory: %s, expected %s", runtime_dir ? runtime_dir : "(none)",
			    f->b->runtime_dir);
	/* The fixture's broker never opens /dev/devns. */
	if (kernel != 0)
		EXPECT_FAIL("KernelDevns: %d", kernel);
	free(version);
	free(runtime_dir);

	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, PROPS, "GetAll", "s", MANAGER_INTERFACE);
	EXPECT_CALL(f, SD_BUS_ERROR_PROPERTY_READ_ONLY, f->client, MANAGER_PATH, PROPS, "Set", "ssv",
		    MANAGER_INTERFACE, "Version", "s", "9");
	EXPECT_CALL(f, SD_BUS_ERROR_UNKNOWN_PROPERTY, f->client, MANAGER_PATH, PROPS, "Get", "ss",
		    MANAGER_INTERFACE, "NoSuchProperty");
}

TEST(manager_standard_interfaces)
{
	struct fixture *f;

	FX_SETUP(f, false);
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL);
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, "org.freedesktop.DBus.Introspectable",
		    "Introspect", NULL);
	EXPECT_CALL(f, "ok", f->client, SEAT0_PATH, "org.freedesktop.DBus.Introspectable",
		    "Introspect", NULL);
	EXPECT_CALL(f, SD_BUS_ERROR_UNKNOWN_METHOD, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "NoSuchMethod", NULL);
	EXPECT_CALL(f, SD_BUS_ERROR_UNKNOWN_OBJECT, f->client, "/org/devns/broker1/seat/seat9",
		    SEAT_INTERFACE, "SwitchToNext", NULL);
	EXPECT_CALL(f, SD_BUS_ERROR_UNKNOWN_OBJECT, f->client, "/org/devns/broker1/container/nope",
		    CONTAINER_INTERFACE, "TakeControl", "b", 0);
}

/* ---- Seat ---- */

TEST(seat_properties)
{
	struct fixture *f;
	sd_bus_message *m;
	const char *s, *o;
	char *id;
	int graphical;

	FX_SETUP(f, false);
	id = fx_get_string(f, f->client, SEAT0_PATH, SEAT_INTERFACE, "Id");
	if (!id || strcmp(id, "seat0") != 0)
		EXPECT_FAIL("Id: %s", id ? id : "(none)");
	free(id);

	m = fx_get_property(f, f->client, SEAT0_PATH, SEAT_INTERFACE, "ActiveContainer", "(so)");
	if (!m || sd_bus_message_read(m, "(so)", &s, &o) <= 0 || strcmp(s, "") != 0 ||
	    strcmp(o, "/") != 0)
		EXPECT_FAIL("ActiveContainer is not (\"\", \"/\") without containers");
	sd_bus_message_unref(m);

	m = fx_get_property(f, f->client, SEAT0_PATH, SEAT_INTERFACE, "Containers", "a(so)");
	if (!m || sd_bus_message_enter_container(m, 'a', "(so)") <= 0 ||
	    sd_bus_message_read(m, "(so)", &s, &o) != 0)
		EXPECT_FAIL("Containers is not empty");
	sd_bus_message_unref(m);

	m = fx_get_property(f, f->client, SEAT0_PATH, SEAT_INTERFACE, "Devices", "a(suus)");
	if (!m || sd_bus_message_enter_container(m, 'a', "(suus)") <= 0 ||
	    sd_bus_message_skip(m, "(suus)") != 0)
		EXPECT_FAIL("Devices is not empty");
	sd_bus_message_unref(m);

	graphical = fx_get_bool(f, f->client, SEAT0_PATH, SEAT_INTERFACE, "CanGraphical");
	if (graphical != 0)
		EXPECT_FAIL("CanGraphical: %d", graphical);
}

TEST(seat_devices_and_can_graphical)
{
	struct fixture *f;
	sd_bus_message *m;
	const char *sysname, *type;
	uint32_t maj, min;
	char got[256] = "";
	int graphical;

	FX_SETUP(f, false);
	ASSERT_NOT_NULL(fx_add_null_device(f->seat0, "event3", SEAT_DEVICE_EVDEV));
	graphical = fx_get_bool(f, f->client, SEAT0_PATH, SEAT_INTERFACE, "CanGraphical");
	if (graphical != 0)
		EXPECT_FAIL("CanGraphical with an evdev node only: %d", graphical);

	{
		struct seat_device *d;

		if (seat_add_device(f->seat0->seat, "card0", makedev(226, 0), SEAT_DEVICE_DRM, &d) < 0)
			FAIL("seat_add_device");
		d->userdata = strdup("/dev/dri/card0");
	}
	graphical = fx_get_bool(f, f->client, SEAT0_PATH, SEAT_INTERFACE, "CanGraphical");
	if (graphical != 1)
		EXPECT_FAIL("CanGraphical with a card: %d", graphical);

	m = fx_get_property(f, f->client, SEAT0_PATH, SEAT_INTERFACE, "Devices", "a(suus)");
	if (m && sd_bus_message_enter_container(m, 'a', "(suus)") > 0)
		while (sd_bus_message_read(m, "(suus)", &sysname, &maj, &min, &type) > 0)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s %u:%u %s",
				 got[0] ? "; " : "", sysname, maj, min, type);
	sd_bus_message_unref(m);
	ASSERT_EQ_STR("event3 1:3 evdev; card0 226:0 drm", got);
}

TEST(seat_removed_with_last_container)
{
	struct fixture *f;
	struct broker_seat *seat1;
	struct container_options opts = { 0 };
	struct container *c;
	struct fx_recorder *rec;
	sd_bus_message *m;
	const char *name, *seat, *path;
	int active;
	char got[128] = "", line[128];

	FX_SETUP(f, false);
	rec = fx_recorder_new(f->client);
	ASSERT_NOT_NULL(rec);
	ASSERT_EQ_INT(0, broker_get_seat(f->b, "seat1", &seat1));
	snprintf(line, sizeof(line), "SeatNew seat1 %s/seat1", SEAT_PATH_PREFIX);
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no SeatNew signal");
	ASSERT_EQ_INT(0, container_new(f->b, "web-1", seat1, getpid(), &opts, &c));
	m = fx_call(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers", NULL);
	if (m && !sd_bus_message_is_method_error(m, NULL) &&
	    sd_bus_message_enter_container(m, 'a', "(ssbo)") > 0)
		while (sd_bus_message_read(m, "(ssbo)", &name, &seat, &active, &path) > 0)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s %s %d", name, seat,
				 active);
	sd_bus_message_unref(m);
	if (strcmp(got, "web-1 seat1 0") != 0)
		EXPECT_FAIL("ListContainers: \"%s\"", got);

	/* Neither devices nor containers left: seat1 goes, seat0 never does. */
	container_free(c);
	ASSERT_NULL(broker_find_seat(f->b, "seat1"));
	ASSERT_NOT_NULL(broker_find_seat(f->b, "seat0"));
	snprintf(line, sizeof(line), "SeatRemoved seat1 %s/seat1", SEAT_PATH_PREFIX);
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no SeatRemoved signal");
	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_SEAT, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetSeat", "s", "seat1");
	EXPECT_CALL(f, SD_BUS_ERROR_UNKNOWN_OBJECT, f->client, SEAT_PATH_PREFIX "/seat1",
		    PROPS, "Get", "ss", SEAT_INTERFACE, "Id");
}

/* ---- RegisterContainer and UnregisterContainer (root) ---- */

ROOT_TEST(register_container)
{
	struct fixture *f;
	struct fx_recorder *rec;
	sd_bus_message *m;
	const char *path = NULL;
	_cleanup_free_ char *expected = NULL;
	char sock[PATH_MAX];
	struct container *c;

	FX_SETUP(f, false);
	rec = fx_recorder_new(f->client);
	ASSERT_NOT_NULL(rec);
	m = register_container(f, "web-1", "seat0", (uint32_t)getpid());
	if (m && !sd_bus_message_is_method_error(m, NULL))
		sd_bus_message_read(m, "o", &path);
	expected = fx_container_path("web-1");
	if (!path || !expected || strcmp(path, expected) != 0 ||
	    strcmp(path, "/org/devns/broker1/container/web_2d1") != 0)
		EXPECT_FAIL("RegisterContainer: %s %s", fx_outcome(m), path ? path : "");
	sd_bus_message_unref(m);

	c = broker_find_container(f->b, "web-1");
	if (!c)
		FAIL("web-1 is not registered");
	if (c->leader != getpid() || c->seat != f->seat0 || c->allow_activate)
		EXPECT_FAIL("web-1: leader %d, seat %s, allow_activate %d", (int)c->leader,
			    c->seat->seat->id, c->allow_activate);
	fx_endpoint_path(f, "web-1", sock, sizeof(sock));
	if (!fx_path_exists(sock))
		EXPECT_FAIL("no endpoint at %s", sock);
	{
		/* Open to every user (the pid namespace decides), whatever
		 * our umask: bind() makes it so, no chmod by name after. */
		struct stat st;

		if (lstat(sock, &st) < 0 || !S_ISSOCK(st.st_mode) || (st.st_mode & 07777) != 0666)
			EXPECT_FAIL("%s is not a socket of mode 0666", sock);
	}

	{
		char line[256];

		snprintf(line, sizeof(line), "ContainerNew web-1 %s", expected);
		if (!fx_rec_wait(f, rec, line))
			EXPECT_FAIL("no ContainerNew signal");
	}

	/* The empty seat means seat0; the option is taken. */
	m = fx_call(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "RegisterContainer", "ssua{sv}",
		    "web_2", "", (uint32_t)getpid(), 1, "AllowActivate", "b", 1);
	fx_expect_at(__FILE__, __LINE__, "ok", m, "RegisterContainer with AllowActivate");
	c = broker_find_container(f->b, "web_2");
	if (!c || c->seat != f->seat0 || !c->allow_activate)
		EXPECT_FAIL("web_2 is not on seat0 with AllowActivate");
}

ROOT_TEST(register_container_exists)
{
	struct fixture *f;

	FX_SETUP(f, false);
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "RegisterContainer",
		    "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(), 0);
	EXPECT_CALL(f, BUS_ERROR_CONTAINER_EXISTS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(), 0);
	ASSERT_EQ_INT(1, list_length(&f->b->containers));
}

ROOT_TEST(register_container_bad_options)
{
	struct fixture *f;

	FX_SETUP(f, false);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    1, "NoSuchOption", "b", 1);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    2, "AllowActivate", "b", 1, "Other", "s", "x");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    1, "AllowActivate", "s", "yes");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssu", "web-1", "seat0", (uint32_t)getpid());
	ASSERT_EQ_INT(0, list_length(&f->b->containers));
}

ROOT_TEST(register_container_bad_names)
{
	static const char *const bad[] = {
		"bad/name", "", "-web", ".web", "web 1", "web:1", "wéb", "web\n",
		"12345678901234567890123456789012345678901234567890123456789012345",
	};
	struct fixture *f;

	FX_SETUP(f, false);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sd_bus_message *m = register_container(f, bad[i], "seat0", (uint32_t)getpid());

		if (strcmp(fx_outcome(m), SD_BUS_ERROR_INVALID_ARGS) != 0)
			EXPECT_FAIL("RegisterContainer(\"%s\"): %s", bad[i], fx_outcome(m));
		sd_bus_message_unref(m);
	}
	/* 64 characters are fine (see long_name_and_long_runtime_directory). */
	if (strlen(f->b->containers_dir) + 1 + 64 + strlen("/seatd.sock") >= UNIX_PATH_MAX) {
		printf("# the temporary directory is too long for a 64-character name\n");
	} else {
		EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "RegisterContainer",
			    "ssua{sv}", LONG_NAME, "seat0", (uint32_t)getpid(), 0);
		ASSERT_EQ_INT(1, list_length(&f->b->containers));
	}
}

/* A name of 64 characters is valid (api.md, org.devns.broker1(5)) and
 * RuntimeDirectory= may be up to 200 characters (config.c), but
 * <runtime>/containers/<name>/seatd.sock must fit in sun_path (108 bytes):
 * with a RuntimeDirectory longer than 20 characters, registering such a
 * name fails with org.freedesktop.DBus.Error.Failed ("File name too long"). */
TEST(long_name_and_long_runtime_directory)
{
	struct fixture *f;
	struct container *c;
	char *saved, deep[PATH_MAX];

	FX_SETUP(f, false);
	/* A runtime directory of 40 characters or more. */
	snprintf(deep, sizeof(deep), "%s/a-longer-runtime-directory/containers", f->dir);
	saved = f->b->containers_dir;
	f->b->containers_dir = deep;
	if (mkdir(dirname_of(deep), 0755) < 0 || mkdir(deep, 0755) < 0) {
		f->b->containers_dir = saved;
		rmdir(dirname_of(deep));
		FAIL("mkdir %s", deep);
	}
	c = fx_add_container(f, LONG_NAME, 0, false);
	if (!c)
		EXPECT_FAIL("a 64-character name under %s cannot be registered", deep);
	container_free(c);
	rmdir(deep);
	rmdir(dirname_of(deep));
	f->b->containers_dir = saved;
}

ROOT_TEST(register_container_bad_seat_or_leader)
{
	struct fixture *f;
	pid_t gone;

	/* A pid that existed: a reaped child. */
	gone = fork();
	ASSERT_TRUE(gone >= 0);
	if (gone == 0)
		_exit(0);
	ASSERT_EQ_INT(gone, waitpid(gone, NULL, 0));

	FX_SETUP(f, false);
	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_SEAT, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat9", (uint32_t)getpid(), 0);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "nonsense", (uint32_t)getpid(), 0);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", 0u, 0);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", 0x80000000u, 0);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", 0x7ffffffeu, 0);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)gone, 0);
	ASSERT_EQ_INT(0, list_length(&f->b->containers));
	/* Nothing left behind in the runtime directory. */
	{
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/web-1", f->b->containers_dir);
		if (fx_path_exists(dir))
			EXPECT_FAIL("%s left behind", dir);
	}
}

ROOT_TEST(unregister_container)
{
	struct fixture *f;
	struct fx_recorder *rec;
	char dir[PATH_MAX], line[256];

	FX_SETUP(f, false);
	ASSERT_NOT_NULL(fx_add_container(f, "web-1", 0, false));
	rec = fx_recorder_new(f->client);
	ASSERT_NOT_NULL(rec);
	snprintf(dir, sizeof(dir), "%s/web-1", f->b->containers_dir);
	ASSERT_TRUE(fx_path_exists(dir));

	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "UnregisterContainer",
		    "s", "web-1");
	if (broker_find_container(f->b, "web-1"))
		EXPECT_FAIL("web-1 is still registered");
	if (fx_path_exists(dir))
		EXPECT_FAIL("%s is still there", dir);
	snprintf(line, sizeof(line), "ContainerRemoved web-1 %s/web_2d1", CONTAINER_PATH_PREFIX);
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no ContainerRemoved signal");

	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_CONTAINER, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "UnregisterContainer", "s", "web-1");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "UnregisterContainer", "s", "bad/name");
	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_CONTAINER, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetContainer", "s", "web-1");
}

ROOT_TEST(unregister_active_container)
{
	struct fixture *f;
	struct container *c;
	sd_bus_message *m;
	const char *s, *o;

	FX_SETUP(f, false);
	c = fx_add_container(f, "web-1", 0, false);
	ASSERT_NOT_NULL(c);
	ASSERT_TRUE(fx_activate(f, c));
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "UnregisterContainer",
		    "s", "web-1");
	ASSERT_NULL(f->seat0->seat->active);
	m = fx_get_property(f, f->client, SEAT0_PATH, SEAT_INTERFACE, "ActiveContainer", "(so)");
	if (!m || sd_bus_message_read(m, "(so)", &s, &o) <= 0 || strcmp(s, "") != 0 ||
	    strcmp(o, "/") != 0)
		EXPECT_FAIL("ActiveContainer is not (\"\", \"/\") after unregistering the active one");
	sd_bus_message_unref(m);
}

/* ---- Switching (root) ---- */

static char *active_name(struct fixture *f)
{
	sd_bus_message *m = fx_get_property(f, f->client, SEAT0_PATH, SEAT_INTERFACE,
					    "ActiveContainer", "(so)");
	const char *s = NULL, *o;
	char *copy = NULL;

	if (m && sd_bus_message_read(m, "(so)", &s, &o) > 0)
		copy = strdup(s);
	sd_bus_message_unref(m);
	return copy;
}

#define ASSERT_ACTIVE(f, expected)                                      \
	do {                                                            \
		char *a_ = active_name(f);                              \
		bool ok_ = TEST_CHECK(a_ && strcmp(a_, (expected)) == 0); \
		if (!ok_)                                               \
			EXPECT_FAIL("active: expected \"%s\", got \"%s\"", \
				    (expected), a_ ? a_ : "(unknown)"); \
		free(a_);                                               \
		if (!ok_)                                               \
			return;                                         \
	} while (0)

ROOT_TEST(manager_switch_container)
{
	struct fixture *f;
	struct container *a, *other;
	struct broker_seat *seat1;
	char *path;
	int active;

	FX_SETUP(f, false);
	a = fx_add_container(f, "web-1", 0, false);
	ASSERT_NOT_NULL(a);
	ASSERT_EQ_INT(0, broker_get_seat(f->b, "seat1", &seat1));
	{
		struct container_options opts = { 0 };

		ASSERT_EQ_INT(0, container_new(f->b, "other", seat1, getpid(), &opts, &other));
	}

	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "SwitchContainer", "ss",
		    "seat0", "web-1");
	ASSERT_ACTIVE(f, "web-1");
	path = fx_container_path("web-1");
	active = fx_get_bool(f, f->client, path, CONTAINER_INTERFACE, "Active");
	free(path);
	if (active != 1)
		EXPECT_FAIL("Active of web-1: %d", active);

	/* Again: nothing to do, and fine. */
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "SwitchContainer", "ss",
		    "", "web-1");
	ASSERT_ACTIVE(f, "web-1");

	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_CONTAINER, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "SwitchContainer", "ss", "seat0", "nope");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "SwitchContainer", "ss", "seat0", "bad/name");
	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_SEAT, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "SwitchContainer", "ss", "seat9", "web-1");
	/* A container of another seat. */
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "SwitchContainer", "ss", "seat0", "other");
	ASSERT_ACTIVE(f, "web-1");

	/* The empty name: none active. */
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "SwitchContainer", "ss",
		    "seat0", "");
	ASSERT_ACTIVE(f, "");
	if (container_is_active(a))
		EXPECT_FAIL("web-1 is still active");
}

ROOT_TEST(seat_switch_methods)
{
	struct fixture *f;

	FX_SETUP(f, false);
	/* No containers: nothing to do, and fine. */
	EXPECT_CALL(f, "ok", f->client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToNext", NULL);
	EXPECT_CALL(f, "ok", f->client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToPrevious", NULL);
	ASSERT_ACTIVE(f, "");

	ASSERT_NOT_NULL(fx_add_container(f, "a", 0, false));
	ASSERT_NOT_NULL(fx_add_container(f, "b", 0, false));
	ASSERT_NOT_NULL(fx_add_container(f, "c", 0, false));

	EXPECT_CALL(f, "ok", f->client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToNext", NULL);
	ASSERT_ACTIVE(f, "a");
	EXPECT_CALL(f, "ok", f->client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToNext", NULL);
	ASSERT_ACTIVE(f, "b");
	EXPECT_CALL(f, "ok", f->client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToNext", NULL);
	ASSERT_ACTIVE(f, "c");
	EXPECT_CALL(f, "ok", f->client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToNext", NULL);
	ASSERT_ACTIVE(f, "a");
	EXPECT_CALL(f, "ok", f->client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToPrevious", NULL);
	ASSERT_ACTIVE(f, "c");
	EXPECT_CALL(f, "ok", f->client, SEAT0_PATH, SEAT_INTERFACE, "SwitchContainer", "s", "b");
	ASSERT_ACTIVE(f, "b");
	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_CONTAINER, f->client, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchContainer", "s", "nope");
	ASSERT_ACTIVE(f, "b");
	EXPECT_CALL(f, "ok", f->client, SEAT0_PATH, SEAT_INTERFACE, "SwitchContainer", "s", "");
	ASSERT_ACTIVE(f, "");
	/* From none: previous is the last. */
	EXPECT_CALL(f, "ok", f->client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToPrevious", NULL);
	ASSERT_ACTIVE(f, "c");
}

/* api.md: a container name outside [A-Za-z0-9_.-]{1,64} (or starting with
 * '.' or '-') is InvalidArgs. The Manager's SwitchContainer checks it; the
 * Seat's looks the name up as it is and answers NoSuchContainer. */
ROOT_TEST(seat_switch_container_bad_name)
{
	struct fixture *f;

	FX_SETUP(f, false);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchContainer", "s", "bad/name");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchContainer", "s", "-web");
}

ROOT_TEST(switch_signals)
{
	struct fixture *f;
	struct fx_recorder *rec;
	struct container *a, *b;
	char line[256];

	FX_SETUP(f, false);
	a = fx_add_container(f, "a", 0, false);
	b = fx_add_container(f, "b", 0, false);
	ASSERT_TRUE(a && b);
	ASSERT_TRUE(fx_activate(f, a));
	rec = fx_recorder_new(f->client);
	ASSERT_NOT_NULL(rec);
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "SwitchContainer", "ss",
		    "seat0", "b");
	snprintf(line, sizeof(line), "%s PropertiesChanged %s Active", FX_PATH(a), CONTAINER_INTERFACE);
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no change of Active of a");
	snprintf(line, sizeof(line), "%s PropertiesChanged %s Active", FX_PATH(b), CONTAINER_INTERFACE);
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no change of Active of b");
	snprintf(line, sizeof(line), "%s PropertiesChanged %s ActiveContainer", SEAT0_PATH,
		 SEAT_INTERFACE);
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no change of ActiveContainer");
}

/* ---- Container objects on the broker's bus ---- */

TEST(container_properties)
{
	struct fixture *f;
	struct container *c;
	sd_bus_message *m;
	const char *s, *o;
	uint32_t leader = 0;
	char *name;

	FX_SETUP(f, false);
	c = fx_add_container(f, "web-1", 0, false);
	ASSERT_NOT_NULL(c);
	name = fx_get_string(f, f->client, FX_PATH(c), CONTAINER_INTERFACE, "Name");
	if (!name || strcmp(name, "web-1") != 0)
		EXPECT_FAIL("Name: %s", name ? name : "(none)");
	free(name);

	m = fx_get_property(f, f->client, FX_PATH(c), CONTAINER_INTERFACE, "Seat", "(so)");
	if (!m || sd_bus_message_read(m, "(so)", &s, &o) <= 0 || strcmp(s, "seat0") != 0 ||
	    strcmp(o, SEAT0_PATH) != 0)
		EXPECT_FAIL("Seat is not (seat0, %s)", SEAT0_PATH);
	sd_bus_message_unref(m);

	m = fx_get_property(f, f->client, FX_PATH(c), CONTAINER_INTERFACE, "Leader", "u");
	if (!m || sd_bus_message_read(m, "u", &leader) <= 0 || leader != (uint32_t)getpid())
		EXPECT_FAIL("Leader: %u, expected %d", leader, (int)getpid());
	sd_bus_message_unref(m);

	if (fx_get_bool(f, f->client, FX_PATH(c), CONTAINER_INTERFACE, "Active") != 0)
		EXPECT_FAIL("Active is not false");
	if (fx_get_bool(f, f->client, FX_PATH(c), CONTAINER_INTERFACE, "Controlled") != 0)
		EXPECT_FAIL("Controlled is not false");
	m = fx_get_property(f, f->client, FX_PATH(c), CONTAINER_INTERFACE, "Devices", "a(uusb)");
	if (!m || sd_bus_message_enter_container(m, 'a', "(uusb)") <= 0 ||
	    sd_bus_message_skip(m, "(uusb)") != 0)
		EXPECT_FAIL("Devices is not empty");
	sd_bus_message_unref(m);

	/* The seat lists it. */
	m = fx_get_property(f, f->client, SEAT0_PATH, SEAT_INTERFACE, "Containers", "a(so)");
	if (!m || sd_bus_message_enter_container(m, 'a', "(so)") <= 0 ||
	    sd_bus_message_read(m, "(so)", &s, &o) <= 0 || strcmp(s, "web-1") != 0 ||
	    strcmp(o, FX_PATH(c)) != 0)
		EXPECT_FAIL("Containers of seat0 does not list web-1");
	sd_bus_message_unref(m);
}

ROOT_TEST(container_methods_on_bus_as_root)
{
	struct fixture *f;
	struct container *c;

	FX_SETUP(f, false);
	c = fx_add_container(f, "web-1", 0, false);
	ASSERT_NOT_NULL(c);
	EXPECT_CALL(f, "ok", f->client, FX_PATH(c), CONTAINER_INTERFACE, "TakeControl", "b", 0);
	if (fx_get_bool(f, f->client, FX_PATH(c), CONTAINER_INTERFACE, "Controlled") != 1)
		EXPECT_FAIL("Controlled is not true");
	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_DEVICE, f->client, FX_PATH(c), CONTAINER_INTERFACE,
		    "TakeDevice", "uu", 99u, 99u);
	EXPECT_CALL(f, "ok", f->client, FX_PATH(c), CONTAINER_INTERFACE, "ReleaseControl", NULL);
	EXPECT_CALL(f, BUS_ERROR_NOT_IN_CONTROL, f->client, FX_PATH(c), CONTAINER_INTERFACE,
		    "ReleaseControl", NULL);
	/* Registered without AllowActivate. */
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, FX_PATH(c), CONTAINER_INTERFACE,
		    "Activate", NULL);
}

/* ---- Callers that are not root ---- */

TEST(unprivileged_caller)
{
	struct fixture *f;
	struct container *c;
	char *version, path[256];

	FX_SETUP(f, true);
	c = fx_add_container(f, "web-1", 0, true);
	ASSERT_NOT_NULL(c);
	/* A copy: c is gone should a call wrongly unregister it. */
	snprintf(path, sizeof(path), "%s", FX_PATH(c));

	/* State changes are refused... */
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-2", "seat0", (uint32_t)getpid(), 0);
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "UnregisterContainer", "s", "web-1");
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "SwitchContainer", "ss", "seat0", "web-1");
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchContainer", "s", "web-1");
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchToNext", NULL);
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchToPrevious", NULL);
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, path, CONTAINER_INTERFACE,
		    "TakeControl", "b", 1);
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, path, CONTAINER_INTERFACE,
		    "ReleaseControl", NULL);
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, path, CONTAINER_INTERFACE,
		    "TakeDevice", "uu", NULL_MAJOR, NULL_MINOR);
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, path, CONTAINER_INTERFACE,
		    "ReleaseDevice", "uu", NULL_MAJOR, NULL_MINOR);
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, path, CONTAINER_INTERFACE,
		    "PauseDeviceComplete", "uu", NULL_MAJOR, NULL_MINOR);
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, f->client, path, CONTAINER_INTERFACE,
		    "Activate", NULL);

	/* ...and nothing changed. */
	c = broker_find_container(f->b, "web-1");
	if (list_length(&f->b->containers) != 1 || !c)
		EXPECT_FAIL("the containers changed");
	if (f->seat0->seat->active)
		EXPECT_FAIL("a container became active");
	if (c && c->sc->controlled)
		EXPECT_FAIL("web-1 became controlled");

	/* Reading is open to all. */
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "ListSeats", NULL);
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers", NULL);
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "GetSeat", "s", "seat0");
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "GetContainer", "s", "web-1");
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, "org.freedesktop.DBus.Introspectable",
		    "Introspect", NULL);
	EXPECT_CALL(f, "ok", f->client, path, PROPS, "GetAll", "s", CONTAINER_INTERFACE);
	EXPECT_CALL(f, "ok", f->client, SEAT0_PATH, PROPS, "GetAll", "s", SEAT_INTERFACE);
	version = fx_get_string(f, f->client, MANAGER_PATH, MANAGER_INTERFACE, "Version");
	if (!version)
		EXPECT_FAIL("cannot read Version");
	free(version);
}

/* ---- Container lifetime ---- */

TEST(leader_exit_unregisters)
{
	struct fixture *f;
	struct fx_recorder *rec;
	char dir[PATH_MAX], line[256];
	uint64_t deadline;
	pid_t leader;

	leader = fx_idle_child();
	ASSERT_TRUE(leader > 0);
	FX_SETUP(f, false);
	if (!fx_add_container(f, "web-1", leader, false))
		FAIL("cannot add web-1");
	snprintf(dir, sizeof(dir), "%s/web-1", f->b->containers_dir);
	rec = fx_recorder_new(f->client);
	ASSERT_NOT_NULL(rec);
	fx_run_pending(f);
	if (!broker_find_container(f->b, "web-1"))
		EXPECT_FAIL("web-1 went away while its leader runs");

	kill(leader, SIGKILL);
	deadline = fx_now() + FX_TIMEOUT_USEC;
	while (broker_find_container(f->b, "web-1") && fx_now() < deadline)
		sd_event_run(f->b->event, 100000);
	if (broker_find_container(f->b, "web-1"))
		EXPECT_FAIL("web-1 is still registered after its leader exited");
	if (fx_path_exists(dir))
		EXPECT_FAIL("%s is still there", dir);
	snprintf(line, sizeof(line), "ContainerRemoved web-1 %s/web_2d1", CONTAINER_PATH_PREFIX);
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no ContainerRemoved signal");
}

ROOT_TEST(register_container_of_other_pidns)
{
	struct fixture *f;
	struct fx_nsproc *p;
	struct container *c;
	struct pidns_id ours;
	int r;

	r = fx_nsproc_start(&p);
	if (r == -EPERM)
		SKIP("cannot make a pid namespace here");
	ASSERT_EQ_INT(0, r);
	FX_SETUP(f, false);
	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "RegisterContainer",
		    "ssua{sv}", "inner", "seat0", (uint32_t)p->inner, 0);
	c = broker_find_container(f->b, "inner");
	if (!c || pidns_of_pid(getpid(), &ours) < 0)
		EXPECT_FAIL("inner is not registered");
	else if (c->pidns.ino == ours.ino && c->pidns.dev == ours.dev)
		EXPECT_FAIL("the container's pid namespace is ours, not its leader's");
}

/* ---- Signals of a switch, after its answer ---- */

/* What a connection saw, in order: answers and the values of Active and
 * ActiveContainer in PropertiesChanged. */
struct seen {
	char lines[16][200];
	unsigned n;
};

static void seen_add(struct seen *s, const char *line)
{
	if (s->n < ARRAY_SIZE(s->lines))
		snprintf(s->lines[s->n++], sizeof(s->lines[0]), "%s", line);
}

static int on_seen_changed(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	const char *iface, *name, *cname, *cpath;
	char line[200];
	int v;

	if (sd_bus_message_read(m, "s", &iface) <= 0 ||
	    sd_bus_message_enter_container(m, 'a', "{sv}") <= 0)
		return 0;
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		if (sd_bus_message_read(m, "s", &name) <= 0)
			break;
		if (strcmp(name, "Active") == 0 && sd_bus_message_enter_container(m, 'v', "b") > 0 &&
		    sd_bus_message_read(m, "b", &v) > 0) {
			snprintf(line, sizeof(line), "%s Active %s", sd_bus_message_get_path(m),
				 v ? "yes" : "no");
			seen_add(userdata, line);
			sd_bus_message_exit_container(m);
		} else if (strcmp(name, "ActiveContainer") == 0 &&
			   sd_bus_message_enter_container(m, 'v', "(so)") > 0 &&
			   sd_bus_message_read(m, "(so)", &cname, &cpath) > 0) {
			snprintf(line, sizeof(line), "ActiveContainer %s", cname);
			seen_add(userdata, line);
			sd_bus_message_exit_container(m);
		} else {
			sd_bus_message_skip(m, "v");
		}
		sd_bus_message_exit_container(m);
	}
	return 0;
}

static int on_seen_reply(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	char line[200];

	snprintf(line, sizeof(line), "answer %s", fx_outcome(m));
	seen_add(userdata, line);
	return 1;
}

/* Freed after the test, with the slots that fill it gone first. */
static struct seen *seen_new(void)
{
	struct seen *s = calloc(1, sizeof(*s));

	if (s)
		test_defer(free, s);
	return s;
}

static void slot_unref(void *slot)
{
	sd_bus_slot_unref(slot);
}

static bool seen_wait(struct fixture *f, const struct seen *s, unsigned n)
{
	uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

	while (s->n < n && fx_now() < deadline)
		if (sd_event_run(f->b->event, 100000) < 0)
			break;
	return s->n >= n;
}

/* The state changes before the answer (a Get right after it sees the new
 * value); the signals follow the answer, once per change, in order, each
 * with the values of its own switch even when the next one is queued. */
ROOT_TEST(switch_signals_follow_the_answer)
{
	struct fixture *f;
	struct container *a, *b;
	sd_bus_slot *match = NULL, *call1 = NULL, *call2 = NULL;
	struct seen *s;
	char expected[8][200];
	sd_bus_message *m;
	const char *name = NULL, *path;
	int r;

	FX_SETUP(f, false);
	s = seen_new();
	ASSERT_NOT_NULL(s);
	a = fx_add_container(f, "a", 0, false);
	b = fx_add_container(f, "b", 0, false);
	ASSERT_TRUE(a && b);
	r = sd_bus_match_signal(f->client, &match, NULL, NULL, PROPS, "PropertiesChanged",
				on_seen_changed, s);
	test_defer(slot_unref, match);
	ASSERT_TRUE(r >= 0);
	ASSERT_TRUE(fx_activate(f, a));
	ASSERT_TRUE(seen_wait(f, s, 2));
	s->n = 0;

	r = sd_bus_call_method_async(f->client, &call1, NULL, MANAGER_PATH, MANAGER_INTERFACE,
				     "SwitchContainer", on_seen_reply, s, "ss", "seat0", "b");
	test_defer(slot_unref, call1);
	ASSERT_TRUE(r >= 0);
	r = sd_bus_call_method_async(f->client, &call2, NULL, MANAGER_PATH, MANAGER_INTERFACE,
				     "SwitchContainer", on_seen_reply, s, "ss", "seat0", "a");
	test_defer(slot_unref, call2);
	ASSERT_TRUE(r >= 0);
	if (!seen_wait(f, s, 8))
		EXPECT_FAIL("%u of 8 answers and changes", s->n);
	fx_run_for(f, 50000);
	snprintf(expected[0], sizeof(expected[0]), "answer ok");
	snprintf(expected[1], sizeof(expected[1]), "%s Active no", FX_PATH(a));
	snprintf(expected[2], sizeof(expected[2]), "%s Active yes", FX_PATH(b));
	snprintf(expected[3], sizeof(expected[3]), "ActiveContainer b");
	snprintf(expected[4], sizeof(expected[4]), "answer ok");
	snprintf(expected[5], sizeof(expected[5]), "%s Active no", FX_PATH(b));
	snprintf(expected[6], sizeof(expected[6]), "%s Active yes", FX_PATH(a));
	snprintf(expected[7], sizeof(expected[7]), "ActiveContainer a");
	for (unsigned i = 0; i < 8; i++)
		if (i >= s->n || strcmp(s->lines[i], expected[i]) != 0)
			EXPECT_FAIL("#%u: expected \"%s\", got \"%s\"", i, expected[i],
				    i < s->n ? s->lines[i] : "(nothing)");
	if (s->n > 8)
		EXPECT_FAIL("%u more after the second switch, first \"%s\"", s->n - 8, s->lines[8]);

	EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "SwitchContainer", "ss",
		    "seat0", "b");
	m = fx_get_property(f, f->client, SEAT0_PATH, SEAT_INTERFACE, "ActiveContainer", "(so)");
	if (!m || sd_bus_message_read(m, "(so)", &name, &path) <= 0 || strcmp(name, "b") != 0)
		EXPECT_FAIL("ActiveContainer right after the answer: %s", name ? name : "(unread)");
	sd_bus_message_unref(m);
}

/* ---- State file ---- */

/* The leader's start time is read at registration and written from memory
 * on every save. */
TEST(state_file_leader_start)
{
	unsigned long long start = 0;
	char path[PATH_MAX], line[128], want[64];
	struct container *c;
	struct fixture *f;
	bool found = false;
	FILE *sf;

	FX_SETUP(f, false);
	c = fx_add_container(f, "web-1", 0, false);
	ASSERT_NOT_NULL(c);
	ASSERT_EQ_INT(0, process_start_time(getpid(), &start));
	if (c->leader_start != start)
		EXPECT_FAIL("leader_start %llu, /proc says %llu", c->leader_start, start);
	/* Not read again: a value only memory holds ends up in the file. */
	c->leader_start = 4242;
	ASSERT_EQ_INT(0, broker_state_save(f->b));
	snprintf(path, sizeof(path), "%s/state", f->dir);
	sf = fopen(path, "re");
	ASSERT_NOT_NULL(sf);
	snprintf(want, sizeof(want), "LeaderStart=4242\n");
	while (fgets(line, sizeof(line), sf))
		found = found || strcmp(line, want) == 0;
	fclose(sf);
	if (!found)
		EXPECT_FAIL("no %s in %s", "LeaderStart=4242", path);
}

/* The state file's text, or NULL; the caller frees. */
static char *read_state(struct fixture *f)
{
	char path[PATH_MAX], *text = NULL;
	size_t size = 0;
	FILE *sf;

	snprintf(path, sizeof(path), "%s/state", f->dir);
	sf = fopen(path, "re");
	if (!sf)
		return NULL;
	if (getdelim(&text, &size, '\0', sf) < 0) {
		free(text);
		text = NULL;
	}
	fclose(sf);
	return text;
}

/* Checks the file names exactly the containers listed (" a b") and the
 * active one (NULL: none). */
static void expect_state(struct fixture *f, const char *containers, const char *active)
{
	static const char *const all[] = { "a", "b", "c" };
	_cleanup_free_ char *text = read_state(f);
	char want[64];

	if (!text) {
		EXPECT_FAIL("no state file");
		return;
	}
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		bool listed;

		snprintf(want, sizeof(want), " %s", all[i]);
		listed = strstr(containers, want) != NULL;
		snprintf(want, sizeof(want), "[Container %s]\n", all[i]);
		if (listed != (strstr(text, want) != NULL))
			EXPECT_FAIL("container %s %s the state file:\n%s", all[i],
				    listed ? "missing from" : "still in", text);
	}
	snprintf(want, sizeof(want), "[Seat seat0]\nActive=%s\n", active ? active : "");
	if (active ? !strstr(text, want) : strstr(text, "[Seat seat0]") != NULL)
		EXPECT_FAIL("the state file does not say %s is active:\n%s",
			    active ? active : "none", text);
}

/* Outputs is a list of connectors of the seat's cards: anything else,
 * and none at all, is InvalidArgs, and nothing is registered. The unit
 * seat has no card with connectors (the vm test leases has). */
ROOT_TEST(register_container_outputs_refused)
{
	struct fixture *f;

	FX_SETUP(f, false);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    1, "Outputs", "s", "Virtual-1");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    1, "Outputs", "as", 0);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    1, "Outputs", "as", 1, "bad/name");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    1, "Outputs", "as", 1, "Virtual-1");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    1, "Outputs", "as", 9, "A-1", "A-2", "A-3", "A-4", "A-5", "A-6", "A-7", "A-8",
		    "A-9");
	ASSERT_EQ_INT(0, list_length(&f->b->containers));
}

/* ControlUser is a uid: any other type is InvalidArgs. */
ROOT_TEST(register_container_control_user)
{
	struct container *c;
	struct fixture *f;
	uint32_t user = 0;

	FX_SETUP(f, false);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    1, "ControlUser", "b", 1);
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    1, "ControlUser", "s", "4711");
	EXPECT_CALL(f, SD_BUS_ERROR_INVALID_ARGS, f->client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    1, "ControlUser", "i", -1);
	ASSERT_EQ_INT(0, list_length(&f->b->containers));
	ASSERT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE, "RegisterContainer",
		    "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(), 1, "ControlUser", "u", 4711);
	c = broker_find_container(f->b, "web-1");
	ASSERT_NOT_NULL(c);
	ASSERT_TRUE(container_option_given(c, "ControlUser", &user));
	ASSERT_EQ_INT(4711, user);
}

/* ControlUser outlives a restart: the state file keeps it, and the
 * container a restarted devnsd picks up has it again. */
TEST(state_file_keeps_control_user)
{
	_cleanup_free_ char *text = NULL;
	char path[PATH_MAX];
	struct container *c;
	struct fixture *f;
	uint32_t user = 0;
	FILE *sf;

	FX_SETUP(f, false);
	c = fx_add_container_option(f, "web-1", 0, "ControlUser", 4711);
	ASSERT_NOT_NULL(c);
	ASSERT_EQ_INT(0, broker_state_save(f->b));
	text = read_state(f);
	ASSERT_NOT_NULL(text);
	if (!strstr(text, "Option=ControlUser 4711\n"))
		FAIL("no Option=ControlUser 4711 in the state file:\n%s", text);

	/* As a restarted devnsd finds it: the file, but no container yet. */
	container_free(c);
	ASSERT_NULL(broker_find_container(f->b, "web-1"));
	snprintf(path, sizeof(path), "%s/state", f->dir);
	sf = fopen(path, "we");
	ASSERT_NOT_NULL(sf);
	fputs(text, sf);
	fclose(sf);
	ASSERT_EQ_INT(0, broker_state_restore(f->b));
	c = broker_find_container(f->b, "web-1");
	ASSERT_NOT_NULL(c);
	ASSERT_TRUE(container_option_given(c, "ControlUser", &user));
	ASSERT_EQ_INT(4711, user);
}

/* A switch rewrites the active containers and keeps the containers' part
 * as the last registration or removal left it. */
TEST(state_file_follows_switches)
{
	struct container *a, *b, *c;
	struct fixture *f;

	FX_SETUP(f, false);
	a = fx_add_container(f, "a", 0, false);
	b = fx_add_container(f, "b", 0, false);
	ASSERT_TRUE(a && b);
	expect_state(f, " a b", NULL);
	ASSERT_TRUE(fx_activate(f, a));
	expect_state(f, " a b", "a");
	ASSERT_TRUE(fx_activate(f, b));
	expect_state(f, " a b", "b");
	c = fx_add_container(f, "c", 0, false);
	ASSERT_NOT_NULL(c);
	expect_state(f, " a b c", "b");
	ASSERT_TRUE(fx_activate(f, c));
	expect_state(f, " a b c", "c");
	container_free(b);
	expect_state(f, " a c", "c");
	ASSERT_TRUE(fx_activate(f, a));
	expect_state(f, " a c", "a");
}

TEST_MAIN
