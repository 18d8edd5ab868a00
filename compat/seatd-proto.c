/* SPDX-License-Identifier: MIT */
/* The seatd wire protocol codec; the sources of each rule are listed in
 * seatd-proto.h. Fields are copied with memcpy: the wire has no alignment. */
#include <errno.h>
#include <string.h>

#include "compat/seatd-proto.h"

const char *seatd_opcode_to_string(uint16_t opcode)
{
	switch (opcode) {
	case SEATD_CLIENT_OPEN_SEAT:
		return "open-seat";
	case SEATD_CLIENT_CLOSE_SEAT:
		return "close-seat";
	case SEATD_CLIENT_OPEN_DEVICE:
		return "open-device";
	case SEATD_CLIENT_CLOSE_DEVICE:
		return "close-device";
	case SEATD_CLIENT_DISABLE_SEAT:
		return "disable-seat-ack";
	case SEATD_CLIENT_SWITCH_SESSION:
		return "switch-session";
	case SEATD_CLIENT_PING:
		return "ping";
	case SEATD_SERVER_SEAT_OPENED:
		return "seat-opened";
	case SEATD_SERVER_SEAT_CLOSED:
		return "seat-closed";
	case SEATD_SERVER_DEVICE_OPENED:
		return "device-opened";
	case SEATD_SERVER_DEVICE_CLOSED:
		return "device-closed";
	case SEATD_SERVER_DISABLE_SEAT:
		return "disable-seat";
	case SEATD_SERVER_ENABLE_SEAT:
		return "enable-seat";
	case SEATD_SERVER_PONG:
		return "pong";
	case SEATD_SERVER_SESSION_SWITCHED:
		return "session-switched";
	case SEATD_SERVER_SEAT_DISABLED:
		return "seat-disabled";
	case SEATD_SERVER_ERROR:
		return "error";
	}
	return "unknown";
}

static uint16_t get_u16(const uint8_t *p)
{
	uint16_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/* A body that is one int32_t, and nothing else. */
static int parse_i32(const uint8_t *body, size_t size, int32_t *out)
{
	if (size != sizeof(*out))
		return -EBADMSG;
	memcpy(out, body, sizeof(*out));
	return 0;
}

static void put_u16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put_i32(uint8_t *p, int32_t v)
{
	memcpy(p, &v, sizeof(v));
}

/* A length-prefixed string body: {uint16_t len} then len bytes, the last of
 * which, and only it, is NUL. Copies it to out (out_size >= max). */
static int parse_string(const uint8_t *body, size_t size, size_t max, char *out)
{
	uint16_t len;

	if (size < 2)
		return -EBADMSG;
	len = get_u16(body);
	if (len == 0 || len > max || (size_t)len + 2 != size)
		return -EBADMSG;
	if (body[2 + len - 1] != '\0' || memchr(body + 2, '\0', len - 1))
		return -EBADMSG;
	memcpy(out, body + 2, len);
	return 0;
}

/* The header, and whether the whole message is there. */
static ssize_t parse_header(const void *buf, size_t len, size_t max_body, uint16_t *opcode,
			    const uint8_t **body, uint16_t *size)
{
	const uint8_t *p = buf;

	if (len < SEATD_HEADER_SIZE)
		return 0;
	*opcode = get_u16(p);
	*size = get_u16(p + 2);
	/* Judged before waiting for the body: a peer announcing more than
	 * any message holds would otherwise make the reader wait forever. */
	if (*size > max_body)
		return -EMSGSIZE;
	if (len < (size_t)SEATD_HEADER_SIZE + *size)
		return 0;
	*body = p + SEATD_HEADER_SIZE;
	return SEATD_HEADER_SIZE + *size;
}

ssize_t seatd_parse_request(const void *buf, size_t len, struct seatd_request *ret)
{
	const uint8_t *body = NULL;
	uint16_t opcode = 0, size = 0;
	ssize_t n;
	int r;

	n = parse_header(buf, len, SEATD_MAX_REQUEST_BODY, &opcode, &body, &size);
	if (n <= 0)
		return n;
	memset(ret, 0, sizeof(*ret));
	ret->opcode = opcode;
	switch (opcode) {
	case SEATD_CLIENT_OPEN_SEAT:
	case SEATD_CLIENT_CLOSE_SEAT:
	case SEATD_CLIENT_DISABLE_SEAT:
	case SEATD_CLIENT_PING:
		return size == 0 ? n : -EBADMSG;
	case SEATD_CLIENT_OPEN_DEVICE:
		r = parse_string(body, size, SEATD_MAX_PATH_LEN, ret->path);
		return r < 0 ? r : n;
	case SEATD_CLIENT_CLOSE_DEVICE:
		r = parse_i32(body, size, &ret->device_id);
		return r < 0 ? r : n;
	case SEATD_CLIENT_SWITCH_SESSION:
		r = parse_i32(body, size, &ret->session);
		return r < 0 ? r : n;
	}
	return -EOPNOTSUPP;
}

ssize_t seatd_parse_reply(const void *buf, size_t len, struct seatd_reply *ret)
{
	const uint8_t *body = NULL;
	uint16_t opcode = 0, size = 0;
	ssize_t n;
	int r;

	n = parse_header(buf, len, SEATD_MAX_REPLY_BODY, &opcode, &body, &size);
	if (n <= 0)
		return n;
	memset(ret, 0, sizeof(*ret));
	ret->opcode = opcode;
	switch (opcode) {
	case SEATD_SERVER_SEAT_CLOSED:
	case SEATD_SERVER_DEVICE_CLOSED:
	case SEATD_SERVER_DISABLE_SEAT:
	case SEATD_SERVER_ENABLE_SEAT:
	case SEATD_SERVER_PONG:
	case SEATD_SERVER_SESSION_SWITCHED:
	case SEATD_SERVER_SEAT_DISABLED:
		return size == 0 ? n : -EBADMSG;
	case SEATD_SERVER_SEAT_OPENED:
		r = parse_string(body, size, SEATD_MAX_SEAT_LEN, ret->seat_name);
		return r < 0 ? r : n;
	case SEATD_SERVER_DEVICE_OPENED:
		r = parse_i32(body, size, &ret->device_id);
		return r < 0 ? r : n;
	case SEATD_SERVER_ERROR:
		r = parse_i32(body, size, &ret->error);
		return r < 0 ? r : n;
	}
	return -EOPNOTSUPP;
}

static ssize_t write_message(void *buf, size_t size, uint16_t opcode,
			     const void *body, size_t body_len)
{
	uint8_t *p = buf;

	if (body_len > SEATD_MAX_BODY)
		return -EINVAL;
	if (size < SEATD_HEADER_SIZE + body_len)
		return -ENOBUFS;
	put_u16(p, opcode);
	put_u16(p + 2, (uint16_t)body_len);
	if (body_len)
		memcpy(p + SEATD_HEADER_SIZE, body, body_len);
	return (ssize_t)(SEATD_HEADER_SIZE + body_len);
}

static ssize_t write_string(void *buf, size_t size, uint16_t opcode, const char *s, size_t max)
{
	uint8_t body[2 + SEATD_MAX_PATH_LEN];
	size_t len = strnlen(s, max) + 1;

	if (len > max)
		return -ENAMETOOLONG;
	put_u16(body, (uint16_t)len);
	memcpy(body + 2, s, len);
	return write_message(buf, size, opcode, body, 2 + len);
}

static ssize_t write_i32(void *buf, size_t size, uint16_t opcode, int32_t v)
{
	uint8_t body[4];

	put_i32(body, v);
	return write_message(buf, size, opcode, body, sizeof(body));
}

ssize_t seatd_write_request(void *buf, size_t size, const struct seatd_request *req)
{
	switch (req->opcode) {
	case SEATD_CLIENT_OPEN_SEAT:
	case SEATD_CLIENT_CLOSE_SEAT:
	case SEATD_CLIENT_DISABLE_SEAT:
	case SEATD_CLIENT_PING:
		return write_message(buf, size, req->opcode, NULL, 0);
	case SEATD_CLIENT_OPEN_DEVICE:
		return write_string(buf, size, req->opcode, req->path, SEATD_MAX_PATH_LEN);
	case SEATD_CLIENT_CLOSE_DEVICE:
		return write_i32(buf, size, req->opcode, req->device_id);
	case SEATD_CLIENT_SWITCH_SESSION:
		return write_i32(buf, size, req->opcode, req->session);
	}
	return -EINVAL;
}

ssize_t seatd_write_reply(void *buf, size_t size, const struct seatd_reply *reply)
{
	switch (reply->opcode) {
	case SEATD_SERVER_SEAT_CLOSED:
	case SEATD_SERVER_DEVICE_CLOSED:
	case SEATD_SERVER_DISABLE_SEAT:
	case SEATD_SERVER_ENABLE_SEAT:
	case SEATD_SERVER_PONG:
	case SEATD_SERVER_SESSION_SWITCHED:
	case SEATD_SERVER_SEAT_DISABLED:
		return write_message(buf, size, reply->opcode, NULL, 0);
	case SEATD_SERVER_SEAT_OPENED:
		return write_string(buf, size, reply->opcode, reply->seat_name, SEATD_MAX_SEAT_LEN);
	case SEATD_SERVER_DEVICE_OPENED:
		return write_i32(buf, size, reply->opcode, reply->device_id);
	case SEATD_SERVER_ERROR:
		return write_i32(buf, size, reply->opcode, reply->error);
	}
	return -EINVAL;
}
