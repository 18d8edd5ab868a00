/* SPDX-License-Identifier: MIT */
/*
 * The D-Bus API (org.devns.broker1(5)) against a broker built in-process:
 * method dispatch, errors, properties and signals on the broker's bus, who
 * may change state there, and each container's own endpoint.
 *
 * The broker's bus is a socketpair (see broker-fixture.h). Tests that need a
 * root client (ROOT_TEST) run as root, or as root of a user namespace when
 * the suite runs as an ordinary user; tests of refused callers use a client
 * that is never root. Devices are fakes whose node is /dev/null (1:3), so
 * TakeDevice opens a real file.
 */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/sysmacros.h>

#include "broker-fixture.h"
#include "broker/state.h"
#include "common/macro.h"
#include "dbus/bus-error.h"

#define MANAGER_PATH "/org/devns/broker1"
#define SEAT0_PATH "/org/devns/broker1/seat/seat0"
#define SELF_PATH "/org/devns/broker1/container/self"
#define PROPS "org.freedesktop.DBus.Properties"
#define NULL_MAJOR 1
#define NULL_MINOR 3

/* Signals seen by a connection, one line each. */
#define REC_MAX 64

struct recorder {
	char lines[REC_MAX][200];
	unsigned n;
	int fd; /* a copy of the last ResumeDevice fd, -1 if none */
	sd_bus_slot *slot;
};

static int on_signal(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	struct recorder *rec = userdata;
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
	if (rec->n < REC_MAX)
		snprintf(rec->lines[rec->n++], sizeof(rec->lines[0]), "%s", line);
	return 0;
}

static bool rec_start(struct recorder *rec, sd_bus *bus)
{
	memset(rec, 0, sizeof(*rec));
	rec->fd = -1;
	return sd_bus_match_signal(bus, &rec->slot, NULL, NULL, NULL, NULL, on_signal, rec) >= 0;
}

static void rec_stop(struct recorder *rec)
{
	rec->slot = sd_bus_slot_unref(rec->slot);
	if (rec->fd >= 0)
		close(rec->fd);
	rec->fd = -1;
}

static bool rec_has(const struct recorder *rec, const char *line)
{
	for (unsigned i = 0; i < rec->n; i++)
		if (strcmp(rec->lines[i], line) == 0)
			return true;
	return false;
}

static bool rec_wait(struct fixture *f, const struct recorder *rec, const char *line)
{
	uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

	while (!rec_has(rec, line) && fx_now() < deadline)
		if (sd_event_run(f->b->event, 100000) < 0)
			break;
	if (rec_has(rec, line))
		return true;
	printf("# no signal \"%s\"; seen:\n", line);
	for (unsigned i = 0; i < rec->n; i++)
		printf("#   %s\n", rec->lines[i]);
	return false;
}

/* The object path of a container name, as the broker makes it. */
static char *container_path(const char *name)
{
	char *path = NULL;

	if (sd_bus_path_encode(CONTAINER_PATH_PREFIX, name, &path) < 0)
		return NULL;
	return path;
}

static bool path_exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

/* A fake device of a seat whose node is /dev/null. */
static struct seat_device *add_null_device(struct broker_seat *bs, const char *sysname,
					   enum seat_device_type type)
{
	struct seat_device *d;

	if (seat_add_device(bs->seat, sysname, makedev(NULL_MAJOR, NULL_MINOR), type, &d) < 0)
		return NULL;
	d->userdata = strdup("/dev/null");
	return d;
}

/* Makes c the active container of its seat: with SwitchContainer when we
 * may (root), else directly. */
static bool activate(struct fixture *f, struct container *c)
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
	struct fixture f;
	sd_bus_message *m;
	const char *id, *path;
	unsigned n = 0;
	bool seat0 = false;

	FX_SETUP(&f, false);
	m = fx_call(&f, f.client, MANAGER_PATH, MANAGER_INTERFACE, "ListSeats", NULL);
	if (strcmp(fx_outcome(m), "ok") != 0) {
		fx_expect_at(__FILE__, __LINE__, "ok", m, "ListSeats");
		fx_teardown(&f);
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
	sd_bus_message_unref(m);
	fx_teardown(&f);
	ASSERT_TRUE(seat0);
	ASSERT_EQ_INT(1, n);
}

TEST(manager_list_seats_two)
{
	struct fixture f;
	struct broker_seat *bs;
	sd_bus_message *m;
	const char *id, *path;
	char ids[64] = "";

	FX_SETUP(&f, false);
	ASSERT_EQ_INT(0, broker_get_seat(f.b, "seat1", &bs));
	ASSERT_EQ_STR("/org/devns/broker1/seat/seat1", FX_PATH(bs));
	m = fx_call(&f, f.client, MANAGER_PATH, MANAGER_INTERFACE, "ListSeats", NULL);
	if (m && !sd_bus_message_is_method_error(m, NULL) &&
	    sd_bus_message_enter_container(m, 'a', "(so)") > 0)
		while (sd_bus_message_read(m, "(so)", &id, &path) > 0)
			snprintf(ids + strlen(ids), sizeof(ids) - strlen(ids), "%s%s=%s",
				 ids[0] ? " " : "", id, path + strlen(SEAT_PATH_PREFIX) + 1);
	sd_bus_message_unref(m);
	fx_teardown(&f);
	ASSERT_EQ_STR("seat0=seat0 seat1=seat1", ids);
}

TEST(manager_get_seat)
{
	struct fixture f;
	sd_bus_message *m;
	const char *path = NULL;

	FX_SETUP(&f, false);
	m = fx_call(&f, f.client, MANAGER_PATH, MANAGER_INTERFACE, "GetSeat", "s", "seat0");
	if (m && !sd_bus_message_is_method_error(m, NULL))
		sd_bus_message_read(m, "o", &path);
	if (!path || strcmp(path, SEAT0_PATH) != 0)
		EXPECT_FAIL("GetSeat(seat0): %s %s", fx_outcome(m), path ? path : "");
	sd_bus_message_unref(m);

	/* The empty id means seat0, as in RegisterContainer. */
	path = NULL;
	m = fx_call(&f, f.client, MANAGER_PATH, MANAGER_INTERFACE, "GetSeat", "s", "");
	if (m && !sd_bus_message_is_method_error(m, NULL))
		sd_bus_message_read(m, "o", &path);
	if (!path || strcmp(path, SEAT0_PATH) != 0)
		EXPECT_FAIL("GetSeat(\"\"): %s %s", fx_outcome(m), path ? path : "");
	sd_bus_message_unref(m);

	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_SEAT, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetSeat", "s", "seat9");
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetSeat", "s", "bad");
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetSeat", "s", "seat/0");
	/* A wrong signature is refused by sd-bus itself. */
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetSeat", "u", 0);
	fx_teardown(&f);
}

TEST(manager_get_container_errors)
{
	struct fixture f;

	FX_SETUP(&f, false);
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetContainer", "s", "bad/name");
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetContainer", "s", "");
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetContainer", "s", "-web");
	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_CONTAINER, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetContainer", "s", "nope");
	fx_teardown(&f);
}

TEST(manager_get_and_list_containers)
{
	struct fixture f;
	struct container *a, *b;
	sd_bus_message *m;
	const char *name, *seat, *path = NULL;
	char got[256] = "";
	int active;

	FX_SETUP(&f, false);
	a = fx_add_container(&f, "web-1", 0, false);
	b = fx_add_container(&f, "db.2", 0, false);
	if (!a || !b) {
		fx_teardown(&f);
		FAIL("cannot add containers");
	}
	m = fx_call(&f, f.client, MANAGER_PATH, MANAGER_INTERFACE, "GetContainer", "s", "web-1");
	if (m && !sd_bus_message_is_method_error(m, NULL))
		sd_bus_message_read(m, "o", &path);
	if (!path || strcmp(path, "/org/devns/broker1/container/web_2d1") != 0)
		EXPECT_FAIL("GetContainer(web-1): %s %s", fx_outcome(m), path ? path : "");
	sd_bus_message_unref(m);

	ASSERT_TRUE(activate(&f, b));
	m = fx_call(&f, f.client, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers", NULL);
	if (m && !sd_bus_message_is_method_error(m, NULL) &&
	    sd_bus_message_enter_container(m, 'a', "(ssbo)") > 0)
		while (sd_bus_message_read(m, "(ssbo)", &name, &seat, &active, &path) > 0)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s %s %d %s",
				 got[0] ? "; " : "", name, seat, active,
				 path + strlen(CONTAINER_PATH_PREFIX) + 1);
	else
		EXPECT_FAIL("ListContainers: %s", fx_outcome(m));
	sd_bus_message_unref(m);
	fx_teardown(&f);
	/* Registration order. */
	ASSERT_EQ_STR("web-1 seat0 0 web_2d1; db.2 seat0 1 db_2e2", got);
}

TEST(manager_properties)
{
	struct fixture f;
	char *version, *runtime_dir;
	int kernel;

	FX_SETUP(&f, false);
	version = fx_get_string(&f, f.client, MANAGER_PATH, MANAGER_INTERFACE, "Version");
	runtime_dir = fx_get_string(&f, f.client, MANAGER_PATH, MANAGER_INTERFACE, "RuntimeDirectory");
	kernel = fx_get_bool(&f, f.client, MANAGER_PATH, MANAGER_INTERFACE, "KernelDevns");
	if (!version || strcmp(version, DEVNS_VERSION) != 0)
		EXPECT_FAIL("Version: %s", version ? version : "(none)");
	if (!runtime_dir || strcmp(runtime_dir, f.b->runtime_dir) != 0)
		EXPECT_FAIL("RuntimeDirectory: %s, expected %s", runtime_dir ? runtime_dir : "(none)",
			    f.b->runtime_dir);
	/* The fixture's broker never opens /dev/devns. */
	if (kernel != 0)
		EXPECT_FAIL("KernelDevns: %d", kernel);
	free(version);
	free(runtime_dir);

	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, PROPS, "GetAll", "s", MANAGER_INTERFACE);
	EXPECT_CALL(&f, SD_BUS_ERROR_PROPERTY_READ_ONLY, f.client, MANAGER_PATH, PROPS, "Set", "ssv",
		    MANAGER_INTERFACE, "Version", "s", "9");
	EXPECT_CALL(&f, SD_BUS_ERROR_UNKNOWN_PROPERTY, f.client, MANAGER_PATH, PROPS, "Get", "ss",
		    MANAGER_INTERFACE, "NoSuchProperty");
	fx_teardown(&f);
}

TEST(manager_standard_interfaces)
{
	struct fixture f;

	FX_SETUP(&f, false);
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL);
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, "org.freedesktop.DBus.Introspectable",
		    "Introspect", NULL);
	EXPECT_CALL(&f, "ok", f.client, SEAT0_PATH, "org.freedesktop.DBus.Introspectable",
		    "Introspect", NULL);
	EXPECT_CALL(&f, SD_BUS_ERROR_UNKNOWN_METHOD, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "NoSuchMethod", NULL);
	EXPECT_CALL(&f, SD_BUS_ERROR_UNKNOWN_OBJECT, f.client, "/org/devns/broker1/seat/seat9",
		    SEAT_INTERFACE, "SwitchToNext", NULL);
	EXPECT_CALL(&f, SD_BUS_ERROR_UNKNOWN_OBJECT, f.client, "/org/devns/broker1/container/nope",
		    CONTAINER_INTERFACE, "TakeControl", "b", 0);
	fx_teardown(&f);
}

/* ---- Seat ---- */

TEST(seat_properties)
{
	struct fixture f;
	sd_bus_message *m;
	const char *s, *o;
	char *id;
	int graphical;

	FX_SETUP(&f, false);
	id = fx_get_string(&f, f.client, SEAT0_PATH, SEAT_INTERFACE, "Id");
	if (!id || strcmp(id, "seat0") != 0)
		EXPECT_FAIL("Id: %s", id ? id : "(none)");
	free(id);

	m = fx_get_property(&f, f.client, SEAT0_PATH, SEAT_INTERFACE, "ActiveContainer", "(so)");
	if (!m || sd_bus_message_read(m, "(so)", &s, &o) <= 0 || strcmp(s, "") != 0 ||
	    strcmp(o, "/") != 0)
		EXPECT_FAIL("ActiveContainer is not (\"\", \"/\") without containers");
	sd_bus_message_unref(m);

	m = fx_get_property(&f, f.client, SEAT0_PATH, SEAT_INTERFACE, "Containers", "a(so)");
	if (!m || sd_bus_message_enter_container(m, 'a', "(so)") <= 0 ||
	    sd_bus_message_read(m, "(so)", &s, &o) != 0)
		EXPECT_FAIL("Containers is not empty");
	sd_bus_message_unref(m);

	m = fx_get_property(&f, f.client, SEAT0_PATH, SEAT_INTERFACE, "Devices", "a(suus)");
	if (!m || sd_bus_message_enter_container(m, 'a', "(suus)") <= 0 ||
	    sd_bus_message_skip(m, "(suus)") != 0)
		EXPECT_FAIL("Devices is not empty");
	sd_bus_message_unref(m);

	graphical = fx_get_bool(&f, f.client, SEAT0_PATH, SEAT_INTERFACE, "CanGraphical");
	if (graphical != 0)
		EXPECT_FAIL("CanGraphical: %d", graphical);
	fx_teardown(&f);
}

TEST(seat_devices_and_can_graphical)
{
	struct fixture f;
	sd_bus_message *m;
	const char *sysname, *type;
	uint32_t maj, min;
	char got[256] = "";
	int graphical;

	FX_SETUP(&f, false);
	ASSERT_NOT_NULL(add_null_device(f.seat0, "event3", SEAT_DEVICE_EVDEV));
	graphical = fx_get_bool(&f, f.client, SEAT0_PATH, SEAT_INTERFACE, "CanGraphical");
	if (graphical != 0)
		EXPECT_FAIL("CanGraphical with an evdev node only: %d", graphical);

	{
		struct seat_device *d;

		if (seat_add_device(f.seat0->seat, "card0", makedev(226, 0), SEAT_DEVICE_DRM, &d) < 0) {
			fx_teardown(&f);
			FAIL("seat_add_device");
		}
		d->userdata = strdup("/dev/dri/card0");
	}
	graphical = fx_get_bool(&f, f.client, SEAT0_PATH, SEAT_INTERFACE, "CanGraphical");
	if (graphical != 1)
		EXPECT_FAIL("CanGraphical with a card: %d", graphical);

	m = fx_get_property(&f, f.client, SEAT0_PATH, SEAT_INTERFACE, "Devices", "a(suus)");
	if (m && sd_bus_message_enter_container(m, 'a', "(suus)") > 0)
		while (sd_bus_message_read(m, "(suus)", &sysname, &maj, &min, &type) > 0)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%s %u:%u %s",
				 got[0] ? "; " : "", sysname, maj, min, type);
	sd_bus_message_unref(m);
	fx_teardown(&f);
	ASSERT_EQ_STR("event3 1:3 evdev; card0 226:0 drm", got);
}

TEST(seat_removed_with_last_container)
{
	struct fixture f;
	struct broker_seat *seat1;
	struct container_options opts = { 0 };
	struct container *c;
	struct recorder rec;
	sd_bus_message *m;
	const char *name, *seat, *path;
	int active;
	char got[128] = "", line[128];

	FX_SETUP(&f, false);
	ASSERT_TRUE(rec_start(&rec, f.client));
	ASSERT_EQ_INT(0, broker_get_seat(f.b, "seat1", &seat1));
	snprintf(line, sizeof(line), "SeatNew seat1 %s/seat1", SEAT_PATH_PREFIX);
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no SeatNew signal");
	ASSERT_EQ_INT(0, container_new(f.b, "web-1", seat1, getpid(), &opts, &c));
	m = fx_call(&f, f.client, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers", NULL);
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
	ASSERT_NULL(broker_find_seat(f.b, "seat1"));
	ASSERT_NOT_NULL(broker_find_seat(f.b, "seat0"));
	snprintf(line, sizeof(line), "SeatRemoved seat1 %s/seat1", SEAT_PATH_PREFIX);
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no SeatRemoved signal");
	rec_stop(&rec);
	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_SEAT, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetSeat", "s", "seat1");
	EXPECT_CALL(&f, SD_BUS_ERROR_UNKNOWN_OBJECT, f.client, SEAT_PATH_PREFIX "/seat1",
		    PROPS, "Get", "ss", SEAT_INTERFACE, "Id");
	fx_teardown(&f);
}

/* ---- RegisterContainer and UnregisterContainer (root) ---- */

ROOT_TEST(register_container)
{
	struct fixture f;
	struct recorder rec;
	sd_bus_message *m;
	const char *path = NULL;
	char *expected, sock[PATH_MAX];
	struct container *c;

	FX_SETUP(&f, false);
	ASSERT_TRUE(rec_start(&rec, f.client));
	m = register_container(&f, "web-1", "seat0", (uint32_t)getpid());
	if (m && !sd_bus_message_is_method_error(m, NULL))
		sd_bus_message_read(m, "o", &path);
	expected = container_path("web-1");
	if (!path || !expected || strcmp(path, expected) != 0 ||
	    strcmp(path, "/org/devns/broker1/container/web_2d1") != 0)
		EXPECT_FAIL("RegisterContainer: %s %s", fx_outcome(m), path ? path : "");
	sd_bus_message_unref(m);

	c = broker_find_container(f.b, "web-1");
	if (!c) {
		free(expected);
		rec_stop(&rec);
		fx_teardown(&f);
		FAIL("web-1 is not registered");
	}
	if (c->leader != getpid() || c->seat != f.seat0 || c->allow_activate)
		EXPECT_FAIL("web-1: leader %d, seat %s, allow_activate %d", (int)c->leader,
			    c->seat->seat->id, c->allow_activate);
	fx_endpoint_path(&f, "web-1", sock, sizeof(sock));
	if (!path_exists(sock))
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
		if (!rec_wait(&f, &rec, line))
			EXPECT_FAIL("no ContainerNew signal");
	}
	free(expected);
	rec_stop(&rec);

	/* The empty seat means seat0; the option is taken. */
	m = fx_call(&f, f.client, MANAGER_PATH, MANAGER_INTERFACE, "RegisterContainer", "ssua{sv}",
		    "web_2", "", (uint32_t)getpid(), 1, "AllowActivate", "b", 1);
	fx_expect_at(__FILE__, __LINE__, "ok", m, "RegisterContainer with AllowActivate");
	c = broker_find_container(f.b, "web_2");
	if (!c || c->seat != f.seat0 || !c->allow_activate)
		EXPECT_FAIL("web_2 is not on seat0 with AllowActivate");
	fx_teardown(&f);
}

ROOT_TEST(register_container_exists)
{
	struct fixture f;

	FX_SETUP(&f, false);
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "RegisterContainer",
		    "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(), 0);
	EXPECT_CALL(&f, BUS_ERROR_CONTAINER_EXISTS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(), 0);
	ASSERT_EQ_INT(1, list_length(&f.b->containers));
	fx_teardown(&f);
}

ROOT_TEST(register_container_bad_options)
{
	struct fixture f;

	FX_SETUP(&f, false);
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    1, "NoSuchOption", "b", 1);
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    2, "AllowActivate", "b", 1, "Other", "s", "x");
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)getpid(),
		    1, "AllowActivate", "s", "yes");
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssu", "web-1", "seat0", (uint32_t)getpid());
	ASSERT_EQ_INT(0, list_length(&f.b->containers));
	fx_teardown(&f);
}

ROOT_TEST(register_container_bad_names)
{
	static const char *const bad[] = {
		"bad/name", "", "-web", ".web", "web 1", "web:1", "wéb", "web\n",
		"12345678901234567890123456789012345678901234567890123456789012345",
	};
	struct fixture f;

	FX_SETUP(&f, false);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sd_bus_message *m = register_container(&f, bad[i], "seat0", (uint32_t)getpid());

		if (strcmp(fx_outcome(m), SD_BUS_ERROR_INVALID_ARGS) != 0)
			EXPECT_FAIL("RegisterContainer(\"%s\"): %s", bad[i], fx_outcome(m));
		sd_bus_message_unref(m);
	}
	/* 64 characters are fine (see long_name_and_long_runtime_directory). */
	if (strlen(f.b->containers_dir) + 1 + 64 + strlen("/seatd.sock") >= UNIX_PATH_MAX) {
		printf("# the temporary directory is too long for a 64-character name\n");
	} else {
		EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "RegisterContainer",
			    "ssua{sv}", LONG_NAME, "seat0", (uint32_t)getpid(), 0);
		ASSERT_EQ_INT(1, list_length(&f.b->containers));
	}
	fx_teardown(&f);
}

/* A name of 64 characters is valid (api.md, org.devns.broker1(5)) and
 * RuntimeDirectory= may be up to 200 characters (config.c), but
 * <runtime>/containers/<name>/seatd.sock must fit in sun_path (108 bytes):
 * with a RuntimeDirectory longer than 20 characters, registering such a
 * name fails with org.freedesktop.DBus.Error.Failed ("File name too long"). */
TEST(long_name_and_long_runtime_directory)
{
	struct fixture f;
	struct container *c;
	char *saved, deep[PATH_MAX];

	FX_SETUP(&f, false);
	/* A runtime directory of 40 characters or more. */
	snprintf(deep, sizeof(deep), "%s/a-longer-runtime-directory/containers", f.dir);
	saved = f.b->containers_dir;
	f.b->containers_dir = deep;
	if (mkdir(dirname_of(deep), 0755) < 0 || mkdir(deep, 0755) < 0) {
		f.b->containers_dir = saved;
		fx_teardown(&f);
		FAIL("mkdir %s", deep);
	}
	c = fx_add_container(&f, LONG_NAME, 0, false);
	if (!c)
		EXPECT_FAIL("a 64-character name under %s cannot be registered", deep);
	container_free(c);
	rmdir(deep);
	rmdir(dirname_of(deep));
	f.b->containers_dir = saved;
	fx_teardown(&f);
}

ROOT_TEST(register_container_bad_seat_or_leader)
{
	struct fixture f;
	pid_t gone;

	/* A pid that existed: a reaped child. */
	gone = fork();
	ASSERT_TRUE(gone >= 0);
	if (gone == 0)
		_exit(0);
	ASSERT_EQ_INT(gone, waitpid(gone, NULL, 0));

	FX_SETUP(&f, false);
	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_SEAT, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat9", (uint32_t)getpid(), 0);
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "nonsense", (uint32_t)getpid(), 0);
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", 0u, 0);
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", 0x80000000u, 0);
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", 0x7ffffffeu, 0);
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-1", "seat0", (uint32_t)gone, 0);
	ASSERT_EQ_INT(0, list_length(&f.b->containers));
	/* Nothing left behind in the runtime directory. */
	{
		char dir[PATH_MAX];

		snprintf(dir, sizeof(dir), "%s/web-1", f.b->containers_dir);
		if (path_exists(dir))
			EXPECT_FAIL("%s left behind", dir);
	}
	fx_teardown(&f);
}

ROOT_TEST(unregister_container)
{
	struct fixture f;
	struct recorder rec;
	char dir[PATH_MAX], line[256];

	FX_SETUP(&f, false);
	ASSERT_NOT_NULL(fx_add_container(&f, "web-1", 0, false));
	ASSERT_TRUE(rec_start(&rec, f.client));
	snprintf(dir, sizeof(dir), "%s/web-1", f.b->containers_dir);
	ASSERT_TRUE(path_exists(dir));

	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "UnregisterContainer",
		    "s", "web-1");
	if (broker_find_container(f.b, "web-1"))
		EXPECT_FAIL("web-1 is still registered");
	if (path_exists(dir))
		EXPECT_FAIL("%s is still there", dir);
	snprintf(line, sizeof(line), "ContainerRemoved web-1 %s/web_2d1", CONTAINER_PATH_PREFIX);
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no ContainerRemoved signal");
	rec_stop(&rec);

	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_CONTAINER, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "UnregisterContainer", "s", "web-1");
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "UnregisterContainer", "s", "bad/name");
	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_CONTAINER, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "GetContainer", "s", "web-1");
	fx_teardown(&f);
}

ROOT_TEST(unregister_active_container)
{
	struct fixture f;
	struct container *c;
	sd_bus_message *m;
	const char *s, *o;

	FX_SETUP(&f, false);
	c = fx_add_container(&f, "web-1", 0, false);
	ASSERT_NOT_NULL(c);
	ASSERT_TRUE(activate(&f, c));
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "UnregisterContainer",
		    "s", "web-1");
	ASSERT_NULL(f.seat0->seat->active);
	m = fx_get_property(&f, f.client, SEAT0_PATH, SEAT_INTERFACE, "ActiveContainer", "(so)");
	if (!m || sd_bus_message_read(m, "(so)", &s, &o) <= 0 || strcmp(s, "") != 0 ||
	    strcmp(o, "/") != 0)
		EXPECT_FAIL("ActiveContainer is not (\"\", \"/\") after unregistering the active one");
	sd_bus_message_unref(m);
	fx_teardown(&f);
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
		bool ok_ = a_ && strcmp(a_, (expected)) == 0;           \
		if (!ok_)                                               \
			EXPECT_FAIL("active: expected \"%s\", got \"%s\"", \
				    (expected), a_ ? a_ : "(unknown)"); \
		free(a_);                                               \
		if (!ok_) {                                             \
			fx_teardown(f);                                 \
			return;                                         \
		}                                                       \
	} while (0)

ROOT_TEST(manager_switch_container)
{
	struct fixture f;
	struct container *a, *other;
	struct broker_seat *seat1;
	char *path;
	int active;

	FX_SETUP(&f, false);
	a = fx_add_container(&f, "web-1", 0, false);
	ASSERT_NOT_NULL(a);
	ASSERT_EQ_INT(0, broker_get_seat(f.b, "seat1", &seat1));
	{
		struct container_options opts = { 0 };

		ASSERT_EQ_INT(0, container_new(f.b, "other", seat1, getpid(), &opts, &other));
	}

	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "SwitchContainer", "ss",
		    "seat0", "web-1");
	ASSERT_ACTIVE(&f, "web-1");
	path = container_path("web-1");
	active = fx_get_bool(&f, f.client, path, CONTAINER_INTERFACE, "Active");
	free(path);
	if (active != 1)
		EXPECT_FAIL("Active of web-1: %d", active);

	/* Again: nothing to do, and fine. */
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "SwitchContainer", "ss",
		    "", "web-1");
	ASSERT_ACTIVE(&f, "web-1");

	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_CONTAINER, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "SwitchContainer", "ss", "seat0", "nope");
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "SwitchContainer", "ss", "seat0", "bad/name");
	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_SEAT, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "SwitchContainer", "ss", "seat9", "web-1");
	/* A container of another seat. */
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "SwitchContainer", "ss", "seat0", "other");
	ASSERT_ACTIVE(&f, "web-1");

	/* The empty name: none active. */
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "SwitchContainer", "ss",
		    "seat0", "");
	ASSERT_ACTIVE(&f, "");
	if (container_is_active(a))
		EXPECT_FAIL("web-1 is still active");
	fx_teardown(&f);
}

ROOT_TEST(seat_switch_methods)
{
	struct fixture f;

	FX_SETUP(&f, false);
	/* No containers: nothing to do, and fine. */
	EXPECT_CALL(&f, "ok", f.client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToNext", NULL);
	EXPECT_CALL(&f, "ok", f.client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToPrevious", NULL);
	ASSERT_ACTIVE(&f, "");

	ASSERT_NOT_NULL(fx_add_container(&f, "a", 0, false));
	ASSERT_NOT_NULL(fx_add_container(&f, "b", 0, false));
	ASSERT_NOT_NULL(fx_add_container(&f, "c", 0, false));

	EXPECT_CALL(&f, "ok", f.client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToNext", NULL);
	ASSERT_ACTIVE(&f, "a");
	EXPECT_CALL(&f, "ok", f.client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToNext", NULL);
	ASSERT_ACTIVE(&f, "b");
	EXPECT_CALL(&f, "ok", f.client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToNext", NULL);
	ASSERT_ACTIVE(&f, "c");
	EXPECT_CALL(&f, "ok", f.client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToNext", NULL);
	ASSERT_ACTIVE(&f, "a");
	EXPECT_CALL(&f, "ok", f.client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToPrevious", NULL);
	ASSERT_ACTIVE(&f, "c");
	EXPECT_CALL(&f, "ok", f.client, SEAT0_PATH, SEAT_INTERFACE, "SwitchContainer", "s", "b");
	ASSERT_ACTIVE(&f, "b");
	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_CONTAINER, f.client, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchContainer", "s", "nope");
	ASSERT_ACTIVE(&f, "b");
	EXPECT_CALL(&f, "ok", f.client, SEAT0_PATH, SEAT_INTERFACE, "SwitchContainer", "s", "");
	ASSERT_ACTIVE(&f, "");
	/* From none: previous is the last. */
	EXPECT_CALL(&f, "ok", f.client, SEAT0_PATH, SEAT_INTERFACE, "SwitchToPrevious", NULL);
	ASSERT_ACTIVE(&f, "c");
	fx_teardown(&f);
}

/* api.md: a container name outside [A-Za-z0-9_.-]{1,64} (or starting with
 * '.' or '-') is InvalidArgs. The Manager's SwitchContainer checks it; the
 * Seat's looks the name up as it is and answers NoSuchContainer. */
ROOT_TEST(seat_switch_container_bad_name)
{
	struct fixture f;

	FX_SETUP(&f, false);
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchContainer", "s", "bad/name");
	EXPECT_CALL(&f, SD_BUS_ERROR_INVALID_ARGS, f.client, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchContainer", "s", "-web");
	fx_teardown(&f);
}

ROOT_TEST(switch_signals)
{
	struct fixture f;
	struct recorder rec;
	struct container *a, *b;
	char line[256];

	FX_SETUP(&f, false);
	a = fx_add_container(&f, "a", 0, false);
	b = fx_add_container(&f, "b", 0, false);
	ASSERT_TRUE(a && b);
	ASSERT_TRUE(activate(&f, a));
	ASSERT_TRUE(rec_start(&rec, f.client));
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "SwitchContainer", "ss",
		    "seat0", "b");
	snprintf(line, sizeof(line), "%s PropertiesChanged %s Active", FX_PATH(a), CONTAINER_INTERFACE);
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no change of Active of a");
	snprintf(line, sizeof(line), "%s PropertiesChanged %s Active", FX_PATH(b), CONTAINER_INTERFACE);
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no change of Active of b");
	snprintf(line, sizeof(line), "%s PropertiesChanged %s ActiveContainer", SEAT0_PATH,
		 SEAT_INTERFACE);
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no change of ActiveContainer");
	rec_stop(&rec);
	fx_teardown(&f);
}

/* ---- Container objects on the broker's bus ---- */

TEST(container_properties)
{
	struct fixture f;
	struct container *c;
	sd_bus_message *m;
	const char *s, *o;
	uint32_t leader = 0;
	char *name;

	FX_SETUP(&f, false);
	c = fx_add_container(&f, "web-1", 0, false);
	ASSERT_NOT_NULL(c);
	name = fx_get_string(&f, f.client, FX_PATH(c), CONTAINER_INTERFACE, "Name");
	if (!name || strcmp(name, "web-1") != 0)
		EXPECT_FAIL("Name: %s", name ? name : "(none)");
	free(name);

	m = fx_get_property(&f, f.client, FX_PATH(c), CONTAINER_INTERFACE, "Seat", "(so)");
	if (!m || sd_bus_message_read(m, "(so)", &s, &o) <= 0 || strcmp(s, "seat0") != 0 ||
	    strcmp(o, SEAT0_PATH) != 0)
		EXPECT_FAIL("Seat is not (seat0, %s)", SEAT0_PATH);
	sd_bus_message_unref(m);

	m = fx_get_property(&f, f.client, FX_PATH(c), CONTAINER_INTERFACE, "Leader", "u");
	if (!m || sd_bus_message_read(m, "u", &leader) <= 0 || leader != (uint32_t)getpid())
		EXPECT_FAIL("Leader: %u, expected %d", leader, (int)getpid());
	sd_bus_message_unref(m);

	if (fx_get_bool(&f, f.client, FX_PATH(c), CONTAINER_INTERFACE, "Active") != 0)
		EXPECT_FAIL("Active is not false");
	if (fx_get_bool(&f, f.client, FX_PATH(c), CONTAINER_INTERFACE, "Controlled") != 0)
		EXPECT_FAIL("Controlled is not false");
	m = fx_get_property(&f, f.client, FX_PATH(c), CONTAINER_INTERFACE, "Devices", "a(uusb)");
	if (!m || sd_bus_message_enter_container(m, 'a', "(uusb)") <= 0 ||
	    sd_bus_message_skip(m, "(uusb)") != 0)
		EXPECT_FAIL("Devices is not empty");
	sd_bus_message_unref(m);

	/* The seat lists it. */
	m = fx_get_property(&f, f.client, SEAT0_PATH, SEAT_INTERFACE, "Containers", "a(so)");
	if (!m || sd_bus_message_enter_container(m, 'a', "(so)") <= 0 ||
	    sd_bus_message_read(m, "(so)", &s, &o) <= 0 || strcmp(s, "web-1") != 0 ||
	    strcmp(o, FX_PATH(c)) != 0)
		EXPECT_FAIL("Containers of seat0 does not list web-1");
	sd_bus_message_unref(m);
	fx_teardown(&f);
}

ROOT_TEST(container_methods_on_bus_as_root)
{
	struct fixture f;
	struct container *c;

	FX_SETUP(&f, false);
	c = fx_add_container(&f, "web-1", 0, false);
	ASSERT_NOT_NULL(c);
	EXPECT_CALL(&f, "ok", f.client, FX_PATH(c), CONTAINER_INTERFACE, "TakeControl", "b", 0);
	if (fx_get_bool(&f, f.client, FX_PATH(c), CONTAINER_INTERFACE, "Controlled") != 1)
		EXPECT_FAIL("Controlled is not true");
	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_DEVICE, f.client, FX_PATH(c), CONTAINER_INTERFACE,
		    "TakeDevice", "uu", 99u, 99u);
	EXPECT_CALL(&f, "ok", f.client, FX_PATH(c), CONTAINER_INTERFACE, "ReleaseControl", NULL);
	EXPECT_CALL(&f, BUS_ERROR_NOT_IN_CONTROL, f.client, FX_PATH(c), CONTAINER_INTERFACE,
		    "ReleaseControl", NULL);
	/* Registered without AllowActivate. */
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, FX_PATH(c), CONTAINER_INTERFACE,
		    "Activate", NULL);
	fx_teardown(&f);
}

/* ---- Callers that are not root ---- */

TEST(unprivileged_caller)
{
	struct fixture f;
	struct container *c;
	char *version, path[256];

	FX_SETUP(&f, true);
	c = fx_add_container(&f, "web-1", 0, true);
	ASSERT_NOT_NULL(c);
	/* A copy: c is gone should a call wrongly unregister it. */
	snprintf(path, sizeof(path), "%s", FX_PATH(c));

	/* State changes are refused... */
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "RegisterContainer", "ssua{sv}", "web-2", "seat0", (uint32_t)getpid(), 0);
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "UnregisterContainer", "s", "web-1");
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, MANAGER_PATH, MANAGER_INTERFACE,
		    "SwitchContainer", "ss", "seat0", "web-1");
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchContainer", "s", "web-1");
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchToNext", NULL);
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchToPrevious", NULL);
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, path, CONTAINER_INTERFACE,
		    "TakeControl", "b", 1);
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, path, CONTAINER_INTERFACE,
		    "ReleaseControl", NULL);
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, path, CONTAINER_INTERFACE,
		    "TakeDevice", "uu", NULL_MAJOR, NULL_MINOR);
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, path, CONTAINER_INTERFACE,
		    "ReleaseDevice", "uu", NULL_MAJOR, NULL_MINOR);
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, path, CONTAINER_INTERFACE,
		    "PauseDeviceComplete", "uu", NULL_MAJOR, NULL_MINOR);
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, f.client, path, CONTAINER_INTERFACE,
		    "Activate", NULL);

	/* ...and nothing changed. */
	c = broker_find_container(f.b, "web-1");
	if (list_length(&f.b->containers) != 1 || !c)
		EXPECT_FAIL("the containers changed");
	if (f.seat0->seat->active)
		EXPECT_FAIL("a container became active");
	if (c && c->sc->controlled)
		EXPECT_FAIL("web-1 became controlled");

	/* Reading is open to all. */
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "ListSeats", NULL);
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "ListContainers", NULL);
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "GetSeat", "s", "seat0");
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "GetContainer", "s", "web-1");
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, "org.freedesktop.DBus.Introspectable",
		    "Introspect", NULL);
	EXPECT_CALL(&f, "ok", f.client, path, PROPS, "GetAll", "s", CONTAINER_INTERFACE);
	EXPECT_CALL(&f, "ok", f.client, SEAT0_PATH, PROPS, "GetAll", "s", SEAT_INTERFACE);
	version = fx_get_string(&f, f.client, MANAGER_PATH, MANAGER_INTERFACE, "Version");
	if (!version)
		EXPECT_FAIL("cannot read Version");
	free(version);
	fx_teardown(&f);
}

/* ---- Container lifetime ---- */

TEST(leader_exit_unregisters)
{
	struct fixture f;
	struct recorder rec;
	char dir[PATH_MAX], line[256];
	uint64_t deadline;
	pid_t leader;

	leader = fork();
	ASSERT_TRUE(leader >= 0);
	if (leader == 0) {
		for (;;)
			pause();
	}
	if (fx_setup(&f, false) < 0) {
		kill(leader, SIGKILL);
		waitpid(leader, NULL, 0);
		fx_teardown(&f);
		FAIL("broker fixture");
	}
	if (!fx_add_container(&f, "web-1", leader, false)) {
		kill(leader, SIGKILL);
		waitpid(leader, NULL, 0);
		fx_teardown(&f);
		FAIL("cannot add web-1");
	}
	snprintf(dir, sizeof(dir), "%s/web-1", f.b->containers_dir);
	rec_start(&rec, f.client);
	fx_run_pending(&f);
	if (!broker_find_container(f.b, "web-1"))
		EXPECT_FAIL("web-1 went away while its leader runs");

	kill(leader, SIGKILL);
	deadline = fx_now() + FX_TIMEOUT_USEC;
	while (broker_find_container(f.b, "web-1") && fx_now() < deadline)
		sd_event_run(f.b->event, 100000);
	waitpid(leader, NULL, 0);
	if (broker_find_container(f.b, "web-1"))
		EXPECT_FAIL("web-1 is still registered after its leader exited");
	if (path_exists(dir))
		EXPECT_FAIL("%s is still there", dir);
	snprintf(line, sizeof(line), "ContainerRemoved web-1 %s/web_2d1", CONTAINER_PATH_PREFIX);
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no ContainerRemoved signal");
	rec_stop(&rec);
	fx_teardown(&f);
}

ROOT_TEST(register_container_of_other_pidns)
{
	struct fixture f;
	struct fx_nsproc p;
	struct container *c;
	struct pidns_id ours;
	int r;

	r = fx_nsproc_start(&p);
	if (r == -EPERM)
		SKIP("cannot make a pid namespace here");
	ASSERT_EQ_INT(0, r);
	if (fx_setup(&f, false) < 0) {
		fx_nsproc_stop(&p);
		fx_teardown(&f);
		FAIL("broker fixture");
	}
	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "RegisterContainer",
		    "ssua{sv}", "inner", "seat0", (uint32_t)p.inner, 0);
	c = broker_find_container(f.b, "inner");
	if (!c || pidns_of_pid(getpid(), &ours) < 0)
		EXPECT_FAIL("inner is not registered");
	else if (c->pidns.ino == ours.ino && c->pidns.dev == ours.dev)
		EXPECT_FAIL("the container's pid namespace is ours, not its leader's");
	fx_nsproc_stop(&p);
	fx_teardown(&f);
}

/* ---- The container's endpoint ---- */

/* Sets up a fixture with container "web-1" (leader: us, so our connections
 * are admitted) and a client of its endpoint. */
#define ENDPOINT_SETUP(f, c, ep, allow_activate)                        \
	do {                                                            \
		FX_SETUP(f, false);                                     \
		c = fx_add_container(f, "web-1", 0, allow_activate);    \
		ep = c ? fx_endpoint_client(f, "web-1", false) : NULL;  \
		if (!ep) {                                              \
			fx_teardown(f);                                 \
			FAIL("cannot reach the endpoint of web-1");     \
		}                                                       \
	} while (0)

TEST(endpoint_hello)
{
	struct fixture f;
	struct container *c;
	sd_bus *ep, *client;
	sd_bus_message *m;
	const char *s = NULL, *unique = NULL;
	int b = -1;

	ENDPOINT_SETUP(&f, c, ep, false);
	/* A client that never sends Hello is served... */
	EXPECT_CALL(&f, "ok", ep, SELF_PATH, PROPS, "Get", "ss", CONTAINER_INTERFACE, "Name");

	/* ...and Hello is answered. */
	m = fx_call(&f, ep, "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", NULL);
	if (!m || sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read(m, "s", &s) <= 0 ||
	    strncmp(s, ":1.", 3) != 0)
		EXPECT_FAIL("Hello: %s %s", fx_outcome(m), s ? s : "");
	sd_bus_message_unref(m);

	m = fx_call(&f, ep, "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner", "s",
		    BROKER_BUS_NAME);
	s = NULL;
	if (!m || sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read(m, "s", &s) <= 0)
		EXPECT_FAIL("GetNameOwner(%s): %s", BROKER_BUS_NAME, fx_outcome(m));
	sd_bus_message_unref(m);
	EXPECT_CALL(&f, "org.freedesktop.DBus.Error.NameHasNoOwner", ep, "/org/freedesktop/DBus",
		    "org.freedesktop.DBus", "GetNameOwner", "s", "org.example.None");
	m = fx_call(&f, ep, "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s",
		    BROKER_BUS_NAME);
	if (!m || sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read(m, "b", &b) <= 0 ||
	    b != 1)
		EXPECT_FAIL("NameHasOwner(%s): %s %d", BROKER_BUS_NAME, fx_outcome(m), b);
	sd_bus_message_unref(m);
	EXPECT_CALL(&f, "ok", ep, "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s",
		    "type='signal'");
	EXPECT_CALL(&f, "ok", ep, "/org/freedesktop/DBus", "org.freedesktop.DBus", "ListNames", NULL);
	sd_bus_flush_close_unref(ep);

	/* A client that sends Hello first, as busctl --address does. */
	client = fx_endpoint_client(&f, "web-1", true);
	if (!client) {
		fx_teardown(&f);
		FAIL("a bus client cannot connect");
	}
	if (sd_bus_get_unique_name(client, &unique) < 0 || strncmp(unique, ":1.", 3) != 0)
		EXPECT_FAIL("unique name: %s", unique ? unique : "(none)");
	EXPECT_CALL(&f, "ok", client, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	sd_bus_flush_close_unref(client);
	fx_teardown(&f);
}

TEST(endpoint_objects)
{
	struct fixture f;
	struct container *c, *other;
	sd_bus *ep;
	char *name;

	ENDPOINT_SETUP(&f, c, ep, false);
	other = fx_add_container(&f, "other", 0, false);
	if (!other) {
		sd_bus_flush_close_unref(ep);
		fx_teardown(&f);
		FAIL("cannot add other");
	}
	/* The container at its path and at .../self. */
	name = fx_get_string(&f, ep, FX_PATH(c), CONTAINER_INTERFACE, "Name");
	if (!name || strcmp(name, "web-1") != 0)
		EXPECT_FAIL("Name at %s: %s", FX_PATH(c), name ? name : "(none)");
	free(name);
	name = fx_get_string(&f, ep, SELF_PATH, CONTAINER_INTERFACE, "Name");
	if (!name || strcmp(name, "web-1") != 0)
		EXPECT_FAIL("Name at %s: %s", SELF_PATH, name ? name : "(none)");
	free(name);
	if (fx_get_bool(&f, ep, SELF_PATH, CONTAINER_INTERFACE, "Active") != 0)
		EXPECT_FAIL("Active at self is not false");
	EXPECT_CALL(&f, "ok", ep, SELF_PATH, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
	EXPECT_CALL(&f, "ok", ep, FX_PATH(c), "org.freedesktop.DBus.Peer", "Ping", NULL);

	/* Its seat, readable. */
	name = fx_get_string(&f, ep, SEAT0_PATH, SEAT_INTERFACE, "Id");
	if (!name || strcmp(name, "seat0") != 0)
		EXPECT_FAIL("Id of the seat on the endpoint: %s", name ? name : "(none)");
	free(name);
	EXPECT_CALL(&f, "ok", ep, SEAT0_PATH, PROPS, "GetAll", "s", SEAT_INTERFACE);

	/* Neither the Manager nor other containers. */
	EXPECT_CALL(&f, SD_BUS_ERROR_UNKNOWN_OBJECT, ep, MANAGER_PATH, MANAGER_INTERFACE,
		    "ListSeats", NULL);
	EXPECT_CALL(&f, SD_BUS_ERROR_UNKNOWN_OBJECT, ep, FX_PATH(other), CONTAINER_INTERFACE,
		    "TakeControl", "b", 0);
	sd_bus_flush_close_unref(ep);
	fx_teardown(&f);
}

/* ActiveContainer of the seat as an endpoint shows it: "name" or "". */
static char *endpoint_active(struct fixture *f, sd_bus *ep)
{
	sd_bus_message *m = fx_get_property(f, ep, SEAT0_PATH, SEAT_INTERFACE, "ActiveContainer", "(so)");
	const char *name = NULL, *path = NULL;
	char *copy = NULL;

	if (m && sd_bus_message_read(m, "(so)", &name, &path) > 0 &&
	    asprintf(&copy, "%s %s", name, path) < 0)
		copy = NULL;
	sd_bus_message_unref(m);
	return copy;
}

/* Through its endpoint a container sees only itself on the seat: never
 * another's name, nor a switch among the others. */
TEST(endpoint_seat_scoped)
{
	static const char none[] = " /";
	struct fixture f;
	struct container *c, *other, *third;
	struct recorder rec;
	sd_bus *ep;
	sd_bus_message *m;
	char *active, self[256], changed[256];
	const char *name, *path;
	unsigned n;
	int r;

	ENDPOINT_SETUP(&f, c, ep, false);
	other = fx_add_container(&f, "other", 0, false);
	third = fx_add_container(&f, "third", 0, false);
	if (!other || !third) {
		sd_bus_flush_close_unref(ep);
		fx_teardown(&f);
		FAIL("cannot add the other containers");
	}
	snprintf(self, sizeof(self), "web-1 %s", FX_PATH(c));
	snprintf(changed, sizeof(changed), "%s PropertiesChanged %s ActiveContainer", SEAT0_PATH,
		 SEAT_INTERFACE);
	ASSERT_TRUE(rec_start(&rec, ep));

	/* Containers: itself alone, though the seat has three. */
	m = fx_get_property(&f, ep, SEAT0_PATH, SEAT_INTERFACE, "Containers", "a(so)");
	n = 0;
	if (m && sd_bus_message_enter_container(m, 'a', "(so)") > 0)
		while ((r = sd_bus_message_read(m, "(so)", &name, &path)) > 0) {
			if (strcmp(name, "web-1") != 0 || strcmp(path, FX_PATH(c)) != 0)
				EXPECT_FAIL("Containers on the endpoint shows %s %s", name, path);
			n++;
		}
	if (n != 1)
		EXPECT_FAIL("Containers on the endpoint has %u entries, not 1", n);
	sd_bus_message_unref(m);

	/* Another container in front: the endpoint sees none, and hears
	 * nothing of it. */
	ASSERT_TRUE(activate(&f, other));
	active = endpoint_active(&f, ep);
	if (!active || strcmp(active, none) != 0)
		EXPECT_FAIL("ActiveContainer with other active: '%s'", active ? active : "(unreadable)");
	free(active);
	fx_run_for(&f, 50000);
	if (rec_has(&rec, changed))
		EXPECT_FAIL("the endpoint heard of a switch between others");

	/* Itself in front, then away again: both changes reach it. */
	ASSERT_TRUE(activate(&f, c));
	if (!rec_wait(&f, &rec, changed))
		EXPECT_FAIL("no ActiveContainer change when web-1 became active");
	active = endpoint_active(&f, ep);
	if (!active || strcmp(active, self) != 0)
		EXPECT_FAIL("ActiveContainer with web-1 active: '%s'", active ? active : "(unreadable)");
	free(active);
	rec.n = 0;
	ASSERT_TRUE(activate(&f, third));
	if (!rec_wait(&f, &rec, changed))
		EXPECT_FAIL("no ActiveContainer change when web-1 went to the background");
	active = endpoint_active(&f, ep);
	if (!active || strcmp(active, none) != 0)
		EXPECT_FAIL("ActiveContainer with third active: '%s'", active ? active : "(unreadable)");
	free(active);

	/* A switch among the others again: silence; and no signal of any
	 * kind names another container. */
	rec.n = 0;
	ASSERT_TRUE(activate(&f, other));
	fx_run_for(&f, 50000);
	if (rec.n != 0)
		EXPECT_FAIL("the endpoint heard %u signals of a switch between others: %s", rec.n,
			    rec.lines[0]);
	rec_stop(&rec);
	sd_bus_flush_close_unref(ep);
	fx_teardown(&f);
}

TEST(endpoint_seat_read_only)
{
	struct fixture f;
	struct container *c;
	sd_bus *ep;

	ENDPOINT_SETUP(&f, c, ep, false);
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, ep, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchContainer", "s", "web-1");
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, ep, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchContainer", "s", "");
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, ep, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchToNext", NULL);
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, ep, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchToPrevious", NULL);
	if (f.seat0->seat->active)
		EXPECT_FAIL("a container became active");
	sd_bus_flush_close_unref(ep);
	fx_teardown(&f);
}

TEST(endpoint_control)
{
	struct fixture f;
	struct container *c;
	sd_bus *a, *b;

	ENDPOINT_SETUP(&f, c, a, false);
	b = fx_endpoint_client(&f, "web-1", false);
	if (!b) {
		sd_bus_flush_close_unref(a);
		fx_teardown(&f);
		FAIL("second connection");
	}
	/* Nobody in control: device calls are refused. */
	EXPECT_CALL(&f, BUS_ERROR_NOT_IN_CONTROL, a, SELF_PATH, CONTAINER_INTERFACE, "ReleaseControl", NULL);
	EXPECT_CALL(&f, BUS_ERROR_NOT_IN_CONTROL, a, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice",
		    "uu", 99u, 99u);

	EXPECT_CALL(&f, "ok", a, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	if (fx_get_bool(&f, b, SELF_PATH, CONTAINER_INTERFACE, "Controlled") != 1)
		EXPECT_FAIL("Controlled is not true");
	/* Again from the controller: fine. */
	EXPECT_CALL(&f, "ok", a, FX_PATH(c), CONTAINER_INTERFACE, "TakeControl", "b", 0);

	EXPECT_CALL(&f, BUS_ERROR_ALREADY_CONTROLLED, b, SELF_PATH, CONTAINER_INTERFACE,
		    "TakeControl", "b", 0);
	EXPECT_CALL(&f, BUS_ERROR_NOT_IN_CONTROL, b, SELF_PATH, CONTAINER_INTERFACE,
		    "ReleaseControl", NULL);
	EXPECT_CALL(&f, BUS_ERROR_NOT_IN_CONTROL, b, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice",
		    "uu", 99u, 99u);
	EXPECT_CALL(&f, BUS_ERROR_NOT_IN_CONTROL, b, SELF_PATH, CONTAINER_INTERFACE, "ReleaseDevice",
		    "uu", 99u, 99u);
	EXPECT_CALL(&f, BUS_ERROR_NOT_IN_CONTROL, b, SELF_PATH, CONTAINER_INTERFACE,
		    "PauseDeviceComplete", "uu", 99u, 99u);
	/* A controller on the broker's bus is another connection too. */
	EXPECT_CALL(&f, geteuid() == 0 ? BUS_ERROR_ALREADY_CONTROLLED : SD_BUS_ERROR_ACCESS_DENIED,
		    f.client, FX_PATH(c), CONTAINER_INTERFACE, "TakeControl", "b", 0);

	/* The controller's device calls. */
	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_DEVICE, a, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice",
		    "uu", 99u, 99u);
	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_DEVICE, a, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice",
		    "uu", NULL_MAJOR, NULL_MINOR);
	EXPECT_CALL(&f, BUS_ERROR_DEVICE_NOT_TAKEN, a, SELF_PATH, CONTAINER_INTERFACE,
		    "ReleaseDevice", "uu", 99u, 99u);
	EXPECT_CALL(&f, BUS_ERROR_DEVICE_NOT_TAKEN, a, SELF_PATH, CONTAINER_INTERFACE,
		    "PauseDeviceComplete", "uu", 99u, 99u);

	EXPECT_CALL(&f, "ok", a, SELF_PATH, CONTAINER_INTERFACE, "ReleaseControl", NULL);
	if (fx_get_bool(&f, b, SELF_PATH, CONTAINER_INTERFACE, "Controlled") != 0)
		EXPECT_FAIL("Controlled is not false after ReleaseControl");
	EXPECT_CALL(&f, BUS_ERROR_NOT_IN_CONTROL, a, SELF_PATH, CONTAINER_INTERFACE,
		    "ReleaseControl", NULL);
	/* Now b may. */
	EXPECT_CALL(&f, "ok", b, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	sd_bus_flush_close_unref(a);
	sd_bus_flush_close_unref(b);
	fx_teardown(&f);
}

TEST(endpoint_take_control_force)
{
	struct fixture f;
	struct container *c;
	sd_bus *a, *b;

	ENDPOINT_SETUP(&f, c, a, false);
	b = fx_endpoint_client(&f, "web-1", false);
	if (!b) {
		sd_bus_flush_close_unref(a);
		fx_teardown(&f);
		FAIL("second connection");
	}
	EXPECT_CALL(&f, "ok", a, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	EXPECT_CALL(&f, "ok", b, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 1);
	EXPECT_CALL(&f, BUS_ERROR_NOT_IN_CONTROL, a, SELF_PATH, CONTAINER_INTERFACE,
		    "ReleaseControl", NULL);
	EXPECT_CALL(&f, BUS_ERROR_ALREADY_CONTROLLED, a, SELF_PATH, CONTAINER_INTERFACE,
		    "TakeControl", "b", 0);
	EXPECT_CALL(&f, "ok", b, SELF_PATH, CONTAINER_INTERFACE, "ReleaseControl", NULL);
	sd_bus_flush_close_unref(a);
	sd_bus_flush_close_unref(b);
	fx_teardown(&f);
}

TEST(endpoint_controller_disconnects)
{
	struct fixture f;
	struct container *c;
	sd_bus *a, *b;
	uint64_t deadline;

	ENDPOINT_SETUP(&f, c, a, false);
	b = fx_endpoint_client(&f, "web-1", false);
	if (!b) {
		sd_bus_flush_close_unref(a);
		fx_teardown(&f);
		FAIL("second connection");
	}
	ASSERT_NOT_NULL(add_null_device(f.seat0, "event9", SEAT_DEVICE_EVDEV));
	ASSERT_TRUE(activate(&f, c));
	EXPECT_CALL(&f, "ok", a, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	EXPECT_CALL(&f, "ok", a, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice", "uu",
		    NULL_MAJOR, NULL_MINOR);
	ASSERT_EQ_INT(1, list_length(&c->sc->handles));
	sd_bus_flush_close_unref(a);

	deadline = fx_now() + FX_TIMEOUT_USEC;
	while (c->sc->controlled && fx_now() < deadline)
		sd_event_run(f.b->event, 100000);
	if (c->sc->controlled)
		EXPECT_FAIL("still controlled after the controller disconnected");
	if (!list_empty(&c->sc->handles))
		EXPECT_FAIL("the devices of the controller were not released");
	if (fx_get_bool(&f, b, SELF_PATH, CONTAINER_INTERFACE, "Controlled") != 0)
		EXPECT_FAIL("Controlled is not false");
	EXPECT_CALL(&f, "ok", b, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	sd_bus_flush_close_unref(b);
	fx_teardown(&f);
}

TEST(endpoint_take_device)
{
	struct fixture f;
	struct container *c;
	sd_bus *ep;
	sd_bus_message *m;
	struct stat st;
	uint32_t maj, min;
	const char *type;
	int fd = -1, inactive = -1, paused = -1;
	char got[128] = "";

	ENDPOINT_SETUP(&f, c, ep, false);
	ASSERT_NOT_NULL(add_null_device(f.seat0, "event9", SEAT_DEVICE_EVDEV));
	ASSERT_TRUE(activate(&f, c));
	EXPECT_CALL(&f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);

	m = fx_call(&f, ep, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice", "uu",
		    NULL_MAJOR, NULL_MINOR);
	if (m && !sd_bus_message_is_method_error(m, NULL) &&
	    sd_bus_message_read(m, "hb", &fd, &inactive) > 0)
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	else
		EXPECT_FAIL("TakeDevice: %s", fx_outcome(m));
	sd_bus_message_unref(m);
	if (fd < 0) {
		sd_bus_flush_close_unref(ep);
		fx_teardown(&f);
		FAIL("no fd");
	}
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != makedev(NULL_MAJOR, NULL_MINOR))
		EXPECT_FAIL("the fd is not the device 1:3");
	if (inactive != 0)
		EXPECT_FAIL("inactive is %d for the active container", inactive);
	close(fd);

	m = fx_get_property(&f, ep, SELF_PATH, CONTAINER_INTERFACE, "Devices", "a(uusb)");
	if (m && sd_bus_message_enter_container(m, 'a', "(uusb)") > 0)
		while (sd_bus_message_read(m, "(uusb)", &maj, &min, &type, &paused) > 0)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u:%u %s %d",
				 got[0] ? "; " : "", maj, min, type, paused);
	sd_bus_message_unref(m);
	if (strcmp(got, "1:3 evdev 0") != 0)
		EXPECT_FAIL("Devices: \"%s\", expected \"1:3 evdev 0\"", got);

	EXPECT_CALL(&f, BUS_ERROR_DEVICE_IS_TAKEN, ep, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice",
		    "uu", NULL_MAJOR, NULL_MINOR);
	EXPECT_CALL(&f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "ReleaseDevice", "uu",
		    NULL_MAJOR, NULL_MINOR);
	EXPECT_CALL(&f, BUS_ERROR_DEVICE_NOT_TAKEN, ep, SELF_PATH, CONTAINER_INTERFACE,
		    "ReleaseDevice", "uu", NULL_MAJOR, NULL_MINOR);

	got[0] = '\0';
	m = fx_get_property(&f, ep, SELF_PATH, CONTAINER_INTERFACE, "Devices", "a(uusb)");
	if (!m || sd_bus_message_enter_container(m, 'a', "(uusb)") <= 0 ||
	    sd_bus_message_skip(m, "(uusb)") != 0)
		EXPECT_FAIL("Devices is not empty after ReleaseDevice");
	sd_bus_message_unref(m);

	/* Taken again after the release. */
	EXPECT_CALL(&f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice", "uu",
		    NULL_MAJOR, NULL_MINOR);
	sd_bus_flush_close_unref(ep);
	fx_teardown(&f);
}

TEST(endpoint_take_device_of_other_seat)
{
	struct fixture f;
	struct container *c;
	struct broker_seat *seat1;
	sd_bus *ep;

	ENDPOINT_SETUP(&f, c, ep, false);
	ASSERT_EQ_INT(0, broker_get_seat(f.b, "seat1", &seat1));
	ASSERT_NOT_NULL(add_null_device(seat1, "event9", SEAT_DEVICE_EVDEV));
	ASSERT_TRUE(activate(&f, c));
	EXPECT_CALL(&f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	EXPECT_CALL(&f, BUS_ERROR_NO_SUCH_DEVICE, ep, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice",
		    "uu", NULL_MAJOR, NULL_MINOR);
	sd_bus_flush_close_unref(ep);
	fx_teardown(&f);
}

TEST(endpoint_activate)
{
	struct fixture f;
	struct container *c, *other;
	sd_bus *ep, *ep2;

	ENDPOINT_SETUP(&f, c, ep, true);
	other = fx_add_container(&f, "other", 0, false);
	ep2 = other ? fx_endpoint_client(&f, "other", false) : NULL;
	if (!ep2) {
		sd_bus_flush_close_unref(ep);
		fx_teardown(&f);
		FAIL("cannot reach the endpoint of other");
	}
	EXPECT_CALL(&f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "Activate", NULL);
	if (!container_is_active(c))
		EXPECT_FAIL("web-1 is not active after Activate");
	if (fx_get_bool(&f, ep, SELF_PATH, CONTAINER_INTERFACE, "Active") != 1)
		EXPECT_FAIL("Active is not true");
	/* Without AllowActivate. */
	EXPECT_CALL(&f, SD_BUS_ERROR_ACCESS_DENIED, ep2, SELF_PATH, CONTAINER_INTERFACE,
		    "Activate", NULL);
	if (!container_is_active(c))
		EXPECT_FAIL("web-1 is no longer active");
	sd_bus_flush_close_unref(ep);
	sd_bus_flush_close_unref(ep2);
	fx_teardown(&f);
}

TEST(endpoint_pause_and_resume)
{
	struct fixture f;
	struct container *a, *b;
	struct recorder rec;
	sd_bus *ea, *eb;
	sd_bus_message *m;
	struct stat st;
	char line[256];
	int fd = -1, inactive = -1;

	FX_SETUP(&f, false);
	a = fx_add_container(&f, "a", 0, true);
	b = fx_add_container(&f, "b", 0, true);
	ea = a ? fx_endpoint_client(&f, "a", false) : NULL;
	eb = b ? fx_endpoint_client(&f, "b", false) : NULL;
	if (!ea || !eb) {
		sd_bus_flush_close_unref(ea);
		sd_bus_flush_close_unref(eb);
		fx_teardown(&f);
		FAIL("cannot reach the endpoints");
	}
	ASSERT_NOT_NULL(add_null_device(f.seat0, "event9", SEAT_DEVICE_EVDEV));
	ASSERT_TRUE(rec_start(&rec, ea));
	EXPECT_CALL(&f, "ok", ea, SELF_PATH, CONTAINER_INTERFACE, "Activate", NULL);
	EXPECT_CALL(&f, "ok", ea, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	m = fx_call(&f, ea, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice", "uu", NULL_MAJOR, NULL_MINOR);
	if (!m || sd_bus_message_is_method_error(m, NULL) ||
	    sd_bus_message_read(m, "hb", &fd, &inactive) <= 0 || inactive != 0)
		EXPECT_FAIL("TakeDevice: %s, inactive %d", fx_outcome(m), inactive);
	sd_bus_message_unref(m);

	/* b takes over: a's evdev device is paused at once ("force"). */
	EXPECT_CALL(&f, "ok", eb, SELF_PATH, CONTAINER_INTERFACE, "Activate", NULL);
	snprintf(line, sizeof(line), "%s PauseDevice 1 3 force", FX_PATH(a));
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no PauseDevice to the controller of a");
	if (fx_get_bool(&f, ea, SELF_PATH, CONTAINER_INTERFACE, "Active") != 0)
		EXPECT_FAIL("a is still active");
	{
		sd_bus_message *d = fx_get_property(&f, ea, SELF_PATH, CONTAINER_INTERFACE,
						    "Devices", "a(uusb)");
		uint32_t maj = 0, min = 0;
		const char *type = "";
		int paused = -1;

		if (!d || sd_bus_message_read(d, "a(uusb)", 1, &maj, &min, &type, &paused) <= 0 ||
		    paused != 1)
			EXPECT_FAIL("the device of a is not listed as paused (%u:%u %s %d)",
				    maj, min, type, paused);
		sd_bus_message_unref(d);
	}

	/* Back to a: a fresh fd in ResumeDevice. */
	EXPECT_CALL(&f, "ok", ea, SELF_PATH, CONTAINER_INTERFACE, "Activate", NULL);
	snprintf(line, sizeof(line), "%s ResumeDevice 1 3", FX_PATH(a));
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no ResumeDevice to the controller of a");
	else if (rec.fd < 0 || fstat(rec.fd, &st) < 0 ||
		 st.st_rdev != makedev(NULL_MAJOR, NULL_MINOR))
		EXPECT_FAIL("ResumeDevice carries no fd of 1:3");

	/* b's connection, not the controller of a, saw none of it. */
	{
		struct recorder rb;

		ASSERT_TRUE(rec_start(&rb, eb));
		fx_run_for(&f, 50000);
		for (unsigned i = 0; i < rb.n; i++)
			if (strstr(rb.lines[i], "PauseDevice") || strstr(rb.lines[i], "ResumeDevice"))
				EXPECT_FAIL("b saw \"%s\"", rb.lines[i]);
		rec_stop(&rb);
	}
	rec_stop(&rec);
	sd_bus_flush_close_unref(ea);
	sd_bus_flush_close_unref(eb);
	fx_teardown(&f);
}

TEST(endpoint_properties_changed)
{
	struct fixture f;
	struct container *c;
	struct recorder rec;
	sd_bus *ep;
	char line[256];

	ENDPOINT_SETUP(&f, c, ep, true);
	ASSERT_TRUE(rec_start(&rec, ep));
	EXPECT_CALL(&f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	snprintf(line, sizeof(line), "%s PropertiesChanged %s Controlled", SELF_PATH,
		 CONTAINER_INTERFACE);
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no change of Controlled at self");
	snprintf(line, sizeof(line), "%s PropertiesChanged %s Controlled", FX_PATH(c),
		 CONTAINER_INTERFACE);
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no change of Controlled at the full path");
	EXPECT_CALL(&f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "Activate", NULL);
	snprintf(line, sizeof(line), "%s PropertiesChanged %s ActiveContainer", SEAT0_PATH,
		 SEAT_INTERFACE);
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no change of the seat's ActiveContainer");
	snprintf(line, sizeof(line), "%s PropertiesChanged %s Active", SELF_PATH, CONTAINER_INTERFACE);
	if (!rec_wait(&f, &rec, line))
		EXPECT_FAIL("no change of Active at self");
	rec_stop(&rec);
	sd_bus_flush_close_unref(ep);
	fx_teardown(&f);
}

TEST(endpoint_closed_on_unregister)
{
	struct fixture f;
	struct container *c;
	struct recorder rec;
	sd_bus *ep;
	char sock[PATH_MAX];

	ENDPOINT_SETUP(&f, c, ep, false);
	fx_endpoint_path(&f, "web-1", sock, sizeof(sock));
	ASSERT_TRUE(path_exists(sock));
	ASSERT_TRUE(rec_start(&rec, ep));
	EXPECT_CALL(&f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	if (geteuid() == 0)
		EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE,
			    "UnregisterContainer", "s", "web-1");
	else
		container_free(c);
	if (!rec_wait(&f, &rec, "Disconnected"))
		EXPECT_FAIL("the endpoint connection stayed open");
	if (path_exists(sock))
		EXPECT_FAIL("%s is still there", sock);
	rec_stop(&rec);
	sd_bus_flush_close_unref(ep);
	fx_teardown(&f);
}

TEST(endpoint_refuses_other_pidns)
{
	struct fixture f;
	struct fx_nsproc p;
	struct container *c;
	sd_bus *ep;
	char path[PATH_MAX];
	int r, fd;

	r = fx_nsproc_start(&p);
	if (r == -EPERM)
		SKIP("cannot make a pid namespace here");
	ASSERT_EQ_INT(0, r);
	if (fx_setup(&f, false) < 0) {
		fx_nsproc_stop(&p);
		fx_teardown(&f);
		FAIL("broker fixture");
	}
	/* The container is the new namespace; we are outside it. */
	c = fx_add_container(&f, "inner", p.inner, false);
	if (!c) {
		fx_nsproc_stop(&p);
		fx_teardown(&f);
		FAIL("cannot add inner");
	}
	/* Outsiders, more of them than the endpoint has slots: each is hung
	 * up on at once, before its first byte, and takes no slot. */
	fx_endpoint_path(&f, "inner", path, sizeof(path));
	for (int i = 0; i < 80; i++) {
		uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;
		char byte;
		ssize_t n = -1;

		fd = fx_connect(path);
		if (fd < 0) {
			EXPECT_FAIL("outsider %d cannot connect: %s", i, strerror(-fd));
			break;
		}
		while (fx_now() < deadline) {
			sd_event_run(f.b->event, 10000);
			n = recv(fd, &byte, 1, MSG_DONTWAIT);
			if (n >= 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
				break;
		}
		close(fd);
		if (n != 0 && !(n < 0 && errno == ECONNRESET)) {
			EXPECT_FAIL("outsider %d was not hung up on", i);
			break;
		}
	}
	if (c->sc->controlled)
		EXPECT_FAIL("a refused peer took control");

	/* A process of the namespace itself is admitted. */
	fd = fx_nsproc_connect(&p, path);
	ep = fd >= 0 ? fx_client_on_fd(&f, fd, false) : NULL;
	if (!ep || !fx_wait_ready(&f, ep)) {
		EXPECT_FAIL("no connection from inside");
	} else {
		EXPECT_CALL(&f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	}
	sd_bus_flush_close_unref(ep);
	fx_nsproc_stop(&p);
	fx_teardown(&f);
}

TEST(endpoint_admits_pidns_below)
{
	struct fixture f;
	struct fx_nsproc p;
	struct container *c;
	sd_bus *ep;
	char path[PATH_MAX];
	int r, fd;

	r = fx_nsproc_start(&p);
	if (r == -EPERM)
		SKIP("cannot make a pid namespace here");
	ASSERT_EQ_INT(0, r);
	if (fx_setup(&f, false) < 0) {
		fx_nsproc_stop(&p);
		fx_teardown(&f);
		FAIL("broker fixture");
	}
	/* The container is our namespace; the peer is in one below it. */
	c = fx_add_container(&f, "web-1", 0, false);
	if (!c) {
		fx_nsproc_stop(&p);
		fx_teardown(&f);
		FAIL("cannot add web-1");
	}
	fx_endpoint_path(&f, "web-1", path, sizeof(path));
	fd = fx_nsproc_connect(&p, path);
	ep = fd >= 0 ? fx_client_on_fd(&f, fd, false) : NULL;
	if (!ep || !fx_wait_ready(&f, ep)) {
		sd_bus_flush_close_unref(ep);
		fx_nsproc_stop(&p);
		fx_teardown(&f);
		FAIL("no connection from the namespace below");
	}
	EXPECT_CALL(&f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	if (!c->sc->controlled)
		EXPECT_FAIL("not controlled");
	sd_bus_flush_close_unref(ep);
	fx_nsproc_stop(&p);
	fx_teardown(&f);
}

/* ---- Raw clients of the endpoint: what sd-bus clients never send ---- */

struct raw_msg {
	uint8_t b[512];
	size_t n;
};

static void raw_pad(struct raw_msg *m, size_t align)
{
	while (m->n % align)
		m->b[m->n++] = 0;
}

static void raw_u32(struct raw_msg *m, uint32_t v)
{
	raw_pad(m, 4);
	memcpy(m->b + m->n, &v, 4);
	m->n += 4;
}

static void raw_sig(struct raw_msg *m, const char *sig)
{
	m->b[m->n++] = (uint8_t)strlen(sig);
	memcpy(m->b + m->n, sig, strlen(sig) + 1);
	m->n += strlen(sig) + 1;
}

static void raw_field(struct raw_msg *m, uint8_t code, char type, const char *text, uint32_t u)
{
	char sig[2] = { type, 0 };

	raw_pad(m, 8);
	m->b[m->n++] = code;
	raw_sig(m, sig);
	if (type == 'g') {
		raw_sig(m, text);
	} else if (type == 'u') {
		raw_u32(m, u);
	} else {
		raw_u32(m, (uint32_t)strlen(text));
		memcpy(m->b + m->n, text, strlen(text) + 1);
		m->n += strlen(text) + 1;
	}
}

/* A little-endian method call; with n_fds, its signature is "h" and the
 * body the index 0, and the header claims unix_fds. */
static void raw_call(struct raw_msg *m, uint32_t serial, const char *interface,
		     const char *member, uint32_t unix_fds)
{
	uint32_t fields_len, body_len = unix_fds ? 4 : 0;

	memset(m, 0, sizeof(*m));
	m->b[0] = 'l', m->b[1] = 1, m->b[3] = 1;
	memcpy(m->b + 8, &serial, 4);
	m->n = 16;
	raw_field(m, 1, 'o', SELF_PATH, 0);
	raw_field(m, 2, 's', interface, 0);
	raw_field(m, 3, 's', member, 0);
	if (unix_fds) {
		raw_field(m, 8, 'g', "h", 0);
		raw_field(m, 9, 'u', NULL, unix_fds);
	}
	fields_len = (uint32_t)(m->n - 16);
	raw_pad(m, 8);
	if (unix_fds)
		raw_u32(m, 0);
	memcpy(m->b + 4, &body_len, 4);
	memcpy(m->b + 12, &fields_len, 4);
}

static int raw_send(int fd, const void *data, size_t n, const int *fds, size_t n_fds)
{
	union {
		struct cmsghdr h;
		char buf[CMSG_SPACE(sizeof(int) * 64)];
	} u;
	struct iovec iov = { .iov_base = (void *)data, .iov_len = n };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (n_fds > 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		mh.msg_control = u.buf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
		memcpy(CMSG_DATA(cm), fds, sizeof(int) * n_fds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)n ? 0 : -1;
}

/* Runs the broker until fd has bytes (returns how many it read into buf)
 * or is closed (0); -1 on timeout. */
static ssize_t raw_wait(struct fixture *f, int fd, void *buf, size_t size)
{
	uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

	while (fx_now() < deadline) {
		ssize_t n = recv(fd, buf, size, MSG_DONTWAIT);

		if (n >= 0)
			return n;
		if (errno != EAGAIN)
			return 0;
		if (sd_event_run(f->b->event, 10000) < 0)
			break;
	}
	return -1;
}

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static const char raw_handshake[] = "\0AUTH EXTERNAL\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n";

/* The handshake, then a Ping to be sure the connection runs. */
static int raw_client(struct fixture *f, const char *name)
{
	char path[PATH_MAX], reply[256];
	struct raw_msg ping;
	ssize_t n = 0;
	int fd;

	fx_endpoint_path(f, name, path, sizeof(path));
	fd = fx_connect(path);
	if (fd < 0)
		return -1;
	raw_call(&ping, 1, "org.freedesktop.DBus.Peer", "Ping", 0);
	if (raw_send(fd, raw_handshake, sizeof(raw_handshake) - 1, NULL, 0) < 0 ||
	    raw_send(fd, ping.b, ping.n, NULL, 0) < 0) {
		close(fd);
		return -1;
	}
	/* OK, AGREE_UNIX_FD, then the method return (type 2). */
	for (size_t got = 0; got < sizeof(reply); got += (size_t)n) {
		char *ret;

		n = raw_wait(f, fd, reply + got, sizeof(reply) - got);
		if (n <= 0)
			break;
		ret = memmem(reply, got + (size_t)n, "AGREE_UNIX_FD\r\n", 15);
		if (ret && (size_t)(ret - reply) + 15 + 16 <= got + (size_t)n && ret[15] == 'l' && ret[16] == 2)
			return fd;
	}
	close(fd);
	return -1;
}

/* sd-bus drops an invalid message without closing the fds that came with
 * it: the endpoint closes them and hangs up. A valid message's fds are
 * closed with it. Either way the broker holds no more fds than before. */
TEST(endpoint_message_fds_not_kept)
{
	struct fixture f;
	struct raw_msg bad, good, ping;
	char reply[256];
	unsigned before, after;
	int fd, fds[20];

	FX_SETUP(&f, false);
	if (!fx_add_container(&f, "web-1", 0, false)) {
		fx_teardown(&f);
		FAIL("cannot add web-1");
	}
	for (unsigned i = 0; i < ARRAY_SIZE(fds); i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* The header counts one fd more than it brings: invalid. */
	raw_call(&bad, 2, CONTAINER_INTERFACE, "TakeControl", ARRAY_SIZE(fds) + 1);
	/* Valid, and refused for its arguments: dispatched. */
	raw_call(&good, 3, CONTAINER_INTERFACE, "TakeControl", ARRAY_SIZE(fds));
	raw_call(&ping, 4, "org.freedesktop.DBus.Peer", "Ping", 0);

	fx_run_pending(&f);
	before = open_fds();
	fd = raw_client(&f, "web-1");
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ_INT(0, raw_send(fd, bad.b, bad.n, fds, ARRAY_SIZE(fds)));
	ASSERT_EQ_INT(0, raw_send(fd, ping.b, ping.n, NULL, 0));
	if (raw_wait(&f, fd, reply, sizeof(reply)) != 0)
		EXPECT_FAIL("an invalid message with fds: the connection stayed open");
	close(fd);
	fx_run_pending(&f);
	after = open_fds();
	if (after != before)
		EXPECT_FAIL("an invalid message with 20 fds: the broker holds %d fds more",
			    (int)after - (int)before);

	fd = raw_client(&f, "web-1");
	ASSERT_TRUE(fd >= 0);
	fx_run_pending(&f);
	before = open_fds();
	ASSERT_EQ_INT(0, raw_send(fd, good.b, good.n, fds, ARRAY_SIZE(fds)));
	ASSERT_EQ_INT(0, raw_send(fd, ping.b, ping.n, NULL, 0));
	/* The error for TakeControl (type 3), then the Ping's return (2). */
	for (int answers = 0; answers < 2;) {
		ssize_t n = raw_wait(&f, fd, reply, sizeof(reply));

		if (n <= 0) {
			EXPECT_FAIL("the connection %s", n == 0 ? "was closed" : "did not answer");
			break;
		}
		for (ssize_t i = 0; i + 1 < n; i++)
			if (reply[i] == 'l' && (reply[i + 1] == 2 || reply[i + 1] == 3))
				answers++;
	}
	fx_run_pending(&f);
	after = open_fds();
	if (after != before)
		EXPECT_FAIL("a valid message with 20 fds: the broker holds %d fds more",
			    (int)after - (int)before);
	close(fd);
	for (unsigned i = 0; i < ARRAY_SIZE(fds); i++)
		close(fds[i]);
	fx_teardown(&f);
}

/* Fds during the handshake or a message larger than any call: hung up on,
 * not left waiting. */
TEST(endpoint_hangs_up_on_bad_streams)
{
	struct fixture f;
	struct raw_msg huge;
	char path[PATH_MAX], buf[256];
	int fd, null_fd;
	uint32_t body = 64u << 20;

	FX_SETUP(&f, false);
	if (!fx_add_container(&f, "web-1", 0, false)) {
		fx_teardown(&f);
		FAIL("cannot add web-1");
	}
	fx_endpoint_path(&f, "web-1", path, sizeof(path));
	fd = fx_connect(path);
	ASSERT_TRUE(fd >= 0);
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_EQ_INT(0, raw_send(fd, raw_handshake, sizeof(raw_handshake) - 1, &null_fd, 1));
	close(null_fd);
	if (raw_wait(&f, fd, buf, sizeof(buf)) != 0)
		EXPECT_FAIL("fds during the handshake: the connection stayed open");
	close(fd);

	fd = raw_client(&f, "web-1");
	ASSERT_TRUE(fd >= 0);
	raw_call(&huge, 5, CONTAINER_INTERFACE, "TakeControl", 0);
	memcpy(huge.b + 4, &body, 4);
	ASSERT_EQ_INT(0, raw_send(fd, huge.b, huge.n, NULL, 0));
	if (raw_wait(&f, fd, buf, sizeof(buf)) != 0)
		EXPECT_FAIL("a 64 MiB message: the connection stayed open");
	close(fd);
	fx_teardown(&f);
}

/* Messages cut anywhere, or several in one write: each is answered. */
TEST(endpoint_reads_cut_and_joined_messages)
{
	struct fixture f;
	struct raw_msg a, b;
	uint8_t both[1024];
	char reply[512];
	int fd, answers = 0;

	FX_SETUP(&f, false);
	if (!fx_add_container(&f, "web-1", 0, false)) {
		fx_teardown(&f);
		FAIL("cannot add web-1");
	}
	fd = raw_client(&f, "web-1");
	ASSERT_TRUE(fd >= 0);
	raw_call(&a, 2, "org.freedesktop.DBus.Peer", "Ping", 0);
	raw_call(&b, 3, "org.freedesktop.DBus.Peer", "Ping", 0);
	/* In the header, then in the fields. */
	ASSERT_EQ_INT(0, raw_send(fd, a.b, 7, NULL, 0));
	fx_run_for(&f, 20000);
	ASSERT_EQ_INT(0, raw_send(fd, a.b + 7, 20, NULL, 0));
	fx_run_for(&f, 20000);
	ASSERT_EQ_INT(0, raw_send(fd, a.b + 27, a.n - 27, NULL, 0));
	/* Two in one write. */
	memcpy(both, b.b, b.n);
	b.b[8] = 4; /* serial 4 */
	memcpy(both + b.n, b.b, b.n);
	ASSERT_EQ_INT(0, raw_send(fd, both, 2 * b.n, NULL, 0));
	while (answers < 3) {
		ssize_t n = raw_wait(&f, fd, reply, sizeof(reply));

		if (n <= 0) {
			EXPECT_FAIL("%d of 3 answers, then the connection %s", answers,
				    n == 0 ? "was closed" : "was silent");
			break;
		}
		for (ssize_t i = 0; i + 1 < n; i++)
			if (reply[i] == 'l' && reply[i + 1] == 2)
				answers++;
	}
	close(fd);
	fx_teardown(&f);
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
	struct fixture f;
	struct container *a, *b;
	sd_bus_slot *match = NULL, *call1 = NULL, *call2 = NULL;
	struct seen s = { 0 };
	char expected[8][200];
	sd_bus_message *m;
	const char *name = NULL, *path;

	FX_SETUP(&f, false);
	a = fx_add_container(&f, "a", 0, false);
	b = fx_add_container(&f, "b", 0, false);
	ASSERT_TRUE(a && b);
	ASSERT_TRUE(sd_bus_match_signal(f.client, &match, NULL, NULL, PROPS, "PropertiesChanged",
					on_seen_changed, &s) >= 0);
	ASSERT_TRUE(activate(&f, a));
	ASSERT_TRUE(seen_wait(&f, &s, 2));
	s.n = 0;

	ASSERT_TRUE(sd_bus_call_method_async(f.client, &call1, NULL, MANAGER_PATH, MANAGER_INTERFACE,
					     "SwitchContainer", on_seen_reply, &s, "ss", "seat0",
					     "b") >= 0);
	ASSERT_TRUE(sd_bus_call_method_async(f.client, &call2, NULL, MANAGER_PATH, MANAGER_INTERFACE,
					     "SwitchContainer", on_seen_reply, &s, "ss", "seat0",
					     "a") >= 0);
	if (!seen_wait(&f, &s, 8))
		EXPECT_FAIL("%u of 8 answers and changes", s.n);
	fx_run_for(&f, 50000);
	snprintf(expected[0], sizeof(expected[0]), "answer ok");
	snprintf(expected[1], sizeof(expected[1]), "%s Active no", FX_PATH(a));
	snprintf(expected[2], sizeof(expected[2]), "%s Active yes", FX_PATH(b));
	snprintf(expected[3], sizeof(expected[3]), "ActiveContainer b");
	snprintf(expected[4], sizeof(expected[4]), "answer ok");
	snprintf(expected[5], sizeof(expected[5]), "%s Active no", FX_PATH(b));
	snprintf(expected[6], sizeof(expected[6]), "%s Active yes", FX_PATH(a));
	snprintf(expected[7], sizeof(expected[7]), "ActiveContainer a");
	for (unsigned i = 0; i < 8; i++)
		if (i >= s.n || strcmp(s.lines[i], expected[i]) != 0)
			EXPECT_FAIL("#%u: expected \"%s\", got \"%s\"", i, expected[i],
				    i < s.n ? s.lines[i] : "(nothing)");
	if (s.n > 8)
		EXPECT_FAIL("%u more after the second switch, first \"%s\"", s.n - 8, s.lines[8]);

	EXPECT_CALL(&f, "ok", f.client, MANAGER_PATH, MANAGER_INTERFACE, "SwitchContainer", "ss",
		    "seat0", "b");
	m = fx_get_property(&f, f.client, SEAT0_PATH, SEAT_INTERFACE, "ActiveContainer", "(so)");
	if (!m || sd_bus_message_read(m, "(so)", &name, &path) <= 0 || strcmp(name, "b") != 0)
		EXPECT_FAIL("ActiveContainer right after the answer: %s", name ? name : "(unread)");
	sd_bus_message_unref(m);

	sd_bus_slot_unref(call1);
	sd_bus_slot_unref(call2);
	sd_bus_slot_unref(match);
	fx_teardown(&f);
}

/* ---- The caller's uid on a bus ---- */

/* A private dbus-daemon any user may connect to, its socket in dir. */
struct bus_daemon {
	pid_t pid;
	char address[PATH_MAX + 32];
	char socket[PATH_MAX];
};

/* 0, -ENOENT without dbus-daemon, or -errno. */
static int bus_daemon_start(struct bus_daemon *d, const char *dir)
{
	char conf[PATH_MAX], conf_arg[PATH_MAX + 16], fd_arg[64];
	struct pollfd pfd;
	FILE *cf;
	ssize_t n;
	int p[2];

	d->pid = 0;
	snprintf(d->socket, sizeof(d->socket), "%s/bus", dir);
	snprintf(conf, sizeof(conf), "%s/bus.conf", dir);
	snprintf(conf_arg, sizeof(conf_arg), "--config-file=%s", conf);
	cf = fopen(conf, "we");
	if (!cf)
		return -errno;
	fprintf(cf, "<busconfig>\n"
		    "  <listen>unix:path=%s</listen>\n"
		    "  <auth>EXTERNAL</auth>\n"
		    "  <policy context=\"default\">\n"
		    "    <allow user=\"*\"/>\n"
		    "    <allow own=\"*\"/>\n"
		    "    <allow send_destination=\"*\"/>\n"
		    "    <allow receive_sender=\"*\"/>\n"
		    "  </policy>\n"
		    "</busconfig>\n", d->socket);
	if (fclose(cf) != 0 || pipe2(p, O_CLOEXEC) < 0) {
		unlink(conf);
		return -errno;
	}
	fflush(stdout);
	d->pid = fork();
	if (d->pid == 0) {
		fcntl(p[1], F_SETFD, 0);
		snprintf(fd_arg, sizeof(fd_arg), "--print-address=%d", p[1]);
		execlp("dbus-daemon", "dbus-daemon", "--nofork", "--nopidfile", conf_arg, fd_arg,
		       (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* The address is printed once the daemon listens. */
	pfd = (struct pollfd) { .fd = p[0], .events = POLLIN };
	n = d->pid > 0 && poll(&pfd, 1, 5000) > 0 ?
		read(p[0], d->address, sizeof(d->address) - 1) : -1;
	close(p[0]);
	unlink(conf);
	if (n <= 0) {
		if (d->pid > 0) {
			kill(d->pid, SIGTERM);
			waitpid(d->pid, NULL, 0);
		}
		d->pid = 0;
		return -ENOENT;
	}
	d->address[n] = '\0';
	d->address[strcspn(d->address, "\n")] = '\0';
	return 0;
}

static void bus_daemon_stop(struct bus_daemon *d)
{
	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
		;
	d->pid = 0;
	(void)unlink(d->socket);
}

/* A client of the bus connected by a process that became nobody: the bus
 * daemon takes the uid from the socket. NULL if that cannot be had. */
static sd_bus *bus_client_as_nobody(struct fixture *f, const char *socket_path)
{
	int chan[2], fd = -1, status;
	sd_bus *bus;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, chan) < 0)
		return NULL;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(chan[0]);
		fd = fx_become_nobody() < 0 ? -1 : fx_connect(socket_path);
		_exit(fd < 0 || fx_send_fds(chan[1], &fd, 1) < 0 ? 1 : 0);
	}
	close(chan[1]);
	if (pid < 0 || fx_recv_fds(chan[0], &fd, 1) < 0)
		fd = -1;
	close(chan[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (fd < 0)
		return NULL;
	bus = fx_client_on_fd(f, fd, true);
	if (bus && !fx_wait_ready(f, bus)) {
		sd_bus_flush_close_unref(bus);
		return NULL;
	}
	return bus;
}

static sd_bus *bus_client_as_us(struct fixture *f, const char *address)
{
	sd_bus *bus = NULL;

	if (sd_bus_new(&bus) < 0)
		return NULL;
	if (sd_bus_set_address(bus, address) < 0 || sd_bus_set_bus_client(bus, 1) < 0 ||
	    sd_bus_start(bus) < 0 || sd_bus_attach_event(bus, f->b->event, 0) < 0 ||
	    !fx_wait_ready(f, bus)) {
		sd_bus_flush_close_unref(bus);
		return NULL;
	}
	return bus;
}

/* SwitchContainer("seat0", "") to the broker's unique name: the outcome
 * ("ok" or the error name) and the error's message. */
static void switch_to_none(struct fixture *f, sd_bus *bus, const char *broker_name,
			   char *outcome, size_t size)
{
	struct fx_wait w = { 0 };
	sd_bus_slot *slot = NULL;
	const sd_bus_error *e;

	snprintf(outcome, size, "(no answer)");
	if (sd_bus_call_method_async(bus, &slot, broker_name, MANAGER_PATH, MANAGER_INTERFACE,
				     "SwitchContainer", fx_on_reply, &w, "ss", "seat0", "") < 0)
		return;
	fx_run_until(f, &w.done);
	sd_bus_slot_unref(slot);
	if (!w.reply)
		return;
	e = sd_bus_message_get_error(w.reply);
	snprintf(outcome, size, "%s%s%s", fx_outcome(w.reply), e && e->message ? ": " : "",
		 e && e->message ? e->message : "");
	sd_bus_message_unref(w.reply);
}

static const struct sender_uid *kept_uid(struct dbus_transport *b, sd_bus *client)
{
	const char *name = NULL;

	if (sd_bus_get_unique_name(client, &name) < 0)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(b->sender_uids); i++)
		if (strcmp(b->sender_uids[i].name, name) == 0)
			return &b->sender_uids[i];
	return NULL;
}

/* Through a real bus daemon, which names every caller: the uid the broker
 * keeps per name never lets another caller through. Root and nobody take
 * turns, and nobody is still refused once its entry was replaced. */
TEST(bus_caller_uid_kept_per_name)
{
	static const char denied[] = SD_BUS_ERROR_ACCESS_DENIED ": Only root may change the broker's state";
	sd_bus *root = NULL, *nobody = NULL, *more[20] = { NULL };
	struct bus_daemon d = { 0 };
	const struct sender_uid *e;
	const char *broker_name = NULL;
	char outcome[256];
	struct fixture f;
	unsigned next;
	int r;

	if (geteuid() != 0)
		SKIP("needs root: the bus daemon must see a root caller and another one");
	FX_SETUP(&f, false);
	/* nobody connects to the socket in it. */
	chmod(f.dir, 0711);
	r = bus_daemon_start(&d, f.dir);
	if (r == -ENOENT) {
		fx_teardown(&f);
		SKIP("no dbus-daemon");
	}
	if (r < 0) {
		fx_teardown(&f);
		FAIL("cannot start dbus-daemon: %s", strerror(-r));
	}
	/* The broker serves on that bus instead of the socketpair. */
	f.client = sd_bus_flush_close_unref(f.client);
	f.t->bus = sd_bus_flush_close_unref(f.t->bus);
	if (sd_bus_new(&f.t->bus) < 0 || sd_bus_set_address(f.t->bus, d.address) < 0 ||
	    sd_bus_set_bus_client(f.t->bus, 1) < 0 || sd_bus_start(f.t->bus) < 0 ||
	    sd_bus_attach_event(f.t->bus, f.b->event, 0) < 0 || !fx_wait_ready(&f, f.t->bus) ||
	    manager_dbus_register(f.t) < 0 || sd_bus_get_unique_name(f.t->bus, &broker_name) < 0) {
		EXPECT_FAIL("the broker cannot serve on %s", d.address);
		goto out;
	}
	root = bus_client_as_us(&f, d.address);
	nobody = bus_client_as_nobody(&f, d.socket);
	if (!root || !nobody) {
		EXPECT_FAIL("cannot connect %s to the bus", root ? "nobody" : "root");
		goto out;
	}

	for (int i = 0; i < 3; i++) {
		switch_to_none(&f, root, broker_name, outcome, sizeof(outcome));
		if (strcmp(outcome, "ok") != 0)
			EXPECT_FAIL("root, turn %d: %s", i, outcome);
		switch_to_none(&f, nobody, broker_name, outcome, sizeof(outcome));
		if (strcmp(outcome, denied) != 0)
			EXPECT_FAIL("nobody, turn %d: %s", i, outcome);
	}
	/* Kept: asked once each, with the uid the daemon gave. */
	e = kept_uid(f.t, root);
	if (!e || e->uid != 0)
		EXPECT_FAIL("root's uid is not kept as 0");
	e = kept_uid(f.t, nobody);
	if (!e || e->uid != FX_NOBODY)
		EXPECT_FAIL("nobody's uid is not kept as %d", FX_NOBODY);
	if (f.t->sender_uids_next != 2)
		EXPECT_FAIL("%u entries written for two callers", f.t->sender_uids_next);

	/* More callers than entries: the oldest are replaced. */
	for (size_t i = 0; i < ARRAY_SIZE(more); i++) {
		more[i] = bus_client_as_us(&f, d.address);
		if (!more[i]) {
			EXPECT_FAIL("cannot connect caller %zu", i);
			goto out;
		}
		switch_to_none(&f, more[i], broker_name, outcome, sizeof(outcome));
		if (strcmp(outcome, "ok") != 0)
			EXPECT_FAIL("caller %zu: %s", i, outcome);
	}
	if (kept_uid(f.t, nobody))
		EXPECT_FAIL("nobody's entry was not replaced");
	next = f.t->sender_uids_next;
	switch_to_none(&f, nobody, broker_name, outcome, sizeof(outcome));
	if (strcmp(outcome, denied) != 0)
		EXPECT_FAIL("nobody, asked again: %s", outcome);
	if (f.t->sender_uids_next == next)
		EXPECT_FAIL("nobody's uid was not asked for again");
	switch_to_none(&f, root, broker_name, outcome, sizeof(outcome));
	if (strcmp(outcome, "ok") != 0)
		EXPECT_FAIL("root, asked again: %s", outcome);

out:
	for (size_t i = 0; i < ARRAY_SIZE(more); i++)
		sd_bus_flush_close_unref(more[i]);
	sd_bus_flush_close_unref(nobody);
	sd_bus_flush_close_unref(root);
	bus_daemon_stop(&d);
	fx_teardown(&f);
}

/* ---- State file ---- */

/* The leader's start time is read at registration and written from memory
 * on every save. */
TEST(state_file_leader_start)
{
	unsigned long long start = 0;
	char path[PATH_MAX], line[128], want[64];
	struct container *c;
	struct fixture f;
	bool found = false;
	FILE *sf;

	FX_SETUP(&f, false);
	c = fx_add_container(&f, "web-1", 0, false);
	ASSERT_NOT_NULL(c);
	ASSERT_EQ_INT(0, process_start_time(getpid(), &start));
	if (c->leader_start != start)
		EXPECT_FAIL("leader_start %llu, /proc says %llu", c->leader_start, start);
	/* Not read again: a value only memory holds ends up in the file. */
	c->leader_start = 4242;
	ASSERT_EQ_INT(0, broker_state_save(f.b));
	snprintf(path, sizeof(path), "%s/state", f.dir);
	sf = fopen(path, "re");
	ASSERT_NOT_NULL(sf);
	snprintf(want, sizeof(want), "LeaderStart=4242\n");
	while (fgets(line, sizeof(line), sf))
		found = found || strcmp(line, want) == 0;
	fclose(sf);
	if (!found)
		EXPECT_FAIL("no %s in %s", "LeaderStart=4242", path);
	fx_teardown(&f);
}

TEST_MAIN
