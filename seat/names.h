/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>

#define CONTAINER_NAME_MAX 64

/* 1 to 64 characters of [A-Za-z0-9_.-], not starting with '.' or '-'. */
bool container_name_is_valid(const char *name);

/* As logind: "seat0", or "seat" followed by [A-Za-z0-9_-]. */
bool seat_id_is_valid(const char *id);
