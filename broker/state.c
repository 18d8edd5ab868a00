/* SPDX-License-Identifier: MIT */
/*
 * What devnsd needs to pick up after a crash or restart: its containers
 * (with their leaders) and the active one of each seat, in
 * <runtime>/state, rewritten after every change. On start, containers whose
 * leader still runs are registered again, and the device files they still
 * hold (DRM master and evdev state live in the open files, not in devnsd)
 * are taken back with pidfd_getfd(), so the next switch pauses them like
 * any other and no background container keeps master or live input.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <limits.h>
#include <linux/kcmp.h>
#include <linux/major.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "broker/binder.h"
#include "broker/broker.h"
#include "broker/container.h"
#include "broker/loop.h"
#include "broker/outputs.h"
#include "broker/state.h"
#include "common/fd-store.h"
#include "common/log.h"
#include "common/macro.h"
#include "drm/drm.h"
#include "input/evdev.h"
#include "seat/names.h"

#define STATE_FILE "state"

/* Field 22 of /proc/PID/stat: tells a process from a later one that got
 * the same pid. */
int process_start_time(pid_t pid, unsigned long long *ret)
{
	char path[64], buf[1024];
	const char *p;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -EIO;
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses; fields count
	 * from the last ')'. */
	p = strrchr(buf, ')');
	if (!p)
		return -EIO;
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%llu", ret) != 1)
		return -EIO;
	return 0;
}

static int state_path(struct broker *b, char *buf, size_t size, const char *suffix)
{
	return snprintf(buf, size, "%s/" STATE_FILE "%s", b->runtime_dir, suffix) < (int)size ?
		0 : -ENAMETOOLONG;
}

static void write_container(FILE *f, struct container *c)
{
	struct seat_handle *h;
	struct loop_device *l;

	fprintf(f, "\n[Container %s]\nSeat=%s\nLeader=%d\nLeaderStart=%llu\n"
		   "AllowActivate=%s\nKernelId=%u\n",
		c->name, c->seat->seat->id, (int)c->leader, c->leader_start,
		c->allow_activate ? "yes" : "no", c->kernel_id);
	fprintf(f, "BinderDevice=%s\n", c->binder ? c->binder->name : "");
	for (size_t i = 0; i < c->n_outputs; i++)
		fprintf(f, "Output=%s\n", c->outputs[i]);
	/* The lease's id: the next devnsd finds its file in the fd store,
	 * and revokes it by this id. */
	list_for_each(h, &c->sc->handles, link)
		if (broker_lease_lessee(h))
			fprintf(f, "Lease=%s %u\n", h->device->sysname, broker_lease_lessee(h));
	for (unsigned i = 0; i < c->n_options; i++)
		fprintf(f, "Option=%s %u\n", c->options[i].option->name, c->options[i].value);
	/* With the backing file's numbers, so that a device detached and
	 * reused meanwhile is not taken for the container's. */
	list_for_each(l, &c->loops, link) {
		uint64_t dev, ino;

		if (loop_device_backing(l, &dev, &ino) >= 0)
			fprintf(f, "LoopDevice=loop%u %llu %llu\n", l->number,
				(unsigned long long)dev, (unsigned long long)ino);
	}
}

/* The file up to the seats, kept in b->state_containers: a switch changes
 * only the seats' part, and rewrites the rest from memory. */
static int format_containers(struct broker *b)
{
	struct container *c;
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	f = open_memstream(&text, &len);
	if (!f)
		return -errno;
	fprintf(f, "# devnsd's containers, for picking them up after a restart.\n");
	list_for_each(c, &b->containers, link)
		write_container(f, c);
	r = fflush(f) == 0 && !ferror(f) ? 0 : -ENOMEM;
	fclose(f);
	if (r < 0) {
		free(text);
		return r;
	}
	free(b->state_containers);
	b->state_containers = text;
	b->state_containers_len = len;
	return 0;
}

/* The seats' part: each seat's active container. */
static int format_seats(struct broker *b, char **ret, size_t *ret_len)
{
	struct broker_seat *bs;
	char *text = NULL;
	size_t len = 0;

	list_for_each(bs, &b->seats, link) {
		const char *active = bs->seat->active ? bs->seat->active->name : NULL;
		int n;
		char *t;

		if (!active)
			continue;
		n = snprintf(NULL, 0, "\n[Seat %s]\nActive=%s\n", bs->seat->id, active);
		t = realloc(text, len + (size_t)n + 1);
		if (!t) {
			free(text);
			return -ENOMEM;
		}
		text = t;
		snprintf(text + len, (size_t)n + 1, "\n[Seat %s]\nActive=%s\n", bs->seat->id, active);
		len += (size_t)n;
	}
	*ret = text;
	*ret_len = len;
	return 0;
}

static int write_all(int fd, struct iovec *iov, int n)
{
	while (n > 0) {
		ssize_t k = writev(fd, iov, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (; n > 0 && (size_t)k >= iov->iov_len; iov++, n--)
			k -= (ssize_t)iov->iov_len;
		if (n > 0) {
			iov->iov_base = (char *)iov->iov_base + k;
			iov->iov_len -= (size_t)k;
		}
	}
	return 0;
}

/* Writes the kept containers' part and the seats' part, replacing the
 * file at once. */
static int write_state(struct broker *b)
{
	char path[PATH_MAX], tmp[PATH_MAX];
	_cleanup_free_ char *seats = NULL;
	size_t seats_len;
	int fd, r;

	if ((r = state_path(b, path, sizeof(path), "")) < 0 ||
	    (r = state_path(b, tmp, sizeof(tmp), ".new")) < 0 ||
	    (r = format_seats(b, &seats, &seats_len)) < 0)
		return log_warning_errno(r, "Cannot save state");
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
	if (fd < 0)
		return log_warning_errno(errno, "Cannot write %s", tmp);
	r = write_all(fd, (struct iovec[]) {
		{ b->state_containers, b->state_containers_len },
		{ seats, seats_len },
	}, 2);
	if (close(fd) < 0 && r >= 0)
		r = -errno;
	if (r >= 0 && rename(tmp, path) < 0)
		r = -errno;
	if (r < 0) {
		(void)unlink(tmp);
		return log_warning_errno(r, "Cannot save state to %s", path);
	}
	return 0;
}

int broker_state_save(struct broker *b)
{
	int r = format_containers(b);

	if (r < 0)
		return log_warning_errno(r, "Cannot save state");
	return write_state(b);
}

int broker_state_save_active(struct broker *b)
{
	if (!b->state_containers)
		return broker_state_save(b);
	return write_state(b);
}

struct saved_container {
	char name[CONTAINER_NAME_MAX + 1];
	char seat[65];
	pid_t leader;
	unsigned long long start;
	bool allow_activate;
	uint32_t kernel_id;
	bool has_binder; /* a state file of an older devnsd has no such key */
	char binder[65];
	struct {
		unsigned number;
		unsigned long long dev, ino;
	} loops[32];
	size_t n_loops;
	struct {
		char name[32];
		uint32_t value;
	} options[BROKER_MAX_OPTIONS];
	size_t n_options;
	char outputs[CONTAINER_OUTPUTS_MAX][33];
	char *output_names[CONTAINER_OUTPUTS_MAX];
	size_t n_outputs;
	struct {
		char card[32];
		uint32_t lessee;
	} leases[4];
	size_t n_leases;
};

struct saved_state {
	struct saved_container containers[256];
	size_t n;
	struct {
		char seat[65];
		char active[CONTAINER_NAME_MAX + 1];
	} seats[16];
	size_t n_seats;
};

static int on_state_entry(void *user, const char *section, const char *key, const char *value)
{
	struct saved_state *st = user;

	if (strncmp(section, "Container ", 10) == 0) {
		struct saved_container *sc;

		if (!container_name_is_valid(section + 10))
			return 0;
		if (st->n == 0 || strcmp(st->containers[st->n - 1].name, section + 10) != 0) {
			if (st->n == ARRAY_SIZE(st->containers))
				return 0;
			sc = &st->containers[st->n++];
			*sc = (struct saved_container) { 0 };
			snprintf(sc->name, sizeof(sc->name), "%s", section + 10);
		}
		sc = &st->containers[st->n - 1];
		if (strcmp(key, "Seat") == 0)
			snprintf(sc->seat, sizeof(sc->seat), "%s", value);
		else if (strcmp(key, "Leader") == 0)
			sc->leader = (pid_t)strtol(value, NULL, 10);
		else if (strcmp(key, "LeaderStart") == 0)
			sc->start = strtoull(value, NULL, 10);
		else if (strcmp(key, "AllowActivate") == 0)
			sc->allow_activate = strcmp(value, "yes") == 0;
		else if (strcmp(key, "KernelId") == 0)
			sc->kernel_id = (uint32_t)strtoul(value, NULL, 10);
		else if (strcmp(key, "BinderDevice") == 0) {
			sc->has_binder = true;
			snprintf(sc->binder, sizeof(sc->binder), "%s", value);
		} else if (strcmp(key, "Option") == 0 && sc->n_options < ARRAY_SIZE(sc->options)) {
			char name[32];
			unsigned v;

			if (sscanf(value, "%31s %u", name, &v) == 2) {
				snprintf(sc->options[sc->n_options].name,
					 sizeof(sc->options[0].name), "%s", name);
				sc->options[sc->n_options++].value = v;
			}
		} else if (strcmp(key, "Output") == 0 && sc->n_outputs < ARRAY_SIZE(sc->outputs)) {
			if (output_name_is_valid(value)) {
				snprintf(sc->outputs[sc->n_outputs], sizeof(sc->outputs[0]), "%s", value);
				sc->output_names[sc->n_outputs] = sc->outputs[sc->n_outputs];
				sc->n_outputs++;
			}
		} else if (strcmp(key, "Lease") == 0 && sc->n_leases < ARRAY_SIZE(sc->leases)) {
			char card[32];
			unsigned lessee;

			if (sscanf(value, "%31s %u", card, &lessee) == 2) {
				snprintf(sc->leases[sc->n_leases].card, sizeof(sc->leases[0].card), "%s", card);
				sc->leases[sc->n_leases++].lessee = lessee;
			}
		} else if (strcmp(key, "LoopDevice") == 0 && sc->n_loops < ARRAY_SIZE(sc->loops)) {
			unsigned n;
			unsigned long long dev, ino;

			if (sscanf(value, "loop%u %llu %llu", &n, &dev, &ino) == 3) {
				sc->loops[sc->n_loops].number = n;
				sc->loops[sc->n_loops].dev = dev;
				sc->loops[sc->n_loops].ino = ino;
				sc->n_loops++;
			}
		}
		return 1;
	}
	if (strncmp(section, "Seat ", 5) == 0 && strcmp(key, "Active") == 0) {
		if (st->n_seats == ARRAY_SIZE(st->seats))
			return 0;
		snprintf(st->seats[st->n_seats].seat, sizeof(st->seats[0].seat), "%s", section + 5);
		snprintf(st->seats[st->n_seats].active, sizeof(st->seats[0].active), "%s", value);
		st->n_seats++;
		return 1;
	}
	return 1;
}

static bool same_file(int a, int b)
{
	pid_t self = getpid();

	return syscall(SYS_kcmp, self, self, KCMP_FILE, a, b) == 0;
}

/* The better of two open files of one device: DRM, the master; evdev,
 * the live one. Closes the other. */
static int keep_better(struct seat_device *d, int kept, int fd)
{
	bool fd_better;

	if (kept < 0)
		return fd;
	if (same_file(kept, fd)) {
		close(fd);
		return kept;
	}
	fd_better = d->type == SEAT_DEVICE_DRM ? drm_is_master(fd) && !drm_is_master(kept) :
						 evdev_is_live(fd) && !evdev_is_live(kept);
	close(fd_better ? kept : fd);
	return fd_better ? fd : kept;
}

static size_t device_index(struct seat *s, struct seat_device *d)
{
	struct seat_device *e;
	size_t i = 0;

	list_for_each(e, &s->devices, link) {
		if (e == d)
			return i;
		i++;
	}
	return i;
}

/* Every file of a brokered device that a process of c has open, the best
 * one per device, indexed like the seat's device list. */
static void collect_files(struct container *c, int *files, size_t n_files)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;

	if (!proc)
		return;
	while ((de = readdir(proc))) {
		char path[64];
		pid_t pid = (pid_t)strtol(de->d_name, NULL, 10);
		struct dirent *fe;
		int pidfd, fddir;
		DIR *fds;

		if (pid <= 0 || pid_is_in_pidns(pid, &c->pidns) <= 0)
			continue;
		pidfd = pidfd_open(pid, 0);
		if (pidfd < 0)
			continue;
		snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
		fddir = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		fds = fddir >= 0 ? fdopendir(fddir) : NULL;
		while (fds && (fe = readdir(fds))) {
			struct seat_device *d;
			struct stat st;
			size_t i;
			int target = (int)strtol(fe->d_name, NULL, 10), fd;

			if (fe->d_name[0] == '.' || fstatat(fddir, fe->d_name, &st, 0) < 0 ||
			    !S_ISCHR(st.st_mode))
				continue;
			d = seat_find_device(c->seat->seat, st.st_rdev);
			if (!d)
				continue;
			fd = pidfd_getfd(pidfd, target, 0);
			if (fd < 0)
				continue;
			i = device_index(c->seat->seat, d);
			if (i < n_files)
				files[i] = keep_better(d, files[i], fd);
			else
				close(fd);
		}
		if (fds)
			closedir(fds);
		else if (fddir >= 0)
			close(fddir);
		close(pidfd);
	}
	closedir(proc);
}

/* The files of c's devices that the previous devnsd kept in the fd store
 * (broker_handle_store()): the same open files it handed out, also where
 * no process shows them any more (in flight in a socket). */
static void collect_stored_files(struct container *c, int *files, size_t n_files)
{
	struct seat_device *d;
	size_t i = 0;

	list_for_each(d, &c->seat->seat->devices, link) {
		char name[FD_STORE_NAME_MAX + 1];
		int fd;

		snprintf(name, sizeof(name), "dev.%s.%u.%u", c->name, major(d->devnum),
			 minor(d->devnum));
		if (i < n_files && fd_store_take(name, &fd, 1) == 1)
			files[i] = keep_better(d, files[i], fd);
		i++;
	}
}

static uint32_t saved_lessee(const struct saved_container *sc, const struct seat_device *d)
{
	for (size_t i = 0; i < sc->n_leases; i++)
		if (strcmp(sc->leases[i].card, d->sysname) == 0)
			return sc->leases[i].lessee;
	return 0;
}

/* Takes back c's device files and brings each to the state the container
 * must be in: master and live input only if it is the active one. A lease
 * is live whatever; a card with leases gives no other file master. */
static void adopt_files(struct container *c, const struct saved_container *sc, bool active)
{
	struct seat *s = c->seat->seat;
	size_t n = list_length(&s->devices), i = 0;
	int *files = calloc(n ? n : 1, sizeof(int));
	struct seat_device *d;
	struct seat_handle *h;

	if (!files)
		return;
	for (size_t k = 0; k < n; k++)
		files[k] = -1;
	collect_stored_files(c, files, n);
	collect_files(c, files, n);
	list_for_each(d, &s->devices, link) {
		int fd = files[i++];
		enum seat_handle_state state = SEAT_HANDLE_PAUSED;

		if (fd < 0)
			continue;
		if (container_has_outputs_on(c, d)) {
			if (seat_container_adopt(c->sc, d, fd, SEAT_HANDLE_LIVE, &h) < 0) {
				close(fd);
				continue;
			}
			if (broker_lease_adopt(c->broker, h, saved_lessee(sc, d)) < 0) {
				/* The lease ended with the previous devnsd (no
				 * store for its lessor): the compositor must
				 * take the card again for a new one. */
				log_info("The lease of %s of %s is gone", d->sysname, c->name);
				seat_handle_release(h);
				continue;
			}
			broker_handle_store(h);
			log_info("Took back the lease of %s of %s", d->sysname, c->name);
			continue;
		}
		if (d->type == SEAT_DEVICE_DRM && broker_card_has_lessor(c->broker, d)) {
			drm_drop_master(fd);
			if (active)
				state = SEAT_HANDLE_LIVE;
		} else if (d->type == SEAT_DEVICE_DRM) {
			if (active && (drm_is_master(fd) || drm_set_master(fd) == 0))
				state = SEAT_HANDLE_LIVE;
			else
				drm_drop_master(fd);
		} else if (active && evdev_is_live(fd)) {
			state = SEAT_HANDLE_LIVE;
		} else {
			evdev_revoke(fd);
		}
		if (seat_container_adopt(c->sc, d, fd, state, &h) < 0) {
			close(fd);
			continue;
		}
		broker_handle_store(h);
		log_info("Took back %s of %s (%s)", d->sysname, c->name,
			 state == SEAT_HANDLE_LIVE ? "live" : "paused");
	}
	free(files);
}

/* Stored device files that no container picked up: their container is
 * gone, or their device. Whoever still has the same open file (a process
 * that outlived its container, a file in flight) loses master and input
 * with them. */
static void revoke_unclaimed_files(void)
{
	const char *name;
	size_t cursor = 0;

	while ((name = fd_store_next_name("dev.", &cursor))) {
		char copy[FD_STORE_NAME_MAX + 1];
		struct stat st;
		int fd;

		snprintf(copy, sizeof(copy), "%s", name);
		if (fd_store_take(copy, &fd, 1) != 1)
			continue;
		if (fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) == INPUT_MAJOR)
			(void)evdev_revoke(fd);
		else
			(void)drm_drop_master(fd);
		close(fd);
		(void)fd_store_remove(copy);
		log_info("Stored device file %s belongs to no container any more; revoked it", copy);
	}
}

static const char *saved_active(const struct saved_state *st, const char *seat)
{
	for (size_t i = 0; i < st->n_seats; i++)
		if (strcmp(st->seats[i].seat, seat) == 0)
			return st->seats[i].active;
	return NULL;
}

int broker_state_restore(struct broker *b)
{
	struct saved_state *st;
	char path[PATH_MAX];
	struct broker_seat *bs;
	FILE *f;
	int r;

	r = state_path(b, path, sizeof(path), "");
	if (r < 0)
		return r;
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? 0 : log_warning_errno(errno, "Cannot read %s", path);
	st = calloc(1, sizeof(*st));
	if (!st) {
		fclose(f);
		return -ENOMEM;
	}
	r = ini_parse_file(f, on_state_entry, st);
	/* Before the containers' files: their leases are the lessors'. */
	broker_lessors_take_back(b);
	fclose(f);
	if (r != 0)
		log_warning("%s:%d: cannot parse; containers from there on are forgotten", path, r);

	for (size_t i = 0; i < st->n; i++) {
		struct saved_container *sc = &st->containers[i];
		struct container_options opts = {
			.allow_activate = sc->allow_activate,
			.kernel_id = sc->kernel_id,
			.binder = sc->has_binder ? sc->binder : NULL,
			.outputs = sc->output_names,
			.n_outputs = sc->n_outputs,
		};
		unsigned long long start;
		struct container *c;
		const char *active;

		/* An option whose transport this devnsd lacks is dropped. */
		for (size_t k = 0; k < sc->n_options; k++) {
			const struct broker_option *o = broker_find_option(b, sc->options[k].name);

			if (o)
				(void)container_options_set(&opts, o, sc->options[k].value);
			else
				log_info("Container %s: option %s is not known; dropped", sc->name,
					 sc->options[k].name);
		}

		if (sc->leader <= 0 || process_start_time(sc->leader, &start) < 0 ||
		    start != sc->start) {
			log_info("Container %s: leader %d is gone; not picked up", sc->name, (int)sc->leader);
			continue;
		}
		r = broker_get_seat(b, seat_id_is_valid(sc->seat) ? sc->seat : "seat0", &bs);
		if (r < 0)
			continue;
		r = container_new(b, sc->name, bs, sc->leader, &opts, &c);
		if (r < 0) {
			log_warning_errno(r, "Cannot pick up container %s", sc->name);
			continue;
		}
		/* The pid may have been reused since the check above; now that
		 * the process is pinned, its start time is final. */
		if (c->leader_start != sc->start) {
			log_info("Container %s: leader %d is gone; not picked up", sc->name, (int)sc->leader);
			container_free(c);
			continue;
		}
		for (size_t k = 0; k < sc->n_loops; k++) {
			r = container_adopt_loop(c, sc->loops[k].number, sc->loops[k].dev,
						 sc->loops[k].ino);
			if (r < 0)
				log_info("Container %s: loop%u is no longer its own (%s)", c->name,
					 sc->loops[k].number, strerror(-r));
		}
		active = saved_active(st, bs->seat->id);
		adopt_files(c, sc, active && strcmp(active, c->name) == 0);
		if (active && strcmp(active, c->name) == 0)
			seat_restore_active(bs->seat, c->sc);
		log_info("Picked up container %s after a restart", c->name);
		container_announce(c, BROKER_EVENT_CONTAINER_PICKED_UP);
	}
	free(st);

	broker_lessors_gc(b);
	revoke_unclaimed_files();

	/* The kernel's active namespaces follow what was picked up. */
	list_for_each(bs, &b->seats, link)
		if (bs->seat->active)
			bs->seat->ops->kernel_activate(bs->seat->ud, bs->seat, bs->seat->active);
	return broker_state_save(b);
}
