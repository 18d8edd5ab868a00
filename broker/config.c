/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "broker/config.h"
#include "common/log.h"

struct parse_state {
	struct config *config;
	const char *file;
	/* inih reports the line of the first handler failure, not why. */
	char bad_key[128];
	const char *reason;
};

void config_init(struct config *c)
{
	*c = (struct config) {
		.pause_timeout_usec = PAUSE_TIMEOUT_USEC_DEFAULT,
	};
}

void config_done(struct config *c)
{
	free(c->runtime_dir);
	c->runtime_dir = NULL;
}

int config_parse_seconds(const char *s, uint64_t *ret_usec)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end == s || !isfinite(v) || v < 0 ||
	    v * 1e6 > (double)PAUSE_TIMEOUT_USEC_MAX)
		return -EINVAL;
	*ret_usec = (uint64_t)llround(v * 1e6);
	return 0;
}

static int handle_entry(void *user, const char *section, const char *key, const char *value)
{
	struct parse_state *st = user;
	struct config *c = st->config;

	if (strcmp(section, "Broker") != 0) {
		log_warning("%s: unknown section [%s], key %s ignored", st->file, section, key);
		return 1;
	}

	if (strcmp(key, "PauseTimeoutSec") == 0) {
		if (config_parse_seconds(value, &c->pause_timeout_usec) < 0) {
			st->reason = "expected seconds from 0 to 60, e.g. 0.5";
			goto bad;
		}
	} else if (strcmp(key, "RuntimeDirectory") == 0) {
		char *dup;
		if (value[0] != '/' || strlen(value) > 200) {
			st->reason = "expected an absolute path";
			goto bad;
		}
		dup = strdup(value);
		if (!dup)
			return 0;
		free(c->runtime_dir);
		c->runtime_dir = dup;
	} else {
		log_warning("%s: unknown key %s in [%s] ignored", st->file, key, section);
	}
	return 1;

bad:
	snprintf(st->bad_key, sizeof(st->bad_key), "%s=%s", key, value);
	return 0;
}

static int report(struct parse_state *st, int line)
{
	if (line == 0)
		return 0;
	if (line < 0)
		return log_error_errno(ENOMEM, "%s: cannot parse", st->file);
	if (st->reason)
		log_error("%s:%d: bad value %s: %s", st->file, line, st->bad_key, st->reason);
	else
		log_error("%s:%d: syntax error", st->file, line);
	return -EINVAL;
}

int config_parse_string(struct config *c, const char *text, const char *name)
{
	struct parse_state st = { .config = c, .file = name };

	return report(&st, ini_parse_string(text, handle_entry, &st));
}

int config_load(struct config *c, const char *path, int must_exist)
{
	struct parse_state st = { .config = c, .file = path };
	FILE *f = fopen(path, "re");
	int line;

	if (!f) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return log_error_errno(errno, "Cannot open configuration %s", path);
	}
	line = ini_parse_file(f, handle_entry, &st);
	fclose(f);
	return report(&st, line);
}
