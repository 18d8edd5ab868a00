/* SPDX-License-Identifier: MIT */
/* devnsctl: inspects and drives devnsd over D-Bus, the way loginctl does
 * for logind. Every command is one or a few method calls; nothing here
 * touches devices or the broker's files. "run" (ctl/run.c) also starts a
 * command in namespaces of its own, as seatd-launch does for seatd. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <systemd/sd-bus.h>

#include "common/macro.h"
#include "common/parse.h"
#include "ctl/props.h"
#include "ctl/run.h"
#include "ctl/table.h"

#define EXIT_USAGE 2
#define DEFAULT_SEAT "seat0"

/* Options a command may take, beyond the global ones. */
enum {
	OPT_SEAT = 1 << 0,
	OPT_NONE = 1 << 1,
	OPT_LEADER = 1 << 2,
	OPT_ALLOW_ACTIVATE = 1 << 3,
	OPT_READ_ONLY = 1 << 4,
	OPT_NO_DEVICE_CONFINEMENT = 1 << 5,
	OPT_LOGIN1 = 1 << 6,
	OPT_LOGIN1_USER = 1 << 7,
	OPT_CONTROL_USER = 1 << 8,
	OPT_OUTPUT = 1 << 9,
	OPT_LAST = OPT_OUTPUT,
};

static const char *arg_address;
static bool arg_legend = true;
static const char *arg_seat;
static bool arg_none;
static uint32_t arg_leader;
static bool arg_allow_activate;
static bool arg_read_only;
static bool arg_device_confinement = true;
static uint32_t arg_login1_user;
static uint32_t arg_control_user;
/* --output, in the order given; NULL-terminated for sd_bus. */
static char *arg_outputs[REGISTER_OUTPUTS_MAX + 1];
static size_t arg_n_outputs;
static unsigned arg_given; /* OPT_* bits seen on the command line */
static char **arg_command; /* run: what follows "--", NULL-terminated */

static void manager_info_clearp(struct manager_info *i)
{
	manager_info_clear(i);
}

static void seat_info_clearp(struct seat_info *i)
{
	seat_info_clear(i);
}

static void container_info_clearp(struct container_info *i)
{
	container_info_clear(i);
}

static const char *yes_no(bool b)
{
	return b ? "yes" : "no";
}

static const char *plural(size_t n, const char *one, const char *many)
{
	return n == 1 ? one : many;
}

/* Prints "devnsctl: <what>: <reason>" and returns r, so callers can write
 * return log_fail(r, &error, ...). The reason is the D-Bus error message
 * when there is one. */
_printf_(3, 4)
static int log_fail(int r, const sd_bus_error *error, const char *fmt, ...)
{
	va_list ap;

	fputs("devnsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (error && sd_bus_error_is_set(error) && error->message)
		fprintf(stderr, ": %s\n", error->message);
	else if (error && sd_bus_error_is_set(error))
		fprintf(stderr, ": %s\n", error->name);
	else
		fprintf(stderr, ": %s\n", strerror(r < 0 ? -r : r));
	return r < 0 ? r : -EIO;
}

_printf_(1, 2)
static int log_usage(const char *fmt, ...)
{
	va_list ap;

	fputs("devnsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'devnsctl --help' for more information.\n", stderr);
	return -EINVAL;
}

/* True when the peer has no such object or method: on a per-container
 * endpoint only the container's own objects exist, not the Manager. */
static bool error_is_missing_object(const sd_bus_error *error)
{
	return sd_bus_error_has_names(error, SD_BUS_ERROR_UNKNOWN_OBJECT,
				      SD_BUS_ERROR_UNKNOWN_INTERFACE,
				      SD_BUS_ERROR_UNKNOWN_METHOD);
}

static int bus_connect(sd_bus **ret)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	const char *unique;
	int r;

	if (!arg_address) {
		r = sd_bus_open_system(&bus);
		if (r < 0)
			return log_fail(r, NULL,
					"Failed to connect to the system bus");
		*ret = TAKE_PTR(bus);
		return 0;
	}

	r = sd_bus_new(&bus);
	if (r < 0)
		return log_fail(r, NULL, "Failed to allocate bus");
	r = sd_bus_set_address(bus, arg_address);
	if (r < 0)
		return log_fail(r, NULL, "Failed to set bus address %s",
				arg_address);
	/* A per-container endpoint answers Hello too, so the same client code
	 * works against a bus daemon and against an endpoint socket. */
	r = sd_bus_set_bus_client(bus, 1);
	if (r < 0)
		return log_fail(r, NULL, "Failed to set bus client mode");
	r = sd_bus_start(bus);
	if (r >= 0)
		/* Waits for the answer to Hello, so that an endpoint refusing
		 * this process shows up as a connection failure. */
		r = sd_bus_get_unique_name(bus, &unique);
	if (r < 0)
		return log_fail(r, NULL, "Failed to connect to bus at %s",
				arg_address);

	*ret = TAKE_PTR(bus);
	return 0;
}

/* Looks up an object through a Manager method (GetContainer, GetSeat). On
 * a per-container endpoint there is no Manager; there, and only there, the
 * path is built from the name. */
static int lookup_object(sd_bus *bus, const char *method, const char *prefix,
			 const char *name, char **ret, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path;
	int r;

	r = sd_bus_call_method(bus, DEVNS_BUS_NAME, DEVNS_MANAGER_PATH,
			       DEVNS_MANAGER_IFACE, method, error, &reply, "s",
			       name);
	if (r < 0 && arg_address && error_is_missing_object(error)) {
		sd_bus_error_free(error);
		return sd_bus_path_encode(prefix, name, ret);
	}
	if (r < 0)
		return r;

	r = sd_bus_message_read_basic(reply, 'o', &path);
	if (r < 0)
		return r;

	*ret = strdup(path);
	return *ret ? 0 : -ENOMEM;
}

static int get_container_path(sd_bus *bus, const char *name, char **ret,
			      sd_bus_error *error)
{
	return lookup_object(bus, "GetContainer", DEVNS_CONTAINER_PREFIX, name,
			     ret, error);
}

static int get_seat_path(sd_bus *bus, const char *id, char **ret,
			 sd_bus_error *error)
{
	return lookup_object(bus, "GetSeat", DEVNS_SEAT_PREFIX, id, ret, error);
}

static int print_table(struct table *t, const char *one, const char *many)
{
	size_t n = table_rows(t);
	int r;

	r = table_print(t, stdout, arg_legend);
	if (r < 0)
		return log_fail(r, NULL, "Failed to print table");
	if (arg_legend)
		printf("\n%zu %s listed.\n", n, plural(n, one, many));
	return 0;
}

static int verb_list(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(table_freep) struct table *t = NULL;
	const char *name, *seat, *path;
	int active, r;

	r = sd_bus_call_method(bus, DEVNS_BUS_NAME, DEVNS_MANAGER_PATH,
			       DEVNS_MANAGER_IFACE, "ListContainers", &error,
			       &reply, NULL);
	if (r < 0)
		return log_fail(r, &error, "Failed to list containers");

	t = table_new("NAME", "SEAT", "ACTIVE", "LEADER", "CONTROLLED");
	if (!t)
		return log_fail(-ENOMEM, NULL, "Failed to list containers");

	r = sd_bus_message_enter_container(reply, 'a', "(ssbo)");
	if (r < 0)
		return log_fail(r, NULL, "Failed to parse reply");
	while ((r = sd_bus_message_read(reply, "(ssbo)", &name, &seat, &active,
					&path)) > 0) {
		_cleanup_(container_info_clearp) struct container_info info = {};
		char leader[16] = "-";
		const char *controlled = "-";

		/* The container may be gone by now; its row stays, with
		 * what ListContainers said. */
		if (container_info_get(bus, path, &info, NULL) >= 0) {
			snprintf(leader, sizeof(leader), "%" PRIu32,
				 info.leader);
			controlled = yes_no(info.controlled);
		}

		r = table_add_row(t, name, seat, yes_no(active), leader,
				  controlled);
		if (r < 0)
			return log_fail(r, NULL, "Failed to list containers");
	}
	if (r < 0)
		return log_fail(r, NULL, "Failed to parse reply");

	return print_table(t, "container", "containers");
}

static int verb_seats(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(table_freep) struct table *t = NULL;
	const char *id, *path;
	int r;

	r = sd_bus_call_method(bus, DEVNS_BUS_NAME, DEVNS_MANAGER_PATH,
			       DEVNS_MANAGER_IFACE, "ListSeats", &error,
			       &reply, NULL);
	if (r < 0)
		return log_fail(r, &error, "Failed to list seats");

	t = table_new("SEAT", "ACTIVE-CONTAINER", "GRAPHICAL", "DEVICES");
	if (!t)
		return log_fail(-ENOMEM, NULL, "Failed to list seats");

	r = sd_bus_message_enter_container(reply, 'a', "(so)");
	if (r < 0)
		return log_fail(r, NULL, "Failed to parse reply");
	while ((r = sd_bus_message_read(reply, "(so)", &id, &path)) > 0) {
		_cleanup_(seat_info_clearp) struct seat_info info = {};
		const char *active = "-", *graphical = "-";
		char devices[24] = "-";

		if (seat_info_get(bus, path, &info, NULL) >= 0) {
			if (info.active_container.name &&
			    info.active_container.name[0])
				active = info.active_container.name;
			graphical = yes_no(info.can_graphical);
			snprintf(devices, sizeof(devices), "%zu",
				 info.devices.n);
		}

		r = table_add_row(t, id, active, graphical, devices);
		if (r < 0)
			return log_fail(r, NULL, "Failed to list seats");
	}
	if (r < 0)
		return log_fail(r, NULL, "Failed to parse reply");

	return print_table(t, "seat", "seats");
}

/* The seat a verb names (its argument, --seat, or seat0), read whole; what
 * is the verb's subject, for the error message. */
static int verb_seat_info(sd_bus *bus, int argc, char **argv, const char *what,
			  struct seat_info *info)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *path = NULL;
	const char *seat;
	int r;

	seat = argc > 1 ? argv[1] : arg_seat ? arg_seat : DEFAULT_SEAT;

	r = get_seat_path(bus, seat, &path, &error);
	if (r < 0)
		return log_fail(r, &error, "Failed to get seat %s", seat);

	r = seat_info_get(bus, path, info, &error);
	if (r < 0)
		return log_fail(r, &error, "Failed to get %s of seat %s", what, seat);
	return 0;
}

static int verb_devices(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(seat_info_clearp) struct seat_info info = {};
	_cleanup_(table_freep) struct table *t = NULL;
	int r;

	r = verb_seat_info(bus, argc, argv, "devices", &info);
	if (r < 0)
		return r;

	t = table_new("SYSNAME", "TYPE", "MAJOR:MINOR");
	if (!t)
		return log_fail(-ENOMEM, NULL, "Failed to list devices");

	for (size_t i = 0; i < info.devices.n; i++) {
		const struct seat_device *d = &info.devices.items[i];
		char devnum[24];

		snprintf(devnum, sizeof(devnum), "%" PRIu32 ":%" PRIu32,
			 d->major, d->minor);
		r = table_add_row(t, d->sysname, d->type, devnum);
		if (r < 0)
			return log_fail(r, NULL, "Failed to list devices");
	}

	return print_table(t, "device", "devices");
}

static int verb_outputs(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(seat_info_clearp) struct seat_info info = {};
	_cleanup_(table_freep) struct table *t = NULL;
	int r;

	r = verb_seat_info(bus, argc, argv, "outputs", &info);
	if (r < 0)
		return r;

	t = table_new("CONNECTOR", "CONTAINER");
	if (!t)
		return log_fail(-ENOMEM, NULL, "Failed to list outputs");

	for (size_t i = 0; i < info.outputs.n; i++) {
		const struct seat_output *o = &info.outputs.items[i];

		r = table_add_row(t, o->connector,
				  o->container[0] ? o->container : "-");
		if (r < 0)
			return log_fail(r, NULL, "Failed to list outputs");
	}

	return print_table(t, "output", "outputs");
}

/* Keys are right-aligned so that "Active: yes" reads the same whatever
 * the width of the other keys. */
#define KEY_WIDTH_CONTAINER 10
#define KEY_WIDTH_BROKER 16

/* seat: the container's seat, for its outputs; NULL when it could not be
 * read, and then the line is left out rather than claim none. */
static void print_container(const struct container_info *info,
			    const struct seat_info *seat, int w)
{
	size_t n_outputs = 0;

	printf("%*s: %s\n", w, "Name", info->name ? info->name : "-");
	printf("%*s: %s\n", w, "Seat",
	       info->seat.name && info->seat.name[0] ? info->seat.name : "-");
	printf("%*s: %" PRIu32 "\n", w, "Leader", info->leader);
	printf("%*s: %s\n", w, "Active", yes_no(info->active));
	printf("%*s: %s\n", w, "Controlled", yes_no(info->controlled));

	if (info->devices.n == 0)
		printf("%*s: none\n", w, "Devices");
	for (size_t i = 0; i < info->devices.n; i++) {
		const struct container_device *d = &info->devices.items[i];

		printf("%*s%s %" PRIu32 ":%" PRIu32 " %s %s\n", w,
		       i == 0 ? "Devices" : "", i == 0 ? ":" : " ", d->major,
		       d->minor, d->type, d->paused ? "paused" : "active");
	}
	printf("%*s: %s\n", w, "Binder",
	       info->binder_device && info->binder_device[0] ?
		       info->binder_device : "none");
	printf("%*s:", w, "Loop");
	for (size_t i = 0; i < info->loop_devices.n; i++)
		printf(" %s", info->loop_devices.items[i]);
	printf("%s\n", info->loop_devices.n ? "" : " none");

	if (!seat)
		return;
	printf("%*s:", w, "Outputs");
	for (size_t i = 0; i < seat->outputs.n; i++) {
		const struct seat_output *o = &seat->outputs.items[i];

		if (info->name && info->name[0] &&
		    strcmp(o->container, info->name) == 0) {
			printf(" %s", o->connector);
			n_outputs++;
		}
	}
	printf("%s\n", n_outputs ? "" : " none");
}

/* The container's outputs are not its own property but entries of its
 * seat's Outputs: reads the seat, or returns NULL when it cannot. */
static const struct seat_info *container_seat(sd_bus *bus,
					      const struct container_info *info,
					      struct seat_info *seat)
{
	if (!info->seat.path || strcmp(info->seat.path, "/") == 0)
		return NULL;
	if (seat_info_get(bus, info->seat.path, seat, NULL) < 0)
		return NULL;
	return seat;
}

static int status_container(sd_bus *bus, const char *name)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(container_info_clearp) struct container_info info = {};
	_cleanup_(seat_info_clearp) struct seat_info seat = {};
	_cleanup_free_ char *path = NULL;
	int r;

	r = get_container_path(bus, name, &path, &error);
	if (r < 0)
		return log_fail(r, &error, "Failed to get container %s", name);

	r = container_info_get(bus, path, &info, &error);
	if (r < 0)
		return log_fail(r, &error,
				"Failed to get properties of container %s",
				name);

	print_container(&info, container_seat(bus, &info, &seat),
			KEY_WIDTH_CONTAINER);
	return 0;
}

/* Inside a container, with --address pointing at its endpoint, there is no
 * Manager: status then describes the container itself. */
static int status_self(sd_bus *bus)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(container_info_clearp) struct container_info info = {};
	_cleanup_(seat_info_clearp) struct seat_info seat = {};
	int r;

	r = container_info_get(bus, DEVNS_CONTAINER_SELF, &info, &error);
	if (r < 0)
		return log_fail(r, &error, "Failed to get broker status");

	print_container(&info, container_seat(bus, &info, &seat),
			KEY_WIDTH_CONTAINER);
	return 0;
}

static int status_broker(sd_bus *bus)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_(manager_info_clearp) struct manager_info info = {};
	const int w = KEY_WIDTH_BROKER;
	const char *id, *path;
	bool first = true;
	int r;

	r = manager_info_get(bus, &info, &error);
	if (r < 0 && arg_address && error_is_missing_object(&error))
		return status_self(bus);
	if (r < 0)
		return log_fail(r, &error, "Failed to get broker status");

	r = sd_bus_call_method(bus, DEVNS_BUS_NAME, DEVNS_MANAGER_PATH,
			       DEVNS_MANAGER_IFACE, "ListSeats", &error,
			       &reply, NULL);
	if (r < 0)
		return log_fail(r, &error, "Failed to list seats");

	printf("%*s: %s\n", w, "Version", info.version ? info.version : "-");
	printf("%*s: %s\n", w, "KernelDevns", yes_no(info.kernel_devns));
	printf("%*s: %s\n", w, "RuntimeDirectory",
	       info.runtime_directory ? info.runtime_directory : "-");

	r = sd_bus_message_enter_container(reply, 'a', "(so)");
	if (r < 0)
		return log_fail(r, NULL, "Failed to parse reply");
	while ((r = sd_bus_message_read(reply, "(so)", &id, &path)) > 0) {
		_cleanup_(seat_info_clearp) struct seat_info seat = {};
		const char *key = first ? "Seats" : "";

		first = false;
		if (seat_info_get(bus, path, &seat, NULL) < 0)
			printf("%*s%s %s (gone)\n", w, key, *key ? ":" : " ",
			       id);
		else if (seat.active_container.name &&
			 seat.active_container.name[0])
			printf("%*s%s %s (active: %s)\n", w, key,
			       *key ? ":" : " ", id,
			       seat.active_container.name);
		else
			printf("%*s%s %s (no active container)\n", w, key,
			       *key ? ":" : " ", id);
	}
	if (r < 0)
		return log_fail(r, NULL, "Failed to parse reply");
	if (first)
		printf("%*s: none\n", w, "Seats");

	return 0;
}

static int verb_status(sd_bus *bus, int argc, char **argv)
{
	if (argc > 1)
		return status_container(bus, argv[1]);
	return status_broker(bus);
}

static int verb_switch(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(container_info_clearp) struct container_info info = {};
	_cleanup_free_ char *what = NULL;
	const char *name = argc > 1 ? argv[1] : "";
	const char *seat = arg_seat;
	int r;

	if (!name[0]) {
		if (!seat)
			seat = DEFAULT_SEAT;
		r = asprintf(&what, "Failed to switch seat %s to no container",
			     seat);
	} else
		r = asprintf(&what, "Failed to switch to %s", name);
	if (r < 0)
		return log_fail(-ENOMEM, NULL, "Failed to switch");

	if (!seat) {
		/* The container's own seat. */
		_cleanup_free_ char *path = NULL;

		r = get_container_path(bus, name, &path, &error);
		if (r < 0)
			return log_fail(r, &error, "%s", what);
		r = container_info_get(bus, path, &info, &error);
		if (r < 0)
			return log_fail(r, &error, "%s", what);
		if (!info.seat.name || !info.seat.name[0])
			return log_fail(-ENXIO, NULL, "%s", what);
		seat = info.seat.name;
	}

	r = sd_bus_call_method(bus, DEVNS_BUS_NAME, DEVNS_MANAGER_PATH,
			       DEVNS_MANAGER_IFACE, "SwitchContainer", &error,
			       NULL, "ss", seat, name);
	if (r < 0)
		return log_fail(r, &error, "%s", what);
	return 0;
}

static int switch_cycle(sd_bus *bus, const char *method, const char *which)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *path = NULL;
	const char *seat = arg_seat ? arg_seat : DEFAULT_SEAT;
	int r;

	r = get_seat_path(bus, seat, &path, &error);
	if (r < 0)
		return log_fail(r, &error,
				"Failed to switch seat %s to the %s container",
				seat, which);

	r = sd_bus_call_method(bus, DEVNS_BUS_NAME, path, DEVNS_SEAT_IFACE,
			       method, &error, NULL, NULL);
	if (r < 0)
		return log_fail(r, &error,
				"Failed to switch seat %s to the %s container",
				seat, which);
	return 0;
}

static int verb_next(sd_bus *bus, int argc, char **argv)
{
	return switch_cycle(bus, "SwitchToNext", "next");
}

static int verb_prev(sd_bus *bus, int argc, char **argv)
{
	return switch_cycle(bus, "SwitchToPrevious", "previous");
}

static struct register_options register_options(const char *name)
{
	return (struct register_options) {
		.name = name,
		.seat = arg_seat,
		.allow_activate = (arg_given & OPT_ALLOW_ACTIVATE) ?
					  arg_allow_activate : -1,
		.login1 = (arg_given & OPT_LOGIN1) != 0,
		/* run: the command's user, which is ours, by default. */
		.login1_user = (arg_given & OPT_LOGIN1_USER) ? (int64_t)arg_login1_user :
								(int64_t)getuid(),
		.control_user = (arg_given & OPT_CONTROL_USER) ? (int64_t)arg_control_user : -1,
		.outputs = arg_outputs,
	};
}

static int verb_register(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	const struct register_options o = register_options(argv[1]);
	_cleanup_free_ char *path = NULL;
	int r;

	r = register_container(bus, &o, arg_leader, &path, &error);
	if (r < 0)
		return log_fail(r, &error, "Failed to register container %s",
				argv[1]);
	printf("%s\n", path);
	return 0;
}

/* Returns the exit status itself: the command's. */
static int verb_run(sd_bus *bus, int argc, char **argv)
{
	const struct register_options o = register_options(argv[1]);

	return run_container(bus, &o, arg_device_confinement, arg_command);
}

static int verb_unregister(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_call_method(bus, DEVNS_BUS_NAME, DEVNS_MANAGER_PATH,
			       DEVNS_MANAGER_IFACE, "UnregisterContainer",
			       &error, NULL, "s", argv[1]);
	if (r < 0)
		return log_fail(r, &error, "Failed to unregister container %s",
				argv[1]);
	return 0;
}

/* The object of container name: from the Manager on a bus, or, on the
 * container's own endpoint (--address), its .../self object after
 * checking that it is that container. */
static int resolve_container(sd_bus *bus, const char *name, char **ret,
			     sd_bus_error *error)
{
	_cleanup_(container_info_clearp) struct container_info info = {};
	int r;

	r = get_container_path(bus, name, ret, error);
	if (r >= 0 || !arg_address || !error_is_missing_object(error))
		return r;
	sd_bus_error_free(error);
	r = container_info_get(bus, DEVNS_CONTAINER_SELF, &info, error);
	if (r < 0)
		return r;
	if (!info.name || strcmp(info.name, name) != 0)
		return sd_bus_error_setf(error, SD_BUS_ERROR_ACCESS_DENIED,
					 "This endpoint serves container %s, not %s",
					 info.name ? info.name : "?", name);
	*ret = strdup(DEVNS_CONTAINER_SELF);
	return *ret ? 0 : -ENOMEM;
}

/* The file is opened here, by the caller, with the caller's rights; the
 * broker only ever sees the open file. */
static int verb_attach_loop(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	_cleanup_free_ char *path = NULL;
	_cleanup_close_ int fd = -1;
	const char *name;
	int loop_fd, r;

	fd = open(argv[2], (arg_read_only ? O_RDONLY : O_RDWR) | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return log_fail(-errno, NULL, "Failed to open %s", argv[2]);
	r = resolve_container(bus, argv[1], &path, &error);
	if (r < 0)
		return log_fail(r, &error, "Failed to get container %s", argv[1]);
	r = sd_bus_call_method(bus, DEVNS_BUS_NAME, path, DEVNS_CONTAINER_IFACE,
			       "AttachLoopDevice", &error, &reply, "hb", fd,
			       arg_read_only);
	if (r < 0)
		return log_fail(r, &error, "Failed to attach %s for %s", argv[2],
				argv[1]);
	r = sd_bus_message_read(reply, "hs", &loop_fd, &name);
	if (r < 0)
		return log_fail(r, NULL, "Failed to parse reply");
	/* The device stays attached after we close our copy: the broker
	 * holds it until detach-loop or unregistration. */
	printf("%s\n", name);
	return 0;
}

static int verb_detach_loop(sd_bus *bus, int argc, char **argv)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_free_ char *path = NULL;
	int r;

	r = resolve_container(bus, argv[1], &path, &error);
	if (r < 0)
		return log_fail(r, &error, "Failed to get container %s", argv[1]);
	r = sd_bus_call_method(bus, DEVNS_BUS_NAME, path, DEVNS_CONTAINER_IFACE,
			       "DetachLoopDevice", &error, NULL, "s", argv[2]);
	if (r < 0)
		return log_fail(r, &error, "Failed to detach %s of %s", argv[2],
				argv[1]);
	return 0;
}

struct verb {
	const char *name;
	int min_args; /* counting the verb itself */
	int max_args;
	unsigned options; /* OPT_* the verb accepts */
	int (*run)(sd_bus *bus, int argc, char **argv);
};

static const struct verb verbs[] = {
	{ "list", 1, 1, 0, verb_list },
	{ "list-containers", 1, 1, 0, verb_list },
	{ "status", 1, 2, 0, verb_status },
	{ "seats", 1, 1, 0, verb_seats },
	{ "list-seats", 1, 1, 0, verb_seats },
	{ "devices", 1, 2, OPT_SEAT, verb_devices },
	{ "list-devices", 1, 2, OPT_SEAT, verb_devices },
	{ "outputs", 1, 2, OPT_SEAT, verb_outputs },
	{ "list-outputs", 1, 2, OPT_SEAT, verb_outputs },
	{ "switch", 1, 2, OPT_SEAT | OPT_NONE, verb_switch },
	{ "next", 1, 1, OPT_SEAT, verb_next },
	{ "prev", 1, 1, OPT_SEAT, verb_prev },
	{ "previous", 1, 1, OPT_SEAT, verb_prev },
	{ "register", 2, 2,
	  OPT_SEAT | OPT_LEADER | OPT_ALLOW_ACTIVATE | OPT_LOGIN1 | OPT_LOGIN1_USER |
		  OPT_CONTROL_USER | OPT_OUTPUT,
	  verb_register },
	{ "unregister", 2, 2, 0, verb_unregister },
	{ "run", 2, 2,
	  OPT_SEAT | OPT_ALLOW_ACTIVATE | OPT_NO_DEVICE_CONFINEMENT | OPT_LOGIN1 |
		  OPT_LOGIN1_USER | OPT_CONTROL_USER | OPT_OUTPUT,
	  verb_run },
	{ "attach-loop", 3, 3, OPT_READ_ONLY, verb_attach_loop },
	{ "detach-loop", 3, 3, 0, verb_detach_loop },
};

static void help(void)
{
	printf("Usage: devnsctl [OPTIONS...] COMMAND ...\n"
	       "\n"
	       "Send control commands to or query the devns seat broker.\n"
	       "\n"
	       "Commands:\n"
	       "  list                     List containers (the default)\n"
	       "  status [NAME]            Show the broker's state, or a container's\n"
	       "  seats                    List seats and their active containers\n"
	       "  devices [SEAT]           List the brokered devices of a seat\n"
	       "  outputs [SEAT]           List the outputs of a seat and their containers\n"
	       "  switch NAME [--seat S]   Make a container active on its seat\n"
	       "  switch --none [--seat S] Make no container active on a seat\n"
	       "  next [--seat S]          Switch a seat to its next container\n"
	       "  prev [--seat S]          Switch a seat to its previous container\n"
	       "  register NAME --leader PID [--seat S] [--allow-activate]\n"
	       "           [--login1 [--login1-user UID]] [--control-user UID]\n"
	       "           [--output NAME...]\n"
	       "                           Register a container, print its object path\n"
	       "  unregister NAME          Unregister a container\n"
	       "  run NAME [--seat S] [--allow-activate] [--no-device-confinement]\n"
	       "      [--login1 [--login1-user UID]] [--control-user UID]\n"
	       "      [--output NAME...] -- COMMAND...\n"
	       "                           Run a command as a container, with the\n"
	       "                           container's endpoint at /run/devns\n"
	       "  attach-loop NAME FILE [--read-only]\n"
	       "                           Attach a loop device on FILE for a container,\n"
	       "                           print the device's name (loopN)\n"
	       "  detach-loop NAME LOOP    Detach a container's loop device\n"
	       "\n"
	       "Options:\n"
	       "  -h --help                Show this help\n"
	       "     --version             Show the package version\n"
	       "     --address=ADDR        Connect to this D-Bus address instead of\n"
	       "                           the system bus\n"
	       "     --no-legend           Do not print the header and footer of tables\n"
	       "     --no-pager            Accepted for compatibility; output is never paged\n"
	       "     --seat=SEAT           Seat for switch, next, prev, register, run,\n"
	       "                           devices and outputs (default: seat0, or the\n"
	       "                           container's own seat)\n"
	       "     --none                With switch: make no container active\n"
	       "     --leader=PID          With register: a process of the container\n"
	       "     --allow-activate      With register, run: let the container activate\n"
	       "                           itself\n"
	       "     --login1              With register, run: serve org.freedesktop.login1\n"
	       "                           on the container's system bus (run starts one\n"
	       "                           for the command)\n"
	       "     --login1-user=UID     With --login1: the session's user, as the\n"
	       "                           container sees it (register: 0, run: ours)\n"
	       "     --control-user=UID    With register, run: only this user and root of\n"
	       "                           the container (as it sees them) may take\n"
	       "                           control of its seat\n"
	       "     --output=NAME         With register, run: lease this output (connector,\n"
	       "                           such as HDMI-A-1) to the container; repeatable,\n"
	       "                           at most 8, all on one card\n"
	       "     --read-only           With attach-loop: a read-only loop device\n"
	       "     --no-device-confinement\n"
	       "                           With run: let the command open DRM, input,\n"
	       "                           loop and binder device nodes (no cgroup)\n"
	       "\n"
	       "Exit status: 0 on success, 1 when a call failed, 2 on usage errors;\n"
	       "run returns the command's.\n");
}

static const char *option_name(unsigned opt)
{
	switch (opt) {
	case OPT_SEAT:
		return "--seat";
	case OPT_NONE:
		return "--none";
	case OPT_LEADER:
		return "--leader";
	case OPT_ALLOW_ACTIVATE:
		return "--allow-activate";
	case OPT_READ_ONLY:
		return "--read-only";
	case OPT_NO_DEVICE_CONFINEMENT:
		return "--no-device-confinement";
	case OPT_LOGIN1:
		return "--login1";
	case OPT_LOGIN1_USER:
		return "--login1-user";
	case OPT_CONTROL_USER:
		return "--control-user";
	case OPT_OUTPUT:
		return "--output";
	}
	return "?";
}

/* A uid, below (uid_t)-1, which is no user. */
static int parse_uid(const char *s, uint32_t *ret)
{
	return parse_decimal(s, 0, UINT32_MAX - 1, ret);
}

static int parse_pid(const char *s, uint32_t *ret)
{
	return parse_decimal(s, 1, INT32_MAX, ret);
}

/* Returns 1 to go on, 0 to exit successfully (--help, --version) and
 * negative on a usage error, already reported. */
static int parse_argv(int argc, char **argv)
{
	enum {
		ARG_VERSION = 0x100,
		ARG_ADDRESS,
		ARG_NO_LEGEND,
		ARG_NO_PAGER,
		ARG_SEAT,
		ARG_NONE,
		ARG_LEADER,
		ARG_ALLOW_ACTIVATE,
		ARG_READ_ONLY,
		ARG_NO_DEVICE_CONFINEMENT,
		ARG_LOGIN1,
		ARG_LOGIN1_USER,
		ARG_CONTROL_USER,
		ARG_OUTPUT,
	};
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "address", required_argument, NULL, ARG_ADDRESS },
		{ "no-legend", no_argument, NULL, ARG_NO_LEGEND },
		{ "no-pager", no_argument, NULL, ARG_NO_PAGER },
		{ "seat", required_argument, NULL, ARG_SEAT },
		{ "none", no_argument, NULL, ARG_NONE },
		{ "leader", required_argument, NULL, ARG_LEADER },
		{ "allow-activate", no_argument, NULL, ARG_ALLOW_ACTIVATE },
		{ "read-only", no_argument, NULL, ARG_READ_ONLY },
		{ "no-device-confinement", no_argument, NULL,
		  ARG_NO_DEVICE_CONFINEMENT },
		{ "login1", no_argument, NULL, ARG_LOGIN1 },
		{ "login1-user", required_argument, NULL, ARG_LOGIN1_USER },
		{ "control-user", required_argument, NULL, ARG_CONTROL_USER },
		{ "output", required_argument, NULL, ARG_OUTPUT },
		{}
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":h", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("devnsctl " DEVNS_VERSION "\n");
			return 0;
		case ARG_ADDRESS:
			if (!optarg[0])
				return log_usage("--address needs a D-Bus address");
			arg_address = optarg;
			break;
		case ARG_NO_LEGEND:
			arg_legend = false;
			break;
		case ARG_NO_PAGER:
			break;
		case ARG_SEAT:
			if (!optarg[0])
				return log_usage("--seat needs a seat name");
			arg_seat = optarg;
			arg_given |= OPT_SEAT;
			break;
		case ARG_NONE:
			arg_none = true;
			arg_given |= OPT_NONE;
			break;
		case ARG_LEADER:
			if (parse_pid(optarg, &arg_leader) < 0)
				return log_usage("invalid leader pid '%s'",
						 optarg);
			arg_given |= OPT_LEADER;
			break;
		case ARG_ALLOW_ACTIVATE:
			arg_allow_activate = true;
			arg_given |= OPT_ALLOW_ACTIVATE;
			break;
		case ARG_READ_ONLY:
			arg_read_only = true;
			arg_given |= OPT_READ_ONLY;
			break;
		case ARG_NO_DEVICE_CONFINEMENT:
			arg_device_confinement = false;
			arg_given |= OPT_NO_DEVICE_CONFINEMENT;
			break;
		case ARG_LOGIN1:
			arg_given |= OPT_LOGIN1;
			break;
		case ARG_LOGIN1_USER:
			if (parse_uid(optarg, &arg_login1_user) < 0)
				return log_usage("invalid uid '%s'", optarg);
			arg_given |= OPT_LOGIN1_USER;
			break;
		case ARG_CONTROL_USER:
			if (parse_uid(optarg, &arg_control_user) < 0)
				return log_usage("invalid uid '%s'", optarg);
			arg_given |= OPT_CONTROL_USER;
			break;
		case ARG_OUTPUT:
			/* The rest (characters, one card, not leased to
			 * another) is devnsd's to judge and to explain. */
			if (!optarg[0])
				return log_usage("--output needs a connector name");
			if (arg_n_outputs >= REGISTER_OUTPUTS_MAX)
				return log_usage("at most %d outputs may be given with --output",
						 REGISTER_OUTPUTS_MAX);
			arg_outputs[arg_n_outputs++] = optarg;
			arg_given |= OPT_OUTPUT;
			break;
		case ':':
			return log_usage("option '%s' needs an argument",
					 argv[optind - 1]);
		case '?':
			if (optopt)
				return log_usage("unknown option '-%c'",
						 optopt);
			return log_usage("unknown option '%s'",
					 argv[optind - 1]);
		default:
			return log_usage("unexpected option");
		}
	}

	return 1;
}

int main(int argc, char **argv)
{
	_cleanup_(sd_bus_flush_close_unrefp) sd_bus *bus = NULL;
	const struct verb *verb = NULL;
	char *default_argv[] = { (char *)"list", NULL };
	_cleanup_free_ char **positional = NULL;
	char **args;
	int cut = argc, n = 0, r;

	/* Options end at the first "--". What follows is the command of
	 * run, and more arguments for every other verb. */
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--") == 0) {
			cut = i;
			break;
		}

	r = parse_argv(cut, argv);
	if (r <= 0)
		return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;

	positional = calloc(argc + 1, sizeof(*positional));
	if (!positional) {
		log_fail(-ENOMEM, NULL, "Failed to parse the command line");
		return EXIT_FAILURE;
	}
	for (int i = optind; i < cut; i++)
		positional[n++] = argv[i];
	if (cut < argc && n > 0 && strcmp(positional[0], "run") == 0)
		arg_command = argv + cut + 1;
	else
		for (int i = cut + 1; i < argc; i++)
			positional[n++] = argv[i];
	args = positional;
	if (n == 0) {
		args = default_argv;
		n = 1;
	}

	for (size_t i = 0; i < ARRAY_SIZE(verbs); i++)
		if (strcmp(verbs[i].name, args[0]) == 0) {
			verb = &verbs[i];
			break;
		}
	if (!verb) {
		log_usage("unknown command '%s'", args[0]);
		return EXIT_USAGE;
	}
	if (n < verb->min_args) {
		log_usage("missing argument for '%s'", verb->name);
		return EXIT_USAGE;
	}
	if (n > verb->max_args) {
		log_usage("too many arguments for '%s'", verb->name);
		return EXIT_USAGE;
	}
	for (unsigned bit = 1; bit <= OPT_LAST; bit <<= 1)
		if ((arg_given & bit) && !(verb->options & bit)) {
			log_usage("option %s does not apply to '%s'",
				  option_name(bit), verb->name);
			return EXIT_USAGE;
		}

	/* Argument checks that need no bus come before connecting, so that
	 * usage errors give exit status 2 even without a broker. */
	if (verb->run == verb_switch) {
		if (arg_none && n > 1 && args[1][0]) {
			log_usage("--none and a container name exclude each other");
			return EXIT_USAGE;
		}
		if (!arg_none && n < 2) {
			log_usage("switch needs a container name, or --none");
			return EXIT_USAGE;
		}
	}
	if (verb->run == verb_run && (!arg_command || !arg_command[0])) {
		log_usage("run needs the command to run after '--': "
			  "devnsctl run NAME -- COMMAND...");
		return EXIT_USAGE;
	}
	if ((arg_given & OPT_LOGIN1_USER) && !(arg_given & OPT_LOGIN1)) {
		log_usage("--login1-user needs --login1");
		return EXIT_USAGE;
	}
	if (verb->run == verb_register && !(arg_given & OPT_LEADER)) {
		log_usage("register needs --leader PID");
		return EXIT_USAGE;
	}
	if ((verb->run == verb_devices || verb->run == verb_outputs) && n > 1 &&
	    arg_seat) {
		log_usage("give the seat either as argument or with --seat");
		return EXIT_USAGE;
	}

	r = bus_connect(&bus);
	if (r < 0)
		return EXIT_FAILURE;

	r = verb->run(bus, n, args);
	if (verb->run == verb_run)
		return r < 0 ? EXIT_FAILURE : r;
	return r < 0 ? EXIT_FAILURE : EXIT_SUCCESS;
}
