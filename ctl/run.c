/* SPDX-License-Identifier: MIT */
/*
 * devnsctl run NAME -- CMD...: a command started as a container of its own,
 * what seatd-launch is to seatd.
 *
 *   devnsctl       in the caller's namespaces: registers the container,
 *    |             forwards SIGTERM, SIGINT and SIGHUP, unregisters the
 *    |             container when CMD exits and returns CMD's status
 *    `- init       devnsctl's forked child: pid 1 of a new pid namespace,
 *        |         in a new mount namespace; the container's leader
 *        `- CMD    pid 2 of that namespace
 *
 * CMD does not run as pid 1 itself. The kernel delivers to the init of a
 * pid namespace only the signals it has a handler for (SIGKILL and SIGSTOP
 * aside), so a command that relies on the default action of SIGTERM, as
 * most programs do, would not notice a forwarded signal at all; and every
 * orphan of the namespace becomes a child of pid 1, which has to reap it.
 * The init does these two things and nothing else.
 *
 * The order: init is created and waits on the "go" pipe; devnsctl registers
 * it, so that the broker creates the endpoint directory; on "go", init makes
 * its mounts private, bind-mounts the endpoint directory on /run/devns,
 * mounts a /proc of the new pid namespace, bind-mounts the container's
 * binder device (the BinderDevice property, which "go" carries) on
 * /dev/binder and starts CMD. Before "go", devnsctl has moved init into
 * the cgroup that confines the devices CMD may open (ctl/run-cgroup.c), so
 * CMD and all it starts are in it from their first instruction. When CMD
 * exits, init sends its wait status on the "report" pipe and stays until
 * devnsctl closes "go", which devnsctl does once it has unregistered the
 * container: the container is unregistered by its owner while its leader
 * still lives, so the name cannot belong to another container by then.
 * When init exits, the kernel kills whatever CMD left running in the
 * namespace, and devnsctl removes the cgroup.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "ctl/props.h"
#include "ctl/run-cgroup.h"
#include "ctl/run.h"

#define CONTAINER_RUN_DIR "/run/devns"
#define CONTAINER_BUS_DIR "/run/dbus"
#define CONTAINER_BUS_SOCKET CONTAINER_BUS_DIR "/system_bus_socket"
/* The login1 facade's session, as the broker names it on every bus. */
#define LOGIN1_SESSION_ID "c1"
/* How long the container's bus and the broker's login1 may take. */
#define LOGIN1_TIMEOUT_MSEC 30000
#define CONTAINER_BINDER "/dev/binder"
/* "g" and the binder device's path: one write, so one read takes it. */
#define GO_MAX 1024
#define NO_SUCH_CONTAINER "org.devns.broker1.Error.NoSuchContainer"

/* What init (or CMD's process before its exec) tells devnsctl. */
enum report_kind {
	REPORT_SETUP_FAILED = 1, /* stage: enum setup_stage, value: errno */
	REPORT_EXEC_FAILED,      /* value: errno */
	REPORT_EXITED,           /* value: CMD's wait status */
	REPORT_BUS_READY,        /* --login1: the container's bus listens */
};

enum setup_stage {
	STAGE_MOUNT_NS,
	STAGE_PRIVATE,
	STAGE_MKDIR,
	STAGE_BIND,
	STAGE_HIDE,
	STAGE_PROC,
	STAGE_BINDER,
	STAGE_LOGIN1_MOUNTS,
	STAGE_LOGIN1_BUS,
	STAGE_START,
};

struct report {
	int32_t kind;
	int32_t stage;
	int32_t value;
};

struct run_paths {
	char *endpoint;   /* <runtime>/containers/<name> */
	char *containers; /* <runtime>/containers */
};

_printf_(3, 4)
static void run_error(int err, const sd_bus_error *error, const char *fmt, ...)
{
	va_list ap;

	fputs("devnsctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (error && sd_bus_error_is_set(error))
		fprintf(stderr, ": %s\n", error->message ? error->message : error->name);
	else if (err)
		fprintf(stderr, ": %s\n", strerror(err < 0 ? -err : err));
	else
		fputc('\n', stderr);
}

int register_container(sd_bus *bus, const struct register_options *o,
		       uint32_t leader, char **ret_path, sd_bus_error *error)
{
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *reply = NULL;
	const char *path;
	int r;

	r = sd_bus_message_new_method_call(bus, &m, DEVNS_BUS_NAME,
					   DEVNS_MANAGER_PATH,
					   DEVNS_MANAGER_IFACE,
					   "RegisterContainer");
	if (r < 0)
		return r;
	r = sd_bus_message_append(m, "ssu", o->name, o->seat ? o->seat : "",
				  leader);
	if (r < 0)
		return r;
	/* Options go out only when given, so the broker's defaults apply. */
	r = sd_bus_message_open_container(m, 'a', "{sv}");
	if (r >= 0 && o->allow_activate >= 0)
		r = sd_bus_message_append(m, "{sv}", "AllowActivate", "b",
					  o->allow_activate > 0);
	if (r >= 0 && o->login1)
		r = sd_bus_message_append(m, "{sv}{sv}", "Login1", "b", 1, "Login1User", "u",
					  (uint32_t)o->login1_user);
	if (r >= 0 && o->control_user >= 0)
		r = sd_bus_message_append(m, "{sv}", "ControlUser", "u",
					  (uint32_t)o->control_user);
	if (r >= 0 && o->outputs && o->outputs[0]) {
		r = sd_bus_message_open_container(m, 'e', "sv");
		if (r >= 0)
			r = sd_bus_message_append(m, "s", "Outputs");
		if (r >= 0)
			r = sd_bus_message_open_container(m, 'v', "as");
		if (r >= 0)
			r = sd_bus_message_append_strv(m, o->outputs);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
		if (r >= 0)
			r = sd_bus_message_close_container(m);
	}
	if (r >= 0)
		r = sd_bus_message_close_container(m);
	if (r < 0)
		return r;

	r = sd_bus_call(bus, m, 0, error, &reply);
	if (r < 0)
		return r;
	if (!ret_path)
		return 0;

	r = sd_bus_message_read_basic(reply, 'o', &path);
	if (r < 0)
		return r;
	*ret_path = strdup(path);
	return *ret_path ? 0 : -ENOMEM;
}

/* ------------------------------------------------------------------ init */

static void send_report(int fd, enum report_kind kind, int stage, int value)
{
	struct report rep = { .kind = kind, .stage = stage, .value = value };
	ssize_t n;

	/* A write of a few bytes to a pipe is atomic; if devnsctl is gone,
	 * there is nobody to tell (SIGPIPE is blocked). */
	do
		n = write(fd, &rep, sizeof(rep));
	while (n < 0 && errno == EINTR);
}

static _Noreturn void setup_failed(int report_fd, enum setup_stage stage, int err)
{
	send_report(report_fd, REPORT_SETUP_FAILED, stage, err);
	_exit(EXIT_FAILURE);
}

static int mkdir_exists_ok(const char *path)
{
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static void reap(pid_t cmd, bool *exited, int report_fd)
{
	pid_t pid;
	int status;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		if (pid == cmd && !*exited) {
			*exited = true;
			send_report(report_fd, REPORT_EXITED, 0, status);
		}
}

/* The sd-login files of the broker go to directories of the container's
 * own; the rest of the host's /run/systemd (the journal's socket) stays. */
static int login1_mounts(void)
{
	static const char *const dirs[] = {
		"/run/systemd/sessions", "/run/systemd/seats", "/run/systemd/users",
	};
	struct stat st;

	if (mkdir_exists_ok(CONTAINER_BUS_DIR) < 0 ||
	    mount("tmpfs", CONTAINER_BUS_DIR, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  "mode=0755") < 0)
		return -errno;
	if (stat("/run/systemd", &st) < 0)
		return mkdir_exists_ok("/run/systemd") < 0 ||
		       mount("tmpfs", "/run/systemd", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			     "mode=0755") < 0 ? -errno : 0;
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++)
		if (mkdir_exists_ok(dirs[i]) < 0 ||
		    mount("tmpfs", dirs[i], "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=0755") < 0)
			return -errno;
	return 0;
}

/* The container's own system bus, a child of init; returns once it
 * listens. */
static int start_system_bus(void)
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR | O_CLOEXEC);

		if (null >= 0)
			dup2(null, STDIN_FILENO);
		execlp("dbus-daemon", "dbus-daemon", "--system", "--nofork", "--nopidfile",
		       (char *)NULL);
		_exit(127);
	}
	for (int waited = 0; waited < LOGIN1_TIMEOUT_MSEC; waited += 10) {
		struct stat st;

		if (stat(CONTAINER_BUS_SOCKET, &st) == 0 && S_ISSOCK(st.st_mode))
			return 0;
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -ECHILD;
		usleep(10000);
	}
	return -ETIMEDOUT;
}

static _Noreturn void init_main(const struct run_paths *p, char **cmd, bool login1,
				int go_fd, int report_fd,
				const sigset_t *forwarded,
				const sigset_t *saved_mask)
{
	struct stat st;
	bool exited = false;
	pid_t child;
	ssize_t n;
	char go[GO_MAX + 1];
	const char *binder;
	int sfd;

	if (unshare(CLONE_NEWNS) < 0)
		setup_failed(report_fd, STAGE_MOUNT_NS, errno);

	do
		n = read(go_fd, go, GO_MAX);
	while (n < 0 && errno == EINTR);
	if (n < 1 || go[0] != 'g')
		_exit(EXIT_FAILURE); /* not registered; devnsctl says why */
	go[n] = '\0';
	binder = go + 1;

	/* Nothing mounted below may reach the caller's namespace. */
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		setup_failed(report_fd, STAGE_PRIVATE, errno);
	if (mkdir_exists_ok("/run") < 0 || mkdir_exists_ok(CONTAINER_RUN_DIR) < 0)
		setup_failed(report_fd, STAGE_MKDIR, errno);
	/* Not recursive: the endpoint directory alone. With the default
	 * runtime directory, /run/devns, this covers the other containers'
	 * directories as well. */
	if (mount(p->endpoint, CONTAINER_RUN_DIR, NULL, MS_BIND, NULL) < 0)
		setup_failed(report_fd, STAGE_BIND, errno);
	/* With another runtime directory they would still be reachable at
	 * its path: cover them with an empty, read-only file system. */
	if (stat(p->containers, &st) == 0 && S_ISDIR(st.st_mode) &&
	    mount("tmpfs", p->containers, "tmpfs",
		  MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=0755") < 0)
		setup_failed(report_fd, STAGE_HIDE, errno);
	if (mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC,
		  NULL) < 0)
		setup_failed(report_fd, STAGE_PROC, errno);
	/* The container's own binder device where programs look for it.
	 * Only over an existing node: the container shares the host's /dev,
	 * and a mount point made there would be made on the host. */
	if (binder[0]) {
		if (stat(CONTAINER_BINDER, &st) < 0)
			fprintf(stderr, "devnsctl: %s does not exist; the container's binder device is %s\n",
				CONTAINER_BINDER, binder);
		else if (mount(binder, CONTAINER_BINDER, NULL, MS_BIND, NULL) < 0)
			setup_failed(report_fd, STAGE_BINDER, errno);
	}

	/* With --login1: a system bus of the container's own, on which the
	 * broker serves login1; CMD starts once it does ("s" and the seat). */
	if (login1) {
		int r = login1_mounts();

		if (r < 0)
			setup_failed(report_fd, STAGE_LOGIN1_MOUNTS, -r);
		r = start_system_bus();
		if (r < 0)
			setup_failed(report_fd, STAGE_LOGIN1_BUS, -r);
		send_report(report_fd, REPORT_BUS_READY, 0, 0);
		do
			n = read(go_fd, go, GO_MAX);
		while (n < 0 && errno == EINTR);
		if (n < 1 || go[0] != 's')
			_exit(EXIT_FAILURE); /* devnsctl says why */
		go[n] = '\0';
		if (setenv("XDG_SESSION_ID", LOGIN1_SESSION_ID, 1) < 0 ||
		    setenv("XDG_SEAT", go + 1, 1) < 0)
			setup_failed(report_fd, STAGE_LOGIN1_BUS, errno);
	}

	/* Signals stay blocked, as devnsctl had them, so none is lost before
	 * CMD runs: they wait here and are forwarded once it does. */
	sfd = signalfd(-1, forwarded, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0)
		setup_failed(report_fd, STAGE_START, errno);
	child = fork();
	if (child < 0)
		setup_failed(report_fd, STAGE_START, errno);
	if (child == 0) {
		int err;

		sigprocmask(SIG_SETMASK, saved_mask, NULL);
		execvp(cmd[0], cmd);
		err = errno;
		send_report(report_fd, REPORT_EXEC_FAILED, 0, err);
		_exit(err == ENOENT ? 127 : 126);
	}

	for (;;) {
		struct pollfd pfd[2] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = go_fd, .events = POLLIN },
		};
		struct signalfd_siginfo si;

		if (poll(pfd, ARRAY_SIZE(pfd), -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(EXIT_FAILURE);
		}
		if (pfd[1].revents) {
			/* devnsctl closed "go": it has unregistered the
			 * container, or it is gone. The namespace ends with
			 * us either way. */
			reap(child, &exited, report_fd);
			_exit(exited ? EXIT_SUCCESS : EXIT_FAILURE);
		}
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGCHLD)
				reap(child, &exited, report_fd);
			else if (!exited && si.ssi_code != SI_KERNEL)
				/* SI_KERNEL: the terminal signalled its whole
				 * process group, and CMD is in it. */
				kill(child, (int)si.ssi_signo);
		}
	}
}

/* -------------------------------------------------------------- devnsctl */

static void report_setup_failure(const struct report *rep,
				  const struct run_paths *p)
{
	int err = rep->value;

	switch (rep->stage) {
	case STAGE_MOUNT_NS:
		run_error(err, NULL, "Failed to create a mount namespace");
		break;
	case STAGE_PRIVATE:
		run_error(err, NULL, "Failed to make the container's mounts private");
		break;
	case STAGE_MKDIR:
		run_error(err, NULL, "Failed to create %s for the container",
			  CONTAINER_RUN_DIR);
		break;
	case STAGE_BIND:
		run_error(err, NULL, "Failed to mount %s on %s", p->endpoint,
			  CONTAINER_RUN_DIR);
		break;
	case STAGE_HIDE:
		run_error(err, NULL, "Failed to hide %s from the container",
			  p->containers);
		break;
	case STAGE_PROC:
		run_error(err, NULL, "Failed to mount /proc for the container");
		break;
	case STAGE_BINDER:
		run_error(err, NULL, "Failed to mount the container's binder device on %s",
			  CONTAINER_BINDER);
		break;
	case STAGE_LOGIN1_MOUNTS:
		run_error(err, NULL, "Failed to mount the container's own %s and "
			  "/run/systemd directories", CONTAINER_BUS_DIR);
		break;
	case STAGE_LOGIN1_BUS:
		run_error(err, NULL, "Failed to start the container's system bus "
			  "(dbus-daemon --system)");
		break;
	default:
		run_error(err, NULL, "Failed to start the command");
		break;
	}
}

static int exit_status_of(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return EXIT_FAILURE;
}

static void unregister(sd_bus *bus, const char *name)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	int r;

	r = sd_bus_call_method(bus, DEVNS_BUS_NAME, DEVNS_MANAGER_PATH,
			       DEVNS_MANAGER_IFACE, "UnregisterContainer",
			       &error, NULL, "s", name);
	/* Someone may have unregistered it by hand meanwhile. */
	if (r < 0 && !sd_bus_error_has_name(&error, NO_SUCH_CONTAINER))
		run_error(r, &error, "Failed to unregister container %s", name);
}

/* Waits until the broker serves login1 on the container's new bus (the
 * container's Login1 property), so that CMD finds it at once. */
static int login1_wait_serving(sd_bus *bus, const char *object, const char *name)
{
	_cleanup_free_ char *status = NULL;

	for (int waited = 0; waited < LOGIN1_TIMEOUT_MSEC; waited += 20) {
		_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
		int r;

		free(status);
		status = NULL;
		r = sd_bus_get_property_string(bus, DEVNS_BUS_NAME, object, DEVNS_CONTAINER_IFACE,
					       "Login1", &error, &status);
		if (r < 0) {
			run_error(r, &error, "Failed to read the login1 state of container %s", name);
			return r;
		}
		if (strcmp(status, "serving") == 0)
			return 0;
		usleep(20000);
	}
	run_error(0, NULL, "The broker does not serve login1 for container %s: %s", name,
		  status ? status : "?");
	return -ETIMEDOUT;
}

/* Moves init, still waiting for "go", into a new cgroup whose device filter
 * CMD then inherits; *ret_cgroup receives its directory. */
static int confine_devices(const char *name, const char *binder, pid_t init,
			   char **ret_cgroup)
{
	_cleanup_free_ char *path = NULL;
	enum run_cgroup_step step;
	int r;

	r = run_cgroup_create(name, binder, &path, &step);
	if (r < 0) {
		if (step == RUN_CGROUP_FIND && r == -ENOMEDIUM)
			run_error(0, NULL, "Failed to confine the devices of container %s: "
				  "no cgroup2 file system on /sys/fs/cgroup", name);
		else if (step == RUN_CGROUP_FIND)
			run_error(r, NULL, "Failed to find the cgroup of devnsctl "
				  "(/proc/self/cgroup) in /sys/fs/cgroup");
		else if (step == RUN_CGROUP_DEVICES)
			run_error(r, NULL, "Failed to list the binder and DRM devices "
				  "of /sys/class for the device filter");
		else if (step == RUN_CGROUP_CREATE)
			run_error(r, NULL, "Failed to create cgroup %s", path);
		else
			run_error(r, NULL, "Failed to attach a device filter to cgroup %s",
				  path);
	} else {
		r = run_cgroup_enter(path, init);
		if (r < 0) {
			run_error(r, NULL, "Failed to move container %s into cgroup %s",
				  name, path);
			(void)run_cgroup_remove(path);
		}
	}
	if (r < 0) {
		fprintf(stderr, "devnsctl: Without it the command could open every "
			"device node; --no-device-confinement runs it so.\n");
		return r;
	}
	*ret_cgroup = TAKE_PTR(path);
	return 0;
}

static int get_paths(sd_bus *bus, const char *name, struct run_paths *p)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	struct manager_info info = {};
	int r;

	r = manager_info_get(bus, &info, &error);
	if (r < 0) {
		run_error(r, &error, "Failed to get the broker's runtime directory");
		manager_info_clear(&info);
		return r;
	}
	if (!info.runtime_directory || info.runtime_directory[0] != '/') {
		run_error(0, NULL, "The broker reports no runtime directory");
		manager_info_clear(&info);
		return -EINVAL;
	}
	if (asprintf(&p->containers, "%s/containers", info.runtime_directory) < 0)
		p->containers = NULL;
	if (p->containers &&
	    asprintf(&p->endpoint, "%s/%s", p->containers, name) < 0)
		p->endpoint = NULL;
	manager_info_clear(&info);
	if (!p->endpoint) {
		run_error(-ENOMEM, NULL, "Failed to run container %s", name);
		return -ENOMEM;
	}
	return 0;
}

int run_container(sd_bus *bus, const struct register_options *o,
		  bool confine, char **cmd)
{
	_cleanup_(sd_bus_error_free) sd_bus_error error = SD_BUS_ERROR_NULL;
	_cleanup_close_ int sfd = -1;
	struct run_paths paths = {};
	sigset_t forwarded, blocked, saved;
	int go[2] = { -1, -1 }, rep[2] = { -1, -1 };
	bool have_status = false, init_reaped = false, report_eof = false;
	bool confine_failed = false, login1_failed = false;
	struct report setup = {};
	_cleanup_free_ char *object = NULL, *binder = NULL, *cgroup = NULL;
	char go_msg[GO_MAX + 1];
	int cmd_status = 0, init_status = 0, exec_err = 0, ret;
	pid_t pid;
	int r;

	if (get_paths(bus, o->name, &paths) < 0)
		return EXIT_FAILURE;

	sigemptyset(&forwarded);
	sigaddset(&forwarded, SIGTERM);
	sigaddset(&forwarded, SIGINT);
	sigaddset(&forwarded, SIGHUP);
	sigaddset(&forwarded, SIGCHLD);
	blocked = forwarded;
	/* A write to a pipe whose reader died fails with EPIPE instead. */
	sigaddset(&blocked, SIGPIPE);
	if (sigprocmask(SIG_BLOCK, &blocked, &saved) < 0) {
		ret = EXIT_FAILURE;
		run_error(errno, NULL, "Failed to block signals");
		goto out;
	}
	sfd = signalfd(-1, &forwarded, SFD_CLOEXEC | SFD_NONBLOCK);
	if (sfd < 0 || pipe2(go, O_CLOEXEC) < 0 || pipe2(rep, O_CLOEXEC) < 0) {
		ret = EXIT_FAILURE;
		run_error(errno, NULL, "Failed to run container %s", o->name);
		goto out;
	}

	/* Our next child, and only it, is in the new pid namespace. */
	if (unshare(CLONE_NEWPID) < 0) {
		ret = EXIT_FAILURE;
		run_error(errno, NULL, "Failed to create a pid namespace");
		goto out;
	}
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		ret = EXIT_FAILURE;
		run_error(errno, NULL, "Failed to start the container's init");
		goto out;
	}
	if (pid == 0) {
		int bus_fd = sd_bus_get_fd(bus);

		/* The bus connection is devnsctl's; init never uses it. */
		if (bus_fd >= 0)
			close(bus_fd);
		close(go[1]);
		close(rep[0]);
		close(sfd);
		init_main(&paths, cmd, o->login1, go[0], rep[1], &forwarded, &saved);
	}
	close(TAKE_FD(go[0]));
	close(TAKE_FD(rep[1]));

	r = register_container(bus, o, (uint32_t)pid, &object, &error);
	if (r < 0) {
		run_error(r, &error, "Failed to register container %s", o->name);
		close(TAKE_FD(go[1])); /* init exits */
		while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
			;
		ret = EXIT_FAILURE;
		goto out;
	}
	/* A broker without binder devices (or without the property) gives
	 * none: the container goes without. */
	if (sd_bus_get_property_string(bus, DEVNS_BUS_NAME, object, DEVNS_CONTAINER_IFACE,
				       "BinderDevice", NULL, &binder) < 0 ||
	    strlen(binder) >= GO_MAX) {
		free(binder);
		binder = NULL;
	}
	/* Once registered, so that the broker has checked the name, and has
	 * said which binder device is the container's. */
	if (confine && confine_devices(o->name, binder, pid, &cgroup) < 0)
		confine_failed = true;
	snprintf(go_msg, sizeof(go_msg), "g%s", binder ? binder : "");
	/* If init is gone already, the report pipe says so below. */
	if (!confine_failed)
		(void)!write(go[1], go_msg, strlen(go_msg));

	while (!confine_failed && !have_status && !report_eof) {
		struct pollfd pfd[2] = {
			{ .fd = sfd, .events = POLLIN },
			{ .fd = rep[0], .events = POLLIN },
		};
		struct signalfd_siginfo si;

		if (poll(pfd, ARRAY_SIZE(pfd), -1) < 0) {
			if (errno == EINTR)
				continue;
			run_error(errno, NULL, "Failed to wait for the command");
			break;
		}
		while (read(sfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
			if (si.ssi_signo == SIGCHLD) {
				if (!init_reaped &&
				    waitpid(pid, &init_status, WNOHANG) == pid)
					init_reaped = true;
			} else if (si.ssi_code != SI_KERNEL && !init_reaped)
				kill(pid, (int)si.ssi_signo);
		}
		if (pfd[1].revents) {
			struct report m;
			ssize_t n = read(rep[0], &m, sizeof(m));

			if (n < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			if (n != (ssize_t)sizeof(m)) {
				report_eof = true; /* init and CMD are gone */
				continue;
			}
			if (m.kind == REPORT_SETUP_FAILED)
				setup = m;
			else if (m.kind == REPORT_EXEC_FAILED)
				exec_err = m.value;
			else if (m.kind == REPORT_EXITED) {
				cmd_status = m.value;
				have_status = true;
			} else if (m.kind == REPORT_BUS_READY) {
				if (login1_wait_serving(bus, object, o->name) < 0) {
					login1_failed = true;
					break;
				}
				snprintf(go_msg, sizeof(go_msg), "s%s",
					 o->seat && o->seat[0] ? o->seat : "seat0");
				(void)!write(go[1], go_msg, strlen(go_msg));
			}
		}
	}

	/* While init still lives the name is ours: unregister, then let it
	 * go, taking along whatever CMD left behind. */
	unregister(bus, o->name);
	close(TAKE_FD(go[1]));
	while (!init_reaped) {
		if (waitpid(pid, &init_status, 0) == pid || errno != EINTR)
			init_reaped = true;
	}
	/* The namespace, and so the cgroup, is empty now. */
	if (cgroup && (r = run_cgroup_remove(cgroup)) < 0)
		run_error(r, NULL, "Failed to remove cgroup %s", cgroup);

	if (confine_failed || login1_failed)
		ret = EXIT_FAILURE;
	else if (setup.kind) {
		report_setup_failure(&setup, &paths);
		ret = EXIT_FAILURE;
	} else if (exec_err) {
		run_error(exec_err, NULL, "Failed to execute %s", cmd[0]);
		ret = exec_err == ENOENT ? 127 : 126;
	} else if (have_status)
		ret = exit_status_of(cmd_status);
	else if (WIFSIGNALED(init_status)) {
		/* Its namespace, the command included, died with it. */
		run_error(0, NULL, "The init of container %s was killed by signal %d",
			  o->name, WTERMSIG(init_status));
		ret = 128 + WTERMSIG(init_status);
	} else {
		run_error(0, NULL, "The init of container %s exited unexpectedly",
			  o->name);
		ret = EXIT_FAILURE;
	}

out:
	for (unsigned i = 0; i < 2; i++) {
		closep(&go[i]);
		closep(&rep[i]);
	}
	free(paths.endpoint);
	free(paths.containers);
	return ret;
}
