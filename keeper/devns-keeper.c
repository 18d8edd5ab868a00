/* SPDX-License-Identifier: MIT */
/*
 * devns-keeper: the file descriptor store and restarter systemd is for
 * devnsd, where there is no systemd (the test guest, small systems).
 *
 * devnsd keeps the files its clients are connected to in its service
 * manager's fd store, so that a crash or a restart goes unnoticed by them.
 * Under systemd it stores with sd_pid_notify_with_fds("FDSTORE=1..."),
 * drops with "FDSTOREREMOVE=1", and gets them back on start from
 * sd_listen_fds_with_names(). The keeper speaks exactly that protocol, so
 * devnsd has one code path:
 *
 *   devns-keeper [OPTIONS] -- COMMAND [ARG...]
 *
 * runs COMMAND with $NOTIFY_SOCKET set to a socket of its own, takes
 * notifications from that child only (NotifyAccess=main), and starts it
 * again when it fails, with every stored fd (Restart=on-failure,
 * FileDescriptorStoreMax=). The store lives in notify.c (the datagrams),
 * keeper-store.c (the files) and spawn.c (handing them over); this file is the
 * child's life: start, exit, restart, stop.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <systemd/sd-event.h>

#include "common/macro.h"
#include "keeper/keeper-store.h"
#include "keeper/keeper-log.h"
#include "keeper/notify.h"
#include "keeper/spawn.h"

#define USEC_PER_SEC UINT64_C(1000000)
#define USEC_PER_MSEC UINT64_C(1000)
/* Timers fire within a millisecond; sd-event's default slack is 250 ms. */
#define TIMER_ACCURACY USEC_PER_MSEC

/* Warnings about notifications come from senders the keeper does not
 * control: at most NOISE_BURST of them every NOISE_INTERVAL. */
#define NOISE_BURST 20
#define NOISE_INTERVAL (10 * USEC_PER_SEC)

/* Datagrams read at once when the child exits: what it sent before dying
 * counts; a flood from others must not hold up its restart forever. */
#define DRAIN_MAX 1024

enum keeper_state {
	KEEPER_RUNNING,  /* the child runs */
	KEEPER_STOPPING, /* SIGTERM sent to it, waiting for its exit */
	KEEPER_WAITING,  /* no child; restart_timer starts the next */
};

struct keeper {
	sd_event *event;
	struct keeper_store *store;
	int notify_fd;
	char *notify_address;
	sd_event_source *notify_source;
	sd_event_source *child_source;
	sd_event_source *restart_timer;
	sd_event_source *kill_timer;
	struct notify_datagram datagram; /* 5 KiB: kept off the stack */

	char **argv;      /* the command */
	const char *name; /* its base name, for the log */
	struct rlimit nofile;

	enum keeper_state state;
	bool restart_after_stop; /* STOPPING: SIGHUP, start it again */
	pid_t pid;               /* the child, 0 while there is none */

	/* Options. */
	size_t max_fds;
	uint64_t restart_usec;
	uint64_t stop_timeout_usec;
	uint64_t start_limit_interval_usec; /* 0: no limit */
	unsigned start_limit_burst;

	/* The start limit's window, as systemd's ratelimit. */
	uint64_t starts_begin;
	unsigned starts;

	uint64_t noise_begin;
	unsigned noise, noise_suppressed;
};

static void keeper_start(struct keeper *k);

static uint64_t now_usec(struct keeper *k)
{
	uint64_t t = 0;

	(void)sd_event_now(k->event, CLOCK_MONOTONIC, &t);
	return t;
}

static const char *format_sec(uint64_t usec, char *buf, size_t size)
{
	snprintf(buf, size, "%g s", (double)usec / USEC_PER_SEC);
	return buf;
}

static void keeper_exit(struct keeper *k, int code)
{
	(void)sd_event_exit(k->event, code);
}

/* Whether one more warning caused by a sender may be logged now. */
static bool keeper_noise_ok(struct keeper *k)
{
	uint64_t t = now_usec(k);

	if (k->noise_begin == 0 || t - k->noise_begin > NOISE_INTERVAL) {
		if (k->noise_suppressed > 0)
			keeper_warning("%u more warnings about notifications were not logged",
				       k->noise_suppressed);
		k->noise_begin = t;
		k->noise = 0;
		k->noise_suppressed = 0;
	}
	if (k->noise < NOISE_BURST) {
		k->noise++;
		return true;
	}
	k->noise_suppressed++;
	return false;
}

#define keeper_noise(k, fmt, ...)                                      \
	do {                                                           \
		if (keeper_noise_ok(k))                                \
			keeper_warning(fmt, ##__VA_ARGS__);            \
	} while (0)

/* --- Notifications ------------------------------------------------------ */

/* FDSTORE=1: the fds of d under name, each stored, a duplicate, or
 * refused; d->fds is empty after. */
static void keeper_take_fds(struct keeper *k, struct notify_datagram *d, const char *name, bool poll)
{
	char shown[FDNAME_MAX * 4 + 8];
	size_t stored = 0, dups = 0, i;
	int r = 0;

	if (!fdname_is_valid(name)) {
		/* systemd stores them as "stored" then; a name devnsd does not
		 * know would only be closed at its next start. */
		keeper_noise(k, "%s (pid %d) sent %zu files with an invalid FDNAME= \"%s\"; closed them",
			     k->name, (int)k->pid, d->n_fds, notify_escape(name, shown, sizeof(shown)));
		notify_datagram_close_fds(d);
		return;
	}
	for (i = 0; i < d->n_fds; i++) {
		r = keeper_store_add(k->store, d->fds[i], name, poll);
		if (r < 0)
			break;
		if (r > 0)
			stored++;
		else
			dups++;
	}
	if (r < 0) {
		/* keeper_store_add() took d->fds[i]; the rest go too. */
		size_t left = d->n_fds - i - 1;

		for (size_t j = i + 1; j < d->n_fds; j++)
			close(d->fds[j]);
		if (r == -EXFULL)
			keeper_noise(k, "the store is full (%zu files, --max-fds); closed %zu files \"%s\" of %s (pid %d)",
				     k->max_fds, left + 1, name, k->name, (int)k->pid);
		else
			log_warning_errno(r, KEEPER_LOG_PREFIX "cannot store a file \"%s\" of %s (pid %d), closed it and %zu more",
					  name, k->name, (int)k->pid, left);
	}
	d->n_fds = 0;
	keeper_debug("stored %zu files as \"%s\"%s (%zu already stored); %zu files in the store",
		     stored, name, poll ? "" : ", not polled", dups, keeper_store_count(k->store));
}

static void keeper_handle(struct keeper *k, struct notify_datagram *d)
{
	char shown[512];
	struct notify_message m;

	if (k->pid == 0 || d->creds.pid != k->pid) {
		if (k->pid == 0)
			keeper_noise(k, "ignored a notification from pid %d while %s is not running%s",
				     (int)d->creds.pid, k->name, d->n_fds ? "; closed the files it sent" : "");
		else
			keeper_noise(k, "ignored a notification from pid %d, which is not %s (pid %d)%s",
				     (int)d->creds.pid, k->name, (int)k->pid,
				     d->n_fds ? "; closed the files it sent" : "");
		notify_datagram_close_fds(d);
		return;
	}

	keeper_debug("notification from %s (pid %d) with %zu files: %s", k->name, (int)k->pid,
		     d->n_fds, notify_escape(d->text, shown, sizeof(shown)));
	notify_message_parse(d->text, &m);
	if (m.stopping)
		keeper_info("%s (pid %d) is stopping", k->name, (int)k->pid);
	else if (m.ready)
		keeper_info("%s (pid %d) is ready", k->name, (int)k->pid);
	if (m.status)
		keeper_info("%s (pid %d) status: %s", k->name, (int)k->pid,
			    notify_escape(m.status, shown, sizeof(shown)));

	/* As systemd: FDSTOREREMOVE=1 wins over FDSTORE=1 in one message. */
	if (m.fdstoreremove) {
		if (!m.fdname || !fdname_is_valid(m.fdname)) {
			keeper_noise(k, "%s (pid %d) sent FDSTOREREMOVE=1 without a valid FDNAME=; ignored it",
				     k->name, (int)k->pid);
		} else {
			size_t n = keeper_store_remove(k->store, m.fdname);

			keeper_debug("removed %zu files \"%s\"; %zu files in the store", n,
				     m.fdname, keeper_store_count(k->store));
		}
	} else if (m.fdstore && d->n_fds > 0) {
		keeper_take_fds(k, d, m.fdname ? m.fdname : "stored", !m.fdpoll_off);
	}

	if (d->n_fds > 0) {
		/* sd_notify_barrier() sends one fd with BARRIER=1: its closing
		 * is the answer. */
		if (!m.barrier)
			keeper_noise(k, "%s (pid %d) sent %zu files without FDSTORE=1; closed them",
				     k->name, (int)k->pid, d->n_fds);
		notify_datagram_close_fds(d);
	}
}

/* One datagram: 1 when one was read (and handled or refused), 0 when none
 * is queued, -errno when the socket fails. */
static int keeper_read_notify(struct keeper *k)
{
	struct notify_datagram *d = &k->datagram;
	int r;

	r = notify_receive(k->notify_fd, d);
	switch (r) {
	case 1:
		keeper_handle(k, d);
		return 1;
	case -EAGAIN:
		return 0;
	case -EMSGSIZE:
		keeper_noise(k, "ignored a notification from pid %d longer than %d bytes, and its files",
			     d->have_creds ? (int)d->creds.pid : 0, NOTIFY_BUFFER_MAX);
		return 1;
	case -ENOBUFS:
		keeper_noise(k, "ignored a notification from pid %d with more files than the keeper could take, and closed those it got",
			     d->have_creds ? (int)d->creds.pid : 0);
		return 1;
	case -ENODATA:
		keeper_noise(k, "ignored a notification without sender credentials, and its files");
		return 1;
	case -EBADMSG:
		keeper_noise(k, "ignored a notification from pid %d with a NUL byte inside, and its files",
			     d->have_creds ? (int)d->creds.pid : 0);
		return 1;
	default:
		return keeper_error_errno(r, "cannot read from the notify socket; notifications are off from now on");
	}
}

static int on_notify(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	/* An error turns the source off (sd-event), rather than spin. */
	return keeper_read_notify(userdata) < 0 ? -EIO : 0;
}

/* --- The child ---------------------------------------------------------- */

static void describe_exit(const siginfo_t *si, char *buf, size_t size)
{
	if (si->si_code == CLD_EXITED)
		snprintf(buf, size, "exited with status %d", si->si_status);
	else if (si->si_code == CLD_DUMPED)
		snprintf(buf, size, "killed by signal %d (SIG%s), core dumped", si->si_status,
			 sigabbrev_np(si->si_status) ? sigabbrev_np(si->si_status) : "?");
	else
		snprintf(buf, size, "killed by signal %d (SIG%s)", si->si_status,
			 sigabbrev_np(si->si_status) ? sigabbrev_np(si->si_status) : "?");
}

static int on_restart_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct keeper *k = userdata;

	k->restart_timer = sd_event_source_unref(k->restart_timer);
	keeper_start(k);
	return 0;
}

static void keeper_schedule_restart(struct keeper *k)
{
	int r;

	k->state = KEEPER_WAITING;
	r = sd_event_add_time_relative(k->event, &k->restart_timer, CLOCK_MONOTONIC,
				       k->restart_usec, TIMER_ACCURACY, on_restart_timer, k);
	if (r < 0) {
		keeper_error_errno(r, "cannot arm the restart timer");
		keeper_exit(k, EXIT_FAILURE);
	}
}

static int on_child_exit(sd_event_source *source, const siginfo_t *si, void *userdata)
{
	struct keeper *k = userdata;
	char how[96];
	pid_t pid = k->pid;

	/* What it sent before it died is queued; read it while the pid is
	 * still its own (a zombie until this returns). */
	for (int i = 0; i < DRAIN_MAX && keeper_read_notify(k) > 0; i++)
		;
	k->pid = 0;
	k->child_source = sd_event_source_unref(k->child_source);
	k->kill_timer = sd_event_source_disable_unref(k->kill_timer);
	describe_exit(si, how, sizeof(how));

	if (k->state == KEEPER_STOPPING) {
		if (k->restart_after_stop) {
			keeper_info("%s (pid %d) %s; starting it again with %zu stored files",
				    k->name, (int)pid, how, keeper_store_count(k->store));
			keeper_start(k);
		} else {
			keeper_info("%s (pid %d) %s; exiting, dropping %zu stored files",
				    k->name, (int)pid, how, keeper_store_count(k->store));
			keeper_exit(k, EXIT_SUCCESS);
		}
		return 0;
	}
	if (si->si_code == CLD_EXITED && si->si_status == 0) {
		/* Done, as a unit that stops: its store goes with it. */
		keeper_info("%s (pid %d) %s; exiting, dropping %zu stored files",
			    k->name, (int)pid, how, keeper_store_count(k->store));
		keeper_exit(k, EXIT_SUCCESS);
		return 0;
	}
	keeper_info("%s (pid %d) %s; starting it again with %zu stored files",
		    k->name, (int)pid, how, keeper_store_count(k->store));
	keeper_schedule_restart(k);
	return 0;
}

/* systemd's StartLimitBurst= in StartLimitIntervalSec=: whether one more
 * start is allowed now. Every start counts: the first, the restarts after
 * a failure and those asked with SIGHUP. */
static bool keeper_start_allowed(struct keeper *k)
{
	uint64_t t = now_usec(k);

	if (k->start_limit_interval_usec == 0)
		return true;
	if (k->starts == 0 || t - k->starts_begin > k->start_limit_interval_usec) {
		k->starts_begin = t;
		k->starts = 1;
		return true;
	}
	if (k->starts < UINT_MAX)
		k->starts++;
	return k->starts <= k->start_limit_burst;
}

static void keeper_start(struct keeper *k)
{
	_cleanup_free_ int *fds = NULL;
	_cleanup_free_ char *names = NULL;
	struct spawn_params p = {
		.argv = k->argv,
		.notify_socket = k->notify_address,
		.nofile = k->nofile,
	};
	char buf[32];
	pid_t pid;
	int r;

	if (!keeper_start_allowed(k)) {
		keeper_error("%s started %u times within %s; giving up, dropping %zu stored files",
			     k->name, k->start_limit_burst,
			     format_sec(k->start_limit_interval_usec, buf, sizeof(buf)),
			     keeper_store_count(k->store));
		keeper_exit(k, EXIT_FAILURE);
		return;
	}
	r = keeper_store_collect(k->store, &fds, &p.n_fds, &names);
	if (r >= 0) {
		p.fds = fds;
		p.fdnames = names;
		r = spawn_child(&p, &pid);
	}
	if (r < 0) {
		keeper_error_errno(r, "cannot start %s; trying again in %s", k->name,
				   format_sec(k->restart_usec, buf, sizeof(buf)));
		keeper_schedule_restart(k);
		return;
	}
	k->pid = pid;
	k->state = KEEPER_RUNNING;
	k->restart_after_stop = false;
	r = sd_event_add_child(k->event, &k->child_source, pid, WEXITED, on_child_exit, k);
	if (r < 0) {
		/* Without a watch its exit would go unnoticed. */
		keeper_error_errno(r, "cannot watch %s (pid %d); stopping it", k->name, (int)pid);
		(void)kill(pid, SIGKILL);
		(void)waitpid(pid, NULL, 0);
		k->pid = 0;
		keeper_exit(k, EXIT_FAILURE);
		return;
	}
	keeper_info("started %s (pid %d) with %zu stored files", k->name, (int)pid, p.n_fds);
}

static int on_kill_timer(sd_event_source *source, uint64_t usec, void *userdata)
{
	struct keeper *k = userdata;
	char buf[32];

	k->kill_timer = sd_event_source_unref(k->kill_timer);
	if (k->pid == 0)
		return 0;
	keeper_warning("%s (pid %d) still runs %s after SIGTERM; sending SIGKILL", k->name,
		       (int)k->pid, format_sec(k->stop_timeout_usec, buf, sizeof(buf)));
	(void)kill(k->pid, SIGKILL);
	return 0;
}

/* SIGTERM to the child, SIGKILL after --stop-timeout; its exit decides
 * what follows (on_child_exit). */
static void keeper_stop_child(struct keeper *k, bool restart)
{
	int r;

	k->state = KEEPER_STOPPING;
	k->restart_after_stop = restart;
	if (kill(k->pid, SIGTERM) < 0)
		keeper_warning_errno(errno, "cannot send SIGTERM to %s (pid %d)", k->name, (int)k->pid);
	r = sd_event_add_time_relative(k->event, &k->kill_timer, CLOCK_MONOTONIC,
				       k->stop_timeout_usec, TIMER_ACCURACY, on_kill_timer, k);
	if (r < 0) {
		keeper_error_errno(r, "cannot arm the stop timer; sending SIGKILL to %s (pid %d)",
				   k->name, (int)k->pid);
		(void)kill(k->pid, SIGKILL);
	}
}

static int on_signal(sd_event_source *source, const struct signalfd_siginfo *si, void *userdata)
{
	struct keeper *k = userdata;
	const char *sig = sigabbrev_np(si->ssi_signo);

	if (si->ssi_signo == SIGHUP) {
		switch (k->state) {
		case KEEPER_RUNNING:
			keeper_info("got SIGHUP; restarting %s (pid %d), keeping %zu stored files",
				    k->name, (int)k->pid, keeper_store_count(k->store));
			keeper_stop_child(k, true);
			break;
		case KEEPER_STOPPING:
			keeper_info("got SIGHUP; %s (pid %d) is stopping already", k->name, (int)k->pid);
			break;
		case KEEPER_WAITING:
			keeper_info("got SIGHUP; starting %s now", k->name);
			k->restart_timer = sd_event_source_disable_unref(k->restart_timer);
			keeper_start(k);
			break;
		}
		return 0;
	}

	/* SIGTERM, SIGINT: stop, and drop the store. */
	switch (k->state) {
	case KEEPER_RUNNING:
		keeper_info("got SIG%s; stopping %s (pid %d)", sig, k->name, (int)k->pid);
		keeper_stop_child(k, false);
		break;
	case KEEPER_STOPPING:
		keeper_info("got SIG%s; %s (pid %d) is stopping already, and will not be started again",
			    sig, k->name, (int)k->pid);
		k->restart_after_stop = false;
		break;
	case KEEPER_WAITING:
		keeper_info("got SIG%s; exiting, dropping %zu stored files", sig,
			    keeper_store_count(k->store));
		keeper_exit(k, EXIT_SUCCESS);
		break;
	}
	return 0;
}

/* --- Setup -------------------------------------------------------------- */

static void help(void)
{
	printf("Usage: devns-keeper [OPTIONS] -- COMMAND [ARG...]\n\n"
	       "Runs COMMAND, keeps the files it stores with sd_notify(3) (FDSTORE=1)\n"
	       "and starts it again with them when it fails, as systemd does for a\n"
	       "service with a file descriptor store.\n\n"
	       "  -h --help                      Show this help\n"
	       "     --version                   Show the version\n"
	       "     --max-fds N                 Files kept at most (default 4096)\n"
	       "     --restart-sec SEC           Wait before a restart (default 0.1)\n"
	       "     --stop-timeout SEC          SIGKILL this long after SIGTERM (default 10)\n"
	       "     --start-limit-burst N       Starts allowed ... (default 5)\n"
	       "     --start-limit-interval SEC  ... within this time (default 10, 0: no limit)\n"
	       "  -v --verbose                   Log every notification\n");
}

/* SEC: seconds, a decimal number, optionally followed by "s" or "ms". */
static int parse_sec(const char *s, uint64_t *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || !isfinite(v) || v < 0)
		return -EINVAL;
	if (strcmp(end, "ms") == 0)
		v /= 1000;
	else if (strcmp(end, "s") != 0 && *end != '\0')
		return -EINVAL;
	if (v > 365.0 * 24 * 3600)
		return -ERANGE;
	*ret = (uint64_t)llround(v * USEC_PER_SEC);
	return 0;
}

static int parse_unsigned(const char *s, unsigned long max, unsigned long *ret)
{
	char *end;
	unsigned long v;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return -EINVAL;
	if (v > max)
		return -ERANGE;
	*ret = v;
	return 0;
}

static int usage_error(const char *what, const char *arg)
{
	fprintf(stderr, KEEPER_LOG_PREFIX "%s%s%s\nTry 'devns-keeper --help'.\n",
		what, arg ? " " : "", arg ? arg : "");
	return -EINVAL;
}

static int parse_args(struct keeper *k, int argc, char *argv[])
{
	enum {
		ARG_VERSION = 0x100,
		ARG_MAX_FDS,
		ARG_RESTART_SEC,
		ARG_STOP_TIMEOUT,
		ARG_START_LIMIT_BURST,
		ARG_START_LIMIT_INTERVAL,
	};
	static const struct option options[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ "max-fds", required_argument, NULL, ARG_MAX_FDS },
		{ "restart-sec", required_argument, NULL, ARG_RESTART_SEC },
		{ "stop-timeout", required_argument, NULL, ARG_STOP_TIMEOUT },
		{ "start-limit-burst", required_argument, NULL, ARG_START_LIMIT_BURST },
		{ "start-limit-interval", required_argument, NULL, ARG_START_LIMIT_INTERVAL },
		{ "verbose", no_argument, NULL, 'v' },
		{}
	};
	unsigned long v;
	int c;

	/* "+": options end at COMMAND, whose own options are its own. */
	while ((c = getopt_long(argc, argv, "+hv", options, NULL)) >= 0) {
		switch (c) {
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("devns-keeper %s\n", DEVNS_VERSION);
			return 0;
		case ARG_MAX_FDS:
			/* A bound on what the keeper holds open: 1 Mi. */
			if (parse_unsigned(optarg, 1UL << 20, &v) < 0)
				return usage_error("invalid --max-fds", optarg);
			k->max_fds = v;
			break;
		case ARG_RESTART_SEC:
			if (parse_sec(optarg, &k->restart_usec) < 0)
				return usage_error("invalid --restart-sec", optarg);
			break;
		case ARG_STOP_TIMEOUT:
			if (parse_sec(optarg, &k->stop_timeout_usec) < 0)
				return usage_error("invalid --stop-timeout", optarg);
			break;
		case ARG_START_LIMIT_BURST:
			if (parse_unsigned(optarg, 1000000, &v) < 0 || v == 0)
				return usage_error("invalid --start-limit-burst", optarg);
			k->start_limit_burst = v;
			break;
		case ARG_START_LIMIT_INTERVAL:
			if (parse_sec(optarg, &k->start_limit_interval_usec) < 0)
				return usage_error("invalid --start-limit-interval", optarg);
			break;
		case 'v':
			log_set_max_level(LOG_LEVEL_DEBUG);
			break;
		default:
			fprintf(stderr, "Try 'devns-keeper --help'.\n");
			return -EINVAL;
		}
	}
	if (optind >= argc)
		return usage_error("no COMMAND given", NULL);
	k->argv = argv + optind;
	k->name = strrchr(k->argv[0], '/') ? strrchr(k->argv[0], '/') + 1 : k->argv[0];
	if (!*k->name)
		return usage_error("invalid COMMAND", k->argv[0]);
	return 1;
}

static int keeper_setup(struct keeper *k)
{
	static const int signals[] = { SIGTERM, SIGINT, SIGHUP };
	struct rlimit raised;
	sigset_t mask;
	int r;

	/* The store may hold --max-fds files: the keeper takes its hard
	 * limit, as systemd does; the child gets the old one back (spawn.c). */
	if (getrlimit(RLIMIT_NOFILE, &k->nofile) < 0)
		return keeper_error_errno(errno, "getrlimit");
	raised = k->nofile;
	raised.rlim_cur = raised.rlim_max;
	(void)setrlimit(RLIMIT_NOFILE, &raised);
	if (raised.rlim_max != RLIM_INFINITY && raised.rlim_max < k->max_fds + 64)
		keeper_warning("RLIMIT_NOFILE is %ju, too low to hold --max-fds %zu files",
			       (uintmax_t)raised.rlim_max, k->max_fds);

	/* sd-event reads these from a signalfd (and SIGCHLD through the
	 * child's pidfd): blocked here, unblocked in the child (spawn.c). */
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++)
		sigaddset(&mask, signals[i]);
	if (sigprocmask(SIG_BLOCK, &mask, NULL) < 0)
		return keeper_error_errno(errno, "sigprocmask");

	r = sd_event_default(&k->event);
	if (r < 0)
		return keeper_error_errno(r, "cannot make the event loop");
	for (size_t i = 0; i < ARRAY_SIZE(signals); i++) {
		r = sd_event_add_signal(k->event, NULL, signals[i], on_signal, k);
		if (r < 0)
			return keeper_error_errno(r, "cannot watch signal %d", signals[i]);
	}

	k->notify_fd = notify_socket_open(&k->notify_address);
	if (k->notify_fd < 0)
		return keeper_error_errno(k->notify_fd, "cannot make the notify socket");
	r = sd_event_add_io(k->event, &k->notify_source, k->notify_fd, EPOLLIN, on_notify, k);
	if (r < 0)
		return keeper_error_errno(r, "cannot watch the notify socket");
	/* Ahead of the child's exit and of timers: what it stored counts
	 * before it is started again (on_child_exit also drains). */
	(void)sd_event_source_set_priority(k->notify_source, SD_EVENT_PRIORITY_IMPORTANT);

	r = keeper_store_new(k->event, k->max_fds, &k->store);
	if (r < 0)
		return keeper_error_errno(r, "cannot make the store");
	keeper_debug("notify socket %s", k->notify_address);
	return 0;
}

static void keeper_free(struct keeper *k)
{
	sd_event_source_disable_unref(k->child_source);
	sd_event_source_disable_unref(k->restart_timer);
	sd_event_source_disable_unref(k->kill_timer);
	sd_event_source_disable_unref(k->notify_source);
	keeper_store_free(k->store);
	if (k->notify_fd >= 0)
		close(k->notify_fd);
	free(k->notify_address);
	sd_event_unref(k->event);
}

int main(int argc, char *argv[])
{
	struct keeper *k;
	int r;

	/* Large (the datagram buffer), and the only one. */
	k = calloc(1, sizeof(*k));
	if (!k) {
		fprintf(stderr, KEEPER_LOG_PREFIX "out of memory\n");
		return EXIT_FAILURE;
	}
	k->notify_fd = -1;
	k->max_fds = 4096;
	k->restart_usec = 100 * USEC_PER_MSEC;
	k->stop_timeout_usec = 10 * USEC_PER_SEC;
	k->start_limit_burst = 5;
	k->start_limit_interval_usec = 10 * USEC_PER_SEC;

	/* 1: run; 0: done (--help); < 0: a usage error. */
	r = parse_args(k, argc, argv);
	if (r <= 0) {
		free(k);
		return r < 0 ? 2 : EXIT_SUCCESS;
	}
	r = keeper_setup(k);
	if (r >= 0) {
		keeper_start(k);
		r = sd_event_loop(k->event);
		if (r < 0)
			keeper_error_errno(r, "event loop failed");
	}
	if (k->pid > 0) {
		/* Only on a failure of the keeper itself. */
		(void)kill(k->pid, SIGTERM);
	}
	keeper_free(k);
	free(k);
	return r < 0 ? EXIT_FAILURE : r;
}
