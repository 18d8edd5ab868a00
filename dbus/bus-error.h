/* SPDX-License-Identifier: MIT */
#pragma once

#include <systemd/sd-bus.h>

#include "broker/errors.h"
#include "common/macro.h"

#define BUS_ERROR_NO_SUCH_CONTAINER "org.devns.broker1.Error.NoSuchContainer"
#define BUS_ERROR_NO_SUCH_SEAT "org.devns.broker1.Error.NoSuchSeat"
#define BUS_ERROR_NO_SUCH_DEVICE "org.devns.broker1.Error.NoSuchDevice"
#define BUS_ERROR_CONTAINER_EXISTS "org.devns.broker1.Error.ContainerExists"
#define BUS_ERROR_ALREADY_CONTROLLED "org.devns.broker1.Error.AlreadyControlled"
#define BUS_ERROR_NOT_IN_CONTROL "org.devns.broker1.Error.NotInControl"
#define BUS_ERROR_DEVICE_IS_TAKEN "org.devns.broker1.Error.DeviceIsTaken"
#define BUS_ERROR_DEVICE_NOT_TAKEN "org.devns.broker1.Error.DeviceNotTaken"
#define BUS_ERROR_DEVICE_NOT_OWNED "org.devns.broker1.Error.DeviceNotOwned"
#define BUS_ERROR_SWITCH_FAILED "org.devns.broker1.Error.SwitchFailed"


/* The D-Bus error name for a negative (or positive) errno. */
const char *bus_error_name_from_errno(int r);

/* Sets e from r with a message saying why, and returns r (negative), so a
 * method handler can "return bus_error_errnof(e, r, ...)". */
int bus_error_errnof(sd_bus_error *e, int r, const char *fmt, ...) _printf_(3, 4);
