/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "keeper/notify.h"

/* Room for a burst of messages while the keeper is busy: systemd asks for
 * 8 MiB on its notify socket too. The kernel caps it at rmem_max. */
#define NOTIFY_RCVBUF (8 * 1024 * 1024)

/*
 * The address is abstract ("@devns-keeper/PID/RANDOM"), not a path:
 *  - nothing is left on disk when the keeper is killed, and no directory
 *    must exist and be writable before the child can run (on small
 *    systems /run may not be ready);
 *  - nobody can plant a file or a symlink in its place beforehand, and 64
 *    random bits make the name impossible to squat: bind() fails on a
 *    name taken, and the keeper draws another.
 * What a path would add, file permissions on who may send, buys nothing
 * here: any process of the network namespace can send to an abstract
 * socket, and that is fine, because the keeper takes a datagram only when
 * the kernel's SCM_CREDENTIALS name the child as its sender (notify_receive
 * and the keeper's pid check). The child must share the keeper's network
 * namespace to reach it, as devnsd does.
 */
int notify_socket_open(char **ret_address)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int one = 1, rcvbuf = NOTIFY_RCVBUF;
	char name[64];
	int fd, r = -EADDRINUSE;

	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0) {
		r = -errno;
		goto fail;
	}
	for (int tries = 0; tries < 16 && r == -EADDRINUSE; tries++) {
		uint64_t rnd;
		int len;

		if (getrandom(&rnd, sizeof(rnd), 0) != sizeof(rnd)) {
			r = -errno;
			goto fail;
		}
		len = snprintf(name, sizeof(name), "devns-keeper/%d/%016" PRIx64, (int)getpid(), rnd);
		sa.sun_path[0] = '\0';
		memcpy(sa.sun_path + 1, name, len);
		r = bind(fd, (struct sockaddr *)&sa, offsetof(struct sockaddr_un, sun_path) + 1 + len);
		if (r < 0)
			r = -errno;
	}
	if (r < 0)
		goto fail;
	/* Best effort: the default buffer works, only smaller. */
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
	if (asprintf(ret_address, "@%s", name) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	return fd;
fail:
	close(fd);
	return r;
}

void notify_datagram_close_fds(struct notify_datagram *d)
{
	for (size_t i = 0; i < d->n_fds; i++)
		close(d->fds[i]);
	d->n_fds = 0;
}

int notify_receive(int sock, struct notify_datagram *d)
{
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * NOTIFY_FD_MAX)];
	} control;
	struct iovec iov = { .iov_base = d->text, .iov_len = NOTIFY_BUFFER_MAX };
	struct msghdr mh = {
		.msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	bool lost_fds = false;
	ssize_t n;

	d->len = 0;
	d->n_fds = 0;
	d->have_creds = false;
	d->text[0] = '\0';
	memset(&control, 0, sizeof(control));
	/* MSG_TRUNC: the datagram's real length, to refuse one that is too
	 * long rather than read its head. */
	do
		n = recvmsg(sock, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;

	/* First take every fd that came along, so that each refusal below
	 * closes them. */
	for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c)) {
		if (c->cmsg_level != SOL_SOCKET)
			continue;
		if (c->cmsg_type == SCM_RIGHTS && c->cmsg_len >= CMSG_LEN(0)) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int fd;

				memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
				if (fd < 0)
					continue;
				if (d->n_fds < NOTIFY_FD_MAX) {
					d->fds[d->n_fds++] = fd;
				} else {
					close(fd);
					lost_fds = true;
				}
			}
		} else if (c->cmsg_type == SCM_CREDENTIALS &&
			   c->cmsg_len == CMSG_LEN(sizeof(struct ucred))) {
			memcpy(&d->creds, CMSG_DATA(c), sizeof(struct ucred));
			d->have_creds = true;
		}
	}

	if ((mh.msg_flags & MSG_CTRUNC) || lost_fds) {
		notify_datagram_close_fds(d);
		return -ENOBUFS;
	}
	if ((size_t)n > NOTIFY_BUFFER_MAX || (mh.msg_flags & MSG_TRUNC)) {
		notify_datagram_close_fds(d);
		return -EMSGSIZE;
	}
	if (!d->have_creds || d->creds.pid <= 0) {
		notify_datagram_close_fds(d);
		return -ENODATA;
	}
	/* One trailing NUL is allowed, as systemd does; none inside. */
	if (n > 1 && memchr(d->text, '\0', n - 1)) {
		notify_datagram_close_fds(d);
		return -EBADMSG;
	}
	d->text[n] = '\0';
	d->len = n;
	return 1;
}

bool fdname_is_valid(const char *s)
{
	if (!s)
		return false;
	for (size_t n = 0; s[n]; n++) {
		unsigned char c = s[n];

		if (n >= FDNAME_MAX || c < ' ' || c >= 127 || c == ':')
			return false;
	}
	return true;
}

void notify_message_parse(char *text, struct notify_message *m)
{
	char *line = text;

	memset(m, 0, sizeof(*m));
	while (line) {
		size_t len = strcspn(line, "\n\r");
		char *next = line[len] ? line + len + 1 : NULL;

		line[len] = '\0';
		if (strcmp(line, "FDSTORE=1") == 0)
			m->fdstore = true;
		else if (strcmp(line, "FDSTOREREMOVE=1") == 0)
			m->fdstoreremove = true;
		else if (strcmp(line, "FDPOLL=0") == 0)
			m->fdpoll_off = true;
		else if (strcmp(line, "READY=1") == 0)
			m->ready = true;
		else if (strcmp(line, "STOPPING=1") == 0)
			m->stopping = true;
		else if (strcmp(line, "BARRIER=1") == 0)
			m->barrier = true;
		else if (!m->fdname && strncmp(line, "FDNAME=", 7) == 0)
			m->fdname = line + 7;
		else if (!m->status && strncmp(line, "STATUS=", 7) == 0)
			m->status = line + 7;
		line = next;
	}
}

static size_t escaped_size(unsigned char c)
{
	return c >= ' ' && c < 127 ? 1 : 4;
}

const char *notify_escape(const char *s, char *buf, size_t size)
{
	size_t o = 0, total = 0;

	for (const char *p = s; *p; p++)
		total += escaped_size(*p);
	for (; *s; s++) {
		unsigned char c = *s;
		size_t need = escaped_size(c);

		/* Cut with "..." when the whole does not fit. */
		if (total + 1 > size && o + need + 4 > size) {
			memcpy(buf + o, "...", 4);
			return buf;
		}
		if (need == 1)
			buf[o++] = c;
		else
			o += snprintf(buf + o, size - o, "\\x%02x", c);
	}
	buf[o] = '\0';
	return buf;
}
