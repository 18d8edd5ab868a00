/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <ctype.h>
#include <ini.h>
#include <libevdev/libevdev.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "broker/config.h"
#include "common/log.h"
#include "common/macro.h"
#include "common/parse.h"

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
		.loop_devices_per_container = LOOP_DEVICES_PER_CONTAINER_DEFAULT,
		.vt_mode = CONFIG_VT_AUTO,
		.next = { HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT, KEY_RIGHT },
		.previous = { HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT, KEY_LEFT },
	};
	for (unsigned i = 0; i < HOTKEY_CONTAINERS; i++)
		c->container[i] = (struct chord) { HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT,
						   i < 10 ? KEY_F1 + i : KEY_F11 + i - 10 };
}

void config_done(struct config *c)
{
	free(c->runtime_dir);
	c->runtime_dir = NULL;
	free(c->binder_devices);
	c->binder_devices = NULL;
}

int config_parse_seconds(const char *s, uint64_t *ret_usec)
{
	char *end;
	double v;

	if (!s || !*s)
		return -EINVAL;
	/* strtod() alone would also take " 5", "1e1", "0x1p-1" or "inf";
	 * devnsd.conf(5) promises a plain decimal number. */
	if (strspn(s, "0123456789.") != strlen(s) || strchr(s, '.') != strrchr(s, '.') ||
	    strpbrk(s, "0123456789") == NULL)
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || *end != '\0' || end == s || !isfinite(v) || v < 0 ||
	    v * 1e6 > (double)PAUSE_TIMEOUT_USEC_MAX)
		return -EINVAL;
	*ret_usec = (uint64_t)llround(v * 1e6);
	return 0;
}

static const struct {
	const char *name;
	uint32_t mod;
} modifier_names[] = {
	{ "ctrl", HOTKEY_MOD_CTRL },
	{ "control", HOTKEY_MOD_CTRL },
	{ "alt", HOTKEY_MOD_ALT },
	{ "shift", HOTKEY_MOD_SHIFT },
	{ "super", HOTKEY_MOD_SUPER },
	{ "logo", HOTKEY_MOD_SUPER },
	{ "meta", HOTKEY_MOD_SUPER },
};

int config_parse_chord(const char *s, struct chord *ret)
{
	struct chord chord = { 0 };
	char buf[64];
	char *token, *save = NULL;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	if (!*s || strcasecmp(s, "none") == 0) {
		*ret = chord;
		return 0;
	}
	strcpy(buf, s);
	for (token = strtok_r(buf, "+", &save); token; token = strtok_r(NULL, "+", &save)) {
		char name[64];
		size_t i;
		int code;

		if (chord.key)
			return -EINVAL; /* the key comes last */
		for (i = 0; i < ARRAY_SIZE(modifier_names); i++)
			if (strcasecmp(token, modifier_names[i].name) == 0)
				break;
		if (i < ARRAY_SIZE(modifier_names)) {
			chord.modifiers |= modifier_names[i].mod;
			continue;
		}
		/* Key names are libevdev's, so every KEY_* code is known. */
		snprintf(name, sizeof(name), "KEY_%s", token);
		for (char *p = name; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		code = libevdev_event_code_from_name(EV_KEY, name);
		if (code <= 0)
			return -EINVAL;
		chord.key = (uint32_t)code;
	}
	if (!chord.key)
		return -EINVAL;
	*ret = chord;
	return 0;
}

int config_format_chord(const struct chord *c, char *buf, size_t size)
{
	static const char *const mods[] = { "Ctrl", "Alt", "Shift", "Super" };
	const char *key;
	size_t n = 0;

	if (!c->key)
		return snprintf(buf, size, "none") < (int)size ? 0 : -ENOSPC;
	if (size)
		buf[0] = '\0';
	/* Past the end, snprintf() only counts: it gets no pointer beyond buf. */
	for (unsigned i = 0; i < ARRAY_SIZE(mods); i++)
		if (c->modifiers & (1u << i))
			n += snprintf(n < size ? buf + n : NULL, n < size ? size - n : 0, "%s+", mods[i]);
	key = libevdev_event_code_get_name(EV_KEY, c->key);
	if (!key)
		return -EINVAL;
	n += snprintf(n < size ? buf + n : NULL, n < size ? size - n : 0, "%s", key + strlen("KEY_"));
	return n < size ? 0 : -ENOSPC;
}

static int parse_vt(const char *value, struct config *c)
{
	uint32_t n;

	if (strcasecmp(value, "no") == 0) {
		c->vt_mode = CONFIG_VT_NO;
		return 0;
	}
	if (strcasecmp(value, "auto") == 0) {
		c->vt_mode = CONFIG_VT_AUTO;
		return 0;
	}
	if (parse_decimal(value, 1, 63, &n) < 0)
		return -EINVAL;
	c->vt_mode = CONFIG_VT_NUMBER;
	c->vt_number = (int)n;
	return 0;
}

static int handle_hotkey(struct parse_state *st, const char *key, const char *value)
{
	struct config *c = st->config;
	struct chord *target = NULL;
	unsigned n;
	char extra;

	if (strcmp(key, "Next") == 0)
		target = &c->next;
	else if (strcmp(key, "Previous") == 0)
		target = &c->previous;
	else if (sscanf(key, "Container%u%c", &n, &extra) == 1 && n >= 1 && n <= HOTKEY_CONTAINERS)
		target = &c->container[n - 1];
	if (!target) {
		log_warning("%s: unknown key %s in [Hotkeys] ignored", st->file, key);
		return 1;
	}
	if (config_parse_chord(value, target) < 0) {
		st->reason = "expected a chord such as Ctrl+Alt+Right, or none";
		snprintf(st->bad_key, sizeof(st->bad_key), "%s=%s", key, value);
		return 0;
	}
	return 1;
}

/* Device names as binder_linux makes them from its devices= parameter. */
static bool binder_list_is_valid(const char *value)
{
	for (const char *p = value; *p;) {
		size_t k;

		p += strspn(p, " \t");
		k = strcspn(p, " \t");
		if (k == 0)
			break;
		if (k > 64 || strncmp(p, "binder", 6) != 0)
			return false;
		for (size_t i = 0; i < k; i++)
			if (!isalnum((unsigned char)p[i]) && p[i] != '_' && p[i] != '-')
				return false;
		p += k;
	}
	return true;
}

static int handle_binder(struct parse_state *st, const char *key, const char *value)
{
	struct config *c = st->config;
	char *dup;

	if (strcmp(key, "Devices") != 0) {
		log_warning("%s: unknown key %s in [Binder] ignored", st->file, key);
		return 1;
	}
	if (!binder_list_is_valid(value)) {
		st->reason = "expected binder device names such as binder0 binder1";
		snprintf(st->bad_key, sizeof(st->bad_key), "%s=%s", key, value);
		return 0;
	}
	dup = strdup(value);
	if (!dup)
		return 0;
	free(c->binder_devices);
	c->binder_devices = dup;
	return 1;
}

static int handle_loop(struct parse_state *st, const char *key, const char *value)
{
	uint32_t n;

	if (strcmp(key, "DevicesPerContainer") != 0) {
		log_warning("%s: unknown key %s in [Loop] ignored", st->file, key);
		return 1;
	}
	if (parse_decimal(value, 0, LOOP_DEVICES_PER_CONTAINER_MAX, &n) < 0) {
		st->reason = "expected a number from 0 to 1024";
		snprintf(st->bad_key, sizeof(st->bad_key), "%s=%s", key, value);
		return 0;
	}
	st->config->loop_devices_per_container = n;
	return 1;
}

static int handle_entry(void *user, const char *section, const char *key, const char *value)
{
	struct parse_state *st = user;
	struct config *c = st->config;

	if (strcmp(section, "Hotkeys") == 0)
		return handle_hotkey(st, key, value);
	if (strcmp(section, "Binder") == 0)
		return handle_binder(st, key, value);
	if (strcmp(section, "Loop") == 0)
		return handle_loop(st, key, value);
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
	} else if (strcmp(key, "VT") == 0) {
		if (parse_vt(value, c) < 0) {
			st->reason = "expected no, auto or a number from 1 to 63";
			goto bad;
		}
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

/* Lines come through our own reader rather than inih's: it strips
 * indentation (inih would take an indented line as the continuation of the
 * previous value) and refuses a line longer than inih's buffer (which inih
 * would cut, parsing the rest as a line of its own). */
struct line_source {
	FILE *file;
	const char *text;
	bool too_long;
};

static char *next_line(char *str, int num, void *stream)
{
	struct line_source *src = stream;
	_cleanup_free_ char *line = NULL;
	size_t cap = 0;
	const char *p;

	if (src->file) {
		if (getline(&line, &cap, src->file) < 0)
			return NULL;
	} else {
		size_t len;

		if (!*src->text)
			return NULL;
		len = strcspn(src->text, "\n");
		if (src->text[len] == '\n')
			len++;
		line = strndup(src->text, len);
		if (!line)
			return NULL;
		src->text += len;
	}
	p = line + strspn(line, " \t");
	if (strlen(p) >= (size_t)num) {
		src->too_long = true;
		/* An unterminated section header: inih reports this line. */
		snprintf(str, num, "[\n");
		return str;
	}
	strcpy(str, p);
	return str;
}

static int parse(struct parse_state *st, struct line_source *src)
{
	int line = ini_parse_stream(next_line, src, handle_entry, st);

	if (line > 0 && src->too_long) {
		log_error("%s:%d: line too long", st->file, line);
		return -EINVAL;
	}
	return report(st, line);
}

int config_parse_string(struct config *c, const char *text, const char *name)
{
	struct parse_state st = { .config = c, .file = name };
	struct line_source src = { .text = text };

	return parse(&st, &src);
}

int config_load(struct config *c, const char *path, int must_exist)
{
	struct parse_state st = { .config = c, .file = path };
	struct line_source src = { 0 };
	struct stat sb;
	int r;

	src.file = fopen(path, "re");
	if (!src.file) {
		if (errno == ENOENT && !must_exist)
			return 0;
		return log_error_errno(errno, "Cannot open configuration %s", path);
	}
	if (fstat(fileno(src.file), &sb) < 0 || !S_ISREG(sb.st_mode)) {
		fclose(src.file);
		return log_error_errno(EINVAL, "Configuration %s is not a regular file", path);
	}
	r = parse(&st, &src);
	if (r >= 0 && ferror(src.file))
		r = log_error_errno(EIO, "Cannot read configuration %s", path);
	fclose(src.file);
	return r;
}
