/* SPDX-License-Identifier: MIT */
/*
 * devns-bench: drives the switch benchmarks in the test guest and writes
 * their samples as JSON (bench/report.py turns them into the table).
 *
 *   devns-bench floor    the kernel work of one switch, one process, no broker
 *   devns-bench wakeup   the cost of one cross-process wake-up (pipe ping-pong)
 *   devns-bench devnsd   switches through a running devnsd: SwitchContainer,
 *                        Activate on the endpoint, the Ctrl+Alt+Right hotkey,
 *                        with any number of extra containers registered
 *   devns-bench seatd    switches through a running seatd (SEATD_VTBOUND=0)
 *                        between two libseat clients; with --devnsd, the same
 *                        clients on the seatd.sock of two containers of a
 *                        running devnsd instead (seatd's protocol, like with
 *                        like)
 *
 * devnsd --screen and seatd --screen time what a person sees instead: from
 * the chord on the keyboard to the new client's picture on the screen.
 *
 * Every scenario has two clients holding the card and two keyboards: the
 * guest's PS/2 keyboard and a uinput keyboard this program creates.
 *
 * Where the clock starts and stops (CLOCK_MONOTONIC everywhere, one guest):
 *   devnsd  start: here, right before the SwitchContainer call is written to
 *           the system bus (sd-bus, asynchronously, so nothing else happens
 *           in between); stop: in the new container's devns-bench-client,
 *           right after it handled the last ResumeDevice, when it holds
 *           master and a live fd for every device.
 *   activate  start: in the new container's client, right before it writes
 *           Activate() on its endpoint; stop: as above, in the same process.
 *   hotkey  start: here, right before the write(2) of the Right key press
 *           (Ctrl and Alt are already down) to the uinput keyboard; stop: as
 *           above.
 *   seatd   start: in the libseat client that gives up the seat, right before
 *           libseat_switch_session(); stop: in the other client, right after
 *           its enable handler re-opened its evdev devices (the card is master
 *           again). The same with --devnsd.
 *   floor   start and stop around revoke x2, DROP_MASTER, SET_MASTER, open x2.
 *   screen  start: here, right before the write(2) of the Right key press, as
 *           for the hotkey; stop: the kernel's timestamp in the event of the
 *           page flip with which the new client showed its picture, right
 *           after it was live again (bench/bench-display.h). devnsd switches
 *           on its own hotkey. seatd has none: as a wlroots compositor does,
 *           the active libseat client reads the chord from its own evdev fd
 *           and calls libseat_switch_session() (seatd-bench-client
 *           --chord-session). So the seatd path has a hop devnsd's has not
 *           (the key goes to the client, which asks seatd), and devnsd's one
 *           seatd's has not (libinput in devnsd reads the key); both are how
 *           each is used.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/input.h>
#include <linux/uinput.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-bus.h>
#include <xf86drm.h>

#include "bench/bench-util.h"
#include "common/fd-pass.h"

#define BUS_NAME "org.devns.broker1"
#define MANAGER_PATH "/org/devns/broker1"
#define MANAGER_IFACE "org.devns.broker1.Manager"
#define SEAT_IFACE "org.devns.broker1.Seat"
#define CONTAINER_PATH "/org/devns/broker1/container/self"
#define CONTAINER_IFACE "org.devns.broker1.Container"

#define UINPUT_NAME "devns-bench-keys"
#define PS2_NAME "AT Translated Set 2 keyboard"
#define MAX_INPUTS 8
/* Generous: the guest runs under TCG next to other guests. */
#define DEADLINE_MS 60000

/* ------------------------------------------------------------------ options */

struct opts {
	unsigned switches, warmup, activate, hotkey, screen, extra, check_every;
	bool on_devnsd;
	const char *json, *trace_dir, *before, *after, *client, *card;
	const char *keyboards[MAX_INPUTS];
	size_t n_keyboards;
	pid_t daemon_pid;
};

static char self_dir[PATH_MAX];

static const char *sibling(const char *name)
{
	static char buf[PATH_MAX + 64];

	snprintf(buf, sizeof(buf), "%s/%s", self_dir, name);
	return strdup(buf);
}

/* ------------------------------------------------------------------ json */

struct json {
	FILE *f;
	bool first;
};

static void json_open(struct json *j, const char *path)
{
	j->f = path ? fopen(path, "we") : stdout;
	if (!j->f)
		bench_die(errno, "%s", path);
	fputs("{", j->f);
	j->first = true;
}

static void json_key(struct json *j, const char *key)
{
	fprintf(j->f, "%s\n  \"%s\": ", j->first ? "" : ",", key);
	j->first = false;
}

static void json_u64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	fprintf(j->f, "%" PRIu64, v);
}

static void json_str(struct json *j, const char *key, const char *v)
{
	json_key(j, key);
	fputc('"', j->f);
	for (const char *p = v; *p; p++)
		fprintf(j->f, *p == '"' || *p == '\\' ? "\\%c" : (unsigned char)*p < 0x20 ? " " : "%c", *p);
	fputc('"', j->f);
}

static void json_array(struct json *j, const char *key, const uint64_t *v, size_t n)
{
	json_key(j, key);
	fputc('[', j->f);
	for (size_t i = 0; i < n; i++)
		fprintf(j->f, "%s%" PRIu64, i ? (i % 16 ? "," : ",\n   ") : "", v[i]);
	fputc(']', j->f);
}

static void json_close(struct json *j)
{
	fputs("\n}\n", j->f);
	if (j->f != stdout)
		fclose(j->f);
}

/* A growing array of samples. */
struct samples {
	uint64_t *v;
	size_t n, cap;
};

static void samples_add(struct samples *s, uint64_t x)
{
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 1024;
		s->v = realloc(s->v, s->cap * sizeof(*s->v));
		if (!s->v)
			bench_die(ENOMEM, "samples");
	}
	s->v[s->n++] = x;
}

static void samples_summary(const char *what, const struct samples *s)
{
	uint64_t *copy;

	if (s->n == 0)
		return;
	copy = malloc(s->n * sizeof(*copy));
	if (!copy)
		return;
	memcpy(copy, s->v, s->n * sizeof(*copy));
	fprintf(stderr, "devns-bench: %-10s n=%zu median=%.3f ms p99=%.3f ms max=%.3f ms\n", what,
		s->n, bench_quantile(copy, s->n, 0.5) / 1e6, bench_quantile(copy, s->n, 0.99) / 1e6,
		bench_quantile(copy, s->n, 1.0) / 1e6);
	free(copy);
}

/* ------------------------------------------------------------------ devices */

/* "eventN" of the input device named name, or NULL. */
static char *find_event_by_name(const char *name)
{
	DIR *d = opendir("/sys/class/input");
	struct dirent *de;
	char *found = NULL;

	if (!d)
		return NULL;
	while (!found && (de = readdir(d))) {
		char path[PATH_MAX], buf[256];
		FILE *f;

		if (strncmp(de->d_name, "event", 5) != 0)
			continue;
		snprintf(path, sizeof(path), "/sys/class/input/%s/device/name", de->d_name);
		f = fopen(path, "re");
		if (!f)
			continue;
		if (fgets(buf, sizeof(buf), f)) {
			buf[strcspn(buf, "\n")] = '\0';
			if (strcmp(buf, name) == 0)
				found = strdup(de->d_name);
		}
		fclose(f);
	}
	closedir(d);
	return found;
}

static int read_devnum(const char *class, const char *sysname, unsigned *ma, unsigned *mi)
{
	char path[PATH_MAX];
	FILE *f;
	int r;

	snprintf(path, sizeof(path), "/sys/class/%s/%s/dev", class, sysname);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	r = fscanf(f, "%u:%u", ma, mi) == 2 ? 0 : -EINVAL;
	fclose(f);
	return r;
}

struct keyboard {
	int fd; /* uinput, or -1 for a real one */
	char *sysname;
	char node[64];
	unsigned major, minor;
};

static void keyboard_find(struct keyboard *k, const char *name)
{
	uint64_t end = bench_now_ns() + DEADLINE_MS * 1000000ull;

	/* A device node appears when udev has made it; poll for both. */
	for (;;) {
		k->sysname = find_event_by_name(name);
		if (k->sysname) {
			snprintf(k->node, sizeof(k->node), "/dev/input/%s", k->sysname);
			if (read_devnum("input", k->sysname, &k->major, &k->minor) == 0 &&
			    access(k->node, R_OK | W_OK) == 0)
				return;
			free(k->sysname);
		}
		if (bench_now_ns() > end)
			bench_die(0, "no input device named \"%s\" with a node", name);
		usleep(20000);
	}
}

static void keyboard_create_uinput(struct keyboard *k)
{
	struct uinput_setup setup = {
		.id = { .bustype = BUS_VIRTUAL, .vendor = 0x1d6b, .product = 0x0104, .version = 1 },
	};

	k->fd = open("/dev/uinput", O_WRONLY | O_CLOEXEC);
	if (k->fd < 0)
		bench_die(errno, "/dev/uinput");
	if (ioctl(k->fd, UI_SET_EVBIT, EV_KEY) < 0)
		bench_die(errno, "UI_SET_EVBIT");
	for (int key = 1; key < 128; key++)
		if (ioctl(k->fd, UI_SET_KEYBIT, key) < 0)
			bench_die(errno, "UI_SET_KEYBIT");
	snprintf(setup.name, sizeof(setup.name), "%s", UINPUT_NAME);
	if (ioctl(k->fd, UI_DEV_SETUP, &setup) < 0 || ioctl(k->fd, UI_DEV_CREATE) < 0)
		bench_die(errno, "creating the uinput keyboard");
	keyboard_find(k, UINPUT_NAME);
}

/* Writes events in one write(2): an input frame the kernel takes at once. */
static void keyboard_emit(struct keyboard *k, const unsigned (*ev)[3], size_t n)
{
	struct input_event buf[8] = { 0 };

	for (size_t i = 0; i < n; i++) {
		buf[i].type = ev[i][0];
		buf[i].code = ev[i][1];
		buf[i].value = (int)ev[i][2];
	}
	if (write(k->fd, buf, n * sizeof(buf[0])) != (ssize_t)(n * sizeof(buf[0])))
		bench_die(errno, "uinput write");
}

/* Ctrl+Alt+Right, devnsd's "next container": the modifiers go down first,
 * then the clock starts with the write of the Right press. Returns that
 * time. */
static uint64_t chord_press(struct keyboard *k)
{
	static const unsigned mods_down[][3] = {
		{ EV_KEY, KEY_LEFTCTRL, 1 }, { EV_KEY, KEY_LEFTALT, 1 }, { EV_SYN, SYN_REPORT, 0 } };
	static const unsigned right_down[][3] = {
		{ EV_KEY, KEY_RIGHT, 1 }, { EV_SYN, SYN_REPORT, 0 } };
	uint64_t t0;

	keyboard_emit(k, mods_down, ARRAY_SIZE(mods_down));
	t0 = bench_now_ns();
	keyboard_emit(k, right_down, ARRAY_SIZE(right_down));
	return t0;
}

static void chord_release(struct keyboard *k)
{
	static const unsigned all_up[][3] = {
		{ EV_KEY, KEY_RIGHT, 0 }, { EV_KEY, KEY_LEFTALT, 0 }, { EV_KEY, KEY_LEFTCTRL, 0 },
		{ EV_SYN, SYN_REPORT, 0 } };

	keyboard_emit(k, all_up, ARRAY_SIZE(all_up));
}

struct inputs {
	struct keyboard kbd[MAX_INPUTS];
	size_t n;
	struct keyboard *uinput;
	unsigned card_major, card_minor;
	const char *card;
};

static void inputs_setup(struct inputs *in, const struct opts *o)
{
	const char *card = o->card ? o->card : "card0";

	in->n = 0;
	for (size_t i = 0; i < o->n_keyboards; i++) {
		in->kbd[in->n].fd = -1;
		keyboard_find(&in->kbd[in->n++], o->keyboards[i]);
	}
	in->uinput = &in->kbd[in->n++];
	keyboard_create_uinput(in->uinput);
	if (read_devnum("drm", card, &in->card_major, &in->card_minor) < 0)
		bench_die(errno, "no DRM device %s", card);
	in->card = card;
}

/* ------------------------------------------------------------------ processes */

struct child {
	const char *name;
	pid_t pid;
	int in; /* its stdin */
	struct line_reader out;
	int go; /* written once to let it run, -1 after */
};

static pid_t clone_pidns(bool new_pidns)
{
	/* Raw clone: a fork whose child is pid 1 of a new pid namespace. */
	return (pid_t)syscall(SYS_clone, (new_pidns ? CLONE_NEWPID : 0) | SIGCHLD, NULL, NULL, NULL, NULL);
}

/* Starts argv with pipes on stdin and stdout; it execs only once
 * child_go() is called, so it can be registered as a container's leader
 * first. new_pidns puts it in a pid namespace of its own. */
static void child_spawn(struct child *ch, const char *name, char *const argv[], bool new_pidns)
{
	int in[2], out[2], go[2];
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(out, O_CLOEXEC) < 0 || pipe2(go, O_CLOEXEC) < 0)
		bench_die(errno, "pipe");
	pid = clone_pidns(new_pidns);
	if (pid < 0)
		bench_die(errno, "clone");
	if (pid == 0) {
		char c;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(in[0], 0) < 0 || dup2(out[1], 1) < 0 || dup2(go[0], 3) < 0)
			_exit(126);
		syscall(SYS_close_range, 4, ~0u, 0);
		while (read(3, &c, 1) < 0 && errno == EINTR)
			;
		close(3);
		execv(argv[0], argv);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	close(go[0]);
	/* Reads never block: every wait has a deadline (line_reader_wait). */
	if (fcntl(out[0], F_SETFL, O_NONBLOCK) < 0)
		bench_die(errno, "fcntl");
	ch->name = name;
	ch->pid = pid;
	ch->in = in[1];
	ch->go = go[1];
	line_reader_init(&ch->out, out[0]);
}

static void child_go(struct child *ch)
{
	if (write(ch->go, "g", 1) != 1)
		bench_die(errno, "starting %s", ch->name);
	close(ch->go);
	ch->go = -1;
}

static void child_send(struct child *ch, const char *line)
{
	if (bench_write_line(ch->in, "%s", line) < 0)
		bench_die(errno, "writing to %s", ch->name);
}

/* Waits for the next line starting with prefix; "error" lines are fatal. */
static void child_expect(struct child *ch, const char *prefix, char *line, size_t size)
{
	size_t plen = strlen(prefix);

	for (;;) {
		int r = line_reader_wait(&ch->out, line, size, DEADLINE_MS);
		if (r == -ETIMEDOUT)
			bench_die(0, "%s: no \"%s\" line within %d s", ch->name, prefix, DEADLINE_MS / 1000);
		if (r < 0)
			bench_die(r, "%s: reading its output (it exited?)", ch->name);
		if (strncmp(line, "error", 5) == 0)
			bench_die(0, "%s: %s", ch->name, line);
		if (strncmp(line, prefix, plen) == 0)
			return;
	}
}

static void child_stop(struct child *ch)
{
	uint64_t end = bench_now_ns() + 30 * 1000000000ull;
	int status;

	if (ch->pid <= 0)
		return;
	if (ch->go >= 0)
		close(ch->go);
	close(ch->in);
	/* It writes its trace and exits at end of file on stdin. */
	while (waitpid(ch->pid, &status, WNOHANG) == 0) {
		if (bench_now_ns() > end) {
			kill(ch->pid, SIGKILL);
			waitpid(ch->pid, &status, 0);
			break;
		}
		usleep(10000);
	}
	close(ch->out.fd);
	ch->pid = 0;
}

/* ------------------------------------------------------------------ floor */

static int cmd_floor(const struct opts *o)
{
	struct inputs in;
	struct samples s = { 0 };
	char cardpath[PATH_MAX];
	int card[2], ev[2][MAX_INPUTS];
	struct json j;

	inputs_setup(&in, o);
	snprintf(cardpath, sizeof(cardpath), "/dev/dri/%s", in.card);
	/* Two open files of the card, as the broker has one per container;
	 * the first opener becomes master when nobody is. */
	for (int i = 0; i < 2; i++) {
		card[i] = open(cardpath, O_RDWR | O_CLOEXEC | O_NOCTTY);
		if (card[i] < 0)
			bench_die(errno, "%s", cardpath);
	}
	if (!drmIsMaster(card[0]) && drmSetMaster(card[0]) < 0)
		bench_die(errno, "another process is DRM master of %s", cardpath);
	for (size_t i = 0; i < in.n; i++) {
		ev[0][i] = open(in.kbd[i].node, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		ev[1][i] = -1;
		if (ev[0][i] < 0)
			bench_die(errno, "%s", in.kbd[i].node);
	}

	for (unsigned n = 0; n < o->warmup + o->switches; n++) {
		int from = n % 2, to = 1 - from;
		uint64_t t0, t1;

		t0 = bench_now_ns();
		for (size_t i = 0; i < in.n; i++)
			if (ioctl(ev[from][i], EVIOCREVOKE, NULL) < 0)
				bench_die(errno, "EVIOCREVOKE");
		if (ioctl(card[from], DRM_IOCTL_DROP_MASTER, 0) < 0)
			bench_die(errno, "DROP_MASTER");
		if (ioctl(card[to], DRM_IOCTL_SET_MASTER, 0) < 0)
			bench_die(errno, "SET_MASTER");
		for (size_t i = 0; i < in.n; i++) {
			ev[to][i] = open(in.kbd[i].node, O_RDWR | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
			if (ev[to][i] < 0)
				bench_die(errno, "%s", in.kbd[i].node);
		}
		t1 = bench_now_ns();
		/* After the clock stopped: the last close of an evdev file
		 * waits for an RCU grace period. */
		for (size_t i = 0; i < in.n; i++) {
			close(ev[from][i]);
			ev[from][i] = -1;
		}
		if (n >= o->warmup)
			samples_add(&s, t1 - t0);
	}
	samples_summary("floor", &s);
	json_open(&j, o->json);
	json_str(&j, "kind", "floor");
	json_u64(&j, "devices", in.n + 1);
	json_array(&j, "switch_ns", s.v, s.n);
	json_close(&j);
	return 0;
}

/* ------------------------------------------------------------------ wake-up */

/* One byte back and forth between two processes over a pipe pair and over a
 * unix socket pair: half a round trip is one cross-process wake-up. */
static int cmd_wakeup(const struct opts *o)
{
	struct samples pipe_s = { 0 }, sock_s = { 0 };
	struct json j;

	for (int kind = 0; kind < 2; kind++) {
		/* [0] is our end, [1] the child's: pw/pr ours, cr/cw its. */
		int pw, pr, cr, cw;
		pid_t pid;
		char c = 0;

		if (kind == 0) {
			int a[2], b[2];
			if (pipe(a) < 0 || pipe(b) < 0)
				bench_die(errno, "pipe");
			pw = a[1], cr = a[0], cw = b[1], pr = b[0];
		} else {
			int s[2];
			if (socketpair(AF_UNIX, SOCK_STREAM, 0, s) < 0)
				bench_die(errno, "socketpair");
			pw = pr = s[0];
			cr = cw = s[1];
		}
		pid = fork();
		if (pid < 0)
			bench_die(errno, "fork");
		if (pid == 0) {
			close(pw);
			if (pr != pw)
				close(pr);
			while (read(cr, &c, 1) == 1 && write(cw, &c, 1) == 1)
				;
			_exit(0);
		}
		close(cr);
		if (cw != cr)
			close(cw);
		for (unsigned n = 0; n < o->warmup + o->switches; n++) {
			uint64_t t0 = bench_now_ns();
			if (write(pw, &c, 1) != 1 || read(pr, &c, 1) != 1)
				bench_die(errno, "ping-pong");
			if (n >= o->warmup)
				samples_add(kind == 0 ? &pipe_s : &sock_s, (bench_now_ns() - t0) / 2);
		}
		close(pw);
		if (pr != pw)
			close(pr);
		waitpid(pid, NULL, 0);
	}
	samples_summary("pipe hop", &pipe_s);
	samples_summary("unix hop", &sock_s);
	json_open(&j, o->json);
	json_str(&j, "kind", "wakeup");
	json_array(&j, "pipe_ns", pipe_s.v, pipe_s.n);
	json_array(&j, "unix_ns", sock_s.v, sock_s.n);
	json_close(&j);
	return 0;
}

/* ------------------------------------------------------------------ devnsd */

static sd_bus *system_bus;

static int get_prop_string(const char *path, const char *iface, const char *prop, char **ret)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r = sd_bus_get_property_string(system_bus, BUS_NAME, path, iface, prop, &e, ret);

	sd_bus_error_free(&e);
	return r;
}

static pid_t bus_name_pid(const char *name)
{
	sd_bus_message *reply = NULL;
	uint32_t pid = 0;
	int r;

	r = sd_bus_call_method(system_bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
			       "org.freedesktop.DBus", "GetConnectionUnixProcessID", NULL, &reply,
			       "s", name);
	if (r >= 0)
		r = sd_bus_message_read(reply, "u", &pid);
	sd_bus_message_unref(reply);
	if (r < 0)
		bench_die(r, "pid of %s", name);
	return (pid_t)pid;
}

struct rss {
	uint64_t rss, anon, file;
};

static struct rss read_rss(pid_t pid)
{
	struct rss m = { 0 };
	char path[64], line[256];
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return m;
	while (fgets(line, sizeof(line), f)) {
		sscanf(line, "VmRSS: %" SCNu64, &m.rss);
		sscanf(line, "RssAnon: %" SCNu64, &m.anon);
		sscanf(line, "RssFile: %" SCNu64, &m.file);
	}
	fclose(f);
	return m;
}

/* Rss (KiB) of each mapped file of pid, anonymous memory as "[anon]",
 * written as a JSON object, largest first; and the Pss total. */
struct mapping_rss {
	char name[96];
	uint64_t kib;
};

static int cmp_mapping(const void *a, const void *b)
{
	const struct mapping_rss *x = a, *y = b;

	return x->kib < y->kib ? 1 : x->kib > y->kib ? -1 : strcmp(x->name, y->name);
}

static void json_rss_by_mapping(struct json *j, pid_t pid)
{
	struct mapping_rss m[256];
	size_t n = 0, cur = SIZE_MAX;
	char path[64], line[512];
	uint64_t pss = 0, v;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char name[400] = "";
		unsigned long lo, hi;

		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s %399[^\n]", &lo, &hi, name) >= 2 &&
		    strchr(line, '-') < strchr(line, ' ')) {
			const char *base = strrchr(name, '/');
			/* [heap], [stack] and the like keep their names. */
			base = base ? base + 1 : name[0] ? name : "[anon]";
			cur = SIZE_MAX;
			for (size_t i = 0; i < n; i++)
				if (strcmp(m[i].name, base) == 0)
					cur = i;
			if (cur == SIZE_MAX && n < ARRAY_SIZE(m)) {
				cur = n++;
				snprintf(m[cur].name, sizeof(m[cur].name), "%.*s", (int)sizeof(m[cur].name) - 1, base);
				m[cur].kib = 0;
			}
			continue;
		}
		if (sscanf(line, "Rss: %" SCNu64, &v) == 1 && cur != SIZE_MAX)
			m[cur].kib += v;
		else if (sscanf(line, "Pss: %" SCNu64, &v) == 1)
			pss += v;
	}
	fclose(f);
	qsort(m, n, sizeof(m[0]), cmp_mapping);
	json_u64(j, "pss_kib", pss);
	json_key(j, "rss_by_mapping_kib");
	fputc('{', j->f);
	for (size_t i = 0, k = 0; i < n; i++) {
		if (m[i].kib == 0)
			continue;
		fprintf(j->f, "%s\n    \"%s\": %" PRIu64, k++ ? "," : "", m[i].name, m[i].kib);
	}
	fputs("}", j->f);
}

static bool seat_has_device(const char *sysname)
{
	sd_bus_message *reply = NULL;
	const char *name, *type;
	uint32_t ma, mi;
	bool found = false;
	int r;

	r = sd_bus_get_property(system_bus, BUS_NAME, "/org/devns/broker1/seat/seat0", SEAT_IFACE,
				"Devices", NULL, &reply, "a(suus)");
	if (r >= 0)
		r = sd_bus_message_enter_container(reply, 'a', "(suus)");
	while (r >= 0 && (r = sd_bus_message_read(reply, "(suus)", &name, &ma, &mi, &type)) > 0)
		if (strcmp(name, sysname) == 0)
			found = true;
	sd_bus_message_unref(reply);
	return found;
}

static void register_container(const char *name, pid_t leader, bool allow_activate)
{
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int r;

	if (allow_activate)
		r = sd_bus_call_method(system_bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE,
				       "RegisterContainer", &e, NULL, "ssua{sv}", name, "",
				       (uint32_t)leader, 1, "AllowActivate", "b", 1);
	else
		r = sd_bus_call_method(system_bus, BUS_NAME, MANAGER_PATH, MANAGER_IFACE,
				       "RegisterContainer", &e, NULL, "ssua{sv}", name, "",
				       (uint32_t)leader, 0);
	if (r < 0)
		bench_die(r, "RegisterContainer(%s): %s", name, e.message ? e.message : "");
}

/* Extra containers, for the scale runs: each a pid namespace whose leader
 * connects to the endpoint and hands the socket to this process, which
 * then holds all their connections and devices. */
struct fleet {
	sd_bus **buses;
	pid_t *leaders;
	size_t n;
};

static int recv_fd(int sock)
{
	struct pollfd p = { .fd = sock, .events = POLLIN };
	size_t n_fds = 0;
	int fd = -1;
	char c;

	if (poll(&p, 1, DEADLINE_MS) <= 0)
		return -ETIMEDOUT;
	if (fd_pass_recv(sock, &c, 1, &fd, 1, &n_fds, NULL) != 1 || n_fds != 1) {
		fd_pass_close(&fd, n_fds);
		return -EIO;
	}
	return fd;
}

static void fleet_drain(struct fleet *fl)
{
	bool any;

	do {
		any = false;
		for (size_t i = 0; i < fl->n; i++) {
			int r;
			while ((r = sd_bus_process(fl->buses[i], NULL)) > 0)
				any = true;
			if (r < 0)
				bench_die(r, "extra container %zu lost its connection", i);
		}
	} while (any);
}

static void fleet_add(struct fleet *fl, const char *runtime, const char *name,
		      const struct inputs *in)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	sd_bus_error e = SD_BUS_ERROR_NULL;
	int sv[2], go[2], fd, r;
	sd_bus *bus = NULL;
	pid_t pid;
	char c;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/containers/%s/bus", runtime, name);
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 || pipe2(go, O_CLOEXEC) < 0)
		bench_die(errno, "socketpair");
	pid = clone_pidns(true);
	if (pid < 0)
		bench_die(errno, "clone");
	if (pid == 0) {
		int s;
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (dup2(sv[1], 3) < 0 || dup2(go[0], 4) < 0)
			_exit(126);
		syscall(SYS_close_range, 5, ~0u, 0);
		close(0);
		while (read(4, &c, 1) < 0 && errno == EINTR)
			;
		s = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0 || connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
		    fd_pass_send(3, "f", 1, &s, 1) != 1)
			_exit(1);
		close(s);
		close(3);
		close(4);
		/* The container lives as long as its leader. */
		for (;;)
			pause();
	}
	close(sv[1]);
	close(go[0]);
	register_container(name, pid, false);
	if (write(go[1], "g", 1) != 1)
		bench_die(errno, "starting the leader of %s", name);
	close(go[1]);
	fd = recv_fd(sv[0]);
	close(sv[0]);
	if (fd < 0)
		bench_die(fd, "the leader of %s did not connect", name);

	if ((r = sd_bus_new(&bus)) < 0 || (r = sd_bus_set_fd(bus, fd, fd)) < 0 ||
	    (r = sd_bus_negotiate_fds(bus, 1)) < 0 || (r = sd_bus_start(bus)) < 0)
		bench_die(r, "endpoint of %s", name);
	r = sd_bus_call_method(bus, NULL, CONTAINER_PATH, CONTAINER_IFACE, "TakeControl", &e, NULL, "b", 0);
	if (r < 0)
		bench_die(r, "TakeControl in %s: %s", name, e.message ? e.message : "");
	for (size_t i = 0; i <= in->n; i++) {
		unsigned ma = i ? in->kbd[i - 1].major : in->card_major;
		unsigned mi = i ? in->kbd[i - 1].minor : in->card_minor;
		r = sd_bus_call_method(bus, NULL, CONTAINER_PATH, CONTAINER_IFACE, "TakeDevice", &e,
				       NULL, "uu", ma, mi);
		if (r < 0)
			bench_die(r, "TakeDevice(%u, %u) in %s: %s", ma, mi, name, e.message ? e.message : "");
		/* The reply (and the fd in it) is dropped: the broker keeps
		 * the device open for the container either way. */
	}
	fl->buses = realloc(fl->buses, (fl->n + 1) * sizeof(*fl->buses));
	fl->leaders = realloc(fl->leaders, (fl->n + 1) * sizeof(*fl->leaders));
	if (!fl->buses || !fl->leaders)
		bench_die(ENOMEM, "fleet");
	fl->buses[fl->n] = bus;
	fl->leaders[fl->n++] = pid;
	fleet_drain(fl);
}

static void fleet_free(struct fleet *fl)
{
	for (size_t i = 0; i < fl->n; i++) {
		sd_bus_flush_close_unref(fl->buses[i]);
		kill(fl->leaders[i], SIGKILL);
		waitpid(fl->leaders[i], NULL, 0);
	}
	free(fl->buses);
	free(fl->leaders);
}

/* The two clients' colours on the screen scenario's screen. */
static const char *const screen_colors[2] = { "2255cc", "dd7711" };

static void spawn_bench_client(struct child *ch, const char *name, const char *runtime,
			       const struct inputs *in, const char *color, const struct opts *o)
{
	char *argv[4 + 2 * (MAX_INPUTS + 1) + 5];
	char addr[PATH_MAX + 32], trace[PATH_MAX], dev[MAX_INPUTS + 1][32];
	size_t a = 0;

	snprintf(addr, sizeof(addr), "unix:path=%s/containers/%s/bus", runtime, name);
	argv[a++] = (char *)o->client;
	argv[a++] = (char *)"--address";
	argv[a++] = addr;
	/* The card first, then the keyboards: a compositor's order (wlroots
	 * opens its DRM backend before libinput opens the inputs). */
	for (size_t i = 0; i <= in->n; i++) {
		if (i == 0)
			snprintf(dev[i], sizeof(dev[i]), "%u:%u", in->card_major, in->card_minor);
		else
			snprintf(dev[i], sizeof(dev[i]), "%u:%u", in->kbd[i - 1].major, in->kbd[i - 1].minor);
		argv[a++] = (char *)"--device";
		argv[a++] = dev[i];
	}
	if (color) {
		argv[a++] = (char *)"--display";
		argv[a++] = (char *)color;
	}
	if (o->trace_dir) {
		snprintf(trace, sizeof(trace), "%s/%s.trace", o->trace_dir, name);
		argv[a++] = (char *)"--trace";
		argv[a++] = trace;
	}
	argv[a] = NULL;
	child_spawn(ch, name, argv, true);
	register_container(name, ch->pid, true);
	child_go(ch);
}

struct call_state {
	bool done;
	char error[256];
};

static int on_switch_reply(sd_bus_message *m, void *userdata, sd_bus_error *ret_error)
{
	struct call_state *cs = userdata;
	const sd_bus_error *e = sd_bus_message_get_error(m);

	cs->done = true;
	if (e)
		snprintf(cs->error, sizeof(cs->error), "%s: %s", e->name, e->message);
	return 0;
}

/* Parses "live T1 T0 CHECK"; a CHECK other than ok is counted. */
static uint64_t parse_live(const char *line, uint64_t *t0, unsigned *bad)
{
	uint64_t t1 = 0, a = 0;
	char check[64] = "";

	if (sscanf(line, "live %" SCNu64 " %" SCNu64 " %63s", &t1, &a, check) < 3)
		bench_die(0, "bad line \"%s\"", line);
	if (strcmp(check, "ok") != 0) {
		(*bad)++;
		fprintf(stderr, "devns-bench: after a switch: %s\n", line);
	}
	if (t0)
		*t0 = a;
	return t1;
}

/* Parses "live T1 T0 CHECK FLIP READ" of a client with --display; FLIP is
 * the kernel's timestamp of the flip event. A flip that is not between the
 * moment the client was live and the moment it read the event is counted:
 * that would be another clock. */
static uint64_t parse_flip(const char *line, uint64_t *live, uint64_t *read, unsigned *bad)
{
	uint64_t t1 = 0, a = 0, flip = 0, rd = 0;
	char check[64] = "";

	if (sscanf(line, "live %" SCNu64 " %" SCNu64 " %63s %" SCNu64 " %" SCNu64, &t1, &a, check,
		   &flip, &rd) < 5)
		bench_die(0, "bad line \"%s\" (a client without --display?)", line);
	if (strcmp(check, "ok") != 0 || flip < t1 || flip > rd) {
		(*bad)++;
		fprintf(stderr, "devns-bench: after a switch: %s\n", line);
	}
	*live = t1;
	*read = rd;
	return flip;
}

/* SwitchContainer to target's container; returns the client's live time. */
static uint64_t switch_to(struct child *target, uint64_t *t0, unsigned *bad)
{
	struct call_state cs = { 0 };
	sd_bus_message *m = NULL;
	char line[256];
	uint64_t t1;
	int r;

	r = sd_bus_message_new_method_call(system_bus, &m, BUS_NAME, MANAGER_PATH, MANAGER_IFACE,
					   "SwitchContainer");
	if (r >= 0)
		r = sd_bus_message_append(m, "ss", "seat0", target->name);
	if (r < 0)
		bench_die(r, "SwitchContainer message");
	*t0 = bench_now_ns();
	/* Written to the socket at once (the queue is empty); the reply is
	 * read only after the client reported, so this process sleeps on the
	 * client's pipe alone while the switch runs. */
	r = sd_bus_call_async(system_bus, NULL, m, on_switch_reply, &cs, 30 * 1000000ull);
	if (r < 0)
		bench_die(r, "SwitchContainer");
	sd_bus_message_unref(m);
	child_expect(target, "live ", line, sizeof(line));
	t1 = parse_live(line, NULL, bad);
	while (!cs.done) {
		r = sd_bus_process(system_bus, NULL);
		if (r < 0)
			bench_die(r, "system bus");
		if (r == 0 && (r = sd_bus_wait(system_bus, 30 * 1000000ull)) < 0)
			bench_die(r, "system bus");
	}
	if (cs.error[0])
		bench_die(0, "SwitchContainer(%s): %s", target->name, cs.error);
	return t1;
}

static void check_background(struct child *bg, unsigned *bad)
{
	char line[256];

	child_send(bg, "status");
	child_expect(bg, "status ", line, sizeof(line));
	if (strncmp(line, "status live=0 check=ok ", 23) != 0) {
		(*bad)++;
		fprintf(stderr, "devns-bench: background %s: %s\n", bg->name, line);
	}
}

/* User and system CPU time of pid (all its threads), in microseconds. */
static uint64_t cpu_us(pid_t pid)
{
	unsigned long long utime = 0, stime = 0;
	char path[64], buf[1024], *p;
	FILE *f;

	if (pid <= 0)
		return 0;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return 0;
	p = fgets(buf, sizeof(buf), f) ? strrchr(buf, ')') : NULL;
	fclose(f);
	/* After "(comm)": state and fields 4..13, then utime and stime. */
	if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu",
			 &utime, &stime) != 2)
		return 0;
	return (utime + stime) * 1000000ull / (uint64_t)sysconf(_SC_CLK_TCK);
}

static unsigned fd_count(pid_t pid)
{
	char path[64];
	struct dirent *de;
	unsigned n = 0;
	DIR *d;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	d = opendir(path);
	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* The "pending=N" of a client's status line. */
static int client_pending(struct child *ch)
{
	char line[256];
	const char *p;

	child_send(ch, "status");
	child_expect(ch, "status ", line, sizeof(line));
	p = strstr(line, "pending=");
	return p ? atoi(p + 8) : 0;
}

/* Between switches, not timed: waits until the revoked evdev files of the
 * last switch are closed everywhere (devnsd's reaper thread, the clients'
 * closing threads). Each last close waits for an RCU grace period (~16 ms
 * here), longer than a switch, so back-to-back switches would pile up
 * thousands of revoked files; a person does not switch 300 times a second. */
static void quiesce(pid_t broker, unsigned broker_fds, struct child *cl, size_t n,
		    struct fleet *fl)
{
	uint64_t end = bench_now_ns() + DEADLINE_MS * 1000000ull;

	for (;;) {
		/* The extra containers read what devnsd sent them, as their
		 * compositors would; otherwise devnsd queues it in memory. */
		if (fl)
			fleet_drain(fl);
		bool idle = !broker || fd_count(broker) <= broker_fds;
		for (size_t i = 0; idle && i < n; i++)
			idle = client_pending(&cl[i]) == 0;
		if (idle)
			return;
		if (bench_now_ns() > end)
			bench_die(0, "revoked files were not closed within %d s", DEADLINE_MS / 1000);
		usleep(1000);
	}
}

/* devnsd's number of open files once its closing thread is done with the
 * last switch: the count that has not changed for 200 ms. */
static unsigned settled_fd_count(pid_t pid)
{
	uint64_t end = bench_now_ns() + DEADLINE_MS * 1000000ull;
	unsigned last = fd_count(pid), same = 0;

	while (same < 20) {
		unsigned n;

		if (bench_now_ns() > end)
			bench_die(0, "devnsd's open files did not settle within %d s", DEADLINE_MS / 1000);
		usleep(10000);
		n = fd_count(pid);
		same = n == last ? same + 1 : 0;
		last = n;
	}
	return last;
}

static void run_cmd(const char *what, const char *cmd)
{
	int r;

	if (!cmd)
		return;
	r = system(cmd);
	if (r != 0)
		fprintf(stderr, "devns-bench: %s command exited with %d: %s\n", what, r, cmd);
}

static int cmd_devnsd(const struct opts *o)
{
	struct samples sw = { 0 }, act = { 0 }, hot = { 0 }, reg = { 0 }, t0s = { 0 }, to = { 0 };
	struct samples act_t0s = { 0 }, act_to = { 0 }, hot_t0s = { 0 }, hot_to = { 0 };
	struct samples scr = { 0 }, scr_live = { 0 }, scr_read = { 0 }, scr_t0s = { 0 }, scr_to = { 0 };
	/* The screen scenario's clients have names of their own: their
	 * traces go into the same folder as the other scenarios'. */
	const char *names[2] = { o->screen ? "screen-a" : "bench-a", o->screen ? "screen-b" : "bench-b" };
	struct fleet fl = { 0 };
	struct child cl[2] = { 0 };
	struct inputs in;
	struct rss rss_setup, rss_end;
	char *runtime = NULL, line[256];
	unsigned bad = 0;
	uint64_t end, t0, t1;
	unsigned idle_fds;
	uint64_t cpu0[4], cpu1[4];
	struct json j;
	pid_t pid, dbus_pid;
	int r, cur;

	r = sd_bus_open_system(&system_bus);
	if (r < 0)
		bench_die(r, "system bus");
	pid = bus_name_pid(BUS_NAME);
	dbus_pid = bus_name_pid("org.freedesktop.DBus");
	r = get_prop_string(MANAGER_PATH, MANAGER_IFACE, "RuntimeDirectory", &runtime);
	if (r < 0)
		bench_die(r, "RuntimeDirectory");
	inputs_setup(&in, o);
	end = bench_now_ns() + DEADLINE_MS * 1000000ull;
	while (!seat_has_device(in.uinput->sysname)) {
		if (bench_now_ns() > end)
			bench_die(0, "%s did not appear on seat0", in.uinput->sysname);
		usleep(20000);
	}

	/* The extra containers first: the two that switch come last in
	 * every list the broker walks. */
	for (unsigned k = 0; k < o->extra; k++) {
		char name[32];
		snprintf(name, sizeof(name), "extra%03u", k);
		t0 = bench_now_ns();
		fleet_add(&fl, runtime, name, &in);
		samples_add(&reg, bench_now_ns() - t0);
	}
	for (int i = 0; i < 2; i++)
		spawn_bench_client(&cl[i], names[i], runtime, &in, o->screen ? screen_colors[i] : NULL, o);
	for (int i = 0; i < 2; i++)
		child_expect(&cl[i], "ready", line, sizeof(line));
	fleet_drain(&fl);
	rss_setup = read_rss(pid);
	idle_fds = fd_count(pid);

	/* From no active container to a (not timed), then warm-up. */
	switch_to(&cl[0], &t0, &bad);
	cur = 0;
	for (unsigned n = 0; n < o->warmup; n++) {
		quiesce(pid, idle_fds, cl, 2, &fl);
		cur = 1 - cur;
		switch_to(&cl[cur], &t0, &bad);
	}
	fleet_drain(&fl);

	run_cmd("before", o->before);
	cpu0[0] = cpu_us(pid), cpu0[1] = cpu_us(dbus_pid);
	cpu0[2] = cpu_us(cl[0].pid), cpu0[3] = cpu_us(cl[1].pid);
	for (unsigned n = 0; n < o->switches; n++) {
		quiesce(pid, idle_fds, cl, 2, &fl);
		cur = 1 - cur;
		t1 = switch_to(&cl[cur], &t0, &bad);
		samples_add(&sw, t1 - t0);
		samples_add(&t0s, t0);
		samples_add(&to, (uint64_t)cur);
		if (o->check_every && n % o->check_every == 0)
			check_background(&cl[1 - cur], &bad);
	}
	cpu1[0] = cpu_us(pid), cpu1[1] = cpu_us(dbus_pid);
	cpu1[2] = cpu_us(cl[0].pid), cpu1[3] = cpu_us(cl[1].pid);
	run_cmd("after", o->after);
	fleet_drain(&fl);
	samples_summary("switch", &sw);

	for (unsigned n = 0; n < o->activate; n++) {
		quiesce(pid, idle_fds, cl, 2, &fl);
		cur = 1 - cur;
		child_send(&cl[cur], "activate");
		child_expect(&cl[cur], "live ", line, sizeof(line));
		t1 = parse_live(line, &t0, &bad);
		samples_add(&act, t1 - t0);
		samples_add(&act_t0s, t0);
		samples_add(&act_to, (uint64_t)cur);
		if (o->check_every && n % o->check_every == 0)
			check_background(&cl[1 - cur], &bad);
	}
	samples_summary("activate", &act);

	for (unsigned n = 0; n < o->hotkey; n++) {
		quiesce(pid, idle_fds, cl, 2, &fl);
		cur = 1 - cur;
		t0 = chord_press(in.uinput);
		child_expect(&cl[cur], "live ", line, sizeof(line));
		t1 = parse_live(line, NULL, &bad);
		chord_release(in.uinput);
		samples_add(&hot, t1 - t0);
		samples_add(&hot_t0s, t0);
		samples_add(&hot_to, (uint64_t)cur);
		if (o->check_every && n % o->check_every == 0)
			check_background(&cl[1 - cur], &bad);
	}
	samples_summary("hotkey", &hot);

	/* What a person sees: the same chord, to the new client's flip. */
	for (unsigned n = 0; n < o->screen; n++) {
		uint64_t live, rd, flip;

		quiesce(pid, idle_fds, cl, 2, &fl);
		cur = 1 - cur;
		t0 = chord_press(in.uinput);
		child_expect(&cl[cur], "live ", line, sizeof(line));
		flip = parse_flip(line, &live, &rd, &bad);
		chord_release(in.uinput);
		samples_add(&scr, flip - t0);
		samples_add(&scr_live, live - t0);
		samples_add(&scr_read, rd - t0);
		samples_add(&scr_t0s, t0);
		samples_add(&scr_to, (uint64_t)cur);
		if (o->check_every && n % o->check_every == 0)
			check_background(&cl[1 - cur], &bad);
	}
	samples_summary("screen", &scr);

	fleet_drain(&fl);
	rss_end = read_rss(pid);
	fprintf(stderr, "devns-bench: %u containers: devnsd RSS %" PRIu64 " KiB after set-up, %" PRIu64
		" KiB at the end; %u failed checks\n", o->extra + 2, rss_setup.rss, rss_end.rss, bad);

	json_open(&j, o->json);
	json_str(&j, "kind", "devnsd");
	json_u64(&j, "containers", o->extra + 2);
	json_u64(&j, "devices", in.n + 1);
	json_u64(&j, "check_failures", bad);
	json_u64(&j, "broker_pid", (uint64_t)pid);
	json_u64(&j, "driver_pid", (uint64_t)getpid());
	{
		uint64_t pids[2] = { (uint64_t)cl[0].pid, (uint64_t)cl[1].pid };
		json_array(&j, "client_pids", pids, 2);
	}
	json_u64(&j, "rss_kib_setup", rss_setup.rss);
	json_u64(&j, "rss_kib", rss_end.rss);
	json_u64(&j, "rss_anon_kib", rss_end.anon);
	json_u64(&j, "rss_file_kib", rss_end.file);
	json_rss_by_mapping(&j, pid);
	/* CPU time over the timed SwitchContainer loop, quiescing included
	 * (status requests to the clients), per switch. */
	if (o->switches) {
		json_u64(&j, "broker_cpu_us_per_switch", (cpu1[0] - cpu0[0]) / o->switches);
		json_u64(&j, "dbus_cpu_us_per_switch", (cpu1[1] - cpu0[1]) / o->switches);
		json_u64(&j, "clients_cpu_us_per_switch",
			 (cpu1[2] + cpu1[3] - cpu0[2] - cpu0[3]) / o->switches);
	}
	json_array(&j, "register_ns", reg.v, reg.n);
	json_array(&j, "switch_ns", sw.v, sw.n);
	json_array(&j, "switch_t0_ns", t0s.v, t0s.n);
	json_array(&j, "switch_to", to.v, to.n);
	json_array(&j, "activate_ns", act.v, act.n);
	json_array(&j, "activate_t0_ns", act_t0s.v, act_t0s.n);
	json_array(&j, "activate_to", act_to.v, act_to.n);
	json_array(&j, "hotkey_ns", hot.v, hot.n);
	json_array(&j, "hotkey_t0_ns", hot_t0s.v, hot_t0s.n);
	json_array(&j, "hotkey_to", hot_to.v, hot_to.n);
	json_array(&j, "screen_ns", scr.v, scr.n);
	json_array(&j, "screen_live_ns", scr_live.v, scr_live.n);
	json_array(&j, "screen_read_ns", scr_read.v, scr_read.n);
	json_array(&j, "screen_t0_ns", scr_t0s.v, scr_t0s.n);
	json_array(&j, "screen_to", scr_to.v, scr_to.n);
	json_close(&j);

	for (int i = 0; i < 2; i++)
		child_stop(&cl[i]);
	fleet_free(&fl);
	sd_bus_flush_close_unref(system_bus);
	free(runtime);
	return bad ? 3 : 0;
}

/* ------------------------------------------------------------------ seatd */

/* A libseat client. On devnsd (devnsd_runtime set) it is the leader of a
 * container of its own, registered before it runs, and talks to that
 * container's seatd.sock; else to seatd's socket. */
static void spawn_seatd_client(struct child *ch, const char *name, const struct inputs *in,
			       bool devices, const char *color, int chord_session,
			       const char *devnsd_runtime, const struct opts *o)
{
	char *argv[2 + 2 * (MAX_INPUTS + 1) + 7];
	char trace[PATH_MAX], card[64], session[16], sock[PATH_MAX];
	size_t a = 0;

	argv[a++] = (char *)sibling("seatd-bench-client");
	if (devices) {
		snprintf(card, sizeof(card), "/dev/dri/%s", in->card);
		argv[a++] = (char *)"--device";
		argv[a++] = card;
		for (size_t i = 0; i < in->n; i++) {
			argv[a++] = (char *)"--device";
			argv[a++] = (char *)in->kbd[i].node;
		}
	}
	if (color) {
		argv[a++] = (char *)"--display";
		argv[a++] = (char *)color;
	}
	if (chord_session) {
		snprintf(session, sizeof(session), "%d", chord_session);
		argv[a++] = (char *)"--chord-session";
		argv[a++] = session;
	}
	if (o->trace_dir) {
		snprintf(trace, sizeof(trace), "%s/%s.trace", o->trace_dir, name);
		argv[a++] = (char *)"--trace";
		argv[a++] = trace;
	}
	argv[a] = NULL;
	if (devnsd_runtime) {
		/* Inherited at the clone; the child execs with it. */
		snprintf(sock, sizeof(sock), "%s/containers/%s/seatd.sock", devnsd_runtime, name);
		setenv("SEATD_SOCK", sock, 1);
		child_spawn(ch, name, argv, true);
		unsetenv("SEATD_SOCK");
		register_container(name, ch->pid, true);
	} else {
		child_spawn(ch, name, argv, false);
	}
	child_go(ch);
}

/* The switch from cl[cur] to cl[next] by seatd's protocol: "switch N" to
 * the client that gives the seat up. Returns the duration; sessions are
 * numbered from 1 in the clients' order on both daemons. */
static uint64_t seatd_switch(struct child *cl, int cur, int next, unsigned *bad)
{
	char line[256], cmd[32];
	uint64_t t0, t1;

	snprintf(cmd, sizeof(cmd), "switch %d", next + 1);
	child_send(&cl[cur], cmd);
	child_expect(&cl[next], "live ", line, sizeof(line));
	t1 = parse_live(line, NULL, bad);
	/* Asked afterwards, so that line is not written while the switch
	 * runs. */
	child_send(&cl[cur], "last");
	child_expect(&cl[cur], "t0 ", line, sizeof(line));
	if (sscanf(line, "t0 %" SCNu64, &t0) != 1)
		bench_die(0, "bad line \"%s\"", line);
	return t1 - t0;
}

static void check_seatd_background(struct child *bg, unsigned *bad)
{
	char line[256];

	child_send(bg, "status");
	child_expect(bg, "status ", line, sizeof(line));
	/* A disabled client has closed its evdev devices. */
	if (strncmp(line, "status enabled=0", 16) != 0) {
		(*bad)++;
		fprintf(stderr, "devns-bench: background %s: %s\n", bg->name, line);
	}
}

static int cmd_seatd(const struct opts *o)
{
	uint64_t cpu0[3] = { 0 }, cpu1[3] = { 0 };
	struct samples sw = { 0 }, scr = { 0 }, scr_live = { 0 }, scr_read = { 0 }, scr_req = { 0 };
	struct child placeholder = { 0 }, cl[2] = { 0 };
	struct inputs in;
	char line[256], *runtime = NULL;
	/* Names of their own per scenario: the traces share a folder. */
	const char *prefix = o->on_devnsd ? "libseat" : o->screen ? "seatd-screen" : "seatd";
	pid_t daemon = o->daemon_pid;
	unsigned bad = 0, broker_fds = 0;
	uint64_t t0;
	struct json j;
	int cur, r;

	inputs_setup(&in, o);
	setenv("LIBSEAT_BACKEND", "seatd", 1);
	if (o->on_devnsd) {
		uint64_t end = bench_now_ns() + DEADLINE_MS * 1000000ull;

		r = sd_bus_open_system(&system_bus);
		if (r < 0)
			bench_die(r, "system bus");
		daemon = bus_name_pid(BUS_NAME);
		r = get_prop_string(MANAGER_PATH, MANAGER_IFACE, "RuntimeDirectory", &runtime);
		if (r < 0)
			bench_die(r, "RuntimeDirectory");
		/* devnsd hands out only the devices of its seat. */
		while (!seat_has_device(in.uinput->sysname)) {
			if (bench_now_ns() > end)
				bench_die(0, "%s did not appear on seat0", in.uinput->sysname);
			usleep(20000);
		}
	} else {
		/* seatd without VTs numbers sessions from 0 in the order
		 * clients open the seat and never switches to 0: the
		 * placeholder takes it. */
		char name[32];

		snprintf(name, sizeof(name), "%s-placeholder", prefix);
		spawn_seatd_client(&placeholder, strdup(name), &in, false, NULL, 0, NULL, o);
		child_expect(&placeholder, "seat ", line, sizeof(line));
	}
	/* Each client has opened the seat before the next starts; on devnsd
	 * the sessions are the containers in the order of registration. The
	 * chord of the screen scenario switches to the other one. */
	for (int i = 0; i < 2; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%s-%c", prefix, 'a' + i);
		spawn_seatd_client(&cl[i], strdup(name), &in, true, o->screen ? screen_colors[i] : NULL,
				   o->screen ? 2 - i : 0, runtime, o);
		child_expect(&cl[i], "seat ", line, sizeof(line));
	}

	/* Session 1 (a) from the placeholder, or by SwitchContainer from no
	 * active container; not timed. */
	if (o->on_devnsd) {
		switch_to(&cl[0], &t0, &bad);
	} else {
		child_send(&placeholder, "switch 1");
		child_expect(&cl[0], "live ", line, sizeof(line));
	}
	cur = 0;
	/* On devnsd each client must have held every device once before
	 * devnsd's open files are counted below. */
	for (unsigned n = 0; n < o->warmup || (o->on_devnsd && n < 2); n++) {
		quiesce(0, 0, cl, 2, NULL);
		seatd_switch(cl, cur, 1 - cur, &bad);
		cur = 1 - cur;
	}
	if (o->on_devnsd) {
		/* devnsd closes the files a switch revoked on a thread of its
		 * own, as the clients do; like them it must be done before the
		 * next switch. */
		quiesce(0, 0, cl, 2, NULL);
		broker_fds = settled_fd_count(daemon);
	}

	run_cmd("before", o->before);
	cpu0[0] = cpu_us(daemon);
	cpu0[1] = cpu_us(cl[0].pid), cpu0[2] = cpu_us(cl[1].pid);
	for (unsigned n = 0; n < o->switches; n++) {
		quiesce(o->on_devnsd ? daemon : 0, broker_fds, cl, 2, NULL);
		samples_add(&sw, seatd_switch(cl, cur, 1 - cur, &bad));
		cur = 1 - cur;
		if (o->check_every && n % o->check_every == 0)
			check_seatd_background(&cl[1 - cur], &bad);
	}
	cpu1[0] = cpu_us(daemon);
	cpu1[1] = cpu_us(cl[0].pid), cpu1[2] = cpu_us(cl[1].pid);
	run_cmd("after", o->after);
	samples_summary(o->on_devnsd ? "libseat" : "seatd", &sw);

	/* What a person sees: the chord, read by the active client, which
	 * asks for the switch itself (see the top of this file). */
	for (unsigned n = 0; n < o->screen; n++) {
		uint64_t live, rd, flip, req;
		int next = 1 - cur;

		quiesce(o->on_devnsd ? daemon : 0, broker_fds, cl, 2, NULL);
		t0 = chord_press(in.uinput);
		child_expect(&cl[next], "live ", line, sizeof(line));
		flip = parse_flip(line, &live, &rd, &bad);
		chord_release(in.uinput);
		child_send(&cl[cur], "last");
		child_expect(&cl[cur], "t0 ", line, sizeof(line));
		if (sscanf(line, "t0 %" SCNu64, &req) != 1 || req < t0)
			bench_die(0, "bad line \"%s\" (the switch was not asked for after the chord)", line);
		samples_add(&scr, flip - t0);
		samples_add(&scr_live, live - t0);
		samples_add(&scr_read, rd - t0);
		samples_add(&scr_req, req - t0);
		cur = next;
		if (o->check_every && n % o->check_every == 0)
			check_seatd_background(&cl[1 - cur], &bad);
	}
	samples_summary("screen", &scr);

	json_open(&j, o->json);
	json_str(&j, "kind", "seatd");
	json_str(&j, "daemon", o->on_devnsd ? "devnsd" : "seatd");
	json_u64(&j, "devices", in.n + 1);
	json_u64(&j, "check_failures", bad);
	if (o->switches) {
		if (daemon)
			json_u64(&j, "broker_cpu_us_per_switch", (cpu1[0] - cpu0[0]) / o->switches);
		json_u64(&j, "clients_cpu_us_per_switch",
			 (cpu1[1] + cpu1[2] - cpu0[1] - cpu0[2]) / o->switches);
	}
	json_array(&j, "switch_ns", sw.v, sw.n);
	json_array(&j, "screen_ns", scr.v, scr.n);
	json_array(&j, "screen_live_ns", scr_live.v, scr_live.n);
	json_array(&j, "screen_read_ns", scr_read.v, scr_read.n);
	json_array(&j, "screen_request_ns", scr_req.v, scr_req.n);
	json_close(&j);

	child_stop(&cl[0]);
	child_stop(&cl[1]);
	child_stop(&placeholder);
	if (system_bus)
		sd_bus_flush_close_unref(system_bus);
	free(runtime);
	return bad ? 3 : 0;
}

/* ------------------------------------------------------------------ main */

static void usage(void)
{
	fprintf(stderr,
		"usage: devns-bench floor|wakeup|devnsd|seatd [options]\n"
		"  --switches N     timed switches (default 500)\n"
		"  --warmup N       untimed switches first (default 10)\n"
		"  --json FILE      samples (default stdout)\n"
		"  --keyboard NAME  an input device the clients take besides the uinput\n"
		"                   keyboard made here (repeatable; default the PS/2 one)\n"
		"  --card SYSNAME   default card0\n"
		"devnsd only:\n"
		"  --activate N     switches by Activate() on the endpoint (default 0)\n"
		"  --hotkey N       switches by Ctrl+Alt+Right on the uinput keyboard (default 0)\n"
		"  --screen N       switches by Ctrl+Alt+Right timed to the new client's page\n"
		"                   flip; only with --switches 0 (the clients draw then)\n"
		"  --extra K        containers registered besides the two that switch (default 0)\n"
		"  --check-every N  check the background client every N switches (default 25)\n"
		"  --client PATH    devns-bench-client (default: next to this program)\n"
		"devnsd and seatd:\n"
		"  --before CMD, --after CMD   run around the timed switches (devnsd: the\n"
		"                   SwitchContainer ones)\n"
		"seatd only:\n"
		"  --daemon-pid PID seatd, for its CPU time\n"
		"  --devnsd         the clients on the seatd.sock of two containers of the\n"
		"                   running devnsd instead of seatd's socket\n"
		"  --screen N       switches by the chord, read by the active client, timed\n"
		"                   to the new client's page flip; only with --switches 0\n"
		"                   and without --devnsd (whose own hotkeys take the chord)\n"
		"  --trace-dir DIR  clients write their event traces there\n");
	exit(2);
}

int main(int argc, char *argv[])
{
	static const struct option options[] = {
		{ "switches", required_argument, NULL, 's' },
		{ "warmup", required_argument, NULL, 'w' },
		{ "activate", required_argument, NULL, 'A' },
		{ "hotkey", required_argument, NULL, 'H' },
		{ "screen", required_argument, NULL, 'S' },
		{ "devnsd", no_argument, NULL, 'D' },
		{ "extra", required_argument, NULL, 'x' },
		{ "check-every", required_argument, NULL, 'C' },
		{ "json", required_argument, NULL, 'j' },
		{ "trace-dir", required_argument, NULL, 'T' },
		{ "before", required_argument, NULL, 'b' },
		{ "after", required_argument, NULL, 'a' },
		{ "client", required_argument, NULL, 'c' },
		{ "keyboard", required_argument, NULL, 'k' },
		{ "card", required_argument, NULL, 'd' },
		{ "daemon-pid", required_argument, NULL, 'P' },
		{}
	};
	struct opts o = { .switches = 500, .warmup = 10, .check_every = 25 };
	const char *cmd;
	char *slash;
	int c;

	bench_set_prog("devns-bench");
	if (!realpath("/proc/self/exe", self_dir))
		bench_die(errno, "/proc/self/exe");
	slash = strrchr(self_dir, '/');
	if (slash)
		*slash = '\0';
	if (argc < 2)
		usage();
	cmd = argv[1];
	optind = 2;
	while ((c = getopt_long(argc, argv, "", options, NULL)) >= 0) {
		switch (c) {
		case 's': o.switches = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'w': o.warmup = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'A': o.activate = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'H': o.hotkey = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'S': o.screen = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'D': o.on_devnsd = true; break;
		case 'x': o.extra = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'C': o.check_every = (unsigned)strtoul(optarg, NULL, 10); break;
		case 'j': o.json = optarg; break;
		case 'T': o.trace_dir = optarg; break;
		case 'b': o.before = optarg; break;
		case 'a': o.after = optarg; break;
		case 'c': o.client = optarg; break;
		case 'd': o.card = optarg; break;
		case 'P': o.daemon_pid = (pid_t)strtol(optarg, NULL, 10); break;
		case 'k':
			if (o.n_keyboards == MAX_INPUTS - 1)
				usage();
			o.keyboards[o.n_keyboards++] = optarg;
			break;
		default:
			usage();
		}
	}
	if (optind != argc)
		usage();
	/* The screen scenario's clients wait for a page flip before they
	 * report, which the other scenarios must not time. */
	if (o.screen && (o.switches || o.activate || o.hotkey || o.on_devnsd))
		usage();
	if (o.n_keyboards == 0)
		o.keyboards[o.n_keyboards++] = PS2_NAME;
	if (!o.client)
		o.client = sibling("devns-bench-client");
	/* Children that die must not kill us through a closed pipe. */
	signal(SIGPIPE, SIG_IGN);

	if (strcmp(cmd, "floor") == 0)
		return cmd_floor(&o);
	if (strcmp(cmd, "wakeup") == 0)
		return cmd_wakeup(&o);
	if (strcmp(cmd, "devnsd") == 0)
		return cmd_devnsd(&o);
	if (strcmp(cmd, "seatd") == 0)
		return cmd_seatd(&o);
	usage();
}
