/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer target for the seatd message parsers (compat/seatd-proto.c).
 *
 * The input is read as a stream the way the server reads a connection:
 * messages one after the other until one is incomplete or malformed. Every
 * message that parses must write back to exactly the bytes it was read
 * from (the wire form is canonical), and a parser must never claim more
 * bytes than it was given. The same bytes are then read as server messages,
 * as a client would. Sanitizers (address, undefined) catch the rest.
 *
 *   clang -fsanitize=fuzzer,address,undefined -I. \
 *       tests/unit/fuzz-seatd-proto.c compat/seatd-proto.c -o fuzz
 *   ./fuzz -max_total_time=60
 */
#include <stdlib.h>
#include <string.h>

#include "compat/seatd-proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_requests(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct seatd_request req;
		uint8_t out[SEATD_MAX_MESSAGE];
		ssize_t n = seatd_parse_request(data + off, size - off, &req);
		ssize_t w;

		if (n <= 0)
			return;
		if ((size_t)n > size - off || n > SEATD_MAX_MESSAGE)
			abort();
		w = seatd_write_request(out, sizeof(out), &req);
		if (w != n || memcmp(out, data + off, (size_t)n) != 0)
			abort();
		off += (size_t)n;
	}
}

static void check_replies(const uint8_t *data, size_t size)
{
	size_t off = 0;

	while (off < size) {
		struct seatd_reply rep;
		uint8_t out[SEATD_MAX_MESSAGE];
		ssize_t n = seatd_parse_reply(data + off, size - off, &rep);
		ssize_t w;

		if (n <= 0)
			return;
		if ((size_t)n > size - off)
			abort();
		w = seatd_write_reply(out, sizeof(out), &rep);
		if (w != n || memcmp(out, data + off, (size_t)n) != 0)
			abort();
		off += (size_t)n;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so a read past the end is caught. */
	uint8_t *buf = malloc(size ? size : 1);

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	check_requests(buf, size);
	check_replies(buf, size);
	free(buf);
	return 0;
}
