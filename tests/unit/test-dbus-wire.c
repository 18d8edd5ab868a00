/* SPDX-License-Identifier: MIT */
/*
 * A container's endpoint on the wire, against a broker built in-process
 * (see fixture.h): raw clients that send what sd-bus clients never send,
 * fds with an invalid message or during the handshake, a message larger
 * than any call, messages cut anywhere or joined in one write; clients
 * that read slowly or not at all.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/sockios.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/fd-pass.h"
#include "common/macro.h"
#include "dbus/endpoint-input.h"
#include "fixture.h"

struct raw_msg {
	uint8_t b[512];
	size_t n;
};

static void raw_pad(struct raw_msg *m, size_t align)
{
	while (m->n % align)
		m->b[m->n++] = 0;
}

static void raw_u32(struct raw_msg *m, uint32_t v)
{
	raw_pad(m, 4);
	memcpy(m->b + m->n, &v, 4);
	m->n += 4;
}

static void raw_sig(struct raw_msg *m, const char *sig)
{
	m->b[m->n++] = (uint8_t)strlen(sig);
	memcpy(m->b + m->n, sig, strlen(sig) + 1);
	m->n += strlen(sig) + 1;
}

static void raw_field(struct raw_msg *m, uint8_t code, char type, const char *text, uint32_t u)
{
	char sig[2] = { type, 0 };

	raw_pad(m, 8);
	m->b[m->n++] = code;
	raw_sig(m, sig);
	if (type == 'g') {
		raw_sig(m, text);
	} else if (type == 'u') {
		raw_u32(m, u);
	} else {
		raw_u32(m, (uint32_t)strlen(text));
		memcpy(m->b + m->n, text, strlen(text) + 1);
		m->n += strlen(text) + 1;
	}
}

/* A little-endian method call; with n_fds, its signature is "h" and the
 * body the index 0, and the header claims unix_fds. */
static void raw_call(struct raw_msg *m, uint32_t serial, const char *interface,
		     const char *member, uint32_t unix_fds)
{
	uint32_t fields_len, body_len = unix_fds ? 4 : 0;

	memset(m, 0, sizeof(*m));
	m->b[0] = 'l', m->b[1] = 1, m->b[3] = 1;
	memcpy(m->b + 8, &serial, 4);
	m->n = 16;
	raw_field(m, 1, 'o', SELF_PATH, 0);
	raw_field(m, 2, 's', interface, 0);
	raw_field(m, 3, 's', member, 0);
	if (unix_fds) {
		raw_field(m, 8, 'g', "h", 0);
		raw_field(m, 9, 'u', NULL, unix_fds);
	}
	fields_len = (uint32_t)(m->n - 16);
	raw_pad(m, 8);
	if (unix_fds)
		raw_u32(m, 0);
	memcpy(m->b + 4, &body_len, 4);
	memcpy(m->b + 12, &fields_len, 4);
}

static int raw_send(int fd, const void *data, size_t n, const int *fds, size_t n_fds)
{
	return fd_pass_send(fd, data, n, fds, n_fds) == (ssize_t)n ? 0 : -1;
}

/* Runs the broker until fd has bytes (returns how many it read into buf)
 * or is closed (0); -1 on timeout. */
static ssize_t raw_wait(struct fixture *f, int fd, void *buf, size_t size)
{
	uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

	while (fx_now() < deadline) {
		ssize_t n = recv(fd, buf, size, MSG_DONTWAIT);

		if (n >= 0)
			return n;
		if (errno != EAGAIN)
			return 0;
		if (sd_event_run(f->b->event, 10000) < 0)
			break;
	}
	return -1;
}

static unsigned open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	unsigned n = 0;

	if (!d)
		return 0;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static const char raw_handshake[] = "\0AUTH EXTERNAL\r\nNEGOTIATE_UNIX_FD\r\nBEGIN\r\n";

/* The handshake, then a Ping to be sure the connection runs. */
static int raw_client(struct fixture *f, const char *name)
{
	char path[PATH_MAX], reply[256];
	struct raw_msg ping;
	ssize_t n = 0;
	int fd;

	fx_endpoint_path(f, name, path, sizeof(path));
	fd = fx_connect(path);
	if (fd < 0)
		return -1;
	raw_call(&ping, 1, "org.freedesktop.DBus.Peer", "Ping", 0);
	if (raw_send(fd, raw_handshake, sizeof(raw_handshake) - 1, NULL, 0) < 0 ||
	    raw_send(fd, ping.b, ping.n, NULL, 0) < 0) {
		close(fd);
		return -1;
	}
	/* OK, AGREE_UNIX_FD, then the method return (type 2). */
	for (size_t got = 0; got < sizeof(reply); got += (size_t)n) {
		char *ret;

		n = raw_wait(f, fd, reply + got, sizeof(reply) - got);
		if (n <= 0)
			break;
		ret = memmem(reply, got + (size_t)n, "AGREE_UNIX_FD\r\n", 15);
		if (ret && (size_t)(ret - reply) + 15 + 16 <= got + (size_t)n && ret[15] == 'l' && ret[16] == 2)
			return fd;
	}
	close(fd);
	return -1;
}

/* sd-bus drops an invalid message without closing the fds that came with
 * it: the endpoint closes them and hangs up. A valid message's fds are
 * closed with it. Either way the broker holds no more fds than before. */
TEST(endpoint_message_fds_not_kept)
{
	struct fixture *f;
	struct raw_msg bad, good, ping;
	char reply[256];
	unsigned before, after;
	int fd, fds[20];

	FX_SETUP(f, false);
	if (!fx_add_container(f, "web-1", 0, false))
		FAIL("cannot add web-1");
	for (unsigned i = 0; i < ARRAY_SIZE(fds); i++)
		fds[i] = open("/dev/null", O_RDONLY | O_CLOEXEC);
	/* The header counts one fd more than it brings: invalid. */
	raw_call(&bad, 2, CONTAINER_INTERFACE, "TakeControl", ARRAY_SIZE(fds) + 1);
	/* Valid, and refused for its arguments: dispatched. */
	raw_call(&good, 3, CONTAINER_INTERFACE, "TakeControl", ARRAY_SIZE(fds));
	raw_call(&ping, 4, "org.freedesktop.DBus.Peer", "Ping", 0);

	fx_run_pending(f);
	before = open_fds();
	fd = raw_client(f, "web-1");
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ_INT(0, raw_send(fd, bad.b, bad.n, fds, ARRAY_SIZE(fds)));
	ASSERT_EQ_INT(0, raw_send(fd, ping.b, ping.n, NULL, 0));
	if (raw_wait(f, fd, reply, sizeof(reply)) != 0)
		EXPECT_FAIL("an invalid message with fds: the connection stayed open");
	close(fd);
	fx_run_pending(f);
	after = open_fds();
	if (after != before)
		EXPECT_FAIL("an invalid message with 20 fds: the broker holds %d fds more",
			    (int)after - (int)before);

	fd = raw_client(f, "web-1");
	ASSERT_TRUE(fd >= 0);
	fx_run_pending(f);
	before = open_fds();
	ASSERT_EQ_INT(0, raw_send(fd, good.b, good.n, fds, ARRAY_SIZE(fds)));
	ASSERT_EQ_INT(0, raw_send(fd, ping.b, ping.n, NULL, 0));
	/* The error for TakeControl (type 3), then the Ping's return (2). */
	for (int answers = 0; answers < 2;) {
		ssize_t n = raw_wait(f, fd, reply, sizeof(reply));

		if (n <= 0) {
			EXPECT_FAIL("the connection %s", n == 0 ? "was closed" : "did not answer");
			break;
		}
		for (ssize_t i = 0; i + 1 < n; i++)
			if (reply[i] == 'l' && (reply[i + 1] == 2 || reply[i + 1] == 3))
				answers++;
	}
	fx_run_pending(f);
	after = open_fds();
	if (after != before)
		EXPECT_FAIL("a valid message with 20 fds: the broker holds %d fds more",
			    (int)after - (int)before);

	close(fd);

	/* An invalid message under the serial of a valid one dispatched just
	 * before it: judged by itself, not by the serial last dispatched. */
	fx_run_pending(f);
	before = open_fds();
	fd = raw_client(f, "web-1");
	ASSERT_TRUE(fd >= 0);
	raw_call(&bad, 3, CONTAINER_INTERFACE, "TakeControl", ARRAY_SIZE(fds) + 1);
	ASSERT_EQ_INT(0, raw_send(fd, good.b, good.n, fds, ARRAY_SIZE(fds)));
	ASSERT_EQ_INT(0, raw_send(fd, bad.b, bad.n, fds, ARRAY_SIZE(fds)));
	ASSERT_EQ_INT(0, raw_send(fd, ping.b, ping.n, NULL, 0));
	for (;;) {
		ssize_t n = raw_wait(f, fd, reply, sizeof(reply));

		if (n == 0)
			break;
		if (n < 0) {
			EXPECT_FAIL("an invalid message with a dispatched serial: the connection stayed open");
			break;
		}
	}
	close(fd);
	fx_run_pending(f);
	after = open_fds();
	if (after != before)
		EXPECT_FAIL("an invalid message with a dispatched serial: the broker holds %d fds more",
			    (int)after - (int)before);
	for (unsigned i = 0; i < ARRAY_SIZE(fds); i++)
		close(fds[i]);
}

/* Fds during the handshake or a message larger than any call: hung up on,
 * not left waiting. */
TEST(endpoint_hangs_up_on_bad_streams)
{
	struct fixture *f;
	struct raw_msg huge;
	char path[PATH_MAX], buf[256];
	int fd, null_fd;
	uint32_t body = 64u << 20;

	FX_SETUP(f, false);
	if (!fx_add_container(f, "web-1", 0, false))
		FAIL("cannot add web-1");
	fx_endpoint_path(f, "web-1", path, sizeof(path));
	fd = fx_connect(path);
	ASSERT_TRUE(fd >= 0);
	null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	ASSERT_EQ_INT(0, raw_send(fd, raw_handshake, sizeof(raw_handshake) - 1, &null_fd, 1));
	close(null_fd);
	if (raw_wait(f, fd, buf, sizeof(buf)) != 0)
		EXPECT_FAIL("fds during the handshake: the connection stayed open");
	close(fd);

	fd = raw_client(f, "web-1");
	ASSERT_TRUE(fd >= 0);
	raw_call(&huge, 5, CONTAINER_INTERFACE, "TakeControl", 0);
	memcpy(huge.b + 4, &body, 4);
	ASSERT_EQ_INT(0, raw_send(fd, huge.b, huge.n, NULL, 0));
	if (raw_wait(f, fd, buf, sizeof(buf)) != 0)
		EXPECT_FAIL("a 64 MiB message: the connection stayed open");
	close(fd);
}

/* A client that sends calls and never reads the answers: once more than
 * the endpoint's limit of messages waits for it, it is hung up on, and
 * devnsd holds no more of them (the "flood" attack of a host user, here
 * from inside). */
TEST(endpoint_hangs_up_on_a_client_that_does_not_read)
{
	struct fixture *f;
	struct raw_msg ping;
	_cleanup_close_ int fd = -1;
	int small = 4096;
	bool hung_up = false;
	unsigned sent = 0;
	uint64_t deadline;

	FX_SETUP(f, false);
	if (!fx_add_container(f, "web-1", 0, false))
		FAIL("cannot add web-1");
	fd = raw_client(f, "web-1");
	ASSERT_TRUE(fd >= 0);
	/* A small receive buffer: the answers pile up in devnsd soon. */
	ASSERT_EQ_INT(0, setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)));
	deadline = fx_now() + 4 * FX_TIMEOUT_USEC;
	while (!hung_up && fx_now() < deadline) {
		struct pollfd p = { .fd = fd, .events = POLLRDHUP };

		for (int i = 0; i < 64; i++) {
			raw_call(&ping, 2 + sent, "org.freedesktop.DBus.Peer", "Ping", 0);
			if (send(fd, ping.b, ping.n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)ping.n)
				break;
			sent++;
		}
		fx_run_for(f, 2000);
		hung_up = poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR));
	}
	printf("# %u calls sent before the hang-up\n", sent);
	ASSERT_TRUE(hung_up);
	/* Far fewer answers than calls were ever queued for it. */
	ASSERT_TRUE(sent > 256);
}

/* Answers that do not fit in the socket wait in devnsd while the client
 * sends nothing more: each goes out as soon as there is room. devnsd, not
 * sd-bus, watches for that room (endpoint.c). */
TEST(endpoint_sends_what_waits_for_a_slow_reader)
{
	struct fixture *f;
	struct raw_msg call;
	_cleanup_close_ int fd = -1;
	static uint8_t buf[1 << 16];
	size_t len = 0;
	unsigned sent = 0, answers = 0, more = 0;
	int pending = 0, before = 0, unread;
	bool full = false;
	uint64_t deadline;

	FX_SETUP(f, false);
	if (!fx_add_container(f, "web-1", 0, false))
		FAIL("cannot add web-1");
	fd = raw_client(f, "web-1");
	ASSERT_TRUE(fd >= 0);
	/* Introspection answers (some KiB each) until the socket, whose
	 * buffer sd-bus made large, takes no more of them; then 100 more
	 * wait in devnsd, fewer than its limit of waiting messages. */
	deadline = fx_now() + 8 * FX_TIMEOUT_USEC;
	while (more < 100 && fx_now() < deadline) {
		unsigned batch = full ? 100 - more : 16, n = 0;

		for (; n < batch; n++) {
			raw_call(&call, 2 + sent, "org.freedesktop.DBus.Introspectable",
				 "Introspect", 0);
			if (send(fd, call.b, call.n, MSG_DONTWAIT | MSG_NOSIGNAL) != (ssize_t)call.n)
				break;
			sent++;
		}
		if (full)
			more += n;
		/* Until devnsd has read, and answered, every call so far. */
		do {
			fx_run_for(f, 2000);
			ASSERT_EQ_INT(0, ioctl(fd, SIOCOUTQ, &unread));
		} while (unread > 0 && fx_now() < deadline);
		/* The socket took none of the last answers: it is full. */
		ASSERT_EQ_INT(0, ioctl(fd, FIONREAD, &pending));
		if (n > 0 && pending == before)
			full = true;
		before = pending;
	}
	ASSERT_EQ_INT(100, more);
	printf("# %u calls, %d bytes of answers in the socket\n", sent, pending);
	while (answers < sent) {
		ssize_t n = raw_wait(f, fd, buf + len, sizeof(buf) - len);
		size_t size;
		uint32_t serial;

		if (n <= 0) {
			EXPECT_FAIL("%u of %u answers, then the connection %s", answers, sent,
				    n == 0 ? "was closed" : "was silent");
			break;
		}
		len += (size_t)n;
		while (len >= 16 && endpoint_message_size(buf, &size, &serial) == 0 && len >= size) {
			answers += buf[1] == 2;
			memmove(buf, buf + size, len - size);
			len -= size;
		}
		ASSERT_TRUE(len < sizeof(buf));
	}
}

/* A client that shut its socket for reading: the next message devnsd
 * sends it fails, and devnsd hangs up, though it never reads an end of
 * file from that client. */
TEST(endpoint_hangs_up_when_sending_fails)
{
	struct fixture *f;
	struct pollfd p;
	_cleanup_close_ int fd = -1;
	uint64_t deadline;
	sd_bus *other;

	FX_SETUP(f, false);
	if (!fx_add_container(f, "web-1", 0, false))
		FAIL("cannot add web-1");
	fd = raw_client(f, "web-1");
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ_INT(0, shutdown(fd, SHUT_RD));
	other = fx_endpoint_client(f, "web-1", false);
	ASSERT_TRUE(other != NULL);
	/* Controlled changes: announced to both connections. */
	ASSERT_CALL(f, "ok", other, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	p = (struct pollfd) { .fd = fd, .events = POLLIN };
	deadline = fx_now() + FX_TIMEOUT_USEC;
	while (fx_now() < deadline && !(poll(&p, 1, 0) > 0 && (p.revents & POLLHUP)))
		fx_run_for(f, 10000);
	if (!(p.revents & POLLHUP))
		EXPECT_FAIL("the client that cannot be sent to is still connected");
	/* The other one is served as before. */
	EXPECT_CALL(f, "ok", other, SELF_PATH, "org.freedesktop.DBus.Peer", "Ping", NULL);
}

/* Messages cut anywhere, or several in one write: each is answered. */
TEST(endpoint_reads_cut_and_joined_messages)
{
	struct fixture *f;
	struct raw_msg a, b;
	uint8_t both[1024];
	char reply[512];
	int fd, answers = 0;

	FX_SETUP(f, false);
	if (!fx_add_container(f, "web-1", 0, false))
		FAIL("cannot add web-1");
	fd = raw_client(f, "web-1");
	ASSERT_TRUE(fd >= 0);
	raw_call(&a, 2, "org.freedesktop.DBus.Peer", "Ping", 0);
	raw_call(&b, 3, "org.freedesktop.DBus.Peer", "Ping", 0);
	/* In the header, then in the fields. */
	ASSERT_EQ_INT(0, raw_send(fd, a.b, 7, NULL, 0));
	fx_run_for(f, 20000);
	ASSERT_EQ_INT(0, raw_send(fd, a.b + 7, 20, NULL, 0));
	fx_run_for(f, 20000);
	ASSERT_EQ_INT(0, raw_send(fd, a.b + 27, a.n - 27, NULL, 0));
	/* Two in one write. */
	memcpy(both, b.b, b.n);
	b.b[8] = 4; /* serial 4 */
	memcpy(both + b.n, b.b, b.n);
	ASSERT_EQ_INT(0, raw_send(fd, both, 2 * b.n, NULL, 0));
	while (answers < 3) {
		ssize_t n = raw_wait(f, fd, reply, sizeof(reply));

		if (n <= 0) {
			EXPECT_FAIL("%d of 3 answers, then the connection %s", answers,
				    n == 0 ? "was closed" : "was silent");
			break;
		}
		for (ssize_t i = 0; i + 1 < n; i++)
			if (reply[i] == 'l' && reply[i + 1] == 2)
				answers++;
	}
	close(fd);
}

TEST_MAIN
