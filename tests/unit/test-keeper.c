/* SPDX-License-Identifier: MIT */
/*
 * devns-keeper (keeper/): the notify parser in-process, then the real
 * program, run with tests/unit/keeper-child.c as its child, which reports
 * what it was handed on each start (see its header) to a file the tests
 * read. No root, no devices.
 *
 *   test-keeper DEVNS-KEEPER KEEPER-CHILD
 *
 * Every wait has a deadline and ends as soon as its condition holds: the
 * tests watch their directory with inotify and the keeper with a pidfd.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <sys/inotify.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "keeper/notify.h"
#include "test.h"

/* Generous: the suite also runs under ASan and on a loaded machine. A
 * test that passes does not wait for it. */
#define TIMEOUT_MS 20000

static const char *keeper_exe, *child_exe;

/* ---- The parser --------------------------------------------------------- */

TEST(fdname_is_valid_as_systemd)
{
	char name[FDNAME_MAX + 2];

	ASSERT_TRUE(fdname_is_valid("stored"));
	ASSERT_TRUE(fdname_is_valid(""));
	ASSERT_TRUE(fdname_is_valid("client-7 seat0/x=y"));
	ASSERT_TRUE(fdname_is_valid("~ !"));
	ASSERT_FALSE(fdname_is_valid(NULL));
	ASSERT_FALSE(fdname_is_valid("a:b"));
	ASSERT_FALSE(fdname_is_valid("tab\there"));
	ASSERT_FALSE(fdname_is_valid("del\x7f"));
	ASSERT_FALSE(fdname_is_valid("caf\xc3\xa9"));
	ASSERT_FALSE(fdname_is_valid("line\n"));
	memset(name, 'x', FDNAME_MAX);
	name[FDNAME_MAX] = '\0';
	ASSERT_TRUE(fdname_is_valid(name));
	name[FDNAME_MAX] = 'x';
	name[FDNAME_MAX + 1] = '\0';
	ASSERT_FALSE(fdname_is_valid(name));
}

TEST(parse_lines_as_systemd)
{
	char text[] = "READY=1\r\nFDNAME=first\nFDSTORE=1\n\nFDNAME=second\nSTATUS=up\n"
		      "STATUS=again\nFDPOLL=0\nUNKNOWN=1\nBARRIER=1";
	struct notify_message m;

	notify_message_parse(text, &m);
	ASSERT_TRUE(m.ready);
	ASSERT_TRUE(m.fdstore);
	ASSERT_TRUE(m.fdpoll_off);
	ASSERT_TRUE(m.barrier);
	ASSERT_FALSE(m.fdstoreremove);
	ASSERT_FALSE(m.stopping);
	ASSERT_EQ_STR("first", m.fdname);
	ASSERT_EQ_STR("up", m.status);
}

TEST(parse_flags_are_whole_lines)
{
	char text[] = "FDSTORE=10\nXFDSTORE=1\nFDSTOREREMOVE=0\nFDPOLL=00\nREADY=1 \n"
		      " STOPPING=1\nfdname=lower";
	char empty[] = "";
	struct notify_message m;

	notify_message_parse(text, &m);
	ASSERT_FALSE(m.fdstore);
	ASSERT_FALSE(m.fdstoreremove);
	ASSERT_FALSE(m.fdpoll_off);
	ASSERT_FALSE(m.ready);
	ASSERT_FALSE(m.stopping);
	ASSERT_NULL(m.fdname);
	notify_message_parse(empty, &m);
	ASSERT_FALSE(m.fdstore);
	ASSERT_NULL(m.status);
}

TEST(escape_for_the_log)
{
	char buf[16];

	ASSERT_EQ_STR("a\\x0ab\\x1b", notify_escape("a\nb\x1b", buf, sizeof(buf)));
	ASSERT_EQ_STR("0123456789abcde", notify_escape("0123456789abcde", buf, sizeof(buf)));
	ASSERT_EQ_STR("0123456789ab...", notify_escape("0123456789abcdef", buf, sizeof(buf)));
	ASSERT_EQ_STR("\\xc3\\xa9\\xc3...", notify_escape("\xc3\xa9\xc3\xa9", buf, sizeof(buf)));
	ASSERT_EQ_STR("", notify_escape("", buf, sizeof(buf)));
}

/* ---- A keeper and its child --------------------------------------------- */

struct run {
	pid_t pid;
	int pidfd, inotify;
	bool reaped;
	int status;
	char report[PATH_MAX], log[PATH_MAX], sock[PATH_MAX];
};

static char *slurp(const char *path)
{
	size_t size = 0, cap = 4096;
	char *buf = malloc(cap);
	ssize_t n;
	int fd;

	if (!buf)
		return NULL;
	buf[0] = '\0';
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return buf;
	for (;;) {
		if (cap - size < 4096) {
			char *p = realloc(buf, cap * 2);

			if (!p)
				break;
			buf = p;
			cap *= 2;
		}
		n = read(fd, buf + size, cap - size - 1);
		if (n <= 0)
			break;
		size += n;
	}
	buf[size] = '\0';
	close(fd);
	return buf;
}

static bool file_contains(const char *path, const char *s);

static void print_file(const char *title, const char *path)
{
	_cleanup_free_ char *text = slurp(path);
	char *line, *save = NULL;

	printf("# %s:\n", title);
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line; line = strtok_r(NULL, "\n", &save))
		printf("#   %s\n", line);
}

/* The keeper's children, from the report: a keeper that failed a test may
 * have left one (the test runner sees its own children only). */
static void kill_children_of(struct run *r)
{
	_cleanup_free_ char *text = slurp(r->report);
	char *p = text;

	while (p && (p = strstr(p, " pid="))) {
		char exe[PATH_MAX], link[64];
		int pid = atoi(p + 5);
		ssize_t n;

		p += 5;
		snprintf(link, sizeof(link), "/proc/%d/exe", pid);
		n = readlink(link, exe, sizeof(exe) - 1);
		if (n <= 0)
			continue;
		exe[n] = '\0';
		if (strstr(exe, "keeper-child"))
			kill(pid, SIGKILL);
	}
}

static void run_free(void *data)
{
	struct run *r = data;

	/* Under ASan/UBSan the keeper's and the child's findings land in
	 * the log: each fails the test. */
	if (file_contains(r->log, "Sanitizer") || file_contains(r->log, "runtime error"))
		EXPECT_FAIL("a sanitizer reported an error");
	if (test_failed) {
		print_file("the keeper's log", r->log);
		print_file("the child's report", r->report);
	}
	if (!r->reaped) {
		kill(r->pid, SIGKILL);
		while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR)
			;
	}
	kill_children_of(r);
	if (r->pidfd >= 0)
		close(r->pidfd);
	if (r->inotify >= 0)
		close(r->inotify);
	free(r);
}

/* A keeper with these options and programs for its child (NULL-terminated
 * lists); nofile, when given, is its RLIMIT_NOFILE. */
static struct run *run_start(const char *const *opts, const char *const *programs,
			     const struct rlimit *nofile)
{
	const char *dir = test_tmpdir("keeper");
	const char *argv[64];
	struct run *r;
	size_t n = 0;

	if (!dir)
		return NULL;
	r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->pidfd = r->inotify = -1;
	r->reaped = true;
	test_defer(run_free, r);
	snprintf(r->report, sizeof(r->report), "%s/report", dir);
	snprintf(r->log, sizeof(r->log), "%s/log", dir);
	snprintf(r->sock, sizeof(r->sock), "%s/sock", dir);
	r->inotify = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
	if (r->inotify < 0 || inotify_add_watch(r->inotify, dir, IN_MODIFY | IN_CREATE) < 0)
		return NULL;

	argv[n++] = keeper_exe;
	for (; opts && *opts; opts++)
		argv[n++] = *opts;
	argv[n++] = "--";
	argv[n++] = child_exe;
	argv[n++] = r->report;
	for (; *programs && n < ARRAY_SIZE(argv) - 1; programs++)
		argv[n++] = *programs;
	argv[n] = NULL;

	r->pid = fork();
	if (r->pid < 0)
		return NULL;
	if (r->pid == 0) {
		int fd = open(r->log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);

		/* fd 20 without close-on-exec: the keeper inherits it, and must
		 * not pass it on (the child reports extra=0). */
		if (fd < 0 || dup2(fd, STDOUT_FILENO) < 0 || dup2(fd, STDERR_FILENO) < 0 ||
		    dup2(fd, 20) < 0)
			_exit(126);
		if (nofile && setrlimit(RLIMIT_NOFILE, nofile) < 0)
			_exit(126);
		setenv("KEEPER_TEST_SOCKET", r->sock, 1);
		/* Whatever the runner has, the keeper starts clean. */
		unsetenv("NOTIFY_SOCKET");
		unsetenv("LISTEN_FDS");
		unsetenv("LISTEN_PID");
		unsetenv("LISTEN_FDNAMES");
		execv(keeper_exe, (char **)argv);
		_exit(127);
	}
	r->reaped = false;
	r->pidfd = syscall(SYS_pidfd_open, r->pid, 0);
	if (r->pidfd < 0)
		return NULL;
	return r;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Whether the file holds a line that starts with prefix; *ret_line, when
 * given, is a copy of the first. */
static bool file_has_line(const char *path, const char *prefix, char **ret_line)
{
	_cleanup_free_ char *text = slurp(path);
	size_t len = strlen(prefix);

	for (char *line = text; line && *line;) {
		char *end = strchr(line, '\n');

		if (!end)
			break; /* a line still being written */
		if (strncmp(line, prefix, len) == 0) {
			if (ret_line)
				*ret_line = strndup(line, end - line);
			return true;
		}
		line = end + 1;
	}
	return false;
}

static bool file_contains(const char *path, const char *s)
{
	_cleanup_free_ char *text = slurp(path);

	return text && strstr(text, s);
}

static unsigned file_count_lines(const char *path, const char *prefix)
{
	_cleanup_free_ char *text = slurp(path);
	unsigned n = 0;

	for (char *line = text; line && *line;) {
		char *end = strchr(line, '\n');

		if (!end)
			break;
		if (strncmp(line, prefix, strlen(prefix)) == 0)
			n++;
		line = end + 1;
	}
	return n;
}

/* Blocks until something in the test's directory changes, the keeper
 * exits, or deadline (ms, CLOCK_MONOTONIC) passes. */
static void wait_change(struct run *r, int64_t deadline)
{
	struct pollfd p[2] = {
		{ .fd = r->inotify, .events = POLLIN },
		{ .fd = r->pidfd, .events = POLLIN },
	};
	int64_t left = deadline - now_ms();
	char buf[4096];

	if (left <= 0)
		return;
	(void)poll(p, r->reaped ? 1 : 2, left > INT_MAX ? INT_MAX : (int)left);
	while (read(r->inotify, buf, sizeof(buf)) > 0)
		;
}

/* Waits for a line of the report that starts with prefix. */
static bool wait_report(struct run *r, const char *prefix, char **ret_line)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;

	for (;;) {
		if (file_has_line(r->report, prefix, ret_line))
			return true;
		if (now_ms() >= deadline) {
			printf("# no report line \"%s\" after %d ms\n", prefix, TIMEOUT_MS);
			return false;
		}
		wait_change(r, deadline);
	}
}

static bool wait_log(struct run *r, const char *s)
{
	int64_t deadline = now_ms() + TIMEOUT_MS;

	for (;;) {
		if (file_contains(r->log, s))
			return true;
		if (now_ms() >= deadline) {
			printf("# the keeper did not log \"%s\" within %d ms\n", s, TIMEOUT_MS);
			return false;
		}
		wait_change(r, deadline);
	}
}

/* Waits for the keeper to exit; its wait status, or -1. */
static int wait_exit(struct run *r)
{
	struct pollfd p = { .fd = r->pidfd, .events = POLLIN };

	if (!r->reaped) {
		if (poll(&p, 1, TIMEOUT_MS) <= 0) {
			printf("# the keeper did not exit within %d ms\n", TIMEOUT_MS);
			return -1;
		}
		if (waitpid(r->pid, &r->status, 0) != r->pid)
			return -1;
		r->reaped = true;
	}
	return r->status;
}

static int exit_code(int status)
{
	return status >= 0 && WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* The value of "key=" in a report line, up to the next space. */
static void field(const char *line, const char *key, char *buf, size_t size)
{
	char pat[32];
	const char *p;
	size_t n;

	snprintf(pat, sizeof(pat), " %s=", key);
	p = strstr(line, pat);
	buf[0] = '\0';
	if (!p)
		return;
	p += strlen(pat);
	n = strcspn(p, " ");
	if (n >= size)
		n = size - 1;
	memcpy(buf, p, n);
	buf[n] = '\0';
}

static pid_t start_pid(struct run *r, int n)
{
	_cleanup_free_ char *line = NULL;
	char prefix[32], value[32];

	snprintf(prefix, sizeof(prefix), "start %d ", n);
	if (!file_has_line(r->report, prefix, &line))
		return -1;
	field(line, "pid", value, sizeof(value));
	return atoi(value);
}

/* Start n of the child was handed exactly these files: names as in
 * $LISTEN_FDNAMES, data their contents joined by '|'; with $LISTEN_PID its
 * own, every fd without close-on-exec and no other fd. */
static bool expect_start(struct run *r, int n, const char *names, const char *data)
{
	_cleanup_free_ char *line = NULL;
	char prefix[32], value[4096], fds[16];
	unsigned n_fds = 0;
	bool ok = true;

	snprintf(prefix, sizeof(prefix), "start %d ", n);
	if (!wait_report(r, prefix, &line))
		return false;
	if (*names) {
		n_fds = 1;
		for (const char *p = names; *p; p++)
			n_fds += *p == ':';
	}
	snprintf(fds, sizeof(fds), "%u", n_fds);
	field(line, "fds", value, sizeof(value));
	if (strcmp(value, fds) != 0) {
		EXPECT_FAIL("start %d: %s fds, expected %s", n, value, fds);
		ok = false;
	}
	field(line, "names", value, sizeof(value));
	if (strcmp(value, names) != 0) {
		EXPECT_FAIL("start %d: names \"%s\", expected \"%s\"", n, value, names);
		ok = false;
	}
	field(line, "data", value, sizeof(value));
	if (strcmp(value, data) != 0) {
		EXPECT_FAIL("start %d: data \"%s\", expected \"%s\"", n, value, data);
		ok = false;
	}
	field(line, "listen_pid", value, sizeof(value));
	if (strcmp(value, n_fds ? "ok" : "unset") != 0) {
		EXPECT_FAIL("start %d: LISTEN_PID is %s", n, value);
		ok = false;
	}
	field(line, "cloexec", value, sizeof(value));
	if (strcmp(value, "0") != 0) {
		EXPECT_FAIL("start %d: %s handed fds have close-on-exec", n, value);
		ok = false;
	}
	field(line, "extra", value, sizeof(value));
	if (strcmp(value, "0") != 0) {
		EXPECT_FAIL("start %d: %s fds it was not meant to get", n, value);
		ok = false;
	}
	return ok;
}

static bool no_errors(struct run *r)
{
	_cleanup_free_ char *line = NULL;

	if (file_has_line(r->report, "error ", &line)) {
		EXPECT_FAIL("the child reported: %s", line);
		return false;
	}
	return true;
}

/* SIGTERM to the keeper: it stops the child and exits 0. */
static bool stop_keeper(struct run *r)
{
	int status;

	kill(r->pid, SIGTERM);
	status = wait_exit(r);
	if (exit_code(status) != 0) {
		EXPECT_FAIL("the keeper ended with wait status %d after SIGTERM", status);
		return false;
	}
	return true;
}

#define PROGRAMS(...) ((const char *const[]){ __VA_ARGS__, NULL })
#define OPTIONS(...) ((const char *const[]){ __VA_ARGS__, NULL })

TEST(files_come_back_after_kill9)
{
	struct run *r = run_start(NULL, PROGRAMS("store=alpha,store-default,store=alpha,kill", "wait"), NULL);

	ASSERT_NOT_NULL(r);
	/* The first start gets nothing, and no stray LISTEN_* either. */
	ASSERT_TRUE(expect_start(r, 1, "", ""));
	/* Several files under one name, "stored" without FDNAME=, in the
	 * order stored. */
	ASSERT_TRUE(expect_start(r, 2, "alpha:stored:alpha", "data-alpha|data-stored|data-alpha"));
	ASSERT_TRUE(wait_report(r, "waiting 2", NULL));
	ASSERT_TRUE(file_contains(r->log, "killed by signal 9 (SIGKILL); starting it again with 3 stored files"));
	/* The dead one was reaped: no zombie of it answers. */
	ASSERT_EQ_INT(-1, kill(start_pid(r, 1), 0));
	ASSERT_EQ_INT(ESRCH, errno);
	ASSERT_TRUE(no_errors(r));
	ASSERT_TRUE(stop_keeper(r));
}

TEST(files_come_back_after_sighup)
{
	struct run *r = run_start(NULL, PROGRAMS("store=alpha,wait-exit0", "store=beta,wait"), NULL);

	ASSERT_NOT_NULL(r);
	ASSERT_TRUE(wait_report(r, "waiting 1", NULL));
	kill(r->pid, SIGHUP);
	/* SIGTERM to the child, which exits 0, and a start all the same. */
	ASSERT_TRUE(wait_report(r, "term 1", NULL));
	ASSERT_TRUE(expect_start(r, 2, "alpha", "data-alpha"));
	ASSERT_TRUE(wait_report(r, "waiting 2", NULL));
	/* Once more: the store is kept, the new file added. */
	kill(r->pid, SIGHUP);
	ASSERT_TRUE(expect_start(r, 3, "alpha:beta", "data-alpha|data-beta"));
	ASSERT_TRUE(no_errors(r));
	ASSERT_TRUE(stop_keeper(r));
}

TEST(fdstoreremove_drops_every_file_of_a_name)
{
	struct run *r = run_start(NULL,
				  PROGRAMS("store=alpha,store=beta,store=alpha,kill",
					   "remove=alpha,remove=nothing,kill", "wait"),
				  NULL);

	ASSERT_NOT_NULL(r);
	ASSERT_TRUE(expect_start(r, 2, "alpha:beta:alpha", "data-alpha|data-beta|data-alpha"));
	ASSERT_TRUE(expect_start(r, 3, "beta", "data-beta"));
	ASSERT_TRUE(no_errors(r));
	ASSERT_TRUE(stop_keeper(r));
}

TEST(same_file_is_stored_once)
{
	struct run *r = run_start(NULL, PROGRAMS("store-twice=alpha,store=beta,kill", "wait"), NULL);

	ASSERT_NOT_NULL(r);
	ASSERT_TRUE(expect_start(r, 2, "alpha:beta", "data-alpha|data-beta"));
	ASSERT_TRUE(no_errors(r));
	ASSERT_TRUE(stop_keeper(r));
}

TEST(hung_up_socket_dropped_unless_fdpoll_0)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	_cleanup_close_ int listener = -1, a = -1, b = -1;
	struct run *r;
	pid_t child;

	r = run_start(NULL, PROGRAMS("connect=polled,connect-nopoll=kept,store=file,wait", "wait"), NULL);
	ASSERT_NOT_NULL(r);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ASSERT_TRUE(listener >= 0);
	/* test_tmpdir() keeps the path short enough. */
	ASSERT_TRUE(strlen(r->sock) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, r->sock, strlen(r->sock) + 1);
	ASSERT_EQ_INT(0, bind(listener, (struct sockaddr *)&sa, sizeof(sa)));
	ASSERT_EQ_INT(0, listen(listener, 8));

	ASSERT_TRUE(wait_report(r, "waiting 1", NULL));
	ASSERT_TRUE(no_errors(r));
	/* The clients hang up; then the child dies. */
	a = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	b = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
	ASSERT_TRUE(a >= 0 && b >= 0);
	close(TAKE_FD(a));
	close(TAKE_FD(b));
	child = start_pid(r, 1);
	ASSERT_TRUE(child > 0);
	kill(child, SIGKILL);
	/* The polled one is gone; the one with FDPOLL=0 is kept, and a file
	 * (not pollable) too. */
	ASSERT_TRUE(expect_start(r, 2, "kept:file", "socket|data-file"));
	ASSERT_TRUE(file_contains(r->log, "stored file \"polled\" reported EPOLLHUP"));
	ASSERT_TRUE(stop_keeper(r));
}

TEST(notification_from_another_process_ignored)
{
	struct run *r = run_start(NULL, PROGRAMS("foreign=ghost,store=mine,kill", "wait"), NULL);

	ASSERT_NOT_NULL(r);
	ASSERT_TRUE(expect_start(r, 2, "mine", "data-mine"));
	ASSERT_TRUE(file_contains(r->log, "ignored a notification from pid"));
	ASSERT_TRUE(no_errors(r));
	ASSERT_TRUE(stop_keeper(r));
}

TEST(invalid_names_refused)
{
	char longest[FDNAME_MAX + 1], too_long[FDNAME_MAX + 2], first[2 * FDNAME_MAX + 128];
	char names[FDNAME_MAX + 8], data[128];
	struct run *r;

	memset(longest, 'n', FDNAME_MAX);
	longest[FDNAME_MAX] = '\0';
	memset(too_long, 'n', FDNAME_MAX + 1);
	too_long[FDNAME_MAX + 1] = '\0';
	snprintf(first, sizeof(first),
		 "store=bad:name,store=tab\tname,store=del\x7f,store=caf\xc3\xa9,store=%s,store=%s,store=ok,kill",
		 too_long, longest);
	r = run_start(NULL, PROGRAMS(first, "wait"), NULL);
	ASSERT_NOT_NULL(r);
	/* The longest name is fine; the child reports the first 63 bytes of
	 * its file. */
	snprintf(names, sizeof(names), "%s:ok", longest);
	snprintf(data, sizeof(data), "data-%.58s|data-ok", longest);
	ASSERT_TRUE(expect_start(r, 2, names, data));
	ASSERT_TRUE(file_contains(r->log, "with an invalid FDNAME= \"bad:name\""));
	ASSERT_TRUE(file_contains(r->log, "with an invalid FDNAME= \"tab\\x09name\""));
	ASSERT_TRUE(no_errors(r));
	ASSERT_TRUE(stop_keeper(r));
}

TEST(hostile_datagrams_refused)
{
	struct run *r = run_start(NULL, PROGRAMS("big=big,nul=nul,store=ok,kill", "wait"), NULL);

	ASSERT_NOT_NULL(r);
	ASSERT_TRUE(expect_start(r, 2, "ok", "data-ok"));
	ASSERT_TRUE(file_contains(r->log, "longer than 4096 bytes"));
	ASSERT_TRUE(file_contains(r->log, "with a NUL byte inside"));
	ASSERT_TRUE(no_errors(r));
	ASSERT_TRUE(stop_keeper(r));
}

TEST(truncated_control_data_closes_what_came)
{
	/* Room for the keeper's own fds, not for 60 more: the kernel passes
	 * what fits and flags the rest (MSG_CTRUNC). */
	struct rlimit nofile = { 40, 40 };
	struct run *r = run_start(NULL, PROGRAMS("flood=flood,store=ok,kill", "wait"), &nofile);
	char path[64];
	unsigned n = 0;
	DIR *d;

	ASSERT_NOT_NULL(r);
	ASSERT_TRUE(expect_start(r, 2, "ok", "data-ok"));
	ASSERT_TRUE(wait_report(r, "waiting 2", NULL));
	ASSERT_TRUE(file_contains(r->log, "with more files than the keeper could take"));
	/* And nothing of the flood is left open in the keeper. */
	snprintf(path, sizeof(path), "/proc/%d/fd", (int)r->pid);
	d = opendir(path);
	ASSERT_NOT_NULL(d);
	while (readdir(d))
		n++;
	closedir(d);
	if (!TEST_CHECK(n < 20))
		FAIL("the keeper has %u fds open", n);
	ASSERT_TRUE(stop_keeper(r));
}

TEST(max_fds_limits_the_store)
{
	struct run *r = run_start(OPTIONS("--max-fds", "3"), PROGRAMS("store5=five,store=six,kill", "wait"), NULL);

	ASSERT_NOT_NULL(r);
	ASSERT_TRUE(expect_start(r, 2, "five:five:five", "data-five-0|data-five-1|data-five-2"));
	ASSERT_TRUE(file_contains(r->log, "the store is full (3 files, --max-fds)"));
	ASSERT_TRUE(stop_keeper(r));
}

TEST(start_limit_ends_keeper_with_1)
{
	struct run *r = run_start(NULL, PROGRAMS("store=alpha,exit=3"), NULL);

	ASSERT_NOT_NULL(r);
	ASSERT_EQ_INT(1, exit_code(wait_exit(r)));
	/* StartLimitBurst=5: five starts, not a sixth. */
	ASSERT_EQ_INT(5, file_count_lines(r->report, "start "));
	ASSERT_TRUE(file_contains(r->log, "exited with status 3; starting it again with 1 stored files"));
	ASSERT_TRUE(file_contains(r->log, "started 5 times within 10 s; giving up"));
}

TEST(start_limit_options)
{
	struct run *r = run_start(OPTIONS("--start-limit-burst", "2", "--restart-sec", "10ms"),
				  PROGRAMS("kill"), NULL);

	ASSERT_NOT_NULL(r);
	ASSERT_EQ_INT(1, exit_code(wait_exit(r)));
	ASSERT_EQ_INT(2, file_count_lines(r->report, "start "));
}

TEST(exit_0_ends_keeper_with_0)
{
	struct run *r = run_start(NULL, PROGRAMS("store=alpha,exit=0"), NULL);

	ASSERT_NOT_NULL(r);
	ASSERT_EQ_INT(0, exit_code(wait_exit(r)));
	ASSERT_EQ_INT(1, file_count_lines(r->report, "start "));
	ASSERT_TRUE(file_contains(r->log, "exited with status 0; exiting, dropping 1 stored files"));
}

TEST(sigterm_stops_both)
{
	struct run *r = run_start(NULL, PROGRAMS("store=alpha,ready,wait"), NULL);
	pid_t child;

	ASSERT_NOT_NULL(r);
	ASSERT_TRUE(wait_report(r, "waiting 1", NULL));
	child = start_pid(r, 1);
	ASSERT_TRUE(child > 0);
	/* READY=1 and STATUS= came in one message, logged in this order. */
	ASSERT_TRUE(wait_log(r, "status: serving the tests"));
	ASSERT_TRUE(file_contains(r->log, "is ready"));
	ASSERT_TRUE(stop_keeper(r));
	/* The keeper waited for its child: it got SIGTERM, died of it, and
	 * is gone (reaped) by the time the keeper exits. */
	ASSERT_TRUE(file_has_line(r->report, "term 1", NULL));
	ASSERT_TRUE(file_contains(r->log, "killed by signal 15 (SIGTERM); exiting, dropping 1 stored files"));
	ASSERT_EQ_INT(-1, kill(child, 0));
	ASSERT_EQ_INT(ESRCH, errno);
	ASSERT_EQ_INT(1, file_count_lines(r->report, "start "));
}

TEST(sigkill_after_stop_timeout)
{
	struct run *r = run_start(OPTIONS("--stop-timeout", "0.2"), PROGRAMS("wait-ignore"), NULL);
	pid_t child;

	ASSERT_NOT_NULL(r);
	ASSERT_TRUE(wait_report(r, "waiting 1", NULL));
	child = start_pid(r, 1);
	ASSERT_TRUE(stop_keeper(r));
	ASSERT_TRUE(file_has_line(r->report, "term 1", NULL));
	ASSERT_TRUE(file_contains(r->log, "still runs 0.2 s after SIGTERM; sending SIGKILL"));
	ASSERT_TRUE(file_contains(r->log, "killed by signal 9 (SIGKILL); exiting"));
	ASSERT_EQ_INT(-1, kill(child, 0));
}

TEST(usage_errors)
{
	struct run *r = run_start(OPTIONS("--max-fds", "lots"), PROGRAMS("exit=0"), NULL);

	ASSERT_NOT_NULL(r);
	ASSERT_EQ_INT(2, exit_code(wait_exit(r)));
	ASSERT_EQ_INT(0, file_count_lines(r->report, "start "));
}

int main(int argc, char *argv[])
{
	if (argc != 3) {
		fprintf(stderr, "usage: test-keeper DEVNS-KEEPER KEEPER-CHILD\n");
		return 2;
	}
	keeper_exe = argv[1];
	child_exe = argv[2];
	return test_run_all();
}
