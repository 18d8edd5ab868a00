/* SPDX-License-Identifier: MIT */
/*
 * The cgroup of a command started by "devnsctl run": devns-<name>, a
 * child of devnsctl's own cgroup (so whatever manages that cgroup, a
 * systemd unit or a session, still finds the command below it), with a
 * device filter (ctl/devices-cgroup.c) that keeps the command from opening
 * the devices devnsd hands out. Root in a container that can open
 * /dev/dri/card0 becomes DRM master whenever nobody is, and reads the
 * keyboard through /dev/input/event*, with no file from devnsd: the broker
 * would never know. The nodes stay where they are, for stat(2): compositors
 * and libseat pass device numbers around.
 *
 * Refused: DRM cards, input devices, loop devices and /dev/loop-control
 * (devnsd attaches a container's loop devices and passes them open), and
 * every binder device but the container's own. The DRM render nodes are
 * let through: they carry neither modesetting nor master, devnsd does not
 * hand them out (logind does not either), and every GPU client needs them.
 *
 * A plain child cgroup works wherever devnsctl itself runs. cgroup2 keeps
 * processes out of a cgroup that has domain controllers enabled for its
 * children, but devnsctl's own cgroup holds devnsctl, so it has none
 * enabled (or it is the root, which is exempt); and the device filter is
 * no controller, it needs nothing enabled.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <linux/major.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "common/macro.h"
#include "ctl/devices-cgroup.h"
#include "ctl/run-cgroup.h"

#define DRM_MAJOR 226
#define LOOP_CTRL_MINOR 237
#define CGROUP_PREFIX "devns-"
/* How deep below the command's cgroup removal looks for cgroups the
 * command made; deeper ones stay, and so does the command's cgroup. */
#define REMOVE_DEPTH 16

static const struct dev_match refused[] = {
	{ 'c', DRM_MAJOR, -1 },              /* card*; renderD* allowed below */
	{ 'c', INPUT_MAJOR, -1 },            /* event*, mice, js* */
	{ 'b', LOOP_MAJOR, -1 },
	{ 'c', MISC_MAJOR, LOOP_CTRL_MINOR },
};

/* The binder module's devices= parameter: its device names, whatever they
 * are. Built in, the module is called binder. */
static const char *const binder_params[] = {
	"/sys/module/binder_linux/parameters/devices",
	"/sys/module/binder/parameters/devices",
};

struct device_lists {
	struct dev_match deny[DEVICES_CGROUP_MAX];
	size_t n_deny;
	struct dev_match allow[DEVICES_CGROUP_MAX];
	size_t n_allow;
};

static void closedirp(DIR **d)
{
	if (*d)
		closedir(*d);
}

static int add(struct dev_match *list, size_t *n, char type, unsigned major,
	       int minor)
{
	if (*n >= DEVICES_CGROUP_MAX)
		return -E2BIG;
	list[(*n)++] = (struct dev_match) { type, major, minor };
	return 0;
}

/* "226:128\n" of a sysfs class device. */
static int read_devnum(const char *class_dir, const char *name,
		       unsigned *major, unsigned *minor)
{
	_cleanup_free_ char *path = NULL;
	_cleanup_(fclosep) FILE *f = NULL;

	if (asprintf(&path, "%s/%s/dev", class_dir, name) < 0)
		return -ENOMEM;
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (fscanf(f, "%u:%u", major, minor) != 2)
		return -EIO;
	return 0;
}

/* Whether name is an entry of the comma-separated list. */
static bool in_list(const char *list, const char *name)
{
	size_t len = strlen(name);

	for (const char *p = list; *p;) {
		size_t n = strcspn(p, ",");

		if (n == len && strncmp(p, name, len) == 0)
			return true;
		p += n;
		p += *p == ',';
	}
	return false;
}

/* The names binder's devices= parameter gave, comma-separated; "" when
 * the module is not there. */
static int binder_param_names(char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < ARRAY_SIZE(binder_params); i++) {
		_cleanup_(fclosep) FILE *f = fopen(binder_params[i], "re");

		if (!f) {
			if (errno == ENOENT)
				continue;
			return -errno;
		}
		if (used > 0 && used + 1 < size)
			buf[used++] = ',';
		if (!fgets(buf + used, (int)(size - used), f))
			buf[used] = '\0';
		buf[strcspn(buf, "\n")] = '\0';
		used = strlen(buf);
	}
	return 0;
}

/* Every binder device (misc devices: binder, binder1, hwbinder, ..., and
 * whatever devices= named) is refused; the one of the container, binder,
 * is allowed. */
static int add_binder_devices(struct device_lists *l, const char *binder)
{
	_cleanup_(closedirp) DIR *d = NULL;
	char names[4096];
	struct dirent *de;
	struct stat st;
	int r;

	if (binder && binder[0] && stat(binder, &st) == 0 && S_ISCHR(st.st_mode)) {
		r = add(l->allow, &l->n_allow, 'c', major(st.st_rdev),
			(int)minor(st.st_rdev));
		if (r < 0)
			return r;
	}
	/* If binder is gone, the container's init fails to mount it and
	 * says so; nothing to allow then. */

	r = binder_param_names(names, sizeof(names));
	if (r < 0)
		return r;
	d = opendir("/sys/class/misc");
	if (!d)
		return -errno;
	while ((errno = 0, de = readdir(d))) {
		unsigned maj, min;

		if (de->d_name[0] == '.' ||
		    (!strstr(de->d_name, "binder") && !in_list(names, de->d_name)))
			continue;
		r = read_devnum("/sys/class/misc", de->d_name, &maj, &min);
		if (r == -ENOENT)
			continue; /* went away meanwhile */
		if (r < 0)
			return r;
		r = add(l->deny, &l->n_deny, 'c', maj, (int)min);
		if (r < 0)
			return r;
	}
	return errno ? -errno : 0;
}

static int add_render_nodes(struct device_lists *l)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int r;

	d = opendir("/sys/class/drm");
	if (!d)
		return errno == ENOENT ? 0 : -errno; /* no DRM driver loaded */
	while ((errno = 0, de = readdir(d))) {
		unsigned maj, min;

		if (strncmp(de->d_name, "renderD", 7) != 0)
			continue;
		r = read_devnum("/sys/class/drm", de->d_name, &maj, &min);
		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		r = add(l->allow, &l->n_allow, 'c', maj, (int)min);
		if (r < 0)
			return r;
	}
	return errno ? -errno : 0;
}

static int device_lists_fill(struct device_lists *l, const char *binder)
{
	int r;

	for (size_t i = 0; i < ARRAY_SIZE(refused); i++)
		l->deny[l->n_deny++] = refused[i];
	r = add_binder_devices(l, binder);
	if (r < 0)
		return r;
	return add_render_nodes(l);
}

/* The cgroup2 file system: /sys/fs/cgroup, or with the hybrid layout of
 * systemd, /sys/fs/cgroup/unified. */
static const char *cgroup2_mount(void)
{
	static const char *const where[] = {
		"/sys/fs/cgroup",
		"/sys/fs/cgroup/unified",
	};
	struct statfs s;

	for (size_t i = 0; i < ARRAY_SIZE(where); i++)
		if (statfs(where[i], &s) == 0 && s.f_type == CGROUP2_SUPER_MAGIC)
			return where[i];
	return NULL;
}

/* devnsctl's cgroup in the cgroup2 hierarchy: "0::/path" of
 * /proc/self/cgroup, relative to the hierarchy's root. */
static int own_cgroup(char **ret)
{
	_cleanup_(fclosep) FILE *f = NULL;
	_cleanup_free_ char *line = NULL;
	size_t size = 0;
	ssize_t n;

	f = fopen("/proc/self/cgroup", "re");
	if (!f)
		return -errno;
	while ((n = getline(&line, &size, f)) > 0) {
		char *path = line + 3;

		if (strncmp(line, "0::", 3) != 0)
			continue;
		path[strcspn(path, "\n")] = '\0';
		/* Outside the root of our cgroup namespace the path starts
		 * with "/..": the mount does not reach it. */
		if (path[0] != '/' || strstr(path, "/../") ||
		    (strlen(path) >= 3 && strcmp(path + strlen(path) - 3, "/..") == 0))
			return -ENOENT;
		*ret = strdup(strcmp(path, "/") == 0 ? "" : path);
		return *ret ? 0 : -ENOMEM;
	}
	return -ENOMEDIUM; /* no cgroup2 hierarchy */
}

static int remove_at(int parent_fd, const char *name, unsigned depth)
{
	_cleanup_(closedirp) DIR *d = NULL;
	struct dirent *de;
	int fd;

	if (unlinkat(parent_fd, name, AT_REMOVEDIR) == 0 || errno == ENOENT)
		return 0;
	/* cgroupfs says EBUSY for processes and for child cgroups alike. */
	if ((errno != EBUSY && errno != ENOTEMPTY) || depth == 0)
		return -errno;
	fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	while ((de = readdir(d)))
		if (de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 &&
		    strcmp(de->d_name, "..") != 0)
			(void)remove_at(dirfd(d), de->d_name, depth - 1);
	if (unlinkat(parent_fd, name, AT_REMOVEDIR) < 0)
		return -errno;
	return 0;
}

int run_cgroup_remove(const char *path)
{
	const struct timespec pause = { .tv_nsec = 10 * 1000 * 1000 };
	int r;

	/* The command's processes are gone when its init has been reaped
	 * (a pid namespace ends only after all of them), but a process
	 * someone moved in from outside may still be on its way out. */
	for (unsigned i = 0;; i++) {
		r = remove_at(AT_FDCWD, path, REMOVE_DEPTH);
		if (r != -EBUSY || i == 50)
			return r;
		nanosleep(&pause, NULL);
	}
}

int run_cgroup_enter(const char *path, pid_t pid)
{
	_cleanup_free_ char *procs = NULL;
	_cleanup_close_ int fd = -1;
	char buf[32];
	ssize_t n;
	int len;

	if (asprintf(&procs, "%s/cgroup.procs", path) < 0)
		return -ENOMEM;
	fd = open(procs, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	len = snprintf(buf, sizeof(buf), "%d\n", (int)pid);
	n = write(fd, buf, (size_t)len);
	if (n < 0)
		return -errno;
	return n == len ? 0 : -EIO;
}

int run_cgroup_create(const char *name, const char *binder, char **ret_path,
		      enum run_cgroup_step *ret_step)
{
	_cleanup_free_ struct device_lists *lists = NULL;
	_cleanup_free_ char *own = NULL;
	char *path = NULL;
	const char *mount;
	int r;

	*ret_path = NULL;
	*ret_step = RUN_CGROUP_FIND;
	/* The broker checked the name; a cgroup name is one component. */
	if (!name[0] || strchr(name, '/'))
		return -EINVAL;
	mount = cgroup2_mount();
	if (!mount)
		return -ENOMEDIUM;
	r = own_cgroup(&own);
	if (r < 0)
		return r;
	if (asprintf(&path, "%s%s/" CGROUP_PREFIX "%s", mount, own, name) < 0)
		return -ENOMEM;
	*ret_path = path;

	*ret_step = RUN_CGROUP_DEVICES;
	lists = calloc(1, sizeof(*lists));
	if (!lists)
		return -ENOMEM;
	r = device_lists_fill(lists, binder);
	if (r < 0)
		return r;

	*ret_step = RUN_CGROUP_CREATE;
	if (mkdir(path, 0755) < 0) {
		if (errno != EEXIST)
			return -errno;
		/* Left by a devnsctl run of this name that was killed. One
		 * still in use (processes in it) stays, and we fail. */
		if (remove_at(AT_FDCWD, path, REMOVE_DEPTH) < 0)
			return -EEXIST;
		if (mkdir(path, 0755) < 0)
			return -errno;
	}

	*ret_step = RUN_CGROUP_FILTER;
	r = devices_cgroup_confine(path, lists->deny, lists->n_deny,
				   lists->allow, lists->n_allow);
	if (r < 0) {
		(void)rmdir(path);
		return r;
	}
	return 0;
}
