/* SPDX-License-Identifier: MIT */
/*
 * The receiving side of sd_notify(3): the socket the child finds in
 * $NOTIFY_SOCKET, one datagram read with its sender's credentials and
 * file descriptors, and the parse of its KEY=VALUE lines, the way systemd
 * (src/core/manager.c, service.c) reads them.
 *
 * Everything in a datagram is hostile until checked: any process that can
 * reach the socket may send one, with up to SCM_MAX_FD file descriptors.
 * Nothing here logs; the keeper decides what a refusal means.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* The largest datagram taken, as systemd's NOTIFY_BUFFER_MAX (PIPE_BUF). */
#define NOTIFY_BUFFER_MAX 4096
/* The kernel passes at most SCM_MAX_FD (253) fds with one datagram. */
#define NOTIFY_FD_MAX 253
/* The longest name of a stored fd, as systemd's FDNAME_MAX. */
#define FDNAME_MAX 255

/* A new notify socket: AF_UNIX, SOCK_DGRAM, non-blocking, close-on-exec,
 * with SO_PASSCRED, bound to a fresh abstract address. *ret_address is
 * that address as $NOTIFY_SOCKET spells it ("@devns-keeper/..."). The fd
 * or -errno. */
int notify_socket_open(char **ret_address);

struct notify_datagram {
	char text[NOTIFY_BUFFER_MAX + 1]; /* NUL-terminated */
	size_t len;
	bool have_creds;
	struct ucred creds;
	int fds[NOTIFY_FD_MAX]; /* close-on-exec, owned by the caller */
	size_t n_fds;
};

/*
 * Reads one datagram. 1: d holds it, text NUL-terminated, and the caller
 * owns d->fds. A datagram that is refused has its fds closed already
 * (d->n_fds is 0) and d->creds filled in when it had them:
 *   -EMSGSIZE  longer than NOTIFY_BUFFER_MAX
 *   -ENOBUFS   its control data was cut (MSG_CTRUNC: more fds than the
 *              keeper could take, or more than fit)
 *   -ENODATA   no sender credentials
 *   -EBADMSG   a NUL byte inside the text
 * -EAGAIN when nothing is queued; another -errno when recvmsg() fails.
 */
int notify_receive(int sock, struct notify_datagram *d);

/* Closes the fds d still holds. */
void notify_datagram_close_fds(struct notify_datagram *d);

/* systemd's fdname_is_valid(): at most FDNAME_MAX bytes of printable
 * ASCII (0x20-0x7e) other than ':', which separates $LISTEN_FDNAMES. The
 * empty name is valid, as in systemd. */
bool fdname_is_valid(const char *s);

/* What a datagram asks, as systemd reads it: lines separated by '\n' or
 * '\r'; a flag is its whole line ("FDSTORE=1"); of a repeated KEY= the
 * first counts. Pointers point into the parsed text. */
struct notify_message {
	bool fdstore;       /* FDSTORE=1 */
	bool fdstoreremove; /* FDSTOREREMOVE=1 */
	bool fdpoll_off;    /* FDPOLL=0 */
	bool ready;         /* READY=1 */
	bool stopping;      /* STOPPING=1 */
	bool barrier;       /* BARRIER=1 */
	const char *fdname; /* FDNAME=..., or NULL */
	const char *status; /* STATUS=..., or NULL */
};

/* Parses text in place (its line ends become NULs). */
void notify_message_parse(char *text, struct notify_message *ret);

/* s made safe for a log line: bytes outside 0x20-0x7e as \xNN, cut to fit
 * buf (with "..."), which is returned. size must be at least 8. */
const char *notify_escape(const char *s, char *buf, size_t size);
