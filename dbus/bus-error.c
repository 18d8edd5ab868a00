/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "dbus/bus-error.h"

static const struct {
	int err;
	const char *name;
} bus_error_table[] = {
	{ EINVAL, SD_BUS_ERROR_INVALID_ARGS },
	{ EPERM, SD_BUS_ERROR_ACCESS_DENIED },
	{ EACCES, SD_BUS_ERROR_ACCESS_DENIED },
	{ ENOMEM, SD_BUS_ERROR_NO_MEMORY },
	{ ERRNO_NO_SUCH_CONTAINER, BUS_ERROR_NO_SUCH_CONTAINER },
	{ ERRNO_NO_SUCH_SEAT, BUS_ERROR_NO_SUCH_SEAT },
	{ ERRNO_NO_SUCH_DEVICE, BUS_ERROR_NO_SUCH_DEVICE },
	{ ERRNO_CONTAINER_EXISTS, BUS_ERROR_CONTAINER_EXISTS },
	{ ERRNO_ALREADY_CONTROLLED, BUS_ERROR_ALREADY_CONTROLLED },
	{ ERRNO_NOT_IN_CONTROL, BUS_ERROR_NOT_IN_CONTROL },
	{ ERRNO_DEVICE_IS_TAKEN, BUS_ERROR_DEVICE_IS_TAKEN },
	{ ERRNO_DEVICE_NOT_TAKEN, BUS_ERROR_DEVICE_NOT_TAKEN },
	{ ERRNO_DEVICE_NOT_OWNED, BUS_ERROR_DEVICE_NOT_OWNED },
	{ ERRNO_LIMIT_EXCEEDED, SD_BUS_ERROR_LIMITS_EXCEEDED },
};

const char *bus_error_name_from_errno(int r)
{
	int err = abs(r);

	for (size_t i = 0; i < ARRAY_SIZE(bus_error_table); i++)
		if (bus_error_table[i].err == err)
			return bus_error_table[i].name;
	return SD_BUS_ERROR_FAILED;
}

int bus_error_errnof(sd_bus_error *e, int r, const char *fmt, ...)
{
	_cleanup_free_ char *msg = NULL;
	va_list ap;
	int n;

	if (r > 0)
		r = -r;
	va_start(ap, fmt);
	n = vasprintf(&msg, fmt, ap);
	va_end(ap);
	if (n < 0)
		return sd_bus_error_set_errno(e, -ENOMEM);
	sd_bus_error_set(e, bus_error_name_from_errno(r), msg);
	return r;
}
