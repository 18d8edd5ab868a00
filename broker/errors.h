/* SPDX-License-Identifier: MIT */
/*
 * The errno each broker function returns for a condition a client can
 * cause. Every transport turns these into its own errors (dbus/bus-error.c
 * has the D-Bus table; the seatd protocol sends the errno itself).
 */
#pragma once

#include <errno.h>

#define ERRNO_NO_SUCH_CONTAINER ESRCH
#define ERRNO_NO_SUCH_SEAT ENXIO
#define ERRNO_NO_SUCH_DEVICE ENODEV
#define ERRNO_CONTAINER_EXISTS EEXIST
#define ERRNO_ALREADY_CONTROLLED EBUSY
#define ERRNO_NOT_IN_CONTROL ENOTCONN
#define ERRNO_DEVICE_IS_TAKEN EALREADY
#define ERRNO_DEVICE_NOT_TAKEN EBADSLT
#define ERRNO_DEVICE_NOT_OWNED EXDEV
#define ERRNO_LIMIT_EXCEEDED EDQUOT
