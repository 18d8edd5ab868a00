/* SPDX-License-Identifier: MIT */
/*
 * The child that test-keeper runs under devns-keeper. On every start it
 * reports what it was handed, then runs the program of that start:
 *
 *   keeper-child REPORT PROGRAM...
 *
 * Start N (one more than the "start" lines REPORT has) runs the Nth
 * PROGRAM, or the last one. A program is steps separated by ',':
 *
 *   store=NAME        a memfd holding "data-NAME", stored as NAME
 *   store-default     a memfd holding "data-stored", stored without FDNAME=
 *   store-twice=NAME  one memfd stored twice in one message, then again
 *   store5=NAME       five memfds "data-NAME-0".."-4" in one message
 *   flood=NAME        one memfd attached 60 times to one message
 *   remove=NAME       FDSTOREREMOVE=1 of NAME
 *   connect=NAME      a connection to $KEEPER_TEST_SOCKET, stored as NAME
 *   connect-nopoll=NAME  the same, with FDPOLL=0
 *   foreign=NAME      a process of its own (a child) stores a memfd as NAME
 *   big=NAME          FDSTORE=1 of a memfd in a datagram of 5000 bytes
 *   nul=NAME          FDSTORE=1 of a memfd in a datagram with a NUL inside
 *   ready             READY=1 and STATUS=
 *   kill              SIGKILL to itself
 *   exit=N            exit status N
 *   wait              report "waiting N" and wait; on SIGTERM report
 *                     "term N" and die of it
 *   wait-exit0        the same, but exit 0 on SIGTERM
 *   wait-ignore       the same, but SIGTERM is reported and ignored
 *
 * The report (each line appended with one write()):
 *
 *   start N pid=P listen_pid=ok|unset|bad fds=K names=A:B data=X|Y cloexec=C extra=E
 *
 * with data the contents of each handed fd ("socket" for a socket),
 * cloexec how many of them have FD_CLOEXEC (must be 0), extra how many
 * other fds above 2 it was started with (must be 0); then "waiting N",
 * "term N", and "error N WHAT" when a step fails.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-daemon.h>

static const char *report_path;
static int start_no;
static char term_line[64];

static void report(const char *fmt, ...)
{
	char line[8192];
	va_list ap;
	int fd, n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof(line) - 2)
		n = sizeof(line) - 2;
	line[n++] = '\n';
	fd = open(report_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	(void)!write(fd, line, n);
	close(fd);
}

static int count_starts(void)
{
	char line[8192];
	int n = 0;
	FILE *f = fopen(report_path, "re");

	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "start ", 6) == 0)
			n++;
	fclose(f);
	return n;
}

/* What start N was handed, as one report line. */
static void report_start(void)
{
	const char *e_fds = getenv("LISTEN_FDS"), *e_pid = getenv("LISTEN_PID");
	const char *e_names = getenv("LISTEN_FDNAMES");
	char data[4096] = "", pidbuf[32];
	int n_fds = e_fds ? atoi(e_fds) : 0, cloexec = 0, extra = 0;
	const char *listen_pid = "unset";
	struct dirent *de;
	DIR *d;

	if (e_pid) {
		snprintf(pidbuf, sizeof(pidbuf), "%d", (int)getpid());
		listen_pid = strcmp(e_pid, pidbuf) == 0 ? "ok" : "bad";
	}
	for (int i = 0; i < n_fds; i++) {
		int fd = 3 + i, flags = fcntl(fd, F_GETFD);
		char buf[64] = "";
		struct stat st;
		ssize_t k;

		if (i > 0)
			strncat(data, "|", sizeof(data) - strlen(data) - 1);
		if (flags < 0 || fstat(fd, &st) < 0) {
			strncat(data, "closed", sizeof(data) - strlen(data) - 1);
			continue;
		}
		if (flags & FD_CLOEXEC)
			cloexec++;
		if (S_ISSOCK(st.st_mode)) {
			strncat(data, "socket", sizeof(data) - strlen(data) - 1);
			continue;
		}
		k = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[k > 0 ? k : 0] = '\0';
		strncat(data, k > 0 ? buf : "unreadable", sizeof(data) - strlen(data) - 1);
	}
	d = opendir("/proc/self/fd");
	while (d && (de = readdir(d))) {
		int fd = atoi(de->d_name);

		if (de->d_name[0] != '.' && fd != dirfd(d) && fd >= 3 + n_fds)
			extra++;
	}
	if (d)
		closedir(d);
	report("start %d pid=%d listen_pid=%s fds=%d names=%s data=%s cloexec=%d extra=%d",
	       start_no, (int)getpid(), listen_pid, n_fds, e_names ? e_names : "", data,
	       cloexec, extra);
}

static int memfd_with(const char *content)
{
	int fd = memfd_create("keeper-child", MFD_CLOEXEC);

	if (fd < 0)
		return -1;
	if (write(fd, content, strlen(content)) != (ssize_t)strlen(content)) {
		close(fd);
		return -1;
	}
	return fd;
}

static bool notify_fds(const char *text, const int *fds, unsigned n)
{
	int r = sd_pid_notify_with_fds(0, 0, text, fds, n);

	if (r <= 0) {
		report("error %d sd_pid_notify_with_fds(%s): %s", start_no, text, strerror(-r));
		return false;
	}
	return true;
}

static void store_memfd(const char *name, const char *content, bool with_name)
{
	char text[512];
	int fd = memfd_with(content);

	if (fd < 0) {
		report("error %d memfd: %s", start_no, strerror(errno));
		return;
	}
	if (with_name)
		snprintf(text, sizeof(text), "FDSTORE=1\nFDNAME=%s", name);
	else
		snprintf(text, sizeof(text), "FDSTORE=1");
	notify_fds(text, &fd, 1);
	close(fd);
}

/* A datagram as it is, to $NOTIFY_SOCKET, with fd. */
static void send_raw(const char *buf, size_t len, int fd)
{
	const char *addr = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	union {
		struct cmsghdr align;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = {
		.msg_name = &sa, .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = control.buf, .msg_controllen = sizeof(control.buf),
	};
	struct cmsghdr *c;
	int sock;

	if (!addr || strlen(addr) >= sizeof(sa.sun_path)) {
		report("error %d no usable NOTIFY_SOCKET", start_no);
		return;
	}
	strcpy(sa.sun_path, addr);
	mh.msg_namelen = offsetof(struct sockaddr_un, sun_path) + strlen(addr);
	if (addr[0] == '@')
		sa.sun_path[0] = '\0';
	else
		mh.msg_namelen++;
	memset(&control, 0, sizeof(control));
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &fd, sizeof(int));
	sock = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (sock < 0 || sendmsg(sock, &mh, MSG_NOSIGNAL) < 0)
		report("error %d sendmsg: %s", start_no, strerror(errno));
	if (sock >= 0)
		close(sock);
}

static void store_connection(const char *name, bool poll)
{
	const char *path = getenv("KEEPER_TEST_SOCKET");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char text[512];
	int fd;

	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		report("error %d no usable KEEPER_TEST_SOCKET", start_no);
		return;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		report("error %d connect: %s", start_no, strerror(errno));
		if (fd >= 0)
			close(fd);
		return;
	}
	snprintf(text, sizeof(text), "FDSTORE=1\nFDNAME=%s%s", name, poll ? "" : "\nFDPOLL=0");
	notify_fds(text, &fd, 1);
	close(fd);
}

static void on_term(int sig)
{
	int fd = open(report_path, O_WRONLY | O_APPEND | O_CLOEXEC);

	if (fd >= 0) {
		(void)!write(fd, term_line, strlen(term_line));
		close(fd);
	}
}

static void on_term_die(int sig)
{
	on_term(sig);
	signal(SIGTERM, SIG_DFL);
	raise(SIGTERM);
}

static void on_term_exit0(int sig)
{
	on_term(sig);
	_exit(0);
}

static void wait_forever(void (*handler)(int))
{
	struct sigaction sa = { .sa_handler = handler };

	snprintf(term_line, sizeof(term_line), "term %d\n", start_no);
	sigaction(SIGTERM, &sa, NULL);
	report("waiting %d", start_no);
	for (;;)
		pause();
}

static void run_step(char *step)
{
	char *arg = strchr(step, '=');
	char content[512];

	if (arg)
		*arg++ = '\0';
	if (arg)
		snprintf(content, sizeof(content), "data-%s", arg);

	if (strcmp(step, "store") == 0) {
		store_memfd(arg, content, true);
	} else if (strcmp(step, "store-default") == 0) {
		store_memfd(NULL, "data-stored", false);
	} else if (strcmp(step, "store-twice") == 0) {
		char text[512];
		int fd = memfd_with(content), fds[2] = { fd, fd };

		snprintf(text, sizeof(text), "FDSTORE=1\nFDNAME=%s", arg);
		notify_fds(text, fds, 2);
		notify_fds(text, fds, 1);
		close(fd);
	} else if (strcmp(step, "store5") == 0) {
		char text[512], c[600];
		int fds[5];

		for (int i = 0; i < 5; i++) {
			snprintf(c, sizeof(c), "%s-%d", content, i);
			fds[i] = memfd_with(c);
		}
		snprintf(text, sizeof(text), "FDSTORE=1\nFDNAME=%s", arg);
		notify_fds(text, fds, 5);
		for (int i = 0; i < 5; i++)
			close(fds[i]);
	} else if (strcmp(step, "flood") == 0) {
		char text[512];
		int fd = memfd_with(content), fds[60];

		for (int i = 0; i < 60; i++)
			fds[i] = fd;
		snprintf(text, sizeof(text), "FDSTORE=1\nFDNAME=%s", arg);
		notify_fds(text, fds, 60);
		close(fd);
	} else if (strcmp(step, "remove") == 0) {
		char text[512];

		snprintf(text, sizeof(text), "FDSTOREREMOVE=1\nFDNAME=%s", arg);
		if (sd_pid_notify(0, 0, text) <= 0)
			report("error %d FDSTOREREMOVE", start_no);
	} else if (strcmp(step, "connect") == 0 || strcmp(step, "connect-nopoll") == 0) {
		store_connection(arg, strcmp(step, "connect") == 0);
	} else if (strcmp(step, "foreign") == 0) {
		pid_t pid = fork();
		int status;

		if (pid == 0) {
			store_memfd(arg, content, true);
			_exit(0);
		}
		if (pid < 0 || waitpid(pid, &status, 0) != pid)
			report("error %d foreign: %s", start_no, strerror(errno));
	} else if (strcmp(step, "big") == 0 || strcmp(step, "nul") == 0) {
		char buf[5000];
		size_t len;
		int fd = memfd_with(content);

		len = snprintf(buf, sizeof(buf), "FDSTORE=1\nFDNAME=%s\n", arg);
		if (strcmp(step, "big") == 0) {
			memset(buf + len, 'x', sizeof(buf) - len);
			len = sizeof(buf);
		} else {
			/* "FDSTORE=1\nFDNAME=NAME\n\0X=1" */
			memcpy(buf + len, "\0X=1", 4);
			len += 4;
		}
		send_raw(buf, len, fd);
		close(fd);
	} else if (strcmp(step, "ready") == 0) {
		sd_notify(0, "READY=1\nSTATUS=serving the tests");
	} else if (strcmp(step, "kill") == 0) {
		raise(SIGKILL);
	} else if (strcmp(step, "exit") == 0) {
		exit(arg ? atoi(arg) : 0);
	} else if (strcmp(step, "wait") == 0) {
		wait_forever(on_term_die);
	} else if (strcmp(step, "wait-exit0") == 0) {
		wait_forever(on_term_exit0);
	} else if (strcmp(step, "wait-ignore") == 0) {
		wait_forever(on_term);
	} else {
		report("error %d unknown step %s", start_no, step);
	}
}

int main(int argc, char *argv[])
{
	char *program, *step, *save = NULL;

	if (argc < 3) {
		fprintf(stderr, "usage: keeper-child REPORT PROGRAM...\n");
		return 2;
	}
	report_path = argv[1];
	start_no = count_starts() + 1;
	report_start();
	program = argv[2 + (start_no - 1 < argc - 3 ? start_no - 1 : argc - 3)];
	for (step = strtok_r(program, ",", &save); step; step = strtok_r(NULL, ",", &save))
		run_step(step);
	return 0;
}
