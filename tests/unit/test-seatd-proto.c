/* SPDX-License-Identifier: MIT */
/*
 * The seatd wire codec: every message written and read back in both
 * directions, the exact bytes libseat 0.7 sends and expects, and input that
 * is truncated, oversized, mis-sized or unknown.
 */
#include <errno.h>
#include <string.h>

#include "common/macro.h"
#include "compat/seatd-proto.h"
#include "test.h"

static const uint16_t client_opcodes[] = {
	SEATD_CLIENT_OPEN_SEAT, SEATD_CLIENT_CLOSE_SEAT, SEATD_CLIENT_OPEN_DEVICE,
	SEATD_CLIENT_CLOSE_DEVICE, SEATD_CLIENT_DISABLE_SEAT, SEATD_CLIENT_SWITCH_SESSION,
	SEATD_CLIENT_PING,
};

static const uint16_t server_opcodes[] = {
	SEATD_SERVER_SEAT_OPENED, SEATD_SERVER_SEAT_CLOSED, SEATD_SERVER_DEVICE_OPENED,
	SEATD_SERVER_DEVICE_CLOSED, SEATD_SERVER_DISABLE_SEAT, SEATD_SERVER_ENABLE_SEAT,
	SEATD_SERVER_PONG, SEATD_SERVER_SESSION_SWITCHED, SEATD_SERVER_SEAT_DISABLED,
	SEATD_SERVER_ERROR,
};

static size_t header(uint8_t *buf, uint16_t opcode, uint16_t size)
{
	memcpy(buf, &opcode, 2);
	memcpy(buf + 2, &size, 2);
	return 4;
}

TEST(opcode_values)
{
	/* include/protocol.h: CLIENT_EVENT(n) = n, SERVER_EVENT(n) = n + (1 << 15). */
	ASSERT_EQ_INT(1, SEATD_CLIENT_OPEN_SEAT);
	ASSERT_EQ_INT(7, SEATD_CLIENT_PING);
	ASSERT_EQ_INT(0x8001, SEATD_SERVER_SEAT_OPENED);
	ASSERT_EQ_INT(0x8006, SEATD_SERVER_ENABLE_SEAT);
	ASSERT_EQ_INT(0x8009, SEATD_SERVER_SEAT_DISABLED);
	ASSERT_EQ_INT(0xFFFF, SEATD_SERVER_ERROR);
	ASSERT_EQ_STR("open-device", seatd_opcode_to_string(SEATD_CLIENT_OPEN_DEVICE));
	ASSERT_EQ_STR("enable-seat", seatd_opcode_to_string(SEATD_SERVER_ENABLE_SEAT));
	ASSERT_EQ_STR("unknown", seatd_opcode_to_string(42));
}

TEST(every_request_round_trips)
{
	for (size_t i = 0; i < ARRAY_SIZE(client_opcodes); i++) {
		struct seatd_request in = { .opcode = client_opcodes[i], .device_id = 7, .session = 3 };
		struct seatd_request out;
		uint8_t buf[SEATD_MAX_MESSAGE];
		ssize_t n, m;

		strcpy(in.path, "/dev/input/event3");
		n = seatd_write_request(buf, sizeof(buf), &in);
		if (n < SEATD_HEADER_SIZE)
			FAIL("writing %s: %zd", seatd_opcode_to_string(in.opcode), n);
		m = seatd_parse_request(buf, (size_t)n, &out);
		ASSERT_EQ_INT(n, m);
		ASSERT_EQ_INT(in.opcode, out.opcode);
		switch (in.opcode) {
		case SEATD_CLIENT_OPEN_DEVICE:
			ASSERT_EQ_STR(in.path, out.path);
			break;
		case SEATD_CLIENT_CLOSE_DEVICE:
			ASSERT_EQ_INT(7, out.device_id);
			break;
		case SEATD_CLIENT_SWITCH_SESSION:
			ASSERT_EQ_INT(3, out.session);
			break;
		default:
			ASSERT_EQ_INT(SEATD_HEADER_SIZE, n);
		}
		/* Every proper prefix asks for more. */
		for (ssize_t k = 0; k < n; k++)
			ASSERT_EQ_INT(0, seatd_parse_request(buf, (size_t)k, &out));
	}
}

TEST(every_reply_round_trips)
{
	for (size_t i = 0; i < ARRAY_SIZE(server_opcodes); i++) {
		struct seatd_reply in = { .opcode = server_opcodes[i], .device_id = 9, .error = EPERM };
		struct seatd_reply out;
		uint8_t buf[SEATD_MAX_MESSAGE];
		ssize_t n, m;

		strcpy(in.seat_name, "seat0");
		n = seatd_write_reply(buf, sizeof(buf), &in);
		if (n < SEATD_HEADER_SIZE)
			FAIL("writing %s: %zd", seatd_opcode_to_string(in.opcode), n);
		m = seatd_parse_reply(buf, (size_t)n, &out);
		ASSERT_EQ_INT(n, m);
		ASSERT_EQ_INT(in.opcode, out.opcode);
		switch (in.opcode) {
		case SEATD_SERVER_SEAT_OPENED:
			ASSERT_EQ_STR("seat0", out.seat_name);
			break;
		case SEATD_SERVER_DEVICE_OPENED:
			ASSERT_EQ_INT(9, out.device_id);
			break;
		case SEATD_SERVER_ERROR:
			ASSERT_EQ_INT(EPERM, out.error);
			break;
		default:
			ASSERT_EQ_INT(SEATD_HEADER_SIZE, n);
		}
		for (ssize_t k = 0; k < n; k++)
			ASSERT_EQ_INT(0, seatd_parse_reply(buf, (size_t)k, &out));
	}
}

TEST(open_device_bytes_as_libseat_writes_them)
{
	/* libseat: header {3, 2 + pathlen}, {uint16 pathlen}, path with NUL. */
	static const char path[] = "/dev/dri/card0";
	struct seatd_request out;
	uint8_t buf[64];
	size_t n = header(buf, 3, 2 + sizeof(path));
	uint16_t len = sizeof(path);

	memcpy(buf + n, &len, 2);
	memcpy(buf + n + 2, path, sizeof(path));
	n += 2 + sizeof(path);
	ASSERT_EQ_INT((ssize_t)n, seatd_parse_request(buf, n, &out));
	ASSERT_EQ_STR(path, out.path);
}

TEST(replies_have_the_sizes_libseat_checks)
{
	/* libseat 0.7 read_header(): DEVICE_OPENED and ERROR exactly 4 bytes of
	 * body, SEAT_OPENED at least 2, the rest 0. */
	struct seatd_reply r = { .opcode = SEATD_SERVER_DEVICE_OPENED, .device_id = 1 };
	uint8_t buf[SEATD_MAX_MESSAGE];
	uint16_t size, len;

	ASSERT_EQ_INT(8, seatd_write_reply(buf, sizeof(buf), &r));
	r.opcode = SEATD_SERVER_ERROR;
	ASSERT_EQ_INT(8, seatd_write_reply(buf, sizeof(buf), &r));
	memcpy(&size, buf + 2, 2);
	ASSERT_EQ_INT(4, size);

	r.opcode = SEATD_SERVER_SEAT_OPENED;
	strcpy(r.seat_name, "seat0");
	ASSERT_EQ_INT(4 + 2 + 6, seatd_write_reply(buf, sizeof(buf), &r));
	memcpy(&size, buf + 2, 2);
	memcpy(&len, buf + 4, 2);
	ASSERT_EQ_INT(8, size);
	ASSERT_EQ_INT(6, len); /* the NUL counted, fits libseat's 64 bytes */
	ASSERT_EQ_INT(0, memcmp(buf + 6, "seat0", 6));
}

TEST(several_messages_in_one_buffer)
{
	struct seatd_request a = { .opcode = SEATD_CLIENT_PING };
	struct seatd_request b = { .opcode = SEATD_CLIENT_CLOSE_DEVICE, .device_id = 5 };
	struct seatd_request out;
	uint8_t buf[2 * SEATD_MAX_MESSAGE];
	ssize_t n1, n2;

	n1 = seatd_write_request(buf, sizeof(buf), &a);
	n2 = seatd_write_request(buf + n1, sizeof(buf) - (size_t)n1, &b);
	ASSERT_EQ_INT(4, n1);
	ASSERT_EQ_INT(8, n2);
	ASSERT_EQ_INT(4, seatd_parse_request(buf, (size_t)(n1 + n2), &out));
	ASSERT_EQ_INT(SEATD_CLIENT_PING, out.opcode);
	ASSERT_EQ_INT(8, seatd_parse_request(buf + 4, (size_t)n2, &out));
	ASSERT_EQ_INT(5, out.device_id);
}

TEST(unknown_opcodes)
{
	struct seatd_request req;
	struct seatd_reply rep;
	uint8_t buf[8];

	header(buf, 0, 0);
	ASSERT_EQ_INT(-EOPNOTSUPP, seatd_parse_request(buf, 4, &req));
	header(buf, 8, 0);
	ASSERT_EQ_INT(-EOPNOTSUPP, seatd_parse_request(buf, 4, &req));
	/* A server opcode is not a request, and the reverse. */
	header(buf, SEATD_SERVER_PONG, 0);
	ASSERT_EQ_INT(-EOPNOTSUPP, seatd_parse_request(buf, 4, &req));
	header(buf, SEATD_CLIENT_PING, 0);
	ASSERT_EQ_INT(-EOPNOTSUPP, seatd_parse_reply(buf, 4, &rep));
	header(buf, 0x8000, 0);
	ASSERT_EQ_INT(-EOPNOTSUPP, seatd_parse_reply(buf, 4, &rep));
}

TEST(wrong_sizes)
{
	struct seatd_request req;
	uint8_t buf[16] = { 0 };

	/* Messages without a body must have none. */
	header(buf, SEATD_CLIENT_OPEN_SEAT, 4);
	ASSERT_EQ_INT(-EBADMSG, seatd_parse_request(buf, 8, &req));
	header(buf, SEATD_CLIENT_DISABLE_SEAT, 1);
	ASSERT_EQ_INT(-EBADMSG, seatd_parse_request(buf, 5, &req));
	/* An int body is exactly 4 bytes. */
	header(buf, SEATD_CLIENT_CLOSE_DEVICE, 2);
	ASSERT_EQ_INT(-EBADMSG, seatd_parse_request(buf, 6, &req));
	header(buf, SEATD_CLIENT_SWITCH_SESSION, 8);
	ASSERT_EQ_INT(-EBADMSG, seatd_parse_request(buf, 12, &req));
	/* Open device without its length field. */
	header(buf, SEATD_CLIENT_OPEN_DEVICE, 1);
	ASSERT_EQ_INT(-EBADMSG, seatd_parse_request(buf, 5, &req));
}

static ssize_t parse_open_device(const char *bytes, uint16_t path_len, uint16_t size)
{
	struct seatd_request req;
	uint8_t buf[SEATD_MAX_MESSAGE + 16] = { 0 };
	size_t n = header(buf, SEATD_CLIENT_OPEN_DEVICE, size);

	memcpy(buf + n, &path_len, 2);
	if (size > 2)
		memcpy(buf + n + 2, bytes, (size_t)size - 2);
	return seatd_parse_request(buf, n + size, &req);
}

TEST(bad_paths)
{
	char big[SEATD_MAX_PATH_LEN + 2];

	/* path_len must match the body, count the NUL, and the NUL must be
	 * the last byte and the only one. */
	ASSERT_EQ_INT(-EBADMSG, parse_open_device("/dev/x", 6, 2 + 6));
	ASSERT_EQ_INT(-EBADMSG, parse_open_device("/dev/x\0", 7, 2 + 6));
	ASSERT_EQ_INT(-EBADMSG, parse_open_device("/dev/x\0\0", 8, 2 + 8));
	ASSERT_EQ_INT(-EBADMSG, parse_open_device("/d\0v/x\0", 7, 2 + 7));
	ASSERT_EQ_INT(-EBADMSG, parse_open_device("", 0, 2));
	ASSERT_EQ_INT(4 + 2 + 1, parse_open_device("", 1, 3)); /* "" is well formed */
	ASSERT_EQ_INT(4 + 2 + 7, parse_open_device("/dev/x", 7, 2 + 7));

	/* 256 bytes with the NUL is the longest path; 257 is too long, and a
	 * body that size is larger than any request. */
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[SEATD_MAX_PATH_LEN - 1] = '\0';
	ASSERT_EQ_INT(4 + 2 + SEATD_MAX_PATH_LEN,
		      parse_open_device(big, SEATD_MAX_PATH_LEN, 2 + SEATD_MAX_PATH_LEN));
	big[SEATD_MAX_PATH_LEN - 1] = 'a';
	big[SEATD_MAX_PATH_LEN] = '\0';
	ASSERT_EQ_INT(-EMSGSIZE,
		      parse_open_device(big, SEATD_MAX_PATH_LEN + 1, 2 + SEATD_MAX_PATH_LEN + 1));
}

TEST(oversized_is_refused_before_the_body)
{
	struct seatd_request req;
	struct seatd_reply rep;
	uint8_t buf[4];

	/* Only the header has arrived: a size no message has is an error at
	 * once, not a wait for 65535 bytes. */
	header(buf, SEATD_CLIENT_OPEN_DEVICE, 0xFFFF);
	ASSERT_EQ_INT(-EMSGSIZE, seatd_parse_request(buf, 4, &req));
	header(buf, SEATD_CLIENT_PING, SEATD_MAX_REQUEST_BODY + 1);
	ASSERT_EQ_INT(-EMSGSIZE, seatd_parse_request(buf, 4, &req));
	header(buf, SEATD_CLIENT_PING, SEATD_MAX_REQUEST_BODY);
	ASSERT_EQ_INT(0, seatd_parse_request(buf, 4, &req));
	header(buf, SEATD_SERVER_SEAT_OPENED, SEATD_MAX_REPLY_BODY + 1);
	ASSERT_EQ_INT(-EMSGSIZE, seatd_parse_reply(buf, 4, &rep));
}

TEST(seat_name_limits)
{
	struct seatd_reply r = { .opcode = SEATD_SERVER_SEAT_OPENED }, out;
	uint8_t buf[SEATD_MAX_MESSAGE];
	ssize_t n;

	memset(r.seat_name, 'x', SEATD_MAX_SEAT_LEN - 1);
	r.seat_name[SEATD_MAX_SEAT_LEN - 1] = '\0';
	n = seatd_write_reply(buf, sizeof(buf), &r);
	ASSERT_EQ_INT(4 + 2 + SEATD_MAX_SEAT_LEN, n);
	ASSERT_EQ_INT(n, seatd_parse_reply(buf, (size_t)n, &out));
	ASSERT_EQ_INT(SEATD_MAX_SEAT_LEN - 1, strlen(out.seat_name));
	/* 64 characters leave no room for the NUL. */
	memset(r.seat_name, 'x', SEATD_MAX_SEAT_LEN);
	ASSERT_EQ_INT(-ENAMETOOLONG, seatd_write_reply(buf, sizeof(buf), &r));
}

TEST(writers_check_their_input)
{
	struct seatd_request req = { .opcode = SEATD_CLIENT_OPEN_DEVICE };
	struct seatd_reply rep = { .opcode = SEATD_SERVER_PONG };
	uint8_t buf[SEATD_MAX_MESSAGE];

	memset(req.path, 'a', sizeof(req.path));
	ASSERT_EQ_INT(-ENAMETOOLONG, seatd_write_request(buf, sizeof(buf), &req));
	strcpy(req.path, "/dev/dri/card0");
	ASSERT_EQ_INT(-ENOBUFS, seatd_write_request(buf, 10, &req));
	ASSERT_EQ_INT(-ENOBUFS, seatd_write_reply(buf, 3, &rep));
	req.opcode = SEATD_SERVER_PONG;
	ASSERT_EQ_INT(-EINVAL, seatd_write_request(buf, sizeof(buf), &req));
	rep.opcode = SEATD_CLIENT_PING;
	ASSERT_EQ_INT(-EINVAL, seatd_write_reply(buf, sizeof(buf), &rep));
}

TEST(bad_replies)
{
	struct seatd_reply rep;
	uint8_t buf[16] = { 0 };
	uint16_t len = 3;

	header(buf, SEATD_SERVER_ERROR, 2);
	ASSERT_EQ_INT(-EBADMSG, seatd_parse_reply(buf, 6, &rep));
	header(buf, SEATD_SERVER_DEVICE_OPENED, 0);
	ASSERT_EQ_INT(-EBADMSG, seatd_parse_reply(buf, 4, &rep));
	header(buf, SEATD_SERVER_ENABLE_SEAT, 4);
	ASSERT_EQ_INT(-EBADMSG, seatd_parse_reply(buf, 8, &rep));
	/* A seat name without its NUL (as seatd 0.7's server sent it) is
	 * not what this codec writes; it reads only terminated names. */
	header(buf, SEATD_SERVER_SEAT_OPENED, 2 + 3);
	memcpy(buf + 4, &len, 2);
	memcpy(buf + 6, "abc", 3);
	ASSERT_EQ_INT(-EBADMSG, seatd_parse_reply(buf, 9, &rep));
}

TEST_MAIN
