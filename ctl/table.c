/* SPDX-License-Identifier: MIT */
#include "ctl/table.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"

struct table {
	size_t n_columns;
	size_t n_rows;
	/* n_columns header cells, then n_columns cells per row */
	char **cells;
};

static char *cell_dup(const char *s)
{
	return strdup(s ? s : "-");
}

struct table *table_new_internal(const char *first, ...)
{
	_cleanup_free_ struct table *t = calloc(1, sizeof(*t));
	va_list ap;
	size_t n = 0;

	if (!t)
		return NULL;

	va_start(ap, first);
	for (const char *h = first; h; h = va_arg(ap, const char *))
		n++;
	va_end(ap);

	t->cells = calloc(n, sizeof(char *));
	if (!t->cells)
		return NULL;
	t->n_columns = n;

	va_start(ap, first);
	n = 0;
	for (const char *h = first; h; h = va_arg(ap, const char *)) {
		t->cells[n] = cell_dup(h);
		if (!t->cells[n]) {
			va_end(ap);
			table_free(TAKE_PTR(t));
			return NULL;
		}
		n++;
	}
	va_end(ap);

	return TAKE_PTR(t);
}

void table_free(struct table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_columns * (t->n_rows + 1); i++)
		free(t->cells[i]);
	free(t->cells);
	free(t);
}

int table_add_row(struct table *t, ...)
{
	size_t base = t->n_columns * (t->n_rows + 1);
	char **cells;
	va_list ap;

	cells = realloc(t->cells, (base + t->n_columns) * sizeof(char *));
	if (!cells)
		return -ENOMEM;
	t->cells = cells;

	va_start(ap, t);
	for (size_t i = 0; i < t->n_columns; i++)
		cells[base + i] = cell_dup(va_arg(ap, const char *));
	va_end(ap);

	/* The row counts even when a copy failed, so table_free() sees it. */
	t->n_rows++;
	for (size_t i = 0; i < t->n_columns; i++)
		if (!cells[base + i])
			return -ENOMEM;
	return 0;
}

size_t table_rows(const struct table *t)
{
	return t->n_rows;
}

int table_print(const struct table *t, FILE *f, bool legend)
{
	_cleanup_free_ size_t *width = calloc(t->n_columns, sizeof(size_t));
	size_t first_row = legend ? 0 : 1;

	if (!width)
		return -ENOMEM;

	for (size_t r = first_row; r <= t->n_rows; r++)
		for (size_t c = 0; c < t->n_columns; c++) {
			size_t l = strlen(t->cells[r * t->n_columns + c]);
			if (l > width[c])
				width[c] = l;
		}

	for (size_t r = first_row; r <= t->n_rows; r++) {
		for (size_t c = 0; c < t->n_columns; c++) {
			const char *s = t->cells[r * t->n_columns + c];

			if (c + 1 < t->n_columns)
				fprintf(f, "%-*s  ", (int)width[c], s);
			else
				fprintf(f, "%s\n", s);
		}
	}

	return ferror(f) ? -EIO : 0;
}
