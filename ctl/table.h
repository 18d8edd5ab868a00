/* SPDX-License-Identifier: MIT */
/* Column-aligned text tables for devnsctl, in the shape loginctl prints:
 * a header line, the rows, and a footer that the caller adds. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "common/macro.h"

struct table;

/* Takes the column headers; the number of arguments sets the column count. */
struct table *table_new_internal(const char *first, ...);
#define table_new(...) table_new_internal(__VA_ARGS__, NULL)

void table_free(struct table *t);

/* One cell per column, copied; NULL prints as "-". */
int table_add_row(struct table *t, ...);

size_t table_rows(const struct table *t);

/* Prints the rows, preceded by the header when legend is true. */
int table_print(const struct table *t, FILE *f, bool legend);

DEFINE_TRIVIAL_CLEANUP_FUNC(struct table *, table_free)
