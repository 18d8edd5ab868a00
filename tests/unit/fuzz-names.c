/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the name checks (seat/names.c):
 * container_name_is_valid and seat_id_is_valid.
 *
 * Each is compared with a second implementation written from the contract
 * (org.devns.broker1(5): container names are 1 to 64 characters of
 * [A-Za-z0-9_.-], not starting with '.' or '-'; seat ids are "seat"
 * followed by [A-Za-z0-9_-], as logind's, at most 64 characters), on the
 * input as it is, on "seat" + input, and on the input cut to the length
 * limits. The strings are exactly as big as they are (no slack after the
 * NUL), so a read past the end is caught. A valid name must also be safe
 * as a directory name of the runtime directory.
 *
 *   clang -fsanitize=fuzzer,address,undefined -I. \
 *       tests/unit/fuzz-names.c seat/names.c -o fuzz-names
 *   ./fuzz-names -max_total_time=60
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "seat/names.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool in_set(unsigned char c, const char *extra)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       (c != '\0' && strchr(extra, c) != NULL);
}

static bool reference_container_name(const char *s)
{
	size_t n = strlen(s);

	if (n < 1 || n > 64 || s[0] == '.' || s[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!in_set((unsigned char)s[i], "_.-"))
			return false;
	return true;
}

static bool reference_seat_id(const char *s)
{
	size_t n = strlen(s);

	if (n < 5 || n > SEAT_ID_MAX || memcmp(s, "seat", 4) != 0)
		return false;
	for (size_t i = 4; i < n; i++)
		if (!in_set((unsigned char)s[i], "_-"))
			return false;
	return true;
}

/* prefix + data[0..size) + NUL in a buffer of exactly that size. */
static char *make(const char *prefix, const uint8_t *data, size_t size)
{
	size_t p = strlen(prefix);
	char *s = malloc(p + size + 1);

	if (!s)
		abort();
	memcpy(s, prefix, p);
	memcpy(s + p, data, size);
	s[p + size] = '\0';
	return s;
}

static void check(const char *s)
{
	bool name = container_name_is_valid(s);

	if (name != reference_container_name(s))
		abort();
	if (seat_id_is_valid(s) != reference_seat_id(s))
		abort();
	/* Used as <runtime>/containers/<name>: never a path of its own. */
	if (name && (strchr(s, '/') || strcmp(s, ".") == 0 || strcmp(s, "..") == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const size_t cuts[] = { 63, 64, 65 };
	char *s;

	if (container_name_is_valid(NULL) || seat_id_is_valid(NULL))
		abort();

	s = make("", data, size);
	check(s);
	free(s);
	s = make("seat", data, size);
	check(s);
	free(s);
	/* Long inputs, at the limits. */
	for (size_t i = 0; i < sizeof(cuts) / sizeof(cuts[0]); i++) {
		if (size < cuts[i])
			continue;
		s = make("", data, cuts[i]);
		check(s);
		free(s);
	}
	return 0;
}
