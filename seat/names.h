/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#include "kernel/devns/uapi/devns.h"

#define CONTAINER_NAME_MAX 64
/* The module's limit, the smallest of those that carry a seat id (the
 * seatd protocol allows 63): one limit everywhere. */
#define SEAT_ID_MAX DEVNS_SEAT_MAX

/* 1 to 64 characters of [A-Za-z0-9_.-], not starting with '.' or '-'. */
bool container_name_is_valid(const char *name);

/* As logind: "seat0", or "seat" followed by [A-Za-z0-9_-]; at most
 * SEAT_ID_MAX characters. */
bool seat_id_is_valid(const char *id);
