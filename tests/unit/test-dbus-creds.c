/* SPDX-License-Identifier: MIT */
/*
 * Bus credentials: who the caller is on a real bus, where a dbus-daemon
 * names every caller and the broker asks it for the caller's uid, against
 * a broker built in-process (see fixture.h) that serves on a private
 * dbus-daemon instead of its socketpair. Needs root (a root caller and
 * another one) and dbus-daemon, and is skipped without them.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "fixture.h"

/* A private dbus-daemon any user may connect to, its socket in dir. */
struct bus_daemon {
	pid_t pid;
	char address[PATH_MAX + 32];
	char socket[PATH_MAX];
};

static void bus_daemon_stop(void *data)
{
	struct bus_daemon *d = data;

	if (d->pid > 0) {
		kill(d->pid, SIGTERM);
		while (waitpid(d->pid, NULL, 0) < 0 && errno == EINTR)
			;
		(void)unlink(d->socket);
	}
	free(d);
}

/* 0, -ENOENT without dbus-daemon, or -errno; stopped after the test. */
static int bus_daemon_start(struct bus_daemon **ret, const char *dir)
{
	char conf[PATH_MAX], conf_arg[PATH_MAX + 16], fd_arg[64];
	struct bus_daemon *d;
	struct pollfd pfd;
	FILE *cf;
	ssize_t n;
	int p[2];

	d = *ret = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	test_defer(bus_daemon_stop, d);
	snprintf(d->socket, sizeof(d->socket), "%s/bus", dir);
	snprintf(conf, sizeof(conf), "%s/bus.conf", dir);
	snprintf(conf_arg, sizeof(conf_arg), "--config-file=%s", conf);
	cf = fopen(conf, "we");
	if (!cf)
		return -errno;
	fprintf(cf, "<busconfig>\n"
		    "  <listen>unix:path=%s</listen>\n"
		    "  <auth>EXTERNAL</auth>\n"
		    "  <policy context=\"default\">\n"
		    "    <allow user=\"*\"/>\n"
		    "    <allow own=\"*\"/>\n"
		    "    <allow send_destination=\"*\"/>\n"
		    "    <allow receive_sender=\"*\"/>\n"
		    "  </policy>\n"
		    "</busconfig>\n", d->socket);
	if (fclose(cf) != 0 || pipe2(p, O_CLOEXEC) < 0) {
		unlink(conf);
		return -errno;
	}
	fflush(stdout);
	d->pid = fork();
	if (d->pid == 0) {
		fcntl(p[1], F_SETFD, 0);
		snprintf(fd_arg, sizeof(fd_arg), "--print-address=%d", p[1]);
		execlp("dbus-daemon", "dbus-daemon", "--nofork", "--nopidfile", conf_arg, fd_arg,
		       (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	/* The address is printed once the daemon listens. */
	pfd = (struct pollfd) { .fd = p[0], .events = POLLIN };
	n = d->pid > 0 && poll(&pfd, 1, 5000) > 0 ?
		read(p[0], d->address, sizeof(d->address) - 1) : -1;
	close(p[0]);
	unlink(conf);
	if (n <= 0) {
		if (d->pid > 0) {
			kill(d->pid, SIGTERM);
			waitpid(d->pid, NULL, 0);
		}
		d->pid = 0;
		return -ENOENT;
	}
	d->address[n] = '\0';
	d->address[strcspn(d->address, "\n")] = '\0';
	return 0;
}

/* A client of the bus connected by a process that became nobody: the bus
 * daemon takes the uid from the socket. NULL if that cannot be had. */
static sd_bus *bus_client_as_nobody(struct fixture *f, const char *socket_path)
{
	int chan[2], fd = -1, status;
	sd_bus *bus;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) < 0)
		return NULL;
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		close(chan[0]);
		fd = fx_become_nobody() < 0 ? -1 : fx_connect(socket_path);
		_exit(fd < 0 || fx_send_fds(chan[1], &fd, 1) < 0 ? 1 : 0);
	}
	close(chan[1]);
	if (pid < 0 || fx_recv_fds(chan[0], &fd, 1) < 0)
		fd = -1;
	close(chan[0]);
	if (pid > 0)
		waitpid(pid, &status, 0);
	if (fd < 0)
		return NULL;
	bus = fx_client_on_fd(f, fd, true);
	if (bus && !fx_wait_ready(f, bus)) {
		fx_close_bus(f, bus);
		return NULL;
	}
	return bus;
}

static sd_bus *bus_client_as_us(struct fixture *f, const char *address)
{
	sd_bus *bus = NULL;

	if (sd_bus_new(&bus) < 0)
		return NULL;
	if (sd_bus_set_address(bus, address) < 0 || sd_bus_set_bus_client(bus, 1) < 0 ||
	    sd_bus_start(bus) < 0 || sd_bus_attach_event(bus, f->b->event, 0) < 0 ||
	    !fx_wait_ready(f, bus)) {
		sd_bus_flush_close_unref(bus);
		return NULL;
	}
	return fx_keep_bus(f, bus);
}

/* SwitchContainer("seat0", "") to the broker's unique name: the outcome
 * ("ok" or the error name) and the error's message. */
static void switch_to_none(struct fixture *f, sd_bus *bus, const char *broker_name,
			   char *outcome, size_t size)
{
	struct fx_wait w = { 0 };
	sd_bus_slot *slot = NULL;
	const sd_bus_error *e;

	snprintf(outcome, size, "(no answer)");
	if (sd_bus_call_method_async(bus, &slot, broker_name, MANAGER_PATH, MANAGER_INTERFACE,
				     "SwitchContainer", fx_on_reply, &w, "ss", "seat0", "") < 0)
		return;
	fx_run_until(f, &w.done);
	sd_bus_slot_unref(slot);
	if (!w.reply)
		return;
	e = sd_bus_message_get_error(w.reply);
	snprintf(outcome, size, "%s%s%s", fx_outcome(w.reply), e && e->message ? ": " : "",
		 e && e->message ? e->message : "");
	sd_bus_message_unref(w.reply);
}

static const struct sender_uid *kept_uid(struct dbus_transport *b, sd_bus *client)
{
	const char *name = NULL;

	if (sd_bus_get_unique_name(client, &name) < 0)
		return NULL;
	for (size_t i = 0; i < ARRAY_SIZE(b->sender_uids); i++)
		if (strcmp(b->sender_uids[i].name, name) == 0)
			return &b->sender_uids[i];
	return NULL;
}

/* Through a real bus daemon, which names every caller: the uid the broker
 * keeps per name never lets another caller through. Root and nobody take
 * turns, and nobody is still refused once its entry was replaced. */
TEST(bus_caller_uid_kept_per_name)
{
	static const char denied[] = SD_BUS_ERROR_ACCESS_DENIED ": Only root may change the broker's state";
	sd_bus *root, *nobody, *more[20];
	struct bus_daemon *d;
	const struct sender_uid *e;
	const char *broker_name = NULL;
	char outcome[256];
	struct fixture *f;
	unsigned next;
	int r;

	if (geteuid() != 0)
		SKIP("needs root: the bus daemon must see a root caller and another one");
	FX_SETUP(f, false);
	/* nobody connects to the socket in it. */
	chmod(f->dir, 0711);
	r = bus_daemon_start(&d, f->dir);
	if (r == -ENOENT)
		SKIP("no dbus-daemon");
	if (r < 0)
		FAIL("cannot start dbus-daemon: %s", strerror(-r));
	/* The broker serves on that bus instead of the socketpair. */
	f->client = sd_bus_flush_close_unref(f->client);
	f->t->bus = sd_bus_flush_close_unref(f->t->bus);
	if (sd_bus_new(&f->t->bus) < 0 || sd_bus_set_address(f->t->bus, d->address) < 0 ||
	    sd_bus_set_bus_client(f->t->bus, 1) < 0 || sd_bus_start(f->t->bus) < 0 ||
	    sd_bus_attach_event(f->t->bus, f->b->event, 0) < 0 || !fx_wait_ready(f, f->t->bus) ||
	    manager_dbus_register(f->t) < 0 || sd_bus_get_unique_name(f->t->bus, &broker_name) < 0) {
		FAIL("the broker cannot serve on %s", d->address);
	}
	root = bus_client_as_us(f, d->address);
	nobody = bus_client_as_nobody(f, d->socket);
	if (!root || !nobody)
		FAIL("cannot connect %s to the bus", root ? "nobody" : "root");

	for (int i = 0; i < 3; i++) {
		switch_to_none(f, root, broker_name, outcome, sizeof(outcome));
		if (strcmp(outcome, "ok") != 0)
			EXPECT_FAIL("root, turn %d: %s", i, outcome);
		switch_to_none(f, nobody, broker_name, outcome, sizeof(outcome));
		if (strcmp(outcome, denied) != 0)
			EXPECT_FAIL("nobody, turn %d: %s", i, outcome);
	}
	/* Kept: asked once each, with the uid the daemon gave. */
	e = kept_uid(f->t, root);
	if (!e || e->uid != 0)
		EXPECT_FAIL("root's uid is not kept as 0");
	e = kept_uid(f->t, nobody);
	if (!e || e->uid != FX_NOBODY)
		EXPECT_FAIL("nobody's uid is not kept as %d", FX_NOBODY);
	if (f->t->sender_uids_next != 2)
		EXPECT_FAIL("%u entries written for two callers", f->t->sender_uids_next);

	/* More callers than entries: the oldest are replaced. */
	for (size_t i = 0; i < ARRAY_SIZE(more); i++) {
		more[i] = bus_client_as_us(f, d->address);
		if (!more[i])
			FAIL("cannot connect caller %zu", i);
		switch_to_none(f, more[i], broker_name, outcome, sizeof(outcome));
		if (strcmp(outcome, "ok") != 0)
			EXPECT_FAIL("caller %zu: %s", i, outcome);
	}
	if (kept_uid(f->t, nobody))
		EXPECT_FAIL("nobody's entry was not replaced");
	next = f->t->sender_uids_next;
	switch_to_none(f, nobody, broker_name, outcome, sizeof(outcome));
	if (strcmp(outcome, denied) != 0)
		EXPECT_FAIL("nobody, asked again: %s", outcome);
	if (f->t->sender_uids_next == next)
		EXPECT_FAIL("nobody's uid was not asked for again");
	switch_to_none(f, root, broker_name, outcome, sizeof(outcome));
	if (strcmp(outcome, "ok") != 0)
		EXPECT_FAIL("root, asked again: %s", outcome);
}

TEST_MAIN
