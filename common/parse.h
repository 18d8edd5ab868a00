/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

/* A plain decimal number from min to max: digits only, no sign, no
 * blanks (strtoull() alone would take " 5", "+5" and "-1"). 0 or -EINVAL. */
int parse_decimal(const char *s, unsigned long long min, unsigned long long max, uint32_t *ret);
