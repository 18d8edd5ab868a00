/* SPDX-License-Identifier: MIT */
/*
 * Each container's own endpoint (<runtime>/containers/<name>/bus) against a
 * broker built in-process (see fixture.h): Hello and the bus methods a
 * client expects, the objects it serves (the container, at its path and at
 * .../self, and its seat as that container sees it), control, devices,
 * pause and resume, the signals, and who is admitted: processes of the
 * container's pid namespace only.
 *
 * The test is the leader of the containers it makes, so its connections are
 * admitted. Devices are fakes whose node is /dev/null (1:3), so TakeDevice
 * opens a real file.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/macro.h"
#include "dbus/bus-error.h"
#include "fixture.h"

/* Sets up a fixture with container "web-1" (leader: us, so our connections
 * are admitted) and a client of its endpoint. */
#define ENDPOINT_SETUP(f, c, ep, allow_activate)                        \
	do {                                                            \
		FX_SETUP(f, false);                                     \
		c = fx_add_container(f, "web-1", 0, allow_activate);    \
		ep = c ? fx_endpoint_client(f, "web-1", false) : NULL;  \
		if (!TEST_CHECK(ep != NULL))                            \
			FAIL("cannot reach the endpoint of web-1");     \
	} while (0)

TEST(endpoint_hello)
{
	struct fixture *f;
	struct container *c;
	sd_bus *ep, *client;
	sd_bus_message *m;
	const char *s = NULL, *unique = NULL;
	int b = -1;

	ENDPOINT_SETUP(f, c, ep, false);
	/* A client that never sends Hello is served... */
	EXPECT_CALL(f, "ok", ep, SELF_PATH, PROPS, "Get", "ss", CONTAINER_INTERFACE, "Name");

	/* ...and Hello is answered. */
	m = fx_call(f, ep, "/org/freedesktop/DBus", "org.freedesktop.DBus", "Hello", NULL);
	if (!m || sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read(m, "s", &s) <= 0 ||
	    strncmp(s, ":1.", 3) != 0)
		EXPECT_FAIL("Hello: %s %s", fx_outcome(m), s ? s : "");
	sd_bus_message_unref(m);

	m = fx_call(f, ep, "/org/freedesktop/DBus", "org.freedesktop.DBus", "GetNameOwner", "s",
		    BROKER_BUS_NAME);
	s = NULL;
	if (!m || sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read(m, "s", &s) <= 0)
		EXPECT_FAIL("GetNameOwner(%s): %s", BROKER_BUS_NAME, fx_outcome(m));
	sd_bus_message_unref(m);
	EXPECT_CALL(f, "org.freedesktop.DBus.Error.NameHasNoOwner", ep, "/org/freedesktop/DBus",
		    "org.freedesktop.DBus", "GetNameOwner", "s", "org.example.None");
	m = fx_call(f, ep, "/org/freedesktop/DBus", "org.freedesktop.DBus", "NameHasOwner", "s",
		    BROKER_BUS_NAME);
	if (!m || sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read(m, "b", &b) <= 0 ||
	    b != 1)
		EXPECT_FAIL("NameHasOwner(%s): %s %d", BROKER_BUS_NAME, fx_outcome(m), b);
	sd_bus_message_unref(m);
	EXPECT_CALL(f, "ok", ep, "/org/freedesktop/DBus", "org.freedesktop.DBus", "AddMatch", "s",
		    "type='signal'");
	EXPECT_CALL(f, "ok", ep, "/org/freedesktop/DBus", "org.freedesktop.DBus", "ListNames", NULL);
	fx_close_bus(f, ep);

	/* A client that sends Hello first, as busctl --address does. */
	client = fx_endpoint_client(f, "web-1", true);
	if (!client)
		FAIL("a bus client cannot connect");
	if (sd_bus_get_unique_name(client, &unique) < 0 || strncmp(unique, ":1.", 3) != 0)
		EXPECT_FAIL("unique name: %s", unique ? unique : "(none)");
	EXPECT_CALL(f, "ok", client, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
}

TEST(endpoint_objects)
{
	struct fixture *f;
	struct container *c, *other;
	sd_bus *ep;
	char *name;

	ENDPOINT_SETUP(f, c, ep, false);
	other = fx_add_container(f, "other", 0, false);
	if (!other)
		FAIL("cannot add other");
	/* The container at its path and at .../self. */
	name = fx_get_string(f, ep, FX_PATH(c), CONTAINER_INTERFACE, "Name");
	if (!name || strcmp(name, "web-1") != 0)
		EXPECT_FAIL("Name at %s: %s", FX_PATH(c), name ? name : "(none)");
	free(name);
	name = fx_get_string(f, ep, SELF_PATH, CONTAINER_INTERFACE, "Name");
	if (!name || strcmp(name, "web-1") != 0)
		EXPECT_FAIL("Name at %s: %s", SELF_PATH, name ? name : "(none)");
	free(name);
	if (fx_get_bool(f, ep, SELF_PATH, CONTAINER_INTERFACE, "Active") != 0)
		EXPECT_FAIL("Active at self is not false");
	EXPECT_CALL(f, "ok", ep, SELF_PATH, "org.freedesktop.DBus.Introspectable", "Introspect", NULL);
	EXPECT_CALL(f, "ok", ep, FX_PATH(c), "org.freedesktop.DBus.Peer", "Ping", NULL);

	/* Its seat, readable. */
	name = fx_get_string(f, ep, SEAT0_PATH, SEAT_INTERFACE, "Id");
	if (!name || strcmp(name, "seat0") != 0)
		EXPECT_FAIL("Id of the seat on the endpoint: %s", name ? name : "(none)");
	free(name);
	EXPECT_CALL(f, "ok", ep, SEAT0_PATH, PROPS, "GetAll", "s", SEAT_INTERFACE);

	/* Neither the Manager nor other containers. */
	EXPECT_CALL(f, SD_BUS_ERROR_UNKNOWN_OBJECT, ep, MANAGER_PATH, MANAGER_INTERFACE,
		    "ListSeats", NULL);
	EXPECT_CALL(f, SD_BUS_ERROR_UNKNOWN_OBJECT, ep, FX_PATH(other), CONTAINER_INTERFACE,
		    "TakeControl", "b", 0);
}

/* The introspection of path on ep has child node name. */
static bool has_child(struct fixture *f, sd_bus *ep, const char *path, const char *name)
{
	sd_bus_message *m = fx_call(f, ep, path, "org.freedesktop.DBus.Introspectable",
				    "Introspect", NULL);
	const char *xml = NULL;
	char node[128];
	bool found;

	snprintf(node, sizeof(node), "<node name=\"%s\"/>", name);
	found = m && sd_bus_message_read(m, "s", &xml) > 0 && strstr(xml, node);
	sd_bus_message_unref(m);
	return found;
}

/* What busctl tree walks: from / down to the container, at both of its
 * paths, and the seat; no other container. And for a client written for a
 * bus (busctl --address), which sends Hello first, the bus driver's object. */
TEST(endpoint_tree)
{
	static const struct {
		const char *path, *child;
		bool shown;
	} nodes[] = {
		{ "/", "org", true },
		{ "/org/devns", "broker1", true },
		{ MANAGER_PATH, "container", true },
		{ MANAGER_PATH, "seat", true },
		{ MANAGER_PATH "/container", "self", true },
		{ MANAGER_PATH "/container", "web_2d1", true },
		{ MANAGER_PATH "/container", "other", false },
		{ MANAGER_PATH "/seat", "seat0", true },
	};
	struct fixture *f;
	struct container *c;
	sd_bus *ep;

	ENDPOINT_SETUP(f, c, ep, false);
	if (!fx_add_container(f, "other", 0, false))
		FAIL("cannot add other");
	for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
		if (has_child(f, ep, nodes[i].path, nodes[i].child) != nodes[i].shown)
			EXPECT_FAIL("%s on the endpoint %s %s", nodes[i].path,
				    nodes[i].shown ? "does not list" : "lists", nodes[i].child);
	EXPECT_CALL(f, "ok", ep, FX_PATH(c), "org.freedesktop.DBus.Introspectable", "Introspect",
		    NULL);

	ep = fx_endpoint_client(f, "web-1", true);
	if (!TEST_CHECK(ep != NULL))
		FAIL("cannot reach the endpoint of web-1 as a bus client");
	if (!has_child(f, ep, "/org/freedesktop", "DBus"))
		EXPECT_FAIL("/org/freedesktop on the endpoint does not list DBus after Hello");
	EXPECT_CALL(f, "ok", ep, "/org/freedesktop/DBus", "org.freedesktop.DBus", "ListNames", NULL);
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
	struct fixture *f;
	struct container *c, *other, *third;
	struct fx_recorder *rec;
	sd_bus *ep;
	sd_bus_message *m;
	char *active, self[256], changed[256];
	const char *name, *path;
	unsigned n;
	int r;

	ENDPOINT_SETUP(f, c, ep, false);
	other = fx_add_container(f, "other", 0, false);
	third = fx_add_container(f, "third", 0, false);
	if (!other || !third)
		FAIL("cannot add the other containers");
	snprintf(self, sizeof(self), "web-1 %s", FX_PATH(c));
	snprintf(changed, sizeof(changed), "%s PropertiesChanged %s ActiveContainer", SEAT0_PATH,
		 SEAT_INTERFACE);
	rec = fx_recorder_new(ep);
	ASSERT_NOT_NULL(rec);

	/* Containers: itself alone, though the seat has three. */
	m = fx_get_property(f, ep, SEAT0_PATH, SEAT_INTERFACE, "Containers", "a(so)");
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
	ASSERT_TRUE(fx_activate(f, other));
	active = endpoint_active(f, ep);
	if (!active || strcmp(active, none) != 0)
		EXPECT_FAIL("ActiveContainer with other active: '%s'", active ? active : "(unreadable)");
	free(active);
	fx_run_for(f, 50000);
	if (fx_rec_has(rec, changed))
		EXPECT_FAIL("the endpoint heard of a switch between others");

	/* Itself in front, then away again: both changes reach it. */
	ASSERT_TRUE(fx_activate(f, c));
	if (!fx_rec_wait(f, rec, changed))
		EXPECT_FAIL("no ActiveContainer change when web-1 became active");
	active = endpoint_active(f, ep);
	if (!active || strcmp(active, self) != 0)
		EXPECT_FAIL("ActiveContainer with web-1 active: '%s'", active ? active : "(unreadable)");
	free(active);
	rec->n = 0;
	ASSERT_TRUE(fx_activate(f, third));
	if (!fx_rec_wait(f, rec, changed))
		EXPECT_FAIL("no ActiveContainer change when web-1 went to the background");
	active = endpoint_active(f, ep);
	if (!active || strcmp(active, none) != 0)
		EXPECT_FAIL("ActiveContainer with third active: '%s'", active ? active : "(unreadable)");
	free(active);

	/* A switch among the others again: silence; and no signal of any
	 * kind names another container. */
	rec->n = 0;
	ASSERT_TRUE(fx_activate(f, other));
	fx_run_for(f, 50000);
	if (rec->n != 0)
		EXPECT_FAIL("the endpoint heard %u signals of a switch between others: %s", rec->n,
			    rec->lines[0]);
}

TEST(endpoint_seat_read_only)
{
	struct fixture *f;
	struct container *c;
	sd_bus *ep;

	ENDPOINT_SETUP(f, c, ep, false);
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, ep, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchContainer", "s", "web-1");
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, ep, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchContainer", "s", "");
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, ep, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchToNext", NULL);
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, ep, SEAT0_PATH, SEAT_INTERFACE,
		    "SwitchToPrevious", NULL);
	if (f->seat0->seat->active)
		EXPECT_FAIL("a container became active");
}

TEST(endpoint_control)
{
	struct fixture *f;
	struct container *c;
	sd_bus *a, *b;

	ENDPOINT_SETUP(f, c, a, false);
	b = fx_endpoint_client(f, "web-1", false);
	if (!b)
		FAIL("second connection");
	/* Nobody in control: device calls are refused. */
	EXPECT_CALL(f, BUS_ERROR_NOT_IN_CONTROL, a, SELF_PATH, CONTAINER_INTERFACE, "ReleaseControl", NULL);
	EXPECT_CALL(f, BUS_ERROR_NOT_IN_CONTROL, a, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice",
		    "uu", 99u, 99u);

	EXPECT_CALL(f, "ok", a, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	if (fx_get_bool(f, b, SELF_PATH, CONTAINER_INTERFACE, "Controlled") != 1)
		EXPECT_FAIL("Controlled is not true");
	/* Again from the controller: fine. */
	EXPECT_CALL(f, "ok", a, FX_PATH(c), CONTAINER_INTERFACE, "TakeControl", "b", 0);

	EXPECT_CALL(f, BUS_ERROR_ALREADY_CONTROLLED, b, SELF_PATH, CONTAINER_INTERFACE,
		    "TakeControl", "b", 0);
	EXPECT_CALL(f, BUS_ERROR_NOT_IN_CONTROL, b, SELF_PATH, CONTAINER_INTERFACE,
		    "ReleaseControl", NULL);
	EXPECT_CALL(f, BUS_ERROR_NOT_IN_CONTROL, b, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice",
		    "uu", 99u, 99u);
	EXPECT_CALL(f, BUS_ERROR_NOT_IN_CONTROL, b, SELF_PATH, CONTAINER_INTERFACE, "ReleaseDevice",
		    "uu", 99u, 99u);
	EXPECT_CALL(f, BUS_ERROR_NOT_IN_CONTROL, b, SELF_PATH, CONTAINER_INTERFACE,
		    "PauseDeviceComplete", "uu", 99u, 99u);
	/* A controller on the broker's bus is another connection too. */
	EXPECT_CALL(f, geteuid() == 0 ? BUS_ERROR_ALREADY_CONTROLLED : SD_BUS_ERROR_ACCESS_DENIED,
		    f->client, FX_PATH(c), CONTAINER_INTERFACE, "TakeControl", "b", 0);

	/* The controller's device calls. */
	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_DEVICE, a, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice",
		    "uu", 99u, 99u);
	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_DEVICE, a, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice",
		    "uu", NULL_MAJOR, NULL_MINOR);
	EXPECT_CALL(f, BUS_ERROR_DEVICE_NOT_TAKEN, a, SELF_PATH, CONTAINER_INTERFACE,
		    "ReleaseDevice", "uu", 99u, 99u);
	EXPECT_CALL(f, BUS_ERROR_DEVICE_NOT_TAKEN, a, SELF_PATH, CONTAINER_INTERFACE,
		    "PauseDeviceComplete", "uu", 99u, 99u);

	EXPECT_CALL(f, "ok", a, SELF_PATH, CONTAINER_INTERFACE, "ReleaseControl", NULL);
	if (fx_get_bool(f, b, SELF_PATH, CONTAINER_INTERFACE, "Controlled") != 0)
		EXPECT_FAIL("Controlled is not false after ReleaseControl");
	EXPECT_CALL(f, BUS_ERROR_NOT_IN_CONTROL, a, SELF_PATH, CONTAINER_INTERFACE,
		    "ReleaseControl", NULL);
	/* Now b may. */
	EXPECT_CALL(f, "ok", b, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
}

TEST(endpoint_take_control_force)
{
	struct fixture *f;
	struct container *c;
	sd_bus *a, *b;

	ENDPOINT_SETUP(f, c, a, false);
	b = fx_endpoint_client(f, "web-1", false);
	if (!b)
		FAIL("second connection");
	EXPECT_CALL(f, "ok", a, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	EXPECT_CALL(f, "ok", b, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 1);
	EXPECT_CALL(f, BUS_ERROR_NOT_IN_CONTROL, a, SELF_PATH, CONTAINER_INTERFACE,
		    "ReleaseControl", NULL);
	EXPECT_CALL(f, BUS_ERROR_ALREADY_CONTROLLED, a, SELF_PATH, CONTAINER_INTERFACE,
		    "TakeControl", "b", 0);
	EXPECT_CALL(f, "ok", b, SELF_PATH, CONTAINER_INTERFACE, "ReleaseControl", NULL);
}

TEST(endpoint_controller_disconnects)
{
	struct fixture *f;
	struct container *c;
	sd_bus *a, *b;
	uint64_t deadline;

	ENDPOINT_SETUP(f, c, a, false);
	b = fx_endpoint_client(f, "web-1", false);
	if (!b)
		FAIL("second connection");
	ASSERT_NOT_NULL(fx_add_null_device(f->seat0, "event9", SEAT_DEVICE_EVDEV));
	ASSERT_TRUE(fx_activate(f, c));
	EXPECT_CALL(f, "ok", a, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	EXPECT_CALL(f, "ok", a, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice", "uu",
		    NULL_MAJOR, NULL_MINOR);
	ASSERT_EQ_INT(1, list_length(&c->sc->handles));
	fx_close_bus(f, a);

	deadline = fx_now() + FX_TIMEOUT_USEC;
	while (c->sc->controlled && fx_now() < deadline)
		sd_event_run(f->b->event, 100000);
	if (c->sc->controlled)
		EXPECT_FAIL("still controlled after the controller disconnected");
	if (!list_empty(&c->sc->handles))
		EXPECT_FAIL("the devices of the controller were not released");
	if (fx_get_bool(f, b, SELF_PATH, CONTAINER_INTERFACE, "Controlled") != 0)
		EXPECT_FAIL("Controlled is not false");
	EXPECT_CALL(f, "ok", b, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
}

TEST(endpoint_take_device)
{
	struct fixture *f;
	struct container *c;
	sd_bus *ep;
	sd_bus_message *m;
	struct stat st;
	uint32_t maj, min;
	const char *type;
	int fd = -1, inactive = -1, paused = -1;
	char got[128] = "";

	ENDPOINT_SETUP(f, c, ep, false);
	ASSERT_NOT_NULL(fx_add_null_device(f->seat0, "event9", SEAT_DEVICE_EVDEV));
	ASSERT_TRUE(fx_activate(f, c));
	EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);

	m = fx_call(f, ep, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice", "uu",
		    NULL_MAJOR, NULL_MINOR);
	if (m && !sd_bus_message_is_method_error(m, NULL) &&
	    sd_bus_message_read(m, "hb", &fd, &inactive) > 0)
		fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	else
		EXPECT_FAIL("TakeDevice: %s", fx_outcome(m));
	sd_bus_message_unref(m);
	if (fd < 0)
		FAIL("no fd");
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) ||
	    st.st_rdev != makedev(NULL_MAJOR, NULL_MINOR))
		EXPECT_FAIL("the fd is not the device 1:3");
	if (inactive != 0)
		EXPECT_FAIL("inactive is %d for the active container", inactive);
	close(fd);

	m = fx_get_property(f, ep, SELF_PATH, CONTAINER_INTERFACE, "Devices", "a(uusb)");
	if (m && sd_bus_message_enter_container(m, 'a', "(uusb)") > 0)
		while (sd_bus_message_read(m, "(uusb)", &maj, &min, &type, &paused) > 0)
			snprintf(got + strlen(got), sizeof(got) - strlen(got), "%s%u:%u %s %d",
				 got[0] ? "; " : "", maj, min, type, paused);
	sd_bus_message_unref(m);
	if (strcmp(got, "1:3 evdev 0") != 0)
		EXPECT_FAIL("Devices: \"%s\", expected \"1:3 evdev 0\"", got);

	EXPECT_CALL(f, BUS_ERROR_DEVICE_IS_TAKEN, ep, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice",
		    "uu", NULL_MAJOR, NULL_MINOR);
	EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "ReleaseDevice", "uu",
		    NULL_MAJOR, NULL_MINOR);
	EXPECT_CALL(f, BUS_ERROR_DEVICE_NOT_TAKEN, ep, SELF_PATH, CONTAINER_INTERFACE,
		    "ReleaseDevice", "uu", NULL_MAJOR, NULL_MINOR);

	got[0] = '\0';
	m = fx_get_property(f, ep, SELF_PATH, CONTAINER_INTERFACE, "Devices", "a(uusb)");
	if (!m || sd_bus_message_enter_container(m, 'a', "(uusb)") <= 0 ||
	    sd_bus_message_skip(m, "(uusb)") != 0)
		EXPECT_FAIL("Devices is not empty after ReleaseDevice");
	sd_bus_message_unref(m);

	/* Taken again after the release. */
	EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice", "uu",
		    NULL_MAJOR, NULL_MINOR);
}

TEST(endpoint_take_device_of_other_seat)
{
	struct fixture *f;
	struct container *c;
	struct broker_seat *seat1;
	sd_bus *ep;

	ENDPOINT_SETUP(f, c, ep, false);
	ASSERT_EQ_INT(0, broker_get_seat(f->b, "seat1", &seat1));
	ASSERT_NOT_NULL(fx_add_null_device(seat1, "event9", SEAT_DEVICE_EVDEV));
	ASSERT_TRUE(fx_activate(f, c));
	EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	EXPECT_CALL(f, BUS_ERROR_NO_SUCH_DEVICE, ep, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice",
		    "uu", NULL_MAJOR, NULL_MINOR);
}

TEST(endpoint_activate)
{
	struct fixture *f;
	struct container *c, *other;
	sd_bus *ep, *ep2;

	ENDPOINT_SETUP(f, c, ep, true);
	other = fx_add_container(f, "other", 0, false);
	ep2 = other ? fx_endpoint_client(f, "other", false) : NULL;
	if (!ep2)
		FAIL("cannot reach the endpoint of other");
	EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "Activate", NULL);
	if (!container_is_active(c))
		EXPECT_FAIL("web-1 is not active after Activate");
	if (fx_get_bool(f, ep, SELF_PATH, CONTAINER_INTERFACE, "Active") != 1)
		EXPECT_FAIL("Active is not true");
	/* Without AllowActivate. */
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, ep2, SELF_PATH, CONTAINER_INTERFACE,
		    "Activate", NULL);
	if (!container_is_active(c))
		EXPECT_FAIL("web-1 is no longer active");
}

TEST(endpoint_pause_and_resume)
{
	struct fixture *f;
	struct container *a, *b;
	struct fx_recorder *rec;
	sd_bus *ea, *eb;
	sd_bus_message *m;
	struct stat st;
	char line[256];
	int fd = -1, inactive = -1;

	FX_SETUP(f, false);
	a = fx_add_container(f, "a", 0, true);
	b = fx_add_container(f, "b", 0, true);
	ea = a ? fx_endpoint_client(f, "a", false) : NULL;
	eb = b ? fx_endpoint_client(f, "b", false) : NULL;
	if (!ea || !eb)
		FAIL("cannot reach the endpoints");
	ASSERT_NOT_NULL(fx_add_null_device(f->seat0, "event9", SEAT_DEVICE_EVDEV));
	rec = fx_recorder_new(ea);
	ASSERT_NOT_NULL(rec);
	EXPECT_CALL(f, "ok", ea, SELF_PATH, CONTAINER_INTERFACE, "Activate", NULL);
	EXPECT_CALL(f, "ok", ea, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	m = fx_call(f, ea, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice", "uu", NULL_MAJOR, NULL_MINOR);
	if (!m || sd_bus_message_is_method_error(m, NULL) ||
	    sd_bus_message_read(m, "hb", &fd, &inactive) <= 0 || inactive != 0)
		EXPECT_FAIL("TakeDevice: %s, inactive %d", fx_outcome(m), inactive);
	sd_bus_message_unref(m);

	/* b takes over: a's evdev device is paused at once ("force"). */
	EXPECT_CALL(f, "ok", eb, SELF_PATH, CONTAINER_INTERFACE, "Activate", NULL);
	snprintf(line, sizeof(line), "%s PauseDevice 1 3 force", FX_PATH(a));
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no PauseDevice to the controller of a");
	if (fx_get_bool(f, ea, SELF_PATH, CONTAINER_INTERFACE, "Active") != 0)
		EXPECT_FAIL("a is still active");
	{
		sd_bus_message *d = fx_get_property(f, ea, SELF_PATH, CONTAINER_INTERFACE,
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
	EXPECT_CALL(f, "ok", ea, SELF_PATH, CONTAINER_INTERFACE, "Activate", NULL);
	snprintf(line, sizeof(line), "%s ResumeDevice 1 3", FX_PATH(a));
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no ResumeDevice to the controller of a");
	else if (rec->fd < 0 || fstat(rec->fd, &st) < 0 ||
		 st.st_rdev != makedev(NULL_MAJOR, NULL_MINOR))
		EXPECT_FAIL("ResumeDevice carries no fd of 1:3");

	/* b's connection, not the controller of a, saw none of it. */
	{
		struct fx_recorder *rb;

		rb = fx_recorder_new(eb);
		ASSERT_NOT_NULL(rb);
		fx_run_for(f, 50000);
		for (unsigned i = 0; i < rb->n; i++)
			if (strstr(rb->lines[i], "PauseDevice") || strstr(rb->lines[i], "ResumeDevice"))
				EXPECT_FAIL("b saw \"%s\"", rb->lines[i]);
	}
}

TEST(endpoint_properties_changed)
{
	struct fixture *f;
	struct container *c;
	struct fx_recorder *rec;
	sd_bus *ep;
	char line[256];

	ENDPOINT_SETUP(f, c, ep, true);
	rec = fx_recorder_new(ep);
	ASSERT_NOT_NULL(rec);
	EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	snprintf(line, sizeof(line), "%s PropertiesChanged %s Controlled", SELF_PATH,
		 CONTAINER_INTERFACE);
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no change of Controlled at self");
	snprintf(line, sizeof(line), "%s PropertiesChanged %s Controlled", FX_PATH(c),
		 CONTAINER_INTERFACE);
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no change of Controlled at the full path");
	EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "Activate", NULL);
	snprintf(line, sizeof(line), "%s PropertiesChanged %s ActiveContainer", SEAT0_PATH,
		 SEAT_INTERFACE);
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no change of the seat's ActiveContainer");
	snprintf(line, sizeof(line), "%s PropertiesChanged %s Active", SELF_PATH, CONTAINER_INTERFACE);
	if (!fx_rec_wait(f, rec, line))
		EXPECT_FAIL("no change of Active at self");
}

TEST(endpoint_closed_on_unregister)
{
	struct fixture *f;
	struct container *c;
	struct fx_recorder *rec;
	sd_bus *ep;
	char sock[PATH_MAX];

	ENDPOINT_SETUP(f, c, ep, false);
	fx_endpoint_path(f, "web-1", sock, sizeof(sock));
	ASSERT_TRUE(fx_path_exists(sock));
	rec = fx_recorder_new(ep);
	ASSERT_NOT_NULL(rec);
	EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	if (geteuid() == 0)
		EXPECT_CALL(f, "ok", f->client, MANAGER_PATH, MANAGER_INTERFACE,
			    "UnregisterContainer", "s", "web-1");
	else
		container_free(c);
	if (!fx_rec_wait(f, rec, "Disconnected"))
		EXPECT_FAIL("the endpoint connection stayed open");
	if (fx_path_exists(sock))
		EXPECT_FAIL("%s is still there", sock);
}

TEST(endpoint_refuses_other_pidns)
{
	struct fixture *f;
	struct fx_nsproc *p;
	struct container *c;
	sd_bus *ep;
	char path[PATH_MAX];
	int r, fd;

	r = fx_nsproc_start(&p);
	if (r == -EPERM)
		SKIP("cannot make a pid namespace here");
	ASSERT_EQ_INT(0, r);
	FX_SETUP(f, false);
	/* The container is the new namespace; we are outside it. */
	c = fx_add_container(f, "inner", p->inner, false);
	if (!c)
		FAIL("cannot add inner");
	/* Outsiders, more of them than the endpoint has slots: each is hung
	 * up on at once, before its first byte, and takes no slot. */
	fx_endpoint_path(f, "inner", path, sizeof(path));
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
			sd_event_run(f->b->event, 10000);
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
	fd = fx_nsproc_connect(p, path);
	ep = fd >= 0 ? fx_client_on_fd(f, fd, false) : NULL;
	if (!ep || !fx_wait_ready(f, ep)) {
		EXPECT_FAIL("no connection from inside");
	} else {
		EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	}
}

TEST(endpoint_admits_pidns_below)
{
	struct fixture *f;
	struct fx_nsproc *p;
	struct container *c;
	sd_bus *ep;
	char path[PATH_MAX];
	int r, fd;

	r = fx_nsproc_start(&p);
	if (r == -EPERM)
		SKIP("cannot make a pid namespace here");
	ASSERT_EQ_INT(0, r);
	FX_SETUP(f, false);
	/* The container is our namespace; the peer is in one below it. */
	c = fx_add_container(f, "web-1", 0, false);
	if (!c)
		FAIL("cannot add web-1");
	fx_endpoint_path(f, "web-1", path, sizeof(path));
	fd = fx_nsproc_connect(p, path);
	ep = fd >= 0 ? fx_client_on_fd(f, fd, false) : NULL;
	if (!ep || !fx_wait_ready(f, ep))
		FAIL("no connection from the namespace below");
	EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	if (!c->sc->controlled)
		EXPECT_FAIL("not controlled");
}

/* ---- The signals of a switch, and who hears them ---- */

/* What one connection heard, in order, with the values: "PATH Active
 * yes|no", "PATH ActiveContainer NAME", "PATH Devices MAJ:MIN TYPE
 * paused|live ...", "PATH PropertiesChanged PROPERTY" for any other
 * property, "PATH MEMBER" for any other signal. */
struct heard {
	char lines[48][200];
	unsigned n;
	sd_bus_slot *slot;
};

static void heard_add(struct heard *h, const char *line)
{
	if (h->n < ARRAY_SIZE(h->lines))
		snprintf(h->lines[h->n++], sizeof(h->lines[0]), "%s", line);
}

/* Appends " MAJ:MIN TYPE paused|live" for each device of the variant. */
static int heard_devices(sd_bus_message *m, char *line, size_t size)
{
	const char *type;
	uint32_t maj, min;
	int paused, r;
	size_t len;

	if ((r = sd_bus_message_enter_container(m, 'v', "a(uusb)")) <= 0 ||
	    (r = sd_bus_message_enter_container(m, 'a', "(uusb)")) <= 0)
		return r < 0 ? r : -EINVAL;
	while ((r = sd_bus_message_read(m, "(uusb)", &maj, &min, &type, &paused)) > 0) {
		len = strlen(line);
		snprintf(line + len, size - len, " %u:%u %s %s", maj, min, type,
			 paused ? "paused" : "live");
	}
	if (r < 0 || (r = sd_bus_message_exit_container(m)) < 0)
		return r;
	return sd_bus_message_exit_container(m);
}

static void heard_changed(struct heard *h, sd_bus_message *m)
{
	const char *path = sd_bus_message_get_path(m), *iface, *name, *cname, *cpath;
	char line[200];
	int v;

	if (sd_bus_message_read(m, "s", &iface) <= 0 ||
	    sd_bus_message_enter_container(m, 'a', "{sv}") <= 0)
		return;
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		if (sd_bus_message_read(m, "s", &name) <= 0)
			break;
		if (strcmp(name, "Active") == 0 && sd_bus_message_read(m, "v", "b", &v) > 0)
			snprintf(line, sizeof(line), "%s Active %s", path, v ? "yes" : "no");
		else if (strcmp(name, "ActiveContainer") == 0 &&
			 sd_bus_message_read(m, "v", "(so)", &cname, &cpath) > 0)
			snprintf(line, sizeof(line), "%s ActiveContainer %s", path, cname);
		else if (strcmp(name, "Devices") == 0) {
			snprintf(line, sizeof(line), "%s Devices", path);
			if (heard_devices(m, line, sizeof(line)) < 0)
				break;
		} else {
			snprintf(line, sizeof(line), "%s PropertiesChanged %s", path, name);
			sd_bus_message_skip(m, "v");
		}
		heard_add(h, line);
		sd_bus_message_exit_container(m);
	}
}

static int on_heard(sd_bus_message *m, void *userdata, sd_bus_error *error)
{
	char line[200];

	if (sd_bus_message_is_signal(m, PROPS, "PropertiesChanged")) {
		heard_changed(userdata, m);
		return 0;
	}
	snprintf(line, sizeof(line), "%s %s", sd_bus_message_get_path(m),
		 sd_bus_message_get_member(m));
	heard_add(userdata, line);
	return 0;
}

static void heard_free(void *data)
{
	struct heard *h = data;

	sd_bus_slot_unref(h->slot);
	free(h);
}

static struct heard *heard_new(sd_bus *bus)
{
	struct heard *h = calloc(1, sizeof(*h));

	if (!h)
		return NULL;
	test_defer(heard_free, h);
	if (sd_bus_match_signal(bus, &h->slot, NULL, NULL, NULL, NULL, on_heard, h) < 0)
		return NULL;
	return h;
}

/* Checks that h heard exactly expected[0..n) since it was last emptied,
 * waiting for them and then a while for anything more; empties it. */
static bool heard_exactly(struct fixture *f, struct heard *h, const char *who,
			  const char *const *expected, unsigned n)
{
	uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;
	bool ok = true;

	while (h->n < n && fx_now() < deadline)
		if (sd_event_run(f->b->event, 100000) < 0)
			break;
	fx_run_for(f, 20000);
	for (unsigned i = 0; i < n || i < h->n; i++)
		if (i >= n || i >= h->n || strcmp(h->lines[i], expected[i]) != 0) {
			EXPECT_FAIL("%s #%u: expected \"%s\", heard \"%s\"", who, i,
				    i < n ? expected[i] : "(nothing)", i < h->n ? h->lines[i] : "(nothing)");
			ok = false;
		}
	h->n = 0;
	return ok;
}

/* A switch from a to b, again and again: the bus hears Active of both and
 * the seat's ActiveContainer; each endpoint of the two hears its own
 * container's Active at both paths and its seat's ActiveContainer, with the
 * values of that switch every time; the endpoint of a container not
 * involved hears nothing at all. */
TEST(switch_signals_to_those_involved_only)
{
	static const char *const names[] = { "a", "b", "c" };
	struct fixture *f;
	struct container *cs[3];
	struct heard *bus, *ep[3];
	sd_bus *eps[3];
	char pa[128], pb[128], l[5][200];

	FX_SETUP(f, false);
	for (unsigned i = 0; i < 3; i++) {
		cs[i] = fx_add_container(f, names[i], 0, false);
		eps[i] = cs[i] ? fx_endpoint_client(f, names[i], false) : NULL;
		if (!eps[i])
			FAIL("cannot reach the endpoint of %s", names[i]);
		/* A client hears signals once it has called something. */
		EXPECT_CALL(f, "ok", eps[i], SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	}
	ASSERT_TRUE(fx_activate(f, cs[0]));
	bus = heard_new(f->client);
	ASSERT_NOT_NULL(bus);
	for (unsigned i = 0; i < 3; i++) {
		ep[i] = heard_new(eps[i]);
		ASSERT_NOT_NULL(ep[i]);
	}
	fx_run_for(f, 20000);
	bus->n = ep[0]->n = ep[1]->n = ep[2]->n = 0;
	snprintf(pa, sizeof(pa), "%s", FX_PATH(cs[0]));
	snprintf(pb, sizeof(pb), "%s", FX_PATH(cs[1]));

	/* Three rounds: the later ones send what the first one built. */
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned k = 0; k < 2; k++) {
			bool to_b = k == 0;
			const char *from = to_b ? pa : pb, *to = to_b ? pb : pa;
			unsigned from_i = to_b ? 0 : 1, to_i = to_b ? 1 : 0;

			ASSERT_TRUE(fx_activate(f, cs[to_i]));
			snprintf(l[0], sizeof(l[0]), "%s Active no", from);
			snprintf(l[1], sizeof(l[1]), "%s Active yes", to);
			snprintf(l[2], sizeof(l[2]), "%s ActiveContainer %s", SEAT0_PATH,
				 names[to_i]);
			heard_exactly(f, bus, "bus", (const char *[]) { l[0], l[1], l[2] }, 3);
			snprintf(l[3], sizeof(l[3]), "%s Active no", SELF_PATH);
			snprintf(l[4], sizeof(l[4]), "%s ActiveContainer ", SEAT0_PATH);
			heard_exactly(f, ep[from_i], names[from_i],
				      (const char *[]) { l[0], l[3], l[4] }, 3);
			snprintf(l[3], sizeof(l[3]), "%s Active yes", SELF_PATH);
			heard_exactly(f, ep[to_i], names[to_i],
				      (const char *[]) { l[1], l[3], l[2] }, 3);
			heard_exactly(f, ep[2], "c", NULL, 0);
		}
	}
}

/* A switch pauses the devices of the container it leaves and resumes
 * those of the one it goes to: the bus hears Devices of both with the new
 * paused flags (in the same PropertiesChanged as their Active), each of
 * the two endpoints its own container's at both paths, every time; the
 * endpoint of a third container, which holds no device of the switch,
 * hears nothing. */
TEST(switch_announces_devices_paused)
{
	static const char *const names[] = { "a", "b", "c" };
	struct fixture *f;
	struct container *cs[3];
	struct heard *bus, *ep[3];
	sd_bus *eps[3];
	sd_bus_message *m;
	char pa[128], pb[128], l[8][200];

	FX_SETUP(f, false);
	ASSERT_NOT_NULL(fx_add_null_device(f->seat0, "event9", SEAT_DEVICE_EVDEV));
	for (unsigned i = 0; i < 3; i++) {
		cs[i] = fx_add_container(f, names[i], 0, false);
		eps[i] = cs[i] ? fx_endpoint_client(f, names[i], false) : NULL;
		if (!eps[i])
			FAIL("cannot reach the endpoint of %s", names[i]);
		EXPECT_CALL(f, "ok", eps[i], SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	}
	/* Each of a and b takes the device while active: /dev/null cannot
	 * be handed out paused (it has no EVIOCREVOKE). */
	for (unsigned i = 0; i < 2; i++) {
		ASSERT_TRUE(fx_activate(f, cs[i]));
		m = fx_call(f, eps[i], SELF_PATH, CONTAINER_INTERFACE, "TakeDevice", "uu",
			    NULL_MAJOR, NULL_MINOR);
		if (!m || sd_bus_message_is_method_error(m, NULL))
			FAIL("TakeDevice of %s: %s", names[i], fx_outcome(m));
		sd_bus_message_unref(m);
	}
	ASSERT_TRUE(fx_activate(f, cs[0]));
	bus = heard_new(f->client);
	ASSERT_NOT_NULL(bus);
	for (unsigned i = 0; i < 3; i++) {
		ep[i] = heard_new(eps[i]);
		ASSERT_NOT_NULL(ep[i]);
	}
	fx_run_for(f, 20000);
	bus->n = ep[0]->n = ep[1]->n = ep[2]->n = 0;
	snprintf(pa, sizeof(pa), "%s", FX_PATH(cs[0]));
	snprintf(pb, sizeof(pb), "%s", FX_PATH(cs[1]));

	/* Three rounds: the later ones send what the first one built. */
	for (unsigned round = 0; round < 3; round++) {
		for (unsigned k = 0; k < 2; k++) {
			bool to_b = k == 0;
			const char *from = to_b ? pa : pb, *to = to_b ? pb : pa;
			unsigned from_i = to_b ? 0 : 1, to_i = to_b ? 1 : 0;

			ASSERT_TRUE(fx_activate(f, cs[to_i]));
			snprintf(l[0], sizeof(l[0]), "%s Active no", from);
			snprintf(l[1], sizeof(l[1]), "%s Devices %u:%u evdev paused", from,
				 NULL_MAJOR, NULL_MINOR);
			snprintf(l[2], sizeof(l[2]), "%s Active yes", to);
			snprintf(l[3], sizeof(l[3]), "%s Devices %u:%u evdev live", to,
				 NULL_MAJOR, NULL_MINOR);
			snprintf(l[4], sizeof(l[4]), "%s ActiveContainer %s", SEAT0_PATH,
				 names[to_i]);
			heard_exactly(f, bus, "bus",
				      (const char *[]) { l[0], l[1], l[2], l[3], l[4] }, 5);
			snprintf(l[5], sizeof(l[5]), "%s Active no", SELF_PATH);
			snprintf(l[6], sizeof(l[6]), "%s Devices %u:%u evdev paused", SELF_PATH,
				 NULL_MAJOR, NULL_MINOR);
			snprintf(l[4], sizeof(l[4]), "%s ActiveContainer ", SEAT0_PATH);
			/* The controller's own signal first. */
			snprintf(l[7], sizeof(l[7]), "%s PauseDevice", from);
			heard_exactly(f, ep[from_i], names[from_i],
				      (const char *[]) { l[7], l[0], l[1], l[5], l[6], l[4] }, 6);
			snprintf(l[4], sizeof(l[4]), "%s ActiveContainer %s", SEAT0_PATH,
				 names[to_i]);
			snprintf(l[5], sizeof(l[5]), "%s Active yes", SELF_PATH);
			snprintf(l[6], sizeof(l[6]), "%s Devices %u:%u evdev live", SELF_PATH,
				 NULL_MAJOR, NULL_MINOR);
			snprintf(l[7], sizeof(l[7]), "%s ResumeDevice", to);
			heard_exactly(f, ep[to_i], names[to_i],
				      (const char *[]) { l[7], l[2], l[3], l[5], l[6], l[4] }, 6);
			heard_exactly(f, ep[2], "c", NULL, 0);
		}
	}
}

/* Switches in turn through more containers than a seat keeps the signals
 * of (dbus.h): those of a container no longer kept are built again, with
 * the values of that switch, on the bus and on the endpoints. */
TEST(switch_signals_of_containers_no_longer_kept)
{
	enum { N = DBUS_SEAT_KEPT + 2 };
	struct fixture *f;
	struct container *cs[N];
	struct heard *bus, *ep[N];
	sd_bus *eps[N];
	char names[N][8], paths[N][128], l[8][200];

	FX_SETUP(f, false);
	for (unsigned i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "c%u", i);
		cs[i] = fx_add_container(f, names[i], 0, false);
		eps[i] = cs[i] ? fx_endpoint_client(f, names[i], false) : NULL;
		if (!eps[i])
			FAIL("cannot reach the endpoint of %s", names[i]);
		EXPECT_CALL(f, "ok", eps[i], SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
		snprintf(paths[i], sizeof(paths[i]), "%s", FX_PATH(cs[i]));
	}
	ASSERT_TRUE(fx_activate(f, cs[0]));
	bus = heard_new(f->client);
	ASSERT_NOT_NULL(bus);
	for (unsigned i = 0; i < N; i++) {
		ep[i] = heard_new(eps[i]);
		ASSERT_NOT_NULL(ep[i]);
	}
	fx_run_for(f, 20000);
	bus->n = 0;
	for (unsigned i = 0; i < N; i++)
		ep[i]->n = 0;

	for (unsigned k = 1; k <= 2 * N; k++) {
		unsigned from = (k - 1) % N, to = k % N;

		ASSERT_TRUE(fx_activate(f, cs[to]));
		snprintf(l[0], sizeof(l[0]), "%s Active no", paths[from]);
		snprintf(l[1], sizeof(l[1]), "%s Active yes", paths[to]);
		snprintf(l[2], sizeof(l[2]), "%s ActiveContainer %s", SEAT0_PATH, names[to]);
		heard_exactly(f, bus, "bus", (const char *[]) { l[0], l[1], l[2] }, 3);
		snprintf(l[3], sizeof(l[3]), "%s Active no", SELF_PATH);
		snprintf(l[4], sizeof(l[4]), "%s ActiveContainer ", SEAT0_PATH);
		heard_exactly(f, ep[from], names[from], (const char *[]) { l[0], l[3], l[4] }, 3);
		snprintf(l[5], sizeof(l[5]), "%s Active yes", SELF_PATH);
		heard_exactly(f, ep[to], names[to], (const char *[]) { l[1], l[5], l[2] }, 3);
		for (unsigned i = 0; i < N; i++)
			if (i != from && i != to)
				heard_exactly(f, ep[i], names[i], NULL, 0);
	}
}

/* Takes and releases made in one go are told in one Devices change, with
 * the state they ended in; a switch right after a take is told after that
 * take's change, never before it. */
TEST(devices_changes_told_once_and_in_order)
{
	struct fixture *f;
	struct container *a, *b;
	struct seat_handle *h;
	struct heard *bus, *ep;
	sd_bus *ea;
	char l[5][200];
	dev_t null = makedev(NULL_MAJOR, NULL_MINOR);

	FX_SETUP(f, false);
	ASSERT_NOT_NULL(fx_add_null_device(f->seat0, "event9", SEAT_DEVICE_EVDEV));
	a = fx_add_container(f, "a", 0, false);
	ea = a ? fx_endpoint_client(f, "a", false) : NULL;
	/* b, only to switch to. */
	b = fx_add_container(f, "b", 0, false);
	if (!ea || !b)
		FAIL("cannot add a and b, or reach the endpoint of a");
	EXPECT_CALL(f, "ok", ea, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	ASSERT_TRUE(fx_activate(f, a));
	bus = heard_new(f->client);
	ep = heard_new(ea);
	ASSERT_NOT_NULL(bus);
	ASSERT_NOT_NULL(ep);
	fx_run_for(f, 20000);
	bus->n = ep->n = 0;

	ASSERT_EQ_INT(0, container_take_device(a, null, &h));
	ASSERT_EQ_INT(0, container_release_device(a, null));
	ASSERT_EQ_INT(0, container_take_device(a, null, &h));
	snprintf(l[0], sizeof(l[0]), "%s Devices %u:%u evdev live", FX_PATH(a), NULL_MAJOR,
		 NULL_MINOR);
	snprintf(l[1], sizeof(l[1]), "%s Devices %u:%u evdev live", SELF_PATH, NULL_MAJOR,
		 NULL_MINOR);
	heard_exactly(f, bus, "bus", (const char *[]) { l[0] }, 1);
	heard_exactly(f, ep, "a", (const char *[]) { l[0], l[1] }, 2);

	ASSERT_EQ_INT(0, container_release_device(a, null));
	ASSERT_TRUE(fx_activate(f, b));
	snprintf(l[0], sizeof(l[0]), "%s Devices", FX_PATH(a));
	snprintf(l[1], sizeof(l[1]), "%s Active no", FX_PATH(a));
	snprintf(l[2], sizeof(l[2]), "%s Active yes", FX_PATH(b));
	snprintf(l[3], sizeof(l[3]), "%s ActiveContainer b", SEAT0_PATH);
	heard_exactly(f, bus, "bus", (const char *[]) { l[0], l[1], l[2], l[3] }, 4);
}

/* PauseDevice and ResumeDevice reach the controller at every switch, not
 * only the first, and nobody else. */
TEST(pause_and_resume_every_switch)
{
	struct fixture *f;
	struct container *a, *b;
	struct fx_recorder *ra, *rb;
	sd_bus *ea, *eb;
	sd_bus_message *m;
	char pause[256], resume[256];
	unsigned n_pause = 0, n_resume = 0;

	FX_SETUP(f, false);
	a = fx_add_container(f, "a", 0, false);
	b = fx_add_container(f, "b", 0, false);
	ea = a ? fx_endpoint_client(f, "a", false) : NULL;
	eb = b ? fx_endpoint_client(f, "b", false) : NULL;
	if (!ea || !eb)
		FAIL("cannot reach the endpoints");
	ASSERT_NOT_NULL(fx_add_null_device(f->seat0, "event9", SEAT_DEVICE_EVDEV));
	ASSERT_TRUE(fx_activate(f, a));
	EXPECT_CALL(f, "ok", ea, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	EXPECT_CALL(f, "ok", eb, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	m = fx_call(f, ea, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice", "uu", NULL_MAJOR, NULL_MINOR);
	if (!m || sd_bus_message_is_method_error(m, NULL))
		EXPECT_FAIL("TakeDevice: %s", fx_outcome(m));
	sd_bus_message_unref(m);
	ra = fx_recorder_new(ea);
	rb = fx_recorder_new(eb);
	ASSERT_TRUE(ra && rb);

	for (unsigned round = 0; round < 3; round++) {
		ASSERT_TRUE(fx_activate(f, b));
		ASSERT_TRUE(fx_activate(f, a));
	}
	fx_run_for(f, 50000);
	snprintf(pause, sizeof(pause), "%s PauseDevice 1 3 force", FX_PATH(a));
	snprintf(resume, sizeof(resume), "%s ResumeDevice 1 3", FX_PATH(a));
	for (unsigned i = 0; i < ra->n; i++) {
		n_pause += strcmp(ra->lines[i], pause) == 0;
		n_resume += strcmp(ra->lines[i], resume) == 0;
	}
	if (n_pause != 3 || n_resume != 3)
		EXPECT_FAIL("a's controller got %u PauseDevice and %u ResumeDevice, not 3 and 3",
			    n_pause, n_resume);
	for (unsigned i = 0; i < rb->n; i++)
		if (strstr(rb->lines[i], "PauseDevice") || strstr(rb->lines[i], "ResumeDevice"))
			EXPECT_FAIL("b heard \"%s\"", rb->lines[i]);
}

/* ---- ControlUser ---- */

/* A client of the endpoint of container name whose peer credentials carry
 * uid (fx_connect_as()), or NULL. */
static sd_bus *endpoint_client_as(struct fixture *f, const char *name, uid_t uid)
{
	char path[PATH_MAX];
	sd_bus *bus;
	int fd;

	fx_endpoint_path(f, name, path, sizeof(path));
	fd = fx_connect_as(path, uid);
	if (fd < 0) {
		printf("# cannot connect to %s as uid %u: %s\n", path, (unsigned)uid, strerror(-fd));
		return NULL;
	}
	bus = fx_client_on_fd(f, fd, false);
	if (bus && !fx_wait_ready(f, bus)) {
		fx_close_bus(f, bus);
		return NULL;
	}
	return bus;
}

/* The uids of the ControlUser tests: the option's, and a user that is
 * neither it nor root. As root, any; otherwise the one we are must serve
 * as the other (or as the option's). */
#define CU_USER 4711u
static uid_t other_uid(void)
{
	return geteuid() == 0 ? FX_NOBODY : geteuid();
}

/* With ControlUser, another user of the container is refused control;
 * without it, that same user may take it. */
TEST(endpoint_control_user_refuses_other_uids)
{
	uint32_t user = geteuid() == 0 ? CU_USER : geteuid() + 1;
	struct container *c, *open;
	struct fixture *f;
	sd_bus *ep;

	FX_SETUP(f, false);
	c = fx_add_container_option(f, "web-1", 0, "ControlUser", user);
	open = fx_add_container(f, "web-2", 0, false);
	if (!c || !open)
		FAIL("cannot add containers");
	ep = endpoint_client_as(f, "web-1", other_uid());
	if (!ep)
		FAIL("cannot reach the endpoint of web-1");
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, ep, SELF_PATH, CONTAINER_INTERFACE,
		    "TakeControl", "b", 0);
	EXPECT_CALL(f, SD_BUS_ERROR_ACCESS_DENIED, ep, SELF_PATH, CONTAINER_INTERFACE,
		    "TakeControl", "b", 1);
	if (c->sc->controlled)
		EXPECT_FAIL("web-1 is controlled by a user that is not its ControlUser");
	/* Everything else stays open to it. */
	EXPECT_CALL(f, "ok", ep, SELF_PATH, PROPS, "Get", "ss", CONTAINER_INTERFACE, "Name");

	ep = endpoint_client_as(f, "web-2", other_uid());
	if (!ep)
		FAIL("cannot reach the endpoint of web-2");
	EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
}

TEST(endpoint_control_user_admits_its_user)
{
	uint32_t user = geteuid() == 0 ? CU_USER : geteuid();
	struct container *c;
	struct fixture *f;
	sd_bus *ep;

	FX_SETUP(f, false);
	c = fx_add_container_option(f, "web-1", 0, "ControlUser", user);
	if (!c)
		FAIL("cannot add web-1");
	ep = endpoint_client_as(f, "web-1", user);
	if (!ep)
		FAIL("cannot reach the endpoint of web-1");
	EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	if (!c->sc->controlled)
		EXPECT_FAIL("web-1 is not controlled by its ControlUser");
}

/* Root of the container (here, of our own user namespace) may as well. */
ROOT_TEST(endpoint_control_user_admits_root)
{
	struct container *c;
	struct fixture *f;
	sd_bus *ep;

	FX_SETUP(f, false);
	c = fx_add_container_option(f, "web-1", 0, "ControlUser", CU_USER);
	ep = c ? fx_endpoint_client(f, "web-1", false) : NULL;
	if (!ep)
		FAIL("cannot reach the endpoint of web-1");
	EXPECT_CALL(f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	if (!c->sc->controlled)
		EXPECT_FAIL("web-1 is not controlled by root");
}

/* ControlUser is a uid as the container sees it: in a user namespace, its
 * user and its root are the uids the namespace maps them to, and the
 * host's uid of the same number (root included) is someone else. */
TEST(endpoint_control_user_through_the_leaders_user_namespace)
{
	static const struct {
		uid_t uid;
		const char *outcome;
	} cases[] = {
		{ 1000, SD_BUS_ERROR_ACCESS_DENIED },
		{ 0, SD_BUS_ERROR_ACCESS_DENIED },
		{ 101000, "ok" },
		{ 100000, "ok" },
	};
	struct container *c;
	struct fixture *f;
	pid_t leader;

	if (geteuid() != 0)
		SKIP("needs root, to map a user namespace and to call as other users");
	leader = fx_userns_child("0 100000 65536");
	if (leader < 0)
		SKIP("cannot make a user namespace");
	FX_SETUP(f, false);
	c = fx_add_container_option(f, "web-1", leader, "ControlUser", 1000);
	if (!c)
		FAIL("cannot add web-1");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		sd_bus *ep = endpoint_client_as(f, "web-1", cases[i].uid);

		if (!ep)
			FAIL("cannot reach the endpoint as uid %u", (unsigned)cases[i].uid);
		printf("# host uid %u\n", (unsigned)cases[i].uid);
		EXPECT_CALL(f, cases[i].outcome, ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl",
			    "b", 1);
	}
}

TEST_MAIN
