/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/lsan_interface.h>
/* What sd-bus forgets of a dropped message is known (below): LeakSanitizer
 * is not to report it. Only the hand-over of a message with fds is hidden. */
#define lsan_disable() __lsan_disable()
#define lsan_enable() __lsan_enable()
#else
#define lsan_disable() do { } while (0)
#define lsan_enable() do { } while (0)
#endif

#include "common/fd-pass.h"
#include "common/log.h"
#include "common/macro.h"
#include "dbus/endpoint-input.h"

#define MESSAGE_FDS_MAX FD_PASS_MAX
/* sd-bus refuses longer handshake lines too. */
#define AUTH_LINE_MAX 1024
/* Messages read in one wake-up before others get their turn. */
#define MESSAGES_PER_WAKEUP 32

struct endpoint_input {
	int client_fd;
	int feed_fd; /* our end of sd-bus's input socket */
	sd_event_source *source;
	const struct endpoint_input_ops *ops;
	void *userdata;
	bool stopped;

	/* The handshake: a NUL byte, then text lines up to BEGIN. */
	bool running;
	bool got_nul;
	size_t line_len;
	char line[8];

	/* The message being read: its header first, then exactly the rest,
	 * as sd-bus reads, so that fds are seen with the message they came
	 * with. Nothing is allocated between messages. */
	uint8_t *buf;
	size_t len, size; /* size 0: the header is not complete yet */
	uint32_t serial;
	int *fds;
	size_t n_fds;

	uint32_t dispatched_serial;
	bool dispatched;
};

int endpoint_message_size(const uint8_t hdr[16], size_t *ret_size, uint32_t *ret_serial)
{
	uint32_t body, serial, fields;
	uint64_t size;

	memcpy(&body, hdr + 4, 4);
	memcpy(&serial, hdr + 8, 4);
	memcpy(&fields, hdr + 12, 4);
	if (hdr[0] == 'l') {
		body = le32toh(body), serial = le32toh(serial), fields = le32toh(fields);
	} else if (hdr[0] == 'B') {
		body = be32toh(body), serial = be32toh(serial), fields = be32toh(fields);
	} else {
		return -EBADMSG;
	}
	/* The fixed header, the field array padded to 8, the body. */
	size = 16 + (((uint64_t)fields + 7) & ~UINT64_C(7)) + body;
	if (size > ENDPOINT_MESSAGE_MAX)
		return -EMSGSIZE;
	*ret_size = (size_t)size;
	*ret_serial = serial;
	return 0;
}

static void close_fds(int *fds, size_t *n)
{
	fd_pass_close(fds, *n);
	*n = 0;
}

/* Done with the message being read: nothing kept between messages. */
static void message_reset(struct endpoint_input *in)
{
	close_fds(in->fds, &in->n_fds);
	free(in->fds);
	in->fds = NULL;
	free(in->buf);
	in->buf = NULL;
	in->len = in->size = 0;
}

static void hang_up(struct endpoint_input *in, const char *why)
{
	if (in->stopped)
		return;
	in->stopped = true;
	sd_event_source_set_enabled(in->source, SD_EVENT_OFF);
	in->ops->hang_up(in->userdata, why);
}

/* Writes to sd-bus's input; when its socket is full, lets sd-bus read. */
static int feed(struct endpoint_input *in, const uint8_t *p, size_t n, const int *fds, size_t n_fds)
{
	unsigned stalls = 0;
	int r;

	while (n > 0) {
		ssize_t k = fd_pass_send(in->feed_fd, p, n, fds, n_fds);

		if (k < 0) {
			if (k != -EAGAIN)
				return (int)k;
			if (++stalls > 2)
				return -ENOBUFS; /* sd-bus stopped reading */
			r = in->ops->process(in->userdata);
			if (r < 0)
				return r;
			continue;
		}
		stalls = 0;
		p += k;
		n -= (size_t)k;
		n_fds = 0; /* they went with the first byte */
	}
	return 0;
}

/* The fd numbers open now, ascending. */
static int fd_snapshot(int **ret, size_t *ret_n)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int *fds = NULL;
	size_t n = 0, cap = 0;

	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		/* Not the directory's own fd: it is closed on return. */
		if (de->d_name[0] == '.' || atoi(de->d_name) == dirfd(d))
			continue;
		if (n == cap) {
			int *more = realloc(fds, (cap = cap ? cap * 2 : 256) * sizeof(int));
			if (!more) {
				free(fds);
				closedir(d);
				return -ENOMEM;
			}
			fds = more;
		}
		fds[n++] = atoi(de->d_name);
	}
	closedir(d);
	*ret = fds;
	*ret_n = n;
	return 0;
}

static bool fd_in(const int *fds, size_t n, int fd)
{
	for (size_t i = 0; i < n; i++)
		if (fds[i] == fd)
			return true;
	return false;
}

/* sd-bus dropped the message without dispatching it: its copies of our fds
 * are the fds opened since the snapshot that refer to the same files. */
static void close_dropped_copies(struct endpoint_input *in, const int *before, size_t n_before)
{
	_cleanup_free_ int *now = NULL;
	size_t n_now = 0;
	pid_t pid = getpid();
	unsigned closed = 0;

	if (fd_snapshot(&now, &n_now) < 0)
		return;
	for (size_t i = 0; i < n_now; i++) {
		if (fd_in(before, n_before, now[i]) || fd_in(in->fds, in->n_fds, now[i]))
			continue;
		for (size_t j = 0; j < in->n_fds; j++)
			if (syscall(SYS_kcmp, pid, pid, KCMP_FILE, now[i], in->fds[j]) == 0) {
				close(now[i]);
				closed++;
				break;
			}
	}
	if (closed)
		log_debug("Endpoint: closed %u fds of a message sd-bus dropped", closed);
}

/* sd-bus gets a message with fds in a process step of its own, so
 * whether it took the message into its care is known: dispatched, its fds
 * are closed with it; dropped as invalid, they are not, and we close them. */
static int hand_over_with_fds(struct endpoint_input *in)
{
	_cleanup_free_ int *before = NULL;
	size_t n_before = 0;
	int r;

	r = fd_snapshot(&before, &n_before);
	if (r < 0)
		return r;
	in->dispatched = false;
	lsan_disable();
	r = feed(in, in->buf, in->size, in->fds, in->n_fds);
	if (r >= 0)
		r = in->ops->process(in->userdata);
	lsan_enable();
	/* Only with the connection still up is "not dispatched" certain:
	 * a closing sd-bus still holds its queue and closes it itself. */
	if (r >= 0 && !(in->dispatched && in->dispatched_serial == in->serial)) {
		close_dropped_copies(in, before, n_before);
		/* sd-bus also forgets the array that listed them (4 bytes an
		 * fd): no second such message on this connection. */
		hang_up(in, "invalid message with fds");
		r = -EBADMSG;
	}
	return r;
}

/* Scans handshake bytes: notes where the BEGIN line ends, and returns how
 * many of the n bytes belong to the handshake. */
static size_t scan_handshake(struct endpoint_input *in, const char *p, size_t n, bool *too_long)
{
	for (size_t i = 0; i < n; i++) {
		if (!in->got_nul) {
			in->got_nul = true; /* sd-bus checks that it is a NUL */
			continue;
		}
		if (p[i] == '\n') {
			bool begin = in->line_len == 6 && memcmp(in->line, "BEGIN\r", 6) == 0;

			in->line_len = 0;
			if (begin) {
				in->running = true;
				return i + 1;
			}
			continue;
		}
		if (in->line_len < sizeof(in->line))
			in->line[in->line_len] = p[i];
		if (++in->line_len > AUTH_LINE_MAX) {
			*too_long = true;
			return i;
		}
	}
	return n;
}

/* recvmsg() of exactly what is wanted, with the fds that come along;
 * > 0 bytes read, 0 nothing to read now, < 0 the connection is over. */
static ssize_t read_some(struct endpoint_input *in, void *p, size_t want, int *fds,
			 size_t *n_fds)
{
	bool truncated;
	ssize_t n;

	*n_fds = 0;
	n = fd_pass_recv(in->client_fd, p, want, fds, MESSAGE_FDS_MAX, n_fds, &truncated);
	if (n == -EAGAIN)
		return 0;
	if (n < 0) {
		hang_up(in, "read error");
		return n;
	}
	if (n == 0) {
		close_fds(fds, n_fds);
		hang_up(in, "closed");
		return -ECONNRESET;
	}
	if (truncated) {
		close_fds(fds, n_fds);
		hang_up(in, "too many fds");
		return -EBADMSG;
	}
	return n;
}

/* Handshake lines go to sd-bus as they come, up to the end of BEGIN; what
 * follows is read as messages. A peek finds that end first, so that the
 * first message and its fds are not read along with the handshake. */
static int read_handshake(struct endpoint_input *in)
{
	char peek[AUTH_LINE_MAX + 8];
	int fds[MESSAGE_FDS_MAX];
	size_t n_fds, k;
	bool too_long = false;
	ssize_t n;
	int r;

	n = recv(in->client_fd, peek, sizeof(peek), MSG_PEEK | MSG_DONTWAIT);
	if (n < 0) {
		if (errno != EAGAIN && errno != EINTR)
			hang_up(in, "read error");
		return 0;
	}
	if (n == 0) {
		hang_up(in, "closed");
		return 0;
	}
	k = scan_handshake(in, peek, (size_t)n, &too_long);
	if (too_long) {
		hang_up(in, "handshake line too long");
		return 0;
	}
	n = read_some(in, peek, k, fds, &n_fds);
	if (n <= 0)
		return 0;
	if (n_fds > 0 || (size_t)n != k) {
		/* sd-bus fails a handshake that brings fds; it would then
		 * neither answer nor hang up. */
		close_fds(fds, &n_fds);
		hang_up(in, "fds during the handshake");
		return 0;
	}
	r = feed(in, (const uint8_t *)peek, k, NULL, 0);
	if (r >= 0)
		r = in->ops->process(in->userdata);
	if (r < 0)
		hang_up(in, "sd-bus did not take the handshake");
	return 0;
}

/* Reads some of the current message; hands it over once whole. 1: more
 * may follow at once, 0: wait for the socket, < 0: hung up. */
static int read_message(struct endpoint_input *in)
{
	int fds[MESSAGE_FDS_MAX];
	size_t n_fds, want;
	ssize_t n;
	int r;

	if (!in->buf) {
		in->buf = malloc(16);
		if (!in->buf) {
			hang_up(in, "out of memory");
			return -ENOMEM;
		}
	}
	want = (in->size ? in->size : 16) - in->len;
	n = read_some(in, in->buf + in->len, want, fds, &n_fds);
	if (n <= 0)
		return (int)n;
	if (n_fds > 0) {
		int *more;

		if (in->n_fds + n_fds > MESSAGE_FDS_MAX ||
		    !(more = realloc(in->fds, (in->n_fds + n_fds) * sizeof(int)))) {
			close_fds(fds, &n_fds);
			hang_up(in, "too many fds");
			return -EBADMSG;
		}
		in->fds = more;
		memcpy(in->fds + in->n_fds, fds, n_fds * sizeof(int));
		in->n_fds += n_fds;
	}
	in->len += (size_t)n;
	if (!in->size) {
		uint8_t *b;

		if (in->len < 16)
			return 1;
		r = endpoint_message_size(in->buf, &in->size, &in->serial);
		if (r < 0) {
			hang_up(in, r == -EMSGSIZE ? "message too large" : "not a D-Bus message");
			return r;
		}
		b = realloc(in->buf, in->size);
		if (!b) {
			hang_up(in, "out of memory");
			return -ENOMEM;
		}
		in->buf = b;
	}
	if (in->len < in->size)
		return 1;

	r = in->n_fds > 0 ? hand_over_with_fds(in) : feed(in, in->buf, in->size, NULL, 0);
	message_reset(in);
	if (r < 0) {
		hang_up(in, "sd-bus did not take a message");
		return r;
	}
	return 1;
}

static int on_client_readable(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct endpoint_input *in = userdata;
	int r = 1;

	if (!in->running)
		return read_handshake(in);
	for (unsigned i = 0; r > 0 && i < MESSAGES_PER_WAKEUP && !in->stopped; i++)
		r = read_message(in);
	if (!in->stopped && in->ops->process(in->userdata) < 0)
		hang_up(in, "sd-bus did not take a message");
	return 0;
}

int endpoint_input_new(sd_event *event, int client_fd, const struct endpoint_input_ops *ops,
		       void *userdata, struct endpoint_input **ret, int *ret_bus_input,
		       int *ret_bus_output)
{
	_cleanup_close_ int out = -1;
	struct endpoint_input *in;
	int pair[2], size = ENDPOINT_MESSAGE_MAX;
	int r;

	in = calloc(1, sizeof(*in));
	if (!in) {
		close(client_fd);
		return -ENOMEM;
	}
	in->client_fd = client_fd;
	in->feed_fd = -1;
	in->ops = ops;
	in->userdata = userdata;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, pair) < 0) {
		r = -errno;
		goto fail;
	}
	in->feed_fd = pair[0];
	/* Room for a whole message, so that handing one over seldom waits
	 * for sd-bus; root may go past wmem_max. */
	if (setsockopt(pair[0], SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size)) < 0)
		(void)setsockopt(pair[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof(size));
	out = fcntl(client_fd, F_DUPFD_CLOEXEC, 3);
	if (out < 0) {
		r = -errno;
		close(pair[1]);
		goto fail;
	}
	r = sd_event_add_io(event, &in->source, client_fd, EPOLLIN, on_client_readable, in);
	if (r < 0) {
		close(pair[1]);
		goto fail;
	}
	*ret = in;
	*ret_bus_input = pair[1];
	*ret_bus_output = TAKE_FD(out);
	return 0;
fail:
	endpoint_input_free(in);
	return r;
}

void endpoint_input_free(struct endpoint_input *in)
{
	if (!in)
		return;
	sd_event_source_disable_unref(in->source);
	message_reset(in);
	if (in->feed_fd >= 0)
		close(in->feed_fd);
	if (in->client_fd >= 0)
		close(in->client_fd);
	free(in);
}

void endpoint_input_dispatched(struct endpoint_input *in, sd_bus_message *m)
{
	uint64_t serial;

	if (!in || sd_bus_message_get_cookie(m, &serial) < 0)
		return;
	in->dispatched = true;
	in->dispatched_serial = (uint32_t)serial;
}
