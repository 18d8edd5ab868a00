/* SPDX-License-Identifier: MIT */
/* The one table from errno to D-Bus error names, and bus_error_errnof(). */
#include <errno.h>

#include "common/macro.h"
#include "dbus/bus-error.h"
#include "test.h"

static const struct {
	int err;
	const char *name;
} table[] = {
	{ EINVAL, "org.freedesktop.DBus.Error.InvalidArgs" },
	{ EPERM, "org.freedesktop.DBus.Error.AccessDenied" },
	{ EACCES, "org.freedesktop.DBus.Error.AccessDenied" },
	{ ENOMEM, "org.freedesktop.DBus.Error.NoMemory" },
	{ ESRCH, "org.devns.broker1.Error.NoSuchContainer" },
	{ ENXIO, "org.devns.broker1.Error.NoSuchSeat" },
	{ ENODEV, "org.devns.broker1.Error.NoSuchDevice" },
	{ EEXIST, "org.devns.broker1.Error.ContainerExists" },
	{ EBUSY, "org.devns.broker1.Error.AlreadyControlled" },
	{ ENOTCONN, "org.devns.broker1.Error.NotInControl" },
	{ EALREADY, "org.devns.broker1.Error.DeviceIsTaken" },
	{ EBADSLT, "org.devns.broker1.Error.DeviceNotTaken" },
	{ EXDEV, "org.devns.broker1.Error.DeviceNotOwned" },
};

TEST(errno_constants)
{
	/* The header's names for the conditions, as the table above assumes. */
	ASSERT_EQ_INT(ESRCH, ERRNO_NO_SUCH_CONTAINER);
	ASSERT_EQ_INT(ENXIO, ERRNO_NO_SUCH_SEAT);
	ASSERT_EQ_INT(ENODEV, ERRNO_NO_SUCH_DEVICE);
	ASSERT_EQ_INT(EEXIST, ERRNO_CONTAINER_EXISTS);
	ASSERT_EQ_INT(EBUSY, ERRNO_ALREADY_CONTROLLED);
	ASSERT_EQ_INT(ENOTCONN, ERRNO_NOT_IN_CONTROL);
	ASSERT_EQ_INT(EALREADY, ERRNO_DEVICE_IS_TAKEN);
	ASSERT_EQ_INT(EBADSLT, ERRNO_DEVICE_NOT_TAKEN);
	ASSERT_EQ_INT(EXDEV, ERRNO_DEVICE_NOT_OWNED);
}

TEST(error_name_constants)
{
	ASSERT_EQ_STR("org.devns.broker1.Error.NoSuchContainer", BUS_ERROR_NO_SUCH_CONTAINER);
	ASSERT_EQ_STR("org.devns.broker1.Error.NoSuchSeat", BUS_ERROR_NO_SUCH_SEAT);
	ASSERT_EQ_STR("org.devns.broker1.Error.NoSuchDevice", BUS_ERROR_NO_SUCH_DEVICE);
	ASSERT_EQ_STR("org.devns.broker1.Error.ContainerExists", BUS_ERROR_CONTAINER_EXISTS);
	ASSERT_EQ_STR("org.devns.broker1.Error.AlreadyControlled", BUS_ERROR_ALREADY_CONTROLLED);
	ASSERT_EQ_STR("org.devns.broker1.Error.NotInControl", BUS_ERROR_NOT_IN_CONTROL);
	ASSERT_EQ_STR("org.devns.broker1.Error.DeviceIsTaken", BUS_ERROR_DEVICE_IS_TAKEN);
	ASSERT_EQ_STR("org.devns.broker1.Error.DeviceNotTaken", BUS_ERROR_DEVICE_NOT_TAKEN);
	ASSERT_EQ_STR("org.devns.broker1.Error.DeviceNotOwned", BUS_ERROR_DEVICE_NOT_OWNED);
	ASSERT_EQ_STR("org.devns.broker1.Error.SwitchFailed", BUS_ERROR_SWITCH_FAILED);
}

TEST(every_row_negative_errno)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const char *name = bus_error_name_from_errno(-table[i].err);

		if (!name || strcmp(name, table[i].name) != 0)
			EXPECT_FAIL("errno -%d: expected %s, got %s", table[i].err,
				    table[i].name, name ? name : "(null)");
	}
}

TEST(every_row_positive_errno)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		const char *name = bus_error_name_from_errno(table[i].err);

		if (!name || strcmp(name, table[i].name) != 0)
			EXPECT_FAIL("errno %d: expected %s, got %s", table[i].err,
				    table[i].name, name ? name : "(null)");
	}
}

TEST(fallback_is_failed)
{
	static const int others[] = {
		0, EIO, ENOENT, EAGAIN, ENOTTY, ETIMEDOUT, ESHUTDOWN, ENAMETOOLONG, 4095,
	};

	for (size_t i = 0; i < sizeof(others) / sizeof(others[0]); i++) {
		const char *neg = bus_error_name_from_errno(-others[i]);
		const char *pos = bus_error_name_from_errno(others[i]);

		if (strcmp(neg, "org.freedesktop.DBus.Error.Failed") != 0 ||
		    strcmp(pos, "org.freedesktop.DBus.Error.Failed") != 0)
			EXPECT_FAIL("errno %d: expected Failed, got %s and %s", others[i], neg, pos);
	}
	ASSERT_EQ_STR(SD_BUS_ERROR_FAILED, bus_error_name_from_errno(-EIO));
}

TEST(errnof_negative)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

	ASSERT_EQ_INT(-ESRCH, bus_error_errnof(&e, -ESRCH, "No such container '%s'", "web-1"));
	ASSERT_TRUE(sd_bus_error_is_set(&e));
	ASSERT_EQ_STR(BUS_ERROR_NO_SUCH_CONTAINER, e.name);
	ASSERT_EQ_STR("No such container 'web-1'", e.message);
	ASSERT_TRUE(sd_bus_error_has_name(&e, "org.devns.broker1.Error.NoSuchContainer"));
	sd_bus_error_free(&e);
}

TEST(errnof_positive_returns_negative)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

	ASSERT_EQ_INT(-EINVAL, bus_error_errnof(&e, EINVAL, "Invalid leader pid %u", 0u));
	ASSERT_EQ_STR(SD_BUS_ERROR_INVALID_ARGS, e.name);
	ASSERT_EQ_STR("Invalid leader pid 0", e.message);
	sd_bus_error_free(&e);
}

TEST(errnof_every_row)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;
		int r = bus_error_errnof(&e, -table[i].err, "row %zu", i);
		char msg[32];

		snprintf(msg, sizeof(msg), "row %zu", i);
		if (r != -table[i].err)
			EXPECT_FAIL("row %zu: returned %d, expected %d", i, r, -table[i].err);
		if (!e.name || strcmp(e.name, table[i].name) != 0)
			EXPECT_FAIL("row %zu: name %s, expected %s", i, e.name ? e.name : "(null)",
				    table[i].name);
		if (!e.message || strcmp(e.message, msg) != 0)
			EXPECT_FAIL("row %zu: message %s", i, e.message ? e.message : "(null)");
		sd_bus_error_free(&e);
	}
}

TEST(errnof_fallback)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

	ASSERT_EQ_INT(-EIO, bus_error_errnof(&e, -EIO, "Cannot open device %u:%u: %s", 13u, 67u,
					     strerror(EIO)));
	ASSERT_EQ_STR(SD_BUS_ERROR_FAILED, e.name);
	ASSERT_EQ_STR("Cannot open device 13:67: Input/output error", e.message);
	sd_bus_error_free(&e);
}

TEST(errnof_message_verbatim)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

	/* A name with a '%' stays as it is: it is an argument, not a format. */
	ASSERT_EQ_INT(-EINVAL, bus_error_errnof(&e, -EINVAL, "Invalid container name '%s'", "%s%n"));
	ASSERT_EQ_STR("Invalid container name '%s%n'", e.message);
	sd_bus_error_free(&e);

	ASSERT_EQ_INT(-EPERM, bus_error_errnof(&e, -EPERM, "Only root may change the broker's state"));
	ASSERT_EQ_STR(SD_BUS_ERROR_ACCESS_DENIED, e.name);
	ASSERT_EQ_STR("Only root may change the broker's state", e.message);
	sd_bus_error_free(&e);
}

TEST(errnof_as_method_return)
{
	_cleanup_(sd_bus_error_free) sd_bus_error e = SD_BUS_ERROR_NULL;

	/* Errors set by a handler reach the client with name and message;
	 * sd-bus maps the standard names back to an errno too. */
	bus_error_errnof(&e, -EACCES, "denied");
	ASSERT_EQ_STR(SD_BUS_ERROR_ACCESS_DENIED, e.name);
	ASSERT_EQ_INT(EACCES, sd_bus_error_get_errno(&e));
	sd_bus_error_free(&e);
	bus_error_errnof(&e, -EINVAL, "bad");
	ASSERT_EQ_INT(EINVAL, sd_bus_error_get_errno(&e));
	sd_bus_error_free(&e);
}

TEST_MAIN
