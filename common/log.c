/* SPDX-License-Identifier: MIT */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

static enum log_level max_level = LOG_LEVEL_INFO;

void log_set_max_level(enum log_level level)
{
	max_level = level;
}

int log_full_errno(enum log_level level, int err, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	if (err < 0)
		err = -err;
	if (level <= max_level) {
		/* The journal reads the "<N>" prefix as the priority; on a
		 * terminal the plain text is easier to read. */
		if (getenv("JOURNAL_STREAM"))
			fprintf(stderr, "<%d>", (int)level);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		if (err > 0)
			fprintf(stderr, ": %s", strerror(err));
		fputc('\n', stderr);
	}
	errno = saved;
	return -err;
}
