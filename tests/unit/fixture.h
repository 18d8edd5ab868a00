/* SPDX-License-Identifier: MIT */
/*
 * A broker built in-process, for D-Bus tests without a bus daemon (the code
 * is in fixture.c, a library linked by the tests that use it).
 *
 * Its bus is the server end of a socketpair; a client sd_bus sits on the
 * other end. Both, and every container endpoint, run on the broker's event
 * loop: fx_call() sends a method call and runs the loop until the answer
 * arrives. The runtime directory is a fresh temporary directory, with a short
 * name: socket paths below it must fit in sun_path.
 *
 * What the fixture makes is undone after the test, however it ended
 * (test_defer()): the broker and its runtime directory, every connection
 * made with fx_client_on_fd() or handed over with fx_keep_bus(), the
 * recorders, the helper processes. So a test may FAIL or ASSERT anywhere.
 *
 * The broker decides who may change state by the peer's credentials, which
 * the kernel records when the socketpair is made. So a client that is not
 * root is the test itself when it runs as an ordinary user, and a socketpair
 * made by a child that setuid()s to nobody when it runs as root. A test that
 * needs a root client (ROOT_TEST) runs, for an ordinary user, in a child that
 * is root of a new user namespace.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <systemd/sd-bus.h>

#include "broker/broker.h"
#include "broker/container.h"
#include "dbus/dbus.h"
#include "test.h"

#define FX_NOBODY 65534
#define FX_TIMEOUT_USEC (5 * 1000000ULL)

/* The API's names as org.devns.broker1(5) spells them, not from dbus.h:
 * a wrong constant there must fail the tests. */
#define MANAGER_PATH "/org/devns/broker1"
#define SEAT0_PATH "/org/devns/broker1/seat/seat0"
#define SELF_PATH "/org/devns/broker1/container/self"
#define PROPS "org.freedesktop.DBus.Properties"

/* The fake devices' node: /dev/null. */
#define NULL_MAJOR 1
#define NULL_MINOR 3

struct fixture {
	struct broker *b;
	struct dbus_transport *t;
	struct broker_seat *seat0;
	sd_bus *client; /* on the broker's bus */
	char dir[96];   /* temporary: the runtime directory */
	sd_bus **buses; /* the fixture's other connections */
	unsigned n_buses;
};

/* The transport of the fixture set up last, for FX_PATH(). */
extern struct dbus_transport *fx_transport;

/* The object path of a container or seat on the broker's bus. */
#define FX_PATH(x) _Generic((x),                                                        \
	struct container *: dbus_container_of(fx_transport, (struct container *)(void *)(x))->path, \
	struct broker_seat *: dbus_seat_of(fx_transport, (struct broker_seat *)(void *)(x))->path)

/* ---- Setting up ---- */

/* A broker with seat0 and a client. unprivileged: the client is never root
 * (otherwise it is whoever runs the test). 0 or a negative errno; *ret is
 * set either way unless out of memory, and torn down after the test. */
int fx_setup(struct fixture **ret, bool unprivileged);

/* Tears the fixture down before the test ends (the runner's teardown then
 * has nothing left to do). */
void fx_teardown(struct fixture *f);

/* f = a new fixture, or the test fails. */
#define FX_SETUP(f, unprivileged)                                       \
	do {                                                            \
		int fx_r_ = fx_setup(&(f), (unprivileged));             \
		if (!TEST_CHECK(fx_r_ >= 0))                            \
			FAIL("broker fixture: %s", strerror(-fx_r_));   \
	} while (0)

/* ---- The event loop ---- */

uint64_t fx_now(void);

/* Runs the loop until *flag, or the timeout; returns *flag. */
bool fx_run_until(struct fixture *f, const bool *flag);

/* Runs whatever is pending, without waiting. */
void fx_run_pending(struct fixture *f);

/* Runs the loop for a while, for things that should not happen. */
void fx_run_for(struct fixture *f, uint64_t usec);

bool fx_wait_ready(struct fixture *f, sd_bus *bus);

/* ---- Connections ---- */

/* A client on a connected fd (taken), attached to the broker's loop. With
 * hello, it is a bus client and sends org.freedesktop.DBus.Hello first.
 * The fixture owns it: never unref it, close it early with fx_close_bus(). */
sd_bus *fx_client_on_fd(struct fixture *f, int fd, bool hello);

/* The fixture takes over bus (may be NULL), to close it at teardown. */
sd_bus *fx_keep_bus(struct fixture *f, sd_bus *bus);

/* Closes one of the fixture's connections now, as a client that goes. */
void fx_close_bus(struct fixture *f, sd_bus *bus);

/* A connected socket to a unix socket path, or -errno. */
int fx_connect(const char *path);

void fx_endpoint_path(struct fixture *f, const char *name, char *buf, size_t size);

/* A client of the container's endpoint, ready to call (owned by f). */
sd_bus *fx_endpoint_client(struct fixture *f, const char *name, bool hello);

/* ---- Calls ---- */

struct fx_wait {
	bool done;
	sd_bus_message *reply;
};

/* A reply handler for sd_bus_call_async(): fills the struct fx_wait. */
int fx_on_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error);

/* The destination of the calls below (NULL: none, as on a peer-to-peer
 * connection); a test on a bus daemon sets the bus name it calls. */
extern const char *fx_destination;

/* Sends a method call built from types and the arguments after it and runs
 * the loop until the answer: a method return or an error message, which
 * the caller unrefs; NULL if none could be had. */
sd_bus_message *fx_callv(struct fixture *f, sd_bus *bus, const char *path, const char *interface,
			 const char *member, const char *types, va_list ap);
sd_bus_message *fx_call(struct fixture *f, sd_bus *bus, const char *path, const char *interface,
			const char *member, const char *types, ...);

/* "ok" for a method return, the error name for an error, else a note. */
const char *fx_outcome(sd_bus_message *m);

/* Checks that m is the expected outcome ("ok" or an error name) and unrefs
 * it; on a mismatch the error message is shown too. Returns true if so. */
bool fx_expect_at(const char *file, int line, const char *expected, sd_bus_message *m,
		  const char *what);

/* Calls and checks the outcome: ASSERT_CALL(f, "ok", bus, path, iface,
 * member, types, args...). Ends the test on a mismatch. */
#define ASSERT_CALL(f, expected, bus, path, iface, member, ...)               \
	do {                                                                  \
		if (!TEST_CHECK(fx_expect_at(__FILE__, __LINE__, (expected),  \
					     fx_call((f), (bus), (path), (iface), \
						     (member), __VA_ARGS__),  \
					     (member))))                      \
			return;                                               \
	} while (0)

/* The same, going on after a mismatch. */
#define EXPECT_CALL(f, expected, bus, path, iface, member, ...)               \
	((void)fx_expect_at(__FILE__, __LINE__, (expected),                   \
			    fx_call((f), (bus), (path), (iface), (member),     \
				    __VA_ARGS__),                             \
			    (member)))

/* A property's value, the reply positioned inside the variant; NULL and a
 * diagnostic if the Get failed. The caller reads and unrefs. */
sd_bus_message *fx_get_property(struct fixture *f, sd_bus *bus, const char *path,
				const char *interface, const char *property, const char *type);

/* A string property, or NULL; the caller frees. */
char *fx_get_string(struct fixture *f, sd_bus *bus, const char *path, const char *interface,
		    const char *property);

/* A boolean property: 0, 1, or -1 if it could not be read. */
int fx_get_bool(struct fixture *f, sd_bus *bus, const char *path, const char *interface,
		const char *property);

/* ---- The broker's state ---- */

/* A container of the broker, made directly (no privilege needed); the
 * leader is us when leader is 0. */
struct container *fx_add_container(struct fixture *f, const char *name, pid_t leader,
				   bool allow_activate);

/* The same, registered with option (by name; a uint32 or bool) set. */
struct container *fx_add_container_option(struct fixture *f, const char *name, pid_t leader,
					  const char *option, uint32_t value);

/* A fake device of a seat whose node is /dev/null. */
struct seat_device *fx_add_null_device(struct broker_seat *bs, const char *sysname,
				       enum seat_device_type type);

/* Makes c the active container of its seat: with SwitchContainer when we
 * may (root), else directly. */
bool fx_activate(struct fixture *f, struct container *c);

/* The object path of a container name, as the broker makes it; the caller
 * frees. */
char *fx_container_path(const char *name);

bool fx_path_exists(const char *path);

/* ---- Signals ---- */

/* The signals a connection receives, one line each: "PATH PauseDevice MAJ
 * MIN TYPE", "PATH ResumeDevice MAJ MIN", "PATH PropertiesChanged IFACE
 * NAME...", "MEMBER S O" (SeatNew and the like) or the bare member. */
#define FX_REC_MAX 64

struct fx_recorder {
	char lines[FX_REC_MAX][200];
	unsigned n;
	int fd; /* a copy of the last ResumeDevice fd, -1 if none */
	sd_bus_slot *slot;
};

/* Starts recording on bus, until the end of the test; NULL on failure. */
struct fx_recorder *fx_recorder_new(sd_bus *bus);

bool fx_rec_has(const struct fx_recorder *rec, const char *line);

/* Runs the loop until line is recorded; if it never is, lists what was. */
bool fx_rec_wait(struct fixture *f, const struct fx_recorder *rec, const char *line);

/* ---- Other users and namespaces ---- */

/* Sends n fds over a socket with SCM_RIGHTS; 0 or -errno. */
int fx_send_fds(int sock, const int *fds, unsigned n);

/* Receives exactly n fds; 0 or a negative errno. */
int fx_recv_fds(int sock, int *fds, unsigned n);

/* Drops to nobody in a child process: 0, or -errno in the child. */
int fx_become_nobody(void);

/* A connected socketpair whose peer credentials are not root's: made by a
 * child that became nobody (when we are root), or by us (when we are not). */
int fx_socketpair_unprivileged(int sv[2]);

int fx_write_file(const char *path, const char *text);

/* Makes the calling (single-threaded) process root of a new user namespace,
 * our uid and gid mapped to 0. 0 or -errno. */
int fx_enter_userns_as_root(void);

/* Runs body as root: directly when we are; otherwise in a child that is
 * root of a new user namespace. The test is skipped when neither is
 * possible. */
void fx_as_root(void (*body)(void));

/* A test that changes the broker's state, so needs a root client. */
#define ROOT_TEST(name)                                                 \
	static void root_test_##name(void);                             \
	TEST(name)                                                      \
	{                                                               \
		fx_as_root(root_test_##name);                           \
	}                                                               \
	static void root_test_##name(void)

/* A child process that does nothing, as a container's leader: its pid, or
 * -errno. It is killed and reaped after the test; kill it earlier to see
 * the leader exit. */
pid_t fx_idle_child(void);

/* A socket connected to path with uid's credentials: by us when uid is
 * ours, else (as root) by a child that takes uid, connects and hands the
 * socket back, and stays until the test ends so that the broker finds it
 * by its pid. -EPERM when we are neither. */
int fx_connect_as(const char *path, uid_t uid);

/* A child process in a new user namespace whose uid_map we write (as
 * root: "0 100000 65536"), as the leader of a container with a user
 * namespace. Killed and reaped after the test; -errno if it could not be
 * made. */
pid_t fx_userns_child(const char *uid_map);

/* A child process whose root directory is root (chroot(), in a new user
 * namespace when we are not root), as the leader of a container with a
 * root of its own. Killed and reaped after the test; -errno if it could
 * not be made. */
pid_t fx_chroot_child(const char *root);

/* Runs argv (found in PATH) as a child process, stdin from /dev/null;
 * killed and reaped after the test (kill it earlier with SIGKILL and
 * leave the reaping to the fixture). */
pid_t fx_spawn(const char *const argv[]);

/*
 * A process in a new pid namespace below ours (as root, or in a new user
 * namespace when that is allowed). It connects to a socket path on request
 * and hands the connected fd back, so that the broker sees a peer of that
 * namespace. It exits when ctl closes, at the latest after the test.
 */
struct fx_nsproc {
	pid_t child; /* in our namespace, parent of inner */
	pid_t inner; /* pid 1 of the new namespace, as we see it */
	int ctl;
};

/* 0, -EPERM (no way to make a pid namespace here), or -errno. */
int fx_nsproc_start(struct fx_nsproc **ret);

/* A socket connected to path by the process in the namespace, or -errno. */
int fx_nsproc_connect(struct fx_nsproc *p, const char *path);
