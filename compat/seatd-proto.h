/* SPDX-License-Identifier: MIT */
/*
 * The seatd wire protocol (libseat's "seatd" backend) as a pure codec:
 * messages from and to byte buffers, no system calls, so it can be unit
 * tested and fuzzed. The socket, the fds and what a request means live in
 * compat/seatd-server.c.
 *
 * Where the facts come from (seatd's repository, git.sr.ht/~kennylevinsen/seatd,
 * the state of release 0.7.0, which Debian 12 ships as libseat1/seatd):
 *
 *   include/protocol.h
 *     A message is a header {uint16_t opcode; uint16_t size;} followed by
 *     size bytes of body, in host byte order. Client opcodes 1..7 (open
 *     seat, close seat, open device, close device, disable-seat
 *     acknowledgement, switch session, ping); server opcodes 0x8000 + 1..9
 *     and the error 0x8000 + 0x7FFF. Bodies: open device {uint16_t path_len}
 *     then path_len bytes of NUL-terminated path; close device {int
 *     device_id}; switch session {int session}; seat opened {uint16_t
 *     seat_name_len} then the name; device opened {int device_id} with one
 *     fd as SCM_RIGHTS; error {int error_code}. Limits: path 256 bytes
 *     (MAX_PATH_LEN, NUL included), seat name 64 (MAX_SEAT_LEN), 128
 *     devices per client (MAX_SEAT_DEVICES).
 *
 *   libseat/backend/seatd.c (0.7.0)
 *     Requests that are answered: open seat (SEAT_OPENED, size >= 2),
 *     close seat (SEAT_CLOSED, size 0), open device (DEVICE_OPENED, size
 *     exactly 4, plus the fd), close device (DEVICE_CLOSED, size 0), or an
 *     ERROR of size exactly 4 for any of them. ping is answered by PONG.
 *     disable_seat() and switch_session() only write their request and
 *     flush: 0.7 reads NO reply to them. SESSION_SWITCHED (8) and
 *     SEAT_DISABLED (9) are defined in protocol.h but only later libseat
 *     versions wait for them; a 0.7 client that finds one (or an ERROR)
 *     where it expects the answer to its next request fails that request
 *     and tears the connection down ("Unexpected response"). So this server
 *     answers neither, and reports their failures only in its log.
 *     DISABLE_SEAT and ENABLE_SEAT (size 0) are the only messages a client
 *     accepts unasked. The seat name is copied into a zeroed 64-byte
 *     buffer, so seat_name_len must not exceed 64; with the NUL counted
 *     (as later seatd servers do; the 0.7 server sent strlen()) the name
 *     stays terminated for old and new clients alike.
 *
 *   seatd/client.c (0.7.0)
 *     The server handles a message only once all of its size bytes have
 *     arrived; an unknown opcode, a wrong size or a path_len over
 *     MAX_PATH_LEN is a protocol error that closes the connection.
 *     Closing an unknown device id answers ERROR(EBADF).
 *
 *   seatd/seat.c (0.7.0)
 *     Opening a device needs an enabled (active) client, else EPERM; a path
 *     that is not a DRM/evdev node is ENOENT; opening the same device again
 *     returns the same device id (reference counted); the 129th device is
 *     EMFILE. On disable the server revokes evdev / drops master first,
 *     then sends DISABLE_SEAT; the client acknowledges once. An
 *     acknowledgement that is not expected is EBUSY. Switching needs an
 *     enabled client (EPERM) and a session > 0 (EINVAL). When a client opens
 *     the seat and can be active at once, ENABLE_SEAT follows SEAT_OPENED.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define SEATD_MAX_PATH_LEN 256 /* NUL included */
#define SEATD_MAX_SEAT_LEN 64  /* NUL included */
#define SEATD_MAX_DEVICES 128

#define SEATD_HEADER_SIZE 4
/* The largest bodies: open device and seat opened. */
#define SEATD_MAX_REQUEST_BODY (2 + SEATD_MAX_PATH_LEN)
#define SEATD_MAX_REPLY_BODY (2 + SEATD_MAX_SEAT_LEN)
#define SEATD_MAX_BODY SEATD_MAX_REQUEST_BODY
#define SEATD_MAX_MESSAGE (SEATD_HEADER_SIZE + SEATD_MAX_BODY)

#define SEATD_SERVER_EVENT(n) ((uint16_t)((n) + (1 << 15)))

enum seatd_opcode {
	SEATD_CLIENT_OPEN_SEAT = 1,
	SEATD_CLIENT_CLOSE_SEAT = 2,
	SEATD_CLIENT_OPEN_DEVICE = 3,
	SEATD_CLIENT_CLOSE_DEVICE = 4,
	SEATD_CLIENT_DISABLE_SEAT = 5, /* the acknowledgement of DISABLE_SEAT */
	SEATD_CLIENT_SWITCH_SESSION = 6,
	SEATD_CLIENT_PING = 7,

	SEATD_SERVER_SEAT_OPENED = SEATD_SERVER_EVENT(1),
	SEATD_SERVER_SEAT_CLOSED = SEATD_SERVER_EVENT(2),
	SEATD_SERVER_DEVICE_OPENED = SEATD_SERVER_EVENT(3),
	SEATD_SERVER_DEVICE_CLOSED = SEATD_SERVER_EVENT(4),
	SEATD_SERVER_DISABLE_SEAT = SEATD_SERVER_EVENT(5),
	SEATD_SERVER_ENABLE_SEAT = SEATD_SERVER_EVENT(6),
	SEATD_SERVER_PONG = SEATD_SERVER_EVENT(7),
	/* Defined by the protocol, never sent to libseat 0.7 (see above). */
	SEATD_SERVER_SESSION_SWITCHED = SEATD_SERVER_EVENT(8),
	SEATD_SERVER_SEAT_DISABLED = SEATD_SERVER_EVENT(9),
	SEATD_SERVER_ERROR = SEATD_SERVER_EVENT(0x7FFF),
};

/* A client message. */
struct seatd_request {
	uint16_t opcode;
	int32_t device_id; /* close device */
	int32_t session;   /* switch session */
	char path[SEATD_MAX_PATH_LEN]; /* open device, NUL-terminated */
};

/* A server message, as a client reads it. */
struct seatd_reply {
	uint16_t opcode;
	int32_t device_id; /* device opened */
	int32_t error;     /* error: a positive errno */
	char seat_name[SEATD_MAX_SEAT_LEN]; /* seat opened, NUL-terminated */
};

const char *seatd_opcode_to_string(uint16_t opcode);

/*
 * Parsers take the first message of buf. They return its length in bytes
 * (> 0) when it is complete and well formed, 0 when buf holds only the
 * start of one (read more), or a negative errno for a protocol error after
 * which the stream cannot be trusted: -EMSGSIZE for a size larger than any
 * message of that direction, -EBADMSG for a size that does not fit the
 * opcode or a string that is not exactly NUL-terminated, -EOPNOTSUPP for an
 * unknown opcode.
 */
ssize_t seatd_parse_request(const void *buf, size_t len, struct seatd_request *ret);
ssize_t seatd_parse_reply(const void *buf, size_t len, struct seatd_reply *ret);

/*
 * Serializers write one whole message to buf (SEATD_MAX_MESSAGE bytes are
 * always enough) and return its length, or -ENOBUFS if size is too small,
 * -EINVAL for an opcode of the wrong direction, -ENAMETOOLONG for a string
 * over its limit.
 */
ssize_t seatd_write_request(void *buf, size_t size, const struct seatd_request *req);
ssize_t seatd_write_reply(void *buf, size_t size, const struct seatd_reply *reply);
