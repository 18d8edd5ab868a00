/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"

/* A longer line is cut, and ends in "...". */
#define LOG_LINE_MAX 2048

static enum log_level max_level = LOG_LEVEL_INFO;

void log_set_max_level(enum log_level level)
{
	max_level = level;
}

static size_t appendf(char *buf, size_t len, const char *fmt, ...) _printf_(3, 4);
static size_t appendf(char *buf, size_t len, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf + len, LOG_LINE_MAX - len, fmt, ap);
	va_end(ap);
	return n < 0 ? len : len + (size_t)n;
}

int log_full_errno(enum log_level level, int err, const char *fmt, ...)
{
	int saved = errno;
	char line[LOG_LINE_MAX + 1];
	size_t len = 0;
	va_list ap;
	int n;

	if (err < 0)
		err = -err;
	if (level <= max_level) {
		/* The journal reads the "<N>" prefix as the priority; on a
		 * terminal the plain text is easier to read. */
		if (getenv("JOURNAL_STREAM"))
			len = appendf(line, len, "<%d>", (int)level);
		va_start(ap, fmt);
		n = vsnprintf(line + len, LOG_LINE_MAX - len, fmt, ap);
		va_end(ap);
		if (n > 0)
			len += (size_t)n;
		if (err > 0 && len < LOG_LINE_MAX)
			len = appendf(line, len, ": %s", strerror(err));
		if (len >= LOG_LINE_MAX) {
			len = LOG_LINE_MAX - 1;
			memcpy(line + len - 3, "...", 3);
		}
		/* One write a line: the journal (a stream socket) and a
		 * terminal shared with other processes get it whole, and
		 * every write of a busy switch costs a wake-up. */
		line[len++] = '\n';
		(void)!write(STDERR_FILENO, line, len);
	}
	errno = saved;
	return -err;
}
