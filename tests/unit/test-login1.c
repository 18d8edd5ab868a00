/* SPDX-License-Identifier: MIT */
/*
 * The login1 facade against a real dbus-daemon: a container whose leader
 * lives in a root of its own (a temporary directory), with the daemon
 * listening at <root>/run/dbus/system_bus_socket. The broker runs in
 * process (fixture.h); the test talks to org.freedesktop.login1 on that
 * daemon as a compositor would.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/macro.h"
#include "fixture.h"
#include "login1/login1.h"

#define L1 "org.freedesktop.login1"
#define L1_PATH "/org/freedesktop/login1"
#define L1_MANAGER "org.freedesktop.login1.Manager"
#define L1_SESSION "org.freedesktop.login1.Session"
#define L1_SEAT "org.freedesktop.login1.Seat"
#define L1_USER "org.freedesktop.login1.User"

struct l1_env {
	struct fixture *f;
	char root[256];
	char socket[320];
	char config[320];
	pid_t daemon;
	struct container *c;
	sd_bus *client; /* on the container's bus */
};

static int write_text(const char *path, const char *text)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	size_t n = strlen(text);

	if (fd < 0)
		return -errno;
	return write(fd, text, n) == (ssize_t)n ? 0 : -EIO;
}

static bool start_daemon(struct l1_env *e)
{
	const char *argv[] = { "dbus-daemon", "--nofork", "--nopidfile", NULL, NULL };
	char arg[PATH_MAX + 16];

	snprintf(arg, sizeof(arg), "--config-file=%s", e->config);
	argv[3] = arg;
	(void)unlink(e->socket);
	e->daemon = fx_spawn(argv);
	return e->daemon > 0;
}

static const char *status_of(struct l1_env *e)
{
	return container_listener_status(e->c, LOGIN1_NAME) ?: "(none)";
}

/* Runs the broker's loop until the facade's status starts with prefix. */
static bool wait_status(struct l1_env *e, const char *prefix)
{
	uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

	while (strncmp(status_of(e), prefix, strlen(prefix)) != 0) {
		if (fx_now() > deadline) {
			printf("# status '%s', waited for '%s'\n", status_of(e), prefix);
			return false;
		}
		fx_run_for(e->f, 20000);
	}
	return true;
}

static sd_bus *bus_client(struct l1_env *e)
{
	char address[PATH_MAX + 16];
	sd_bus *bus = NULL;

	snprintf(address, sizeof(address), "unix:path=%s", e->socket);
	if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, address) < 0 ||
	    sd_bus_set_bus_client(bus, true) < 0 || sd_bus_negotiate_fds(bus, true) < 0 ||
	    sd_bus_start(bus) < 0 ||
	    sd_bus_attach_event(bus, e->f->b->event, 0) < 0) {
		sd_bus_unref(bus);
		return NULL;
	}
	fx_keep_bus(e->f, bus);
	return fx_wait_ready(e->f, bus) ? bus : NULL;
}

/* A broker, a container rooted in a temporary directory with its own bus
 * daemon, registered with Login1 (and Login1User user, and ControlUser
 * control_user unless it is -1), and a client. */
static bool l1_setup(struct l1_env *e, uint32_t user, int64_t control_user, bool allow_activate,
		     bool start)
{
	struct container_options opts = { .allow_activate = allow_activate };
	const char *tmp;
	char path[PATH_MAX + 32];
	pid_t leader;
	int r;

	*e = (struct l1_env) { 0 };
	if (fx_setup(&e->f, false) < 0)
		return false;
	fx_destination = L1;
	tmp = test_tmpdir("l1");
	/* Open to all: a caller of another user reaches the bus socket. */
	if (!tmp || chmod(tmp, 0755) < 0)
		return false;
	snprintf(e->root, sizeof(e->root), "%s/root", tmp);
	snprintf(e->socket, sizeof(e->socket), "%s/run/dbus/system_bus_socket", e->root);
	snprintf(e->config, sizeof(e->config), "%s/bus.conf", tmp);
	snprintf(path, sizeof(path), "%s/run/dbus", e->root);
	if (mkdir(e->root, 0755) < 0 ||
	    snprintf(path, sizeof(path), "%s/run", e->root) < 0 || mkdir(path, 0755) < 0 ||
	    snprintf(path, sizeof(path), "%s/run/dbus", e->root) < 0 || mkdir(path, 0755) < 0)
		return false;
	snprintf(path, sizeof(path),
		 "<busconfig><type>system</type><listen>unix:path=%s</listen>"
		 "<auth>EXTERNAL</auth><policy context=\"default\">"
		 "<allow user=\"*\"/><allow own=\"*\"/><allow send_destination=\"*\"/>"
		 "<allow receive_sender=\"*\"/></policy></busconfig>\n", e->socket);
	if (write_text(e->config, path) < 0)
		return false;

	leader = fx_chroot_child(e->root);
	if (leader < 0) {
		printf("# no leader in a root of its own: %s\n", strerror(-leader));
		return false;
	}
	if (container_options_set(&opts, broker_find_option(e->f->b, "Login1"), 1) < 0 ||
	    container_options_set(&opts, broker_find_option(e->f->b, "Login1User"), user) < 0)
		return false;
	if (control_user >= 0 &&
	    container_options_set(&opts, broker_find_option(e->f->b, "ControlUser"),
				  (uint32_t)control_user) < 0)
		return false;
	r = container_new(e->f->b, "os", e->f->seat0, leader, &opts, &e->c);
	if (r < 0) {
		printf("# container_new: %s\n", strerror(-r));
		return false;
	}
	if (!start)
		return true;
	if (!wait_status(e, "waiting") || !start_daemon(e) || !wait_status(e, "serving"))
		return false;
	e->client = bus_client(e);
	return e->client != NULL;
}

#define L1_SETUP_CONTROL_USER(e, user, control_user, allow, start)                   \
	do {                                                                          \
		if (!TEST_CHECK(l1_setup(&(e), (user), (control_user), (allow), (start)))) \
			FAIL("cannot set up a container with its own bus");              \
	} while (0)
#define L1_SETUP(e, user, allow, start) L1_SETUP_CONTROL_USER(e, user, -1, allow, start)

static char *read_root_file(struct l1_env *e, const char *path)
{
	char full[PATH_MAX * 2], *buf = NULL;
	size_t size = 0;
	FILE *f;

	snprintf(full, sizeof(full), "%s%s", e->root, path);
	f = fopen(full, "re");
	if (!f)
		return NULL;
	if (getdelim(&buf, &size, '\0', f) < 0) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static bool root_file_has(struct l1_env *e, const char *path, const char *line)
{
	_cleanup_free_ char *text = read_root_file(e, path);

	return text && strstr(text, line);
}

static void unref_slot(void *slot)
{
	sd_bus_slot_unref(slot);
}

/* Reads Active and State out of a PropertiesChanged of the session. */
static int on_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct {
		bool seen;
		int active;
		char state[16];
	} *changed = userdata;
	const char *iface, *name;

	if (sd_bus_message_read(m, "s", &iface) < 0 ||
	    sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
		return 0;
	while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
		if (sd_bus_message_read(m, "s", &name) < 0)
			return 0;
		if (strcmp(name, "Active") == 0) {
			int v;

			if (sd_bus_message_read(m, "v", "b", &v) >= 0)
				changed->active = v;
		} else if (strcmp(name, "State") == 0) {
			const char *v;

			if (sd_bus_message_read(m, "v", "s", &v) >= 0)
				snprintf(changed->state, sizeof(changed->state), "%s", v);
		} else if (sd_bus_message_skip(m, "v") < 0)
			return 0;
		if (sd_bus_message_exit_container(m) < 0)
			return 0;
	}
	changed->seen = changed->active >= 0;
	return 0;
}

TEST(serves_when_the_bus_appears)
{
	struct l1_env e;
	_cleanup_free_ char *prop = NULL;

	L1_SETUP(e, getuid(), false, false);
	ASSERT_TRUE(wait_status(&e, "waiting"));
	prop = fx_get_string(e.f, e.f->client, FX_PATH(e.c), "org.devns.broker1.Container", "Login1");
	ASSERT_EQ_STR("waiting", prop);
	ASSERT_TRUE(start_daemon(&e));
	ASSERT_TRUE(wait_status(&e, "serving"));
	free(prop);
	prop = fx_get_string(e.f, e.f->client, FX_PATH(e.c), "org.devns.broker1.Container", "Login1");
	ASSERT_EQ_STR("serving", prop);
}

TEST(off_without_the_option)
{
	struct fixture *f;
	_cleanup_free_ char *prop = NULL;
	struct container *c;

	FX_SETUP(f, false);
	c = fx_add_container(f, "plain", 0, false);
	ASSERT_TRUE(c != NULL);
	prop = fx_get_string(f, f->client, FX_PATH(c), "org.devns.broker1.Container", "Login1");
	ASSERT_EQ_STR("off", prop);
}

TEST(names_and_paths_of_logind)
{
	struct l1_env e;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL, *list = NULL;
	const char *path;
	char user_path[64];

	L1_SETUP(e, getuid(), false, true);
	snprintf(user_path, sizeof(user_path), L1_PATH "/user/_%u", (unsigned)getuid());

	m = fx_call(e.f, e.client, L1_PATH, L1_MANAGER, "GetSession", "s", "auto");
	ASSERT_TRUE(m && !sd_bus_message_is_method_error(m, NULL));
	ASSERT_TRUE(sd_bus_message_read(m, "o", &path) >= 0);
	ASSERT_EQ_STR(L1_PATH "/session/c1", path);
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH, L1_MANAGER, "GetSession", "s", "c1");
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH, L1_MANAGER, "GetSession", "s", "self");
	ASSERT_CALL(e.f, "org.freedesktop.login1.NoSuchSession", e.client, L1_PATH, L1_MANAGER,
		    "GetSession", "s", "c2");
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH, L1_MANAGER, "GetSeat", "s", "seat0");
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH, L1_MANAGER, "GetSeat", "s", "auto");
	ASSERT_CALL(e.f, "org.freedesktop.login1.NoSuchSeat", e.client, L1_PATH, L1_MANAGER,
		    "GetSeat", "s", "seat1");
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH, L1_MANAGER, "GetUser", "u", (uint32_t)getuid());
	ASSERT_CALL(e.f, "org.freedesktop.login1.NoSuchUser", e.client, L1_PATH, L1_MANAGER,
		    "GetUser", "u", (uint32_t)getuid() + 1);
	/* Not one of logind's members the facade has: an error, not a hang. */
	ASSERT_CALL(e.f, "org.freedesktop.DBus.Error.UnknownMethod", e.client, L1_PATH, L1_MANAGER,
		    "PowerOff", "b", 0);

	list = fx_call(e.f, e.client, L1_PATH, L1_MANAGER, "ListSessions", NULL);
	ASSERT_TRUE(list && !sd_bus_message_is_method_error(list, NULL));
	{
		const char *id, *name, *seat, *p;
		uint32_t uid;

		ASSERT_TRUE(sd_bus_message_enter_container(list, 'a', "(susso)") > 0);
		ASSERT_TRUE(sd_bus_message_read(list, "(susso)", &id, &uid, &name, &seat, &p) > 0);
		ASSERT_EQ_STR("c1", id);
		ASSERT_EQ_INT(getuid(), uid);
		ASSERT_EQ_STR("seat0", seat);
		ASSERT_EQ_STR(L1_PATH "/session/c1", p);
		/* Only its own session: nothing of another container. */
		ASSERT_EQ_INT(0, sd_bus_message_read(list, "(susso)", &id, &uid, &name, &seat, &p));
	}

	{
		_cleanup_free_ char *id = fx_get_string(e.f, e.client, L1_PATH "/session/auto",
							L1_SESSION, "Id");
		_cleanup_free_ char *state = fx_get_string(e.f, e.client, L1_PATH "/session/c1",
							   L1_SESSION, "State");
		_cleanup_free_ char *type = fx_get_string(e.f, e.client, L1_PATH "/session/c1",
							  L1_SESSION, "Type");

		ASSERT_EQ_STR("c1", id);
		ASSERT_EQ_STR("online", state);
		ASSERT_EQ_STR("wayland", type);
	}
	ASSERT_EQ_INT(0, fx_get_bool(e.f, e.client, L1_PATH "/session/c1", L1_SESSION, "Active"));
	ASSERT_EQ_INT(0, fx_get_bool(e.f, e.client, L1_PATH "/seat/seat0", L1_SEAT, "CanTTY"));
	ASSERT_EQ_INT(0, fx_get_bool(e.f, e.client, L1_PATH "/seat/self", L1_SEAT, "CanTTY"));
	{
		_cleanup_free_ char *state = fx_get_string(e.f, e.client, user_path, L1_USER, "State");

		ASSERT_EQ_STR("online", state);
	}
}

TEST(session_by_pid_only_for_the_containers_processes)
{
	struct l1_env e;

	L1_SETUP(e, getuid(), false, true);
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH, L1_MANAGER, "GetSessionByPID", "u", 0);
	/* The leader shares our pid namespace here, so our pid is one of it. */
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH, L1_MANAGER, "GetSessionByPID", "u",
		    (uint32_t)getpid());
	/* pid_max is at most 2^22: no process has this pid. */
	ASSERT_CALL(e.f, "org.freedesktop.login1.NoSessionForPID", e.client, L1_PATH, L1_MANAGER,
		    "GetSessionByPID", "u", (uint32_t)(1u << 22) + 17);
	ASSERT_CALL(e.f, "org.freedesktop.DBus.Error.InvalidArgs", e.client, L1_PATH, L1_MANAGER,
		    "GetSessionByPID", "u", UINT32_MAX);
}

TEST(sd_login_files_follow_the_switch)
{
	struct l1_env e;
	char uid_file[64];
	uint64_t deadline;

	L1_SETUP(e, getuid(), false, true);
	snprintf(uid_file, sizeof(uid_file), "/run/systemd/users/%u", (unsigned)getuid());
	ASSERT_TRUE(root_file_has(&e, "/run/systemd/sessions/c1", "ACTIVE=0\n"));
	ASSERT_TRUE(root_file_has(&e, "/run/systemd/sessions/c1", "SEAT=seat0\n"));
	ASSERT_TRUE(root_file_has(&e, "/run/systemd/sessions/c1", "TYPE=wayland\n"));
	ASSERT_TRUE(root_file_has(&e, "/run/systemd/seats/seat0", "CAN_TTY=0\n"));
	ASSERT_TRUE(root_file_has(&e, uid_file, "DISPLAY=c1\n"));
	ASSERT_TRUE(root_file_has(&e, uid_file, "STATE=online\n"));

	ASSERT_TRUE(fx_activate(e.f, e.c));
	deadline = fx_now() + FX_TIMEOUT_USEC;
	while (!root_file_has(&e, "/run/systemd/sessions/c1", "ACTIVE=1\n") && fx_now() < deadline)
		fx_run_for(e.f, 20000);
	ASSERT_TRUE(root_file_has(&e, "/run/systemd/sessions/c1", "STATE=active\n"));
	ASSERT_TRUE(root_file_has(&e, "/run/systemd/seats/seat0", "ACTIVE=c1\n"));
	ASSERT_TRUE(root_file_has(&e, uid_file, "STATE=active\n"));
	ASSERT_EQ_INT(1, fx_get_bool(e.f, e.client, L1_PATH "/session/c1", L1_SESSION, "Active"));
}

/* Links the container planted under /run/systemd: replaced, or resolved
 * inside its root, never followed out of it. */
TEST(links_never_lead_out_of_the_root)
{
	struct l1_env e;
	char outside[320], link[1024], dir[512];
	struct stat st;
	const char *tmp;

	L1_SETUP(e, getuid(), false, false);
	tmp = test_tmpdir("l1-outside");
	ASSERT_TRUE(tmp != NULL);
	snprintf(outside, sizeof(outside), "%s/victim", tmp);
	ASSERT_EQ_INT(0, write_text(outside, "host file\n"));
	/* A link at a file's path, to a host file by its absolute path... */
	snprintf(dir, sizeof(dir), "%s/run/systemd", e.root);
	ASSERT_EQ_INT(0, mkdir(dir, 0755));
	snprintf(dir, sizeof(dir), "%s/run/systemd/sessions", e.root);
	ASSERT_EQ_INT(0, mkdir(dir, 0755));
	snprintf(link, sizeof(link), "%s/c1", dir);
	ASSERT_EQ_INT(0, symlink(outside, link));
	/* ...and a directory on the way that leads out with "..". */
	snprintf(dir, sizeof(dir), "%s/run/systemd/seats", e.root);
	snprintf(link, sizeof(link), "../../../../../../../../../../%s", tmp);
	ASSERT_EQ_INT(0, symlink(link, dir));
	/* Inside the root, where ".." stops, that path exists too. */
	{
		char inside[1024];

		snprintf(inside, sizeof(inside), "%s%s", e.root, tmp);
		for (char *p = inside + strlen(e.root) + 1; (p = strchr(p, '/')); p++) {
			*p = '\0';
			(void)mkdir(inside, 0755);
			*p = '/';
		}
		ASSERT_EQ_INT(0, mkdir(inside, 0755));
	}

	ASSERT_TRUE(start_daemon(&e));
	ASSERT_TRUE(wait_status(&e, "serving"));
	{
		char victim_seat[1024];

		snprintf(link, sizeof(link), "%s/run/systemd/sessions/c1", e.root);
		ASSERT_EQ_INT(0, lstat(link, &st));
		ASSERT_TRUE(S_ISREG(st.st_mode));
		ASSERT_TRUE(root_file_has(&e, "/run/systemd/sessions/c1", "SEAT=seat0\n"));
		/* The seat file went where ".." leads inside the root (its
		 * top), not to the host directory the link names. */
		snprintf(victim_seat, sizeof(victim_seat), "%s/seat0", tmp);
		ASSERT_TRUE(access(victim_seat, F_OK) < 0 && errno == ENOENT);
		snprintf(victim_seat, sizeof(victim_seat), "%s%s/seat0", e.root, tmp);
		ASSERT_EQ_INT(0, access(victim_seat, F_OK));
	}
	{
		FILE *f = fopen(outside, "re");
		char line[64] = "";

		ASSERT_TRUE(f != NULL);
		ASSERT_TRUE(fgets(line, sizeof(line), f) != NULL);
		fclose(f);
		ASSERT_EQ_STR("host file\n", line);
	}
}

TEST(take_control_and_devices)
{
	struct l1_env e;
	_cleanup_(sd_bus_message_unrefp) sd_bus_message *m = NULL;
	sd_bus *other;
	int fd, inactive;

	L1_SETUP(e, getuid(), false, true);
	/* A live evdev device: /dev/null takes no DRM or revoke ioctl. */
	ASSERT_TRUE(fx_add_null_device(e.f->seat0, "event9", SEAT_DEVICE_EVDEV) != NULL);
	ASSERT_TRUE(fx_activate(e.f, e.c));
	ASSERT_CALL(e.f, "org.freedesktop.login1.NotInControl", e.client, L1_PATH "/session/c1",
		    L1_SESSION, "TakeDevice", "uu", NULL_MAJOR, NULL_MINOR);
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH "/session/self", L1_SESSION, "TakeControl", "b", 0);
	ASSERT_TRUE(e.c->sc->controlled);

	m = fx_call(e.f, e.client, L1_PATH "/session/c1", L1_SESSION, "TakeDevice", "uu",
		    NULL_MAJOR, NULL_MINOR);
	if (m && sd_bus_message_is_method_error(m, NULL))
		printf("# TakeDevice: %s\n", sd_bus_message_get_error(m)->message);
	ASSERT_TRUE(m && !sd_bus_message_is_method_error(m, NULL));
	ASSERT_TRUE(sd_bus_message_read(m, "hb", &fd, &inactive) >= 0);
	ASSERT_TRUE(fd >= 0);
	ASSERT_EQ_INT(0, inactive);
	ASSERT_CALL(e.f, "org.freedesktop.login1.DeviceIsTaken", e.client, L1_PATH "/session/c1",
		    L1_SESSION, "TakeDevice", "uu", NULL_MAJOR, NULL_MINOR);

	/* One controller: another connection cannot take it without force. */
	other = bus_client(&e);
	ASSERT_TRUE(other != NULL);
	ASSERT_CALL(e.f, "System.Error.EBUSY", other, L1_PATH "/session/c1", L1_SESSION,
		    "TakeControl", "b", 0);
	ASSERT_CALL(e.f, "org.freedesktop.login1.NotInControl", other, L1_PATH "/session/c1",
		    L1_SESSION, "ReleaseControl", NULL);
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH "/session/c1", L1_SESSION, "SetType", "s", "x11");
	ASSERT_CALL(e.f, "org.freedesktop.DBus.Error.InvalidArgs", e.client, L1_PATH "/session/c1",
		    L1_SESSION, "SetType", "s", "../etc");
	ASSERT_TRUE(root_file_has(&e, "/run/systemd/sessions/c1", "TYPE=x11\n"));

	/* The controller that leaves the bus leaves control. */
	fx_close_bus(e.f, e.client);
	{
		uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

		while (e.c->sc->controlled && fx_now() < deadline)
			fx_run_for(e.f, 20000);
	}
	ASSERT_FALSE(e.c->sc->controlled);
	ASSERT_CALL(e.f, "ok", other, L1_PATH "/session/c1", L1_SESSION, "TakeControl", "b", 0);
}

/* The devns endpoint, seatd.sock and login1 share one controller. */
TEST(one_controller_across_transports)
{
	struct l1_env e;
	sd_bus *endpoint;

	L1_SETUP(e, getuid(), false, true);
	endpoint = fx_endpoint_client(e.f, "os", true);
	ASSERT_TRUE(endpoint != NULL);
	fx_destination = NULL;
	ASSERT_CALL(e.f, "ok", endpoint, SELF_PATH, "org.devns.broker1.Container", "TakeControl",
		    "b", 0);
	fx_destination = L1;
	ASSERT_CALL(e.f, "System.Error.EBUSY", e.client, L1_PATH "/session/c1", L1_SESSION,
		    "TakeControl", "b", 0);
	/* force takes it over, as on every transport. */
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH "/session/c1", L1_SESSION, "TakeControl", "b", 1);
	fx_destination = NULL;
	ASSERT_CALL(e.f, "org.devns.broker1.Error.NotInControl", endpoint, SELF_PATH,
		    "org.devns.broker1.Container", "ReleaseControl", NULL);
}

/* TakeControl on the session from a connection of uid's own: a child
 * takes that uid (we are root) and calls, while the broker runs here. The
 * outcome ("ok" or the error name) goes to outcome; *controlled says
 * whether the container had a controller while that caller was still on
 * the bus (control goes when it leaves, once the child has ended). False
 * if the child could not call at all. */
static bool take_control_as(struct l1_env *e, uid_t uid, char *outcome, size_t size,
			    bool *controlled)
{
	int result[2], hold[2], status = -1;
	ssize_t n = -1;
	pid_t pid;

	if (pipe2(result, O_CLOEXEC) < 0)
		return false;
	if (pipe2(hold, O_CLOEXEC) < 0) {
		close(result[0]);
		close(result[1]);
		return false;
	}
	pid = fork();
	if (pid < 0) {
		close(result[0]);
		close(result[1]);
		close(hold[0]);
		close(hold[1]);
		return false;
	}
	if (pid == 0) {
		char address[PATH_MAX + 16], c;
		sd_bus_error error = SD_BUS_ERROR_NULL;
		const char *got;
		sd_bus *bus = NULL;

		close(result[0]);
		close(hold[1]);
		snprintf(address, sizeof(address), "unix:path=%s", e->socket);
		if (setgroups(0, NULL) < 0 || setgid(uid) < 0 || setuid(uid) < 0)
			_exit(2);
		if (sd_bus_new(&bus) < 0 || sd_bus_set_address(bus, address) < 0 ||
		    sd_bus_set_bus_client(bus, true) < 0 || sd_bus_start(bus) < 0)
			_exit(3);
		got = sd_bus_call_method(bus, L1, L1_PATH "/session/c1", L1_SESSION,
					 "TakeControl", &error, NULL, "b", 0) >= 0 ?
			      "ok" :
			      (error.name ?: "no error name");
		if (write(result[1], got, strlen(got)) < 0)
			_exit(4);
		/* On the bus, so in control if it took it, until told to go. */
		(void)!read(hold[0], &c, 1);
		_exit(0);
	}
	close(result[1]);
	close(hold[0]);
	{
		uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;
		struct pollfd p = { .fd = result[0], .events = POLLIN };

		while (poll(&p, 1, 0) == 0 && fx_now() < deadline)
			fx_run_for(e->f, 20000);
		if (p.revents & POLLIN)
			n = read(result[0], outcome, size - 1);
	}
	*controlled = e->c->sc->controlled;
	close(result[0]);
	close(hold[1]);
	{
		uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

		while (waitpid(pid, &status, WNOHANG) == 0 && fx_now() < deadline)
			fx_run_for(e->f, 20000);
	}
	if (n <= 0) {
		printf("# the caller as uid %u ended with status %#x before it called\n",
		       (unsigned)uid, status);
		return false;
	}
	outcome[n] = '\0';
	return true;
}

/* Runs the broker's loop until the container has no controller. */
static bool wait_uncontrolled(struct l1_env *e)
{
	uint64_t deadline = fx_now() + FX_TIMEOUT_USEC;

	while (e->c->sc->controlled && fx_now() < deadline)
		fx_run_for(e->f, 20000);
	return !e->c->sc->controlled;
}

#define ASSERT_TAKE_CONTROL_AS(e, uid, expected, expected_controlled)                        \
	do {                                                                                  \
		char outcome_[128];                                                           \
		bool controlled_;                                                             \
                                                                                              \
		if (!TEST_CHECK(take_control_as(&(e), (uid), outcome_, sizeof(outcome_),      \
						&controlled_)))                               \
			FAIL("cannot call TakeControl as uid %u", (unsigned)(uid));           \
		printf("# TakeControl as uid %u: %s\n", (unsigned)(uid), outcome_);           \
		ASSERT_EQ_STR((expected), outcome_);                                          \
		ASSERT_EQ_INT((expected_controlled), controlled_);                            \
		ASSERT_TRUE(wait_uncontrolled(&(e)));                                         \
	} while (0)

TEST(take_control_for_the_sessions_user_or_root)
{
	struct l1_env e;

	if (geteuid() != 0)
		SKIP("needs root, to call as another user");
	/* The session belongs to uid 4711; nobody (65534) may not take it. */
	L1_SETUP(e, 4711, false, true);
	ASSERT_TAKE_CONTROL_AS(e, FX_NOBODY, SD_BUS_ERROR_ACCESS_DENIED, false);
	/* Root may. */
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH "/session/c1", L1_SESSION, "TakeControl", "b", 0);
}

/* Two users other than root and nobody that the bus daemon lets in: it
 * admits only uids it finds in the user database (it asks for their
 * groups), so a made-up uid cannot call at all. */
static bool known_users(uid_t *a, uid_t *b)
{
	struct passwd *pw;
	int n = 0;

	setpwent();
	while (n < 2 && (pw = getpwent()))
		if (pw->pw_uid != 0 && pw->pw_uid != FX_NOBODY && (n == 0 || pw->pw_uid != *a))
			*(n++ ? b : a) = pw->pw_uid;
	endpwent();
	return n == 2;
}

/* ControlUser narrows logind's rule as on the other endpoints: the
 * session's user may take control when it is the ControlUser too, root
 * always may, and anyone else may not. */
TEST(take_control_for_the_control_user_or_root)
{
	struct l1_env e;
	uid_t user = 0, other = 0;

	if (geteuid() != 0)
		SKIP("needs root, to call as other users");
	if (!known_users(&user, &other))
		SKIP("fewer than two users besides root and nobody");
	L1_SETUP_CONTROL_USER(e, user, user, false, true);
	ASSERT_TAKE_CONTROL_AS(e, FX_NOBODY, SD_BUS_ERROR_ACCESS_DENIED, false);
	ASSERT_TAKE_CONTROL_AS(e, other, SD_BUS_ERROR_ACCESS_DENIED, false);
	ASSERT_TAKE_CONTROL_AS(e, user, "ok", true);
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH "/session/c1", L1_SESSION, "TakeControl", "b", 0);
}

/* The session's user that is not the ControlUser is refused as logind
 * refuses a stranger, and so is the ControlUser that is not the
 * session's user: a user must be both. */
TEST(take_control_refused_to_the_sessions_user_if_not_the_control_user)
{
	struct l1_env e;
	uid_t user = 0, control_user = 0;

	if (geteuid() != 0)
		SKIP("needs root, to call as other users");
	if (!known_users(&user, &control_user))
		SKIP("fewer than two users besides root and nobody");
	L1_SETUP_CONTROL_USER(e, user, control_user, false, true);
	ASSERT_TAKE_CONTROL_AS(e, user, SD_BUS_ERROR_ACCESS_DENIED, false);
	ASSERT_TAKE_CONTROL_AS(e, control_user, SD_BUS_ERROR_ACCESS_DENIED, false);
	ASSERT_FALSE(e.c->sc->controlled);
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH "/session/c1", L1_SESSION, "TakeControl", "b", 0);
}

TEST(switch_to_and_activate_need_allow_activate)
{
	struct l1_env e;

	L1_SETUP(e, getuid(), false, true);
	ASSERT_CALL(e.f, "org.freedesktop.DBus.Error.AccessDenied", e.client, L1_PATH "/seat/seat0",
		    L1_SEAT, "SwitchTo", "u", 1);
	ASSERT_CALL(e.f, "org.freedesktop.DBus.Error.AccessDenied", e.client, L1_PATH "/session/c1",
		    L1_SESSION, "Activate", NULL);
	ASSERT_FALSE(container_is_active(e.c));
	/* An active session's Activate is a no-op, allowed. */
	ASSERT_TRUE(fx_activate(e.f, e.c));
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH "/session/c1", L1_SESSION, "Activate", NULL);
}

struct slots {
	sd_bus_slot *s[LOGIN1_MAX_PENDING + 10];
	unsigned n;
};

static void slots_unref(struct slots *slots)
{
	for (unsigned i = 0; i < slots->n; i++)
		sd_bus_slot_unref(slots->s[i]);
}

/* While the session's own Activate waits for the active container's
 * controller to let go of its card, the session controller's device calls
 * wait for it; anyone else's are refused at once, and cannot fill the
 * queue the controller's call needs. */
TEST(only_the_controllers_calls_wait_for_activate)
{
	struct l1_env e;
	struct container *other;
	struct fx_wait activated = { 0 }, taken = { 0 }, strangers[LOGIN1_MAX_PENDING + 8];
	_cleanup_(slots_unref) struct slots slots = { 0 };
	unsigned refused = 0;
	sd_bus *ep, *stranger;

	L1_SETUP(e, getuid(), true, true);
	/* The pause waits for an answer that never comes: long enough to
	 * see every stranger answered before it ends. */
	e.f->b->config.pause_timeout_usec = 3000000;
	ASSERT_TRUE(fx_add_null_device(e.f->seat0, "card9", SEAT_DEVICE_DRM) != NULL);
	other = fx_add_container(e.f, "second", 0, false);
	ASSERT_TRUE(other != NULL);
	ASSERT_TRUE(fx_activate(e.f, other));
	ep = fx_endpoint_client(e.f, "second", true);
	ASSERT_TRUE(ep != NULL);
	ASSERT_CALL(e.f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeControl", "b", 0);
	ASSERT_CALL(e.f, "ok", ep, SELF_PATH, CONTAINER_INTERFACE, "TakeDevice", "uu", NULL_MAJOR,
		    NULL_MINOR);
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH "/session/c1", L1_SESSION, "TakeControl", "b", 0);
	stranger = bus_client(&e);
	ASSERT_TRUE(stranger != NULL);

	ASSERT_TRUE(sd_bus_call_method_async(e.client, &slots.s[slots.n++], L1, L1_PATH "/session/c1",
					     L1_SESSION, "Activate", fx_on_reply, &activated,
					     NULL) >= 0);
	for (unsigned i = 0; i < ARRAY_SIZE(strangers); i++) {
		strangers[i] = (struct fx_wait) { 0 };
		ASSERT_TRUE(sd_bus_call_method_async(stranger, &slots.s[slots.n++], L1,
						     L1_PATH "/session/c1", L1_SESSION,
						     "TakeDevice", fx_on_reply, &strangers[i], "uu",
						     NULL_MAJOR, NULL_MINOR) >= 0);
	}
	ASSERT_TRUE(sd_bus_call_method_async(e.client, &slots.s[slots.n++], L1, L1_PATH "/session/c1",
					     L1_SESSION, "TakeDevice", fx_on_reply, &taken, "uu",
					     NULL_MAJOR, NULL_MINOR) >= 0);
	for (unsigned i = 0; i < ARRAY_SIZE(strangers); i++) {
		ASSERT_TRUE(fx_run_until(e.f, &strangers[i].done));
		refused += sd_bus_message_is_method_error(strangers[i].reply,
							  "org.freedesktop.login1.NotInControl");
		sd_bus_message_unref(strangers[i].reply);
	}
	ASSERT_EQ_INT((int)ARRAY_SIZE(strangers), (int)refused);
	/* Answered while the activation still waited. */
	ASSERT_FALSE(activated.done);
	ASSERT_FALSE(taken.done);
	ASSERT_TRUE(fx_run_until(e.f, &activated.done));
	ASSERT_TRUE(fx_run_until(e.f, &taken.done));
	ASSERT_TRUE(fx_expect_at(__FILE__, __LINE__, "ok", activated.reply, "Activate"));
	ASSERT_TRUE(fx_expect_at(__FILE__, __LINE__, "ok", taken.reply, "TakeDevice"));
	ASSERT_TRUE(container_is_active(e.c));
}

TEST(switch_to_counts_containers_from_one)
{
	struct l1_env e;
	struct container *other;

	L1_SETUP(e, getuid(), true, true);
	other = fx_add_container(e.f, "second", 0, false);
	ASSERT_TRUE(other != NULL);
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH "/seat/self", L1_SEAT, "SwitchTo", "u", 2);
	ASSERT_TRUE(container_is_active(other));
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH "/seat/self", L1_SEAT, "SwitchTo", "u", 1);
	ASSERT_TRUE(container_is_active(e.c));
	ASSERT_CALL(e.f, "org.freedesktop.DBus.Error.InvalidArgs", e.client, L1_PATH "/seat/self",
		    L1_SEAT, "SwitchTo", "u", 3);
	ASSERT_CALL(e.f, "org.freedesktop.DBus.Error.InvalidArgs", e.client, L1_PATH "/seat/self",
		    L1_SEAT, "SwitchTo", "u", 0);
	ASSERT_TRUE(container_is_active(e.c));
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH "/session/c1", L1_SESSION, "Activate", NULL);
}

TEST(serves_again_after_the_bus_restarts)
{
	struct l1_env e;

	L1_SETUP(e, getuid(), false, true);
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH "/session/c1", L1_SESSION, "TakeControl", "b", 0);
	kill(e.daemon, SIGKILL);
	ASSERT_TRUE(wait_status(&e, "waiting"));
	/* Its controller went with the bus. */
	ASSERT_FALSE(e.c->sc->controlled);
	ASSERT_TRUE(start_daemon(&e));
	ASSERT_TRUE(wait_status(&e, "serving"));
	e.client = bus_client(&e);
	ASSERT_TRUE(e.client != NULL);
	ASSERT_CALL(e.f, "ok", e.client, L1_PATH, L1_MANAGER, "GetSession", "s", "c1");
}

TEST(says_so_when_the_name_is_taken)
{
	struct l1_env e;
	char address[PATH_MAX + 16];
	sd_bus *squatter = NULL;
	int r;

	L1_SETUP(e, getuid(), false, false);
	ASSERT_TRUE(wait_status(&e, "waiting"));
	ASSERT_TRUE(start_daemon(&e));
	/* Another logind gets there first: the broker's loop does not run
	 * until it owns the name. */
	for (int i = 0; i < 500 && access(e.socket, F_OK) < 0; i++)
		usleep(10000);
	snprintf(address, sizeof(address), "unix:path=%s", e.socket);
	r = sd_bus_new(&squatter);
	fx_keep_bus(e.f, squatter);
	ASSERT_TRUE(r >= 0);
	ASSERT_TRUE(sd_bus_set_address(squatter, address) >= 0);
	ASSERT_TRUE(sd_bus_set_bus_client(squatter, true) >= 0);
	ASSERT_TRUE(sd_bus_start(squatter) >= 0);
	ASSERT_TRUE(sd_bus_request_name(squatter, L1, 0) >= 0);
	ASSERT_TRUE(wait_status(&e, "failed: org.freedesktop.login1 is owned"));
	/* When it goes, the name passes to devnsd (it queued). */
	ASSERT_TRUE(sd_bus_release_name(squatter, L1) >= 0);
	ASSERT_TRUE(wait_status(&e, "serving"));
}

TEST(unregistering_removes_the_session)
{
	struct l1_env e;

	L1_SETUP(e, getuid(), false, true);
	ASSERT_TRUE(root_file_has(&e, "/run/systemd/sessions/c1", "SEAT=seat0\n"));
	container_free(e.c);
	e.c = NULL;
	{
		_cleanup_free_ char *text = read_root_file(&e, "/run/systemd/sessions/c1");

		ASSERT_TRUE(text == NULL);
	}
}

/* A link at the bus socket's path to a socket outside the root: resolved
 * inside the root, where it names nothing, so devnsd never connects. */
TEST(a_link_at_the_socket_stays_inside_the_root)
{
	struct l1_env e;
	char outside[100];
	const char *tmp;
	struct pollfd p;
	_cleanup_close_ int listener = -1;

	L1_SETUP(e, getuid(), false, false);
	tmp = test_tmpdir("l1-sock");
	ASSERT_TRUE(tmp != NULL);
	snprintf(outside, sizeof(outside), "%s/bus", tmp);
	listener = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	ASSERT_TRUE(listener >= 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		memcpy(sa.sun_path, outside, strlen(outside) + 1);
		ASSERT_EQ_INT(0, bind(listener, (struct sockaddr *)&sa, sizeof(sa)));
		ASSERT_EQ_INT(0, listen(listener, 8));
	}
	ASSERT_EQ_INT(0, symlink(outside, e.socket));
	/* Several tries of the facade (every half second). */
	fx_run_for(e.f, 1500000);
	ASSERT_EQ_STR("waiting", status_of(&e));
	p = (struct pollfd) { .fd = listener, .events = POLLIN };
	ASSERT_EQ_INT(0, poll(&p, 1, 0));
}

/* PropertiesChanged carries the new values, as logind's does (mutter and
 * KWin read them from the signal). */
TEST(properties_changed_carries_the_values)
{
	struct l1_env e;
	struct changed {
		bool seen;
		int active;
		char state[16];
	} changed = { .active = -1 };
	sd_bus_slot *slot = NULL;

	L1_SETUP(e, getuid(), false, true);
	ASSERT_TRUE(sd_bus_match_signal(e.client, &slot, L1, L1_PATH "/session/c1",
					"org.freedesktop.DBus.Properties", "PropertiesChanged",
					on_properties_changed, &changed) >= 0);
	test_defer(unref_slot, slot);
	ASSERT_TRUE(fx_activate(e.f, e.c));
	ASSERT_TRUE(fx_run_until(e.f, &changed.seen));
	ASSERT_EQ_INT(1, changed.active);
	ASSERT_EQ_STR("active", changed.state);
}

/* The options outlive a restart of devnsd: the state file keeps them for
 * the transport, which the broker does not know. */
TEST(options_are_kept_in_the_state_file)
{
	struct l1_env e;
	char path[512], line[128];
	bool login1 = false, user = false;
	FILE *f;

	L1_SETUP(e, 4711, false, false);
	snprintf(path, sizeof(path), "%s/state", e.f->b->runtime_dir);
	f = fopen(path, "re");
	ASSERT_TRUE(f != NULL);
	while (fgets(line, sizeof(line), f)) {
		login1 = login1 || strcmp(line, "Option=Login1 1\n") == 0;
		user = user || strcmp(line, "Option=Login1User 4711\n") == 0;
	}
	fclose(f);
	ASSERT_TRUE(login1);
	ASSERT_TRUE(user);
	ASSERT_EQ_INT(4711, container_option(e.c, "Login1User"));
	ASSERT_EQ_INT(0, container_option(e.c, "NoSuchOption"));
}

/* The session as a restarted devnsd reads it back from the fd store:
 * anything but what devnsd wrote is refused, whole. */
TEST(a_stored_session_is_checked_before_use)
{
	struct login1_saved in = { .controller = ":1.42", .type = "x11", .told = LOGIN1_TOLD_UNSURE,
				   .n_devices = 2, .devices = { makedev(226, 0), makedev(13, 64) } };
	struct login1_saved out;
	uint8_t buf[sizeof(struct login1_saved) * 2], copy[sizeof(buf)];
	size_t n = login1_saved_format(&in, buf, sizeof(buf)), header;

	ASSERT_TRUE(n > 0);
	ASSERT_EQ_INT(0, login1_saved_parse(buf, n, &out));
	ASSERT_EQ_STR(":1.42", out.controller);
	ASSERT_EQ_STR("x11", out.type);
	ASSERT_EQ_INT(LOGIN1_TOLD_UNSURE, out.told);
	ASSERT_EQ_INT(2, out.n_devices);
	ASSERT_TRUE(out.devices[1] == makedev(13, 64));
	/* Too small a buffer is not written past. */
	ASSERT_EQ_INT(0, login1_saved_format(&in, buf, n - 1));

	/* Cut short, or with a byte too many. */
	ASSERT_EQ_INT(-EBADMSG, login1_saved_parse(buf, n - 1, &out));
	ASSERT_EQ_INT(-EBADMSG, login1_saved_parse(buf, n + 1, &out));
	ASSERT_EQ_INT(-EBADMSG, login1_saved_parse(buf, 3, &out));
	/* Every byte of the head, flipped in turn: the magic, the counts and
	 * the strings are checked; the strings' unused tails may hold anything. */
	header = n - 2 * 2 * sizeof(uint32_t);
	for (size_t i = 0; i < header; i++) {
		memcpy(copy, buf, n);
		copy[i] ^= 0xff;
		if (login1_saved_parse(copy, n, &out) == 0) {
			/* Then what was read is still a valid session. */
			ASSERT_TRUE(login1_type_is_valid(out.type));
			ASSERT_TRUE(out.controller[0] == ':');
			ASSERT_TRUE(out.told <= LOGIN1_TOLD_UNSURE);
			ASSERT_EQ_INT(2, out.n_devices);
		}
	}
	{
		struct login1_saved bad = in;

		snprintf(bad.controller, sizeof(bad.controller), ":1.4'2");
		n = login1_saved_format(&bad, buf, sizeof(buf));
		ASSERT_EQ_INT(-EBADMSG, login1_saved_parse(buf, n, &out));
		snprintf(bad.controller, sizeof(bad.controller), "org.evil");
		n = login1_saved_format(&bad, buf, sizeof(buf));
		ASSERT_EQ_INT(-EBADMSG, login1_saved_parse(buf, n, &out));
		bad = in;
		snprintf(bad.type, sizeof(bad.type), "../etc");
		n = login1_saved_format(&bad, buf, sizeof(buf));
		ASSERT_EQ_INT(-EBADMSG, login1_saved_parse(buf, n, &out));
		/* Devices without a controller. */
		bad = in;
		bad.controller[0] = '\0';
		n = login1_saved_format(&bad, buf, sizeof(buf));
		ASSERT_EQ_INT(-EBADMSG, login1_saved_parse(buf, n, &out));
		bad.n_devices = 0;
		n = login1_saved_format(&bad, buf, sizeof(buf));
		ASSERT_EQ_INT(0, login1_saved_parse(buf, n, &out));
		ASSERT_EQ_STR("", out.controller);
	}
}

TEST_MAIN
