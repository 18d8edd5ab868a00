/* SPDX-License-Identifier: MIT */
/*
 * Binder devices per container. binder_linux (Debian's 6.1 kernel has no
 * binderfs) makes one misc device per name of its devices= parameter, each
 * an independent binder context with its own context manager. The broker
 * loads nothing: the pool is the binder* misc devices that exist when it
 * starts, or those that [Binder] Devices= names, and each container gets a
 * free one at registration. The runtime bind-mounts it on /dev/binder in the
 * container; a node made below the runtime directory would be useless,
 * /run being nodev.
 *
 * Reuse: a device returns to the pool at unregistration, but the processes
 * of the old container may still hold it (they can outlive the leader, and
 * an open file or a mapping is all binder needs to keep their context
 * alive, with its context manager). So a device is handed out only while
 * nothing holds it, checked at the moment it is handed out; among those,
 * the one handed out least often goes first. This needs no bookkeeping of
 * namespaces and also covers a file passed to a process outside the
 * container.
 *
 * Two views of "held", both consulted. /proc shows every file open in a
 * process and every mapping, but not a file in flight: sent with
 * SCM_RIGHTS, not yet received, every other copy closed, it is in no
 * process's table, yet its binder context (and its role as context
 * manager) lives on for whoever receives it. binder's debugfs state file
 * lists every live context, in flight or not, under the device's name. It
 * needs debugfs mounted, which devnsd leaves to the system (systemd mounts
 * it); without it, a file in flight goes unseen, and that is logged once.
 * The kernel drops a context from that list in a work item after the last
 * close, so a device let go a moment ago may still count as held: it is
 * handed out at a later registration.
 *
 * binderfs, where the kernel has it, would give each container a fresh
 * instance instead; it is not used yet (a limitation, see devnsd(8)).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libudev.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/binder.h"
#include "broker/broker.h"
#include "broker/container.h"
#include "common/log.h"
#include "common/macro.h"

static bool name_is_binder(const char *name)
{
	return strncmp(name, "binder", 6) == 0 && strchr(name, '/') == NULL;
}

/* [Binder] Devices=: a space-separated list; NULL (not set) takes all,
 * an empty one none. */
static bool name_is_configured(const char *list, const char *name)
{
	size_t n = strlen(name);

	if (!list)
		return true;
	for (const char *p = list; *p;) {
		size_t k;

		p += strspn(p, " \t");
		k = strcspn(p, " \t");
		if (k == n && strncmp(p, name, n) == 0)
			return true;
		p += k;
	}
	return false;
}

int broker_binder_add(struct broker *b, const char *name, const char *node, dev_t devnum)
{
	struct binder_device *d, *pos;

	if (!b->binder) {
		b->binder = calloc(1, sizeof(*b->binder));
		if (!b->binder)
			return -ENOMEM;
		list_init(&b->binder->devices);
	}
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->name = strdup(name);
	d->node = strdup(node);
	d->devnum = devnum;
	if (!d->name || !d->node) {
		free(d->name);
		free(d->node);
		free(d);
		return -ENOMEM;
	}
	/* Name order, as udev's enumeration order means nothing. */
	list_for_each(pos, &b->binder->devices, link)
		if (strcmp(pos->name, name) > 0)
			break;
	list_insert(pos->link.prev, &d->link);
	return 0;
}

static bool kernel_has_binderfs(void)
{
	char line[128];
	bool found = false;
	FILE *f = fopen("/proc/filesystems", "re");

	if (!f)
		return false;
	while (!found && fgets(line, sizeof(line), f)) {
		const char *fs = strrchr(line, '\t');

		found = fs && strcmp(fs + 1, "binder\n") == 0;
	}
	fclose(f);
	return found;
}

static void binder_found(struct broker *b, struct udev_device *d, void *userdata)
{
	const char *name = udev_device_get_sysname(d), *node = udev_device_get_devnode(d);
	unsigned *n = userdata;

	if (name && node && name_is_binder(name) &&
	    name_is_configured(b->config.binder_devices, name) &&
	    broker_binder_add(b, name, node, udev_device_get_devnum(d)) >= 0)
		(*n)++;
}

int broker_binder_start(struct broker *b)
{
	unsigned n = 0;
	int r;

	if (!b->udev)
		return 0;
	r = broker_udev_foreach(b, "misc", "binder*", binder_found, &n);
	if (r < 0)
		return r;
	if (n)
		log_info("%u binder devices for containers", n);
	else
		log_info("No binder devices; containers go without (binder_linux makes them from its devices= parameter)");
	if (kernel_has_binderfs())
		log_info("The kernel has binderfs; devnsd hands out binder_linux devices only");
	return 0;
}

void broker_binder_free(struct broker *b)
{
	struct binder_device *d, *tmp;

	if (!b->binder)
		return;
	list_for_each_safe(d, tmp, &b->binder->devices, link) {
		list_remove(&d->link);
		free(d->name);
		free(d->node);
		free(d);
	}
	free(b->binder);
	b->binder = NULL;
}

static bool dir_holds(int dirfd, dev_t devnum)
{
	DIR *d = fdopendir(dirfd);
	struct dirent *de;
	bool held = false;

	if (!d) {
		close(dirfd);
		return false;
	}
	while (!held && (de = readdir(d))) {
		struct stat st;

		if (de->d_name[0] != '.' && fstatat(dirfd, de->d_name, &st, 0) == 0)
			held = S_ISCHR(st.st_mode) && st.st_rdev == devnum;
	}
	closedir(d);
	return held;
}

/* binder's list of live contexts: each as "proc PID", then "context NAME"
 * with NAME the misc device's name, then its threads, nodes and
 * transactions, indented. */
#define BINDER_STATE "/sys/kernel/debug/binder/state"

/* 1 if a context of binder device name is live, 0 if none is, negative
 * errno if the list cannot be read. */
static int binder_state_has_context(const char *name)
{
	_cleanup_(fclosep) FILE *f = fopen(BINDER_STATE, "re");
	_cleanup_free_ char *line = NULL;
	size_t size = 0, n = strlen(name);
	bool after_proc = false;

	if (!f)
		return -errno;
	while (getline(&line, &size, f) >= 0) {
		if (after_proc && strncmp(line, "context ", 8) == 0 &&
		    strncmp(line + 8, name, n) == 0 && (line[8 + n] == '\n' || line[8 + n] == '\0'))
			return 1;
		after_proc = strncmp(line, "proc ", 5) == 0;
	}
	return ferror(f) ? -EIO : 0;
}

bool binder_device_is_held(dev_t devnum)
{
	DIR *proc = opendir("/proc");
	struct dirent *de;
	bool held = false;

	if (!proc)
		return true; /* cannot tell: better not reuse */
	while (!held && (de = readdir(proc))) {
		static const char *const subdirs[] = { "fd", "map_files" };

		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		/* Open files, then mappings: binder keeps a context alive as
		 * long as a mapping of it exists, after the fd is closed. */
		for (size_t i = 0; i < 2 && !held; i++) {
			char path[320];
			int fd;

			snprintf(path, sizeof(path), "/proc/%s/%s", de->d_name, subdirs[i]);
			fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (fd >= 0)
				held = dir_holds(fd, devnum);
		}
	}
	closedir(proc);
	return held;
}

/* Held in a process (/proc) or live in binder (debugfs): see the top. */
static bool binder_device_in_use(const struct binder_device *d)
{
	static bool warned;
	int r = binder_state_has_context(d->name);

	if (r > 0)
		return true;
	if (r < 0 && !warned) {
		log_warning_errno(r, "Cannot read %s (debugfs not mounted?); a binder device whose "
				  "file is in flight (SCM_RIGHTS) will look free and may be handed "
				  "to another container while its old context lives", BINDER_STATE);
		warned = true;
	}
	return binder_device_is_held(d->devnum);
}

void container_binder_assign(struct container *c, const char *wanted)
{
	struct binder_pool *pool = c->broker->binder;
	struct binder_device *d, *best = NULL;

	if (!pool || (wanted && !*wanted))
		return;
	list_for_each(d, &pool->devices, link) {
		if (d->owner)
			continue;
		if (wanted) {
			if (strcmp(d->name, wanted) == 0) {
				best = d;
				break;
			}
			continue;
		}
		if (best && d->handed_out >= best->handed_out)
			continue;
		if (binder_device_in_use(d)) {
			log_debug("%s is still held (open, mapped or in flight); not handing it out",
				  d->node);
			continue;
		}
		best = d;
	}
	if (!best) {
		if (wanted)
			log_warning("Container %s had binder device %s, which is not free in the pool",
				    c->name, wanted);
		else if (!list_empty(&pool->devices))
			log_warning("No free binder device for container %s; it goes without", c->name);
		return;
	}
	best->owner = c;
	best->handed_out++;
	c->binder = best;
	log_info("Container %s gets binder device %s", c->name, best->node);
}

void container_binder_release(struct container *c)
{
	if (!c->binder)
		return;
	log_info("Binder device %s of %s returns to the pool", c->binder->node, c->name);
	c->binder->owner = NULL;
	c->binder = NULL;
}

const char *container_binder_node(const struct container *c)
{
	return c->binder ? c->binder->node : "";
}
