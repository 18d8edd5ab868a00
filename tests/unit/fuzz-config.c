/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the configuration parsers (broker/config.c):
 * config_parse_string, config_parse_chord and config_parse_seconds.
 *
 * The first byte picks the parser and how the rest is read: as raw text, or
 * as a list of tokens taken from the words a configuration is made of
 * (sections, keys, values, separators, over-long runs). The token form is
 * the seed: from the first input on, the fuzzer writes files that get past
 * the syntax into every key's value checks, without a corpus on disk.
 *
 * What must hold, besides what the sanitizers check:
 *   - a parse never leaves a value out of its range, whether it succeeds
 *     or fails part-way (PauseTimeoutSec <= 60 s, VT 1..63, an absolute
 *     RuntimeDirectory of at most 200 bytes, chords of known modifiers and
 *     a key up to KEY_MAX, a disabled chord without modifiers);
 *   - a chord that parses formats into a buffer of any size without
 *     writing past it, and the formatted text parses back to the same
 *     chord;
 *   - seconds that parse are at most 60 s, and a plain decimal ("12.25")
 *     gives its value to the microsecond (the last digit may round either
 *     way), and only plain decimals are accepted, as devnsd.conf(5) says
 *     ("a decimal number from 0 to 60").
 *
 *   clang -fsanitize=fuzzer,address,undefined -I. -I/usr/include/libevdev-1.0 \
 *       tests/unit/fuzz-config.c broker/config.c common/log.c \
 *       -linih -levdev -lm -o fuzz-config
 *   ./fuzz-config -max_total_time=60
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <linux/input-event-codes.h>

#include "broker/config.h"
#include "common/log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ALL_MODIFIERS (HOTKEY_MOD_CTRL | HOTKEY_MOD_ALT | HOTKEY_MOD_SHIFT | HOTKEY_MOD_SUPER)

static const char *const tokens[] = {
	/* structure */
	"[Broker]\n", "[Hotkeys]\n", "[Bogus]\n", "[broker]\n", "[", "]", "\n", "\r\n",
	" ", "\t", "=", ":", ";", "#", "; comment\n", "# comment\n",
	/* keys */
	"PauseTimeoutSec", "RuntimeDirectory", "VT", "Next", "Previous", "Container",
	"Container1", "Container10", "Container12", "Container13", "Container0",
	"Container 1", "Container1x", "Container-1", "Container4294967297", "Unknown",
	/* seconds */
	"0", "0.5", "60", "60.0", "60.000001", "59.9999995", "0.0000005", "1e1", "1e400",
	"-0", "-1", "nan", "inf", "0x1p-1", ".5", "5.", "1..2", "00000000000000000001",
	/* VT */
	"auto", "no", "63", "64", "1", "07", "+3",
	/* chords */
	"Ctrl", "Alt", "Shift", "Super", "Logo", "Meta", "Control", "+", "none", "None",
	"Right", "Left", "F1", "F12", "a", "KEY_A", "Tab", "Esc", "max", "reserved", "btn_left",
	"Ctrl+Alt+Right", "Super+Shift+Tab", "Ctrl++Right",
	/* paths */
	"/run/devns", "/", "relative/dir", "//", "/run/devns/../x",
	/* numbers and lengths */
	"9", "65535", "4294967295", "18446744073709551616",
	/* a value longer than any buffer of the parser */
	("xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	 "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"),
};
#define N_TOKENS (sizeof(tokens) / sizeof(tokens[0]))

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* Every rejected value is logged; quiet, the fuzzer runs much faster. */
	log_set_max_level((enum log_level)0);
	return 0;
}

/* Raw bytes as a C string (stops at the first NUL, like a file read). */
static char *raw_text(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Each byte a token; a byte >= 0xf0 copies the next byte as it is. */
static char *token_text(const uint8_t *data, size_t size)
{
	size_t cap = 64, len = 0;
	char *s = malloc(cap);

	if (!s)
		abort();
	for (size_t i = 0; i < size; i++) {
		char one[2] = { 0, 0 };
		const char *t;
		size_t n;

		if (data[i] >= 0xf0 && i + 1 < size) {
			one[0] = (char)data[++i];
			t = one;
		} else {
			t = tokens[data[i] % N_TOKENS];
		}
		n = strlen(t);
		if (len + n + 1 > cap) {
			while (len + n + 1 > cap)
				cap *= 2;
			s = realloc(s, cap);
			if (!s)
				abort();
		}
		memcpy(s + len, t, n);
		len += n;
	}
	s[len] = '\0';
	return s;
}

static void check_chord_value(const struct chord *c)
{
	if (c->modifiers & ~(uint32_t)ALL_MODIFIERS)
		abort();
	if (c->key > KEY_MAX)
		abort();
	if (c->key == 0 && c->modifiers != 0)
		abort();
}

/* Formats c into buffers of every size up to what it needs (each exactly
 * that big, so a write past the end is caught) and parses the text back. */
static void check_chord_format(const struct chord *c)
{
	char full[256];
	struct chord back;
	int r;

	r = config_format_chord(c, full, sizeof(full));
	if (r == -EINVAL)
		return; /* a key without a name */
	if (r < 0)
		abort();
	for (size_t size = 0; size <= strlen(full) + 1; size++) {
		char *buf = malloc(size ? size : 1);

		if (!buf)
			abort();
		r = config_format_chord(c, buf, size);
		if (size <= strlen(full) ? r != -ENOSPC : r != 0 || strcmp(buf, full) != 0)
			abort();
		free(buf);
	}
	memset(&back, 0xff, sizeof(back));
	if (config_parse_chord(full, &back) < 0)
		abort();
	if (back.key != c->key || back.modifiers != c->modifiers)
		abort();
}

static void fuzz_chord(const char *s)
{
	struct chord c = { 0x5a5a5a5a, 0x5a5a5a5a };
	int r = config_parse_chord(s, &c);

	if (r < 0) {
		if (r != -EINVAL || c.key != 0x5a5a5a5a || c.modifiers != 0x5a5a5a5a)
			abort(); /* a failure changed the result */
		return;
	}
	check_chord_value(&c);
	check_chord_format(&c);
}

/* A plain decimal: digits, at most one '.', a digit somewhere. */
static bool is_plain_decimal(const char *s)
{
	bool digit = false, dot = false;

	for (const char *p = s; *p; p++) {
		if (*p >= '0' && *p <= '9')
			digit = true;
		else if (*p == '.' && !dot)
			dot = true;
		else
			return false;
	}
	return digit;
}

/* The exact value of a plain decimal in microseconds, rounded half up,
 * and whether it is above 60 s; false when it does not fit the check
 * (then only the range is compared). *exact_boundary: the digits beyond
 * the microsecond are not all zero, so a value right at 60 s may go
 * either way with binary floating point. */
static bool decimal_usec(const char *s, uint64_t *usec, bool *over, bool *inexact)
{
	uint64_t whole = 0, frac = 0;
	unsigned frac_digits = 0;
	bool in_frac = false, tail = false, round_up = false;

	*inexact = false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			in_frac = true;
			continue;
		}
		if (!in_frac) {
			if (whole > 1000000)
				whole = 1000000; /* far over 60 s either way */
			else
				whole = whole * 10 + (uint64_t)(*p - '0');
		} else if (frac_digits < 6) {
			frac = frac * 10 + (uint64_t)(*p - '0');
			frac_digits++;
		} else {
			if (frac_digits == 6 && !tail)
				round_up = *p >= '5';
			if (*p != '0')
				*inexact = true;
			tail = true;
		}
	}
	while (frac_digits < 6) {
		frac *= 10;
		frac_digits++;
	}
	*usec = whole * 1000000 + frac + (round_up ? 1 : 0);
	*over = whole > 60 || (whole == 60 && (frac > 0 || *inexact));
	return true;
}

static void fuzz_seconds(const char *s)
{
	uint64_t usec = 0x5a5a5a5a5a5a5a5aULL;
	int r = config_parse_seconds(s, &usec);

	if (r < 0) {
		if (r != -EINVAL || usec != 0x5a5a5a5a5a5a5a5aULL)
			abort();
	} else if (usec > PAUSE_TIMEOUT_USEC_MAX) {
		abort();
	}

	if (is_plain_decimal(s)) {
		uint64_t want;
		bool over, inexact;

		decimal_usec(s, &want, &over, &inexact);
		/* Right at the limit, rounding decides; elsewhere it must not. */
		if (want >= PAUSE_TIMEOUT_USEC_MAX - 1 && want <= PAUSE_TIMEOUT_USEC_MAX + 1)
			return;
		if (over != (r < 0))
			abort();
		if (r == 0 && (usec + 1 < want || usec > want + 1))
			abort();
	} else if (r == 0) {
		/* Only what devnsd.conf(5) calls a decimal number parses. */
		abort();
	}
}

static void check_config(const struct config *c)
{
	if (c->pause_timeout_usec > PAUSE_TIMEOUT_USEC_MAX)
		abort();
	if (c->runtime_dir && (c->runtime_dir[0] != '/' || strlen(c->runtime_dir) > 200))
		abort();
	switch (c->vt_mode) {
	case CONFIG_VT_NO:
	case CONFIG_VT_AUTO:
		break;
	case CONFIG_VT_NUMBER:
		if (c->vt_number < 1 || c->vt_number > 63)
			abort();
		break;
	default:
		abort();
	}
	check_chord_value(&c->next);
	check_chord_value(&c->previous);
	for (unsigned i = 0; i < HOTKEY_CONTAINERS; i++)
		check_chord_value(&c->container[i]);
}

static void fuzz_config(const char *text)
{
	struct config c;
	int r;

	config_init(&c);
	r = config_parse_string(&c, text, "fuzz.conf");
	if (r != 0 && r != -EINVAL)
		abort();
	check_config(&c);
	/* A second file over the first, as --config after the default would:
	 * values are replaced, never leaked (LeakSanitizer). */
	r = config_parse_string(&c, text, "fuzz.conf");
	if (r != 0 && r != -EINVAL)
		abort();
	check_config(&c);
	config_done(&c);
	if (c.runtime_dir)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;
	uint8_t mode;

	if (size == 0)
		return 0;
	mode = data[0];
	data++;
	size--;
	text = (mode & 1) ? token_text(data, size) : raw_text(data, size);
	switch ((mode >> 1) % 3) {
	case 0:
		fuzz_config(text);
		break;
	case 1:
		fuzz_chord(text);
		break;
	case 2:
		fuzz_seconds(text);
		break;
	}
	free(text);
	return 0;
}
