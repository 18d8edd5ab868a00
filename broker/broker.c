/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <systemd/sd-daemon.h>

#include "broker/binder.h"
#include "broker/broker.h"
#include "broker/container.h"
#include "broker/kernel-devns.h"
#include "broker/outputs.h"
#include "broker/state.h"
#include "broker/vt.h"
#include "common/fd-store.h"
#include "common/log.h"
#include "common/reaper.h"
#include "drm/drm.h"
#include "input/evdev.h"

static struct container *container_of_handle(struct seat_handle *h)
{
	return h->container->userdata;
}

/* The broker opens every node itself: DRM master follows the opener, and
 * the container must never be the opener (see drm/drm.h). */
int broker_open_node(struct seat_device *d)
{
	int flags = O_RDWR | O_CLOEXEC | O_NOCTTY;
	struct stat st;
	int fd;

	if (d->type == SEAT_DEVICE_EVDEV)
		flags |= O_NONBLOCK;
	fd = open(broker_device_node(d), flags);
	/* A node that is no more: the device was unplugged, and udev's
	 * remove event follows. */
	if (fd < 0)
		return errno == ENOENT || errno == ENXIO ? -ENODEV : -errno;
	/* The node may have been replaced since udev told us about it. */
	if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != d->devnum) {
		close(fd);
		return -ENODEV;
	}
	return fd;
}

/* A container given a card while another, or none, was active can make
 * itself master with DRM_IOCTL_SET_MASTER on the file it was handed (root
 * in a container without a user namespace has CAP_SYS_ADMIN). Every such
 * file is also the broker's (h->fd), so master can always be taken back
 * from it: drop master on every file of the card but fd. Leases are master
 * through devnsd's own file, and cannot drop it. */
static void drop_master_elsewhere(struct seat_device *d, int fd)
{
	struct seat_container *sc;
	struct seat_handle *other;

	list_for_each(sc, &d->seat->containers, link)
		list_for_each(other, &sc->handles, link)
			if (other->fd != fd && other->device == d && !other->lease &&
			    other->fd >= 0 && drm_is_master(other->fd)) {
				log_warning("%s made itself master of %s; taking it back",
					    sc->name, d->sysname);
				(void)drm_drop_master(other->fd);
			}
}

int broker_make_master(struct seat_device *d, int fd)
{
	int r = drm_set_master(fd);

	if (r == -EBUSY) {
		drop_master_elsewhere(d, fd);
		r = drm_set_master(fd);
	}
	return r;
}

static int make_master(struct seat_handle *h)
{
	return broker_make_master(h->device, h->fd);
}

static int on_reaper_flush(sd_event_source *s, void *userdata)
{
	struct broker *b = userdata;

	reaper_flush(b->reaper);
	return 0;
}

/* Closes a revoked file of ours on the reaper's thread, which is woken
 * once the loop has nothing else to do: after the answers and signals of
 * the switch or the release that revoked it, and once for all of them. */
static void broker_close_later(struct broker *b, int fd)
{
	if (!b->reaper_flush ||
	    sd_event_source_set_enabled(b->reaper_flush, SD_EVENT_ONESHOT) < 0) {
		reaper_close(b->reaper, fd);
		return;
	}
	reaper_close_later(b->reaper, fd);
}

/* The broker's copy of every device file it hands out waits in the fd
 * store too (common/fd-store.h), so that the next devnsd can take master
 * and input back from it even where no process of the container shows it,
 * such as a file in flight in a socket. */
static void handle_store_name(const struct seat_handle *h, char *buf, size_t size)
{
	snprintf(buf, size, "dev.%s.%u.%u", h->container->name, major(h->device->devnum),
		 minor(h->device->devnum));
}

void broker_handle_store(struct seat_handle *h)
{
	char name[FD_STORE_NAME_MAX + 1];
	int r;

	if (h->fd < 0 || !fd_store_enabled())
		return;
	handle_store_name(h, name, sizeof(name));
	/* One file per device and container: a reopened one replaces the
	 * revoked one. Not polled: a revoked evdev file reports a hang-up,
	 * and must stay there to be closed by devnsd. */
	(void)fd_store_remove(name);
	r = fd_store_add(name, &h->fd, 1, false);
	if (r < 0)
		log_warning_errno(r, "Cannot keep %s of %s in the fd store", h->device->sysname,
				  h->container->name);
}

static void handle_unstore(const struct seat_handle *h)
{
	char name[FD_STORE_NAME_MAX + 1];

	if (!fd_store_enabled())
		return;
	handle_store_name(h, name, sizeof(name));
	(void)fd_store_remove(name);
}

static int op_handle_open(void *ud, struct seat_handle *h, bool live)
{
	struct seat_device *d = h->device;
	int fd, r = 0;

	if (h->lease) {
		r = broker_lease_open(ud, h);
		if (r >= 0)
			broker_handle_store(h);
		return r;
	}
	fd = broker_open_node(d);
	if (fd < 0)
		return log_warning_errno(fd, "Cannot open %s for %s", broker_device_node(d),
					 h->container->name);
	if (d->type == SEAT_DEVICE_DRM) {
		/* Opening a card with no master makes the opener master. */
		h->fd = fd;
		if (live)
			r = drm_is_master(fd) ? 0 : make_master(h);
		else
			r = drm_drop_master(fd);
		h->fd = -1;
	} else if (!live) {
		r = evdev_revoke(fd);
	}
	if (r < 0) {
		close(fd);
		return log_warning_errno(r, "Cannot %s %s for %s",
					 live ? "make master / open live" : "pause",
					 d->sysname, h->container->name);
	}
	h->fd = fd;
	broker_handle_store(h);
	return 0;
}

static void op_handle_close(void *ud, struct seat_handle *h)
{
	struct broker *b = ud;

	if (h->fd < 0)
		return;
	handle_unstore(h);
	if (h->lease) {
		broker_lease_close(b, h);
		return;
	}
	/* The client's copy is the same open file and outlives ours: take
	 * master and input away from it first. */
	if (h->device->type == SEAT_DEVICE_EVDEV) {
		evdev_revoke(h->fd);
		broker_close_later(b, h->fd);
	} else {
		drm_drop_master(h->fd);
		close(h->fd);
	}
	h->fd = -1;
}

static int op_handle_revoke(void *ud, struct seat_handle *h)
{
	int r = evdev_revoke(h->fd);

	/* A device that is already gone delivers nothing either. */
	if (r < 0 && r != -ENODEV)
		log_error_errno(r, "Cannot revoke %s of %s", h->device->sysname, h->container->name);
	return r;
}

static int op_handle_drop_master(void *ud, struct seat_handle *h)
{
	int r = drm_drop_master(h->fd);

	if (r < 0)
		log_error_errno(r, "Cannot drop master of %s for %s", h->device->sysname,
				h->container->name);
	return r;
}

static int op_handle_set_master(void *ud, struct seat_handle *h)
{
	int r = make_master(h);

	if (r < 0)
		log_error_errno(r, "Cannot make %s master for %s", h->device->sysname,
				h->container->name);
	return r;
}

static int op_handle_reopen(void *ud, struct seat_handle *h)
{
	struct broker *b = ud;
	int fd = broker_open_node(h->device);

	if (fd == -ENODEV)
		return log_warning_errno(fd, "%s is gone; %s goes on without it",
					 h->device->sysname, h->container->name);
	if (fd < 0)
		return log_error_errno(fd, "Cannot reopen %s for %s", h->device->sysname,
				       h->container->name);
	/* The revoked file stays with the client until it closes it; ours
	 * is closed off the switch path (common/reaper.h). */
	broker_close_later(b, h->fd);
	h->fd = fd;
	broker_handle_store(h);
	return 0;
}

/* Step 3: the module's framebuffer, LED and backlight multiplexers follow
 * the seat's active container. */
static int op_kernel_activate(void *ud, struct seat *s, struct seat_container *c)
{
	struct broker *b = ud;
	uint32_t id = c ? ((struct container *)c->userdata)->kernel_id : 0;
	int r;

	if (!b->kernel)
		return 0;
	r = kernel_devns_activate(b->kernel, s->id, id);
	if (r < 0)
		log_error_errno(r, "%s: the devns module refused to activate %s", s->id,
				c ? c->name : "none");
	return r;
}

static void op_notify_pause(void *ud, struct seat_handle *h, enum seat_pause_type type)
{
	container_notify_pause(container_of_handle(h), h, type);
}

static void op_notify_resume(void *ud, struct seat_handle *h)
{
	container_notify_resume(container_of_handle(h), h);
}

static void op_pause_forced(void *ud, struct seat_handle *h)
{
	struct broker *b = ud;

	log_warning("Container %s did not acknowledge pausing %s within %.3f s; pausing it anyway",
		    h->container->name, h->device->sysname, b->config.pause_timeout_usec / 1e6);
}

static int on_pause_timeout(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct broker_seat *bs = userdata;

	seat_pause_timeout(bs->seat);
	return 0;
}

static void op_timer_set(void *ud, struct seat *s, uint64_t usec)
{
	struct broker_seat *bs = broker_seat_of(s);
	int r;

	if (usec == 0) {
		sd_event_source_set_enabled(bs->pause_timer, SD_EVENT_OFF);
		return;
	}
	r = sd_event_source_set_time_relative(bs->pause_timer, usec);
	if (r >= 0)
		r = sd_event_source_set_enabled(bs->pause_timer, SD_EVENT_ONESHOT);
	if (r < 0) {
		/* Without a timer a silent controller would stall the seat. */
		log_error_errno(r, "Cannot arm the pause timeout of %s; forcing the pause", s->id);
		seat_pause_timeout(s);
	}
}

int broker_add_listener(struct broker *b, struct broker_listener *l)
{
	if (b->n_listeners >= BROKER_MAX_LISTENERS)
		return -ENOSPC;
	l->slot = b->n_listeners;
	b->listeners[b->n_listeners++] = l;
	return 0;
}

void broker_announce(struct broker *b, const struct broker_event *ev)
{
	for (unsigned i = 0; i < b->n_listeners; i++)
		if (b->listeners[i]->ops->event)
			b->listeners[i]->ops->event(b->listeners[i], ev);
}

/* Options the broker keeps for every transport: ControlUser decides who
 * may take control (container_check_control_uid()). */
static const struct broker_option broker_own_options[] = {
	{ "ControlUser", BROKER_OPTION_UINT32 },
	{ NULL },
};

const struct broker_option *broker_find_option(const struct broker *b, const char *name)
{
	for (const struct broker_option *o = broker_own_options; o->name; o++)
		if (strcmp(o->name, name) == 0)
			return o;
	for (unsigned i = 0; i < b->n_listeners; i++) {
		const struct broker_option *o = b->listeners[i]->ops->options;

		for (; o && o->name; o++)
			if (strcmp(o->name, name) == 0)
				return o;
	}
	return NULL;
}

void *broker_seat_listener_data(const struct broker_seat *bs, const struct broker_listener *l)
{
	return bs->listener_data[l->slot];
}

void broker_seat_set_listener_data(struct broker_seat *bs, const struct broker_listener *l,
				   void *data)
{
	bs->listener_data[l->slot] = data;
}

static void announce_seat(struct broker_seat *bs, enum broker_event_type type)
{
	struct broker_event ev = { .type = type, .seat = bs };

	broker_announce(bs->broker, &ev);
}

static void announce_active(struct broker_seat *bs, struct container *old, bool devices,
			    bool old_devices)
{
	struct broker_event ev = {
		.type = BROKER_EVENT_ACTIVE_CHANGED,
		.seat = bs,
		.container = bs->seat->active ? bs->seat->active->userdata : NULL,
		.old = old,
		.devices = devices,
		.old_devices = old_devices,
	};

	broker_announce(bs->broker, &ev);
}

/* The cookie of a switch in the seat's queue. */
struct switch_request {
	broker_switch_done_t done;
	void *userdata;
};

static void op_switch_done(void *ud, struct seat *s, void *cookie, int r)
{
	struct broker_seat *bs = broker_seat_of(s);
	struct switch_request *req = cookie;

	if (r < 0 && r != -ESHUTDOWN)
		log_error_errno(r, "Switch on %s failed; no container is active", s->id);
	if (req) {
		if (req->done)
			req->done(req->userdata, r);
		free(req);
	}
	/* After the answer, and before the next queued switch runs, so the
	 * signals carry this switch's values. */
	if (bs->announce_active) {
		bs->announce_active = false;
		announce_active(bs, bs->announce_old, bs->announce_devices,
				bs->announce_old_devices);
		bs->announce_old = NULL;
	}
	bs->announce_devices = bs->announce_old_devices = false;
}

static void op_active_changed(void *ud, struct seat *s, struct seat_container *old)
{
	struct broker_seat *bs = broker_seat_of(s);

	log_info("%s: active container %s -> %s", s->id, old ? old->name : "(none)",
		 s->active ? s->active->name : "(none)");
	if (old)
		container_notify_activated(old->userdata, false);
	if (s->active)
		container_notify_activated(s->active->userdata, true);
	broker_state_active_changed(bs->broker);
	/* A switch is answered right after this (op_switch_done). Its
	 * signals wait for that answer: building them is most of a switch's
	 * work, and each wakes the bus daemon while the new controller is
	 * still reading its ResumeDevice signals. */
	if (s->current) {
		bs->announce_active = true;
		bs->announce_old = old ? old->userdata : NULL;
		return;
	}
	announce_active(bs, old ? old->userdata : NULL, false, false);
}

static void op_handles_changed(void *ud, struct seat_container *sc)
{
	struct seat *s = sc->seat;
	struct broker_seat *bs = broker_seat_of(s);

	/* A switch that goes on to its answer announces this with the
	 * active container, in the same signals (op_active_changed). One
	 * that waits for the controller announces it now: the wait may last
	 * the whole pause timeout. */
	if (s->current && s->pending_acks == 0) {
		if (sc == s->active)
			bs->announce_old_devices = true;
		else
			bs->announce_devices = true;
		return;
	}
	container_announce(sc->userdata, BROKER_EVENT_DEVICES_PAUSED);
}

static bool op_device_leased(void *ud, struct seat_container *sc, struct seat_device *d)
{
	return container_has_outputs_on(sc->userdata, d);
}

static const struct seat_ops broker_seat_ops = {
	.device_leased = op_device_leased,
	.handle_open = op_handle_open,
	.handle_close = op_handle_close,
	.handle_revoke = op_handle_revoke,
	.handle_drop_master = op_handle_drop_master,
	.handle_set_master = op_handle_set_master,
	.handle_reopen = op_handle_reopen,
	.kernel_activate = op_kernel_activate,
	.notify_pause = op_notify_pause,
	.notify_resume = op_notify_resume,
	.pause_forced = op_pause_forced,
	.handles_changed = op_handles_changed,
	.timer_set = op_timer_set,
	.switch_done = op_switch_done,
	.active_changed = op_active_changed,
};

struct broker_seat *broker_find_seat(struct broker *b, const char *id)
{
	struct broker_seat *bs;

	list_for_each(bs, &b->seats, link)
		if (strcmp(bs->seat->id, id) == 0)
			return bs;
	return NULL;
}

static void broker_seat_free(struct broker_seat *bs, unsigned n_attached)
{
	struct broker *b = bs->broker;

	list_remove(&bs->link);
	while (n_attached > 0) {
		struct broker_listener *l = b->listeners[--n_attached];

		if (l->ops->seat_detach)
			l->ops->seat_detach(l, bs);
	}
	sd_event_source_disable_unref(bs->pause_timer);
	seat_free(bs->seat);
	free(bs);
}

int broker_get_seat(struct broker *b, const char *id, struct broker_seat **ret)
{
	struct broker_seat *bs = broker_find_seat(b, id);
	unsigned n_attached = 0;
	int r;

	if (bs) {
		*ret = bs;
		return 0;
	}
	bs = calloc(1, sizeof(*bs));
	if (!bs)
		return -ENOMEM;
	bs->broker = b;
	list_init(&bs->link);
	r = seat_new(&bs->seat, id, &broker_seat_ops, b);
	if (r < 0)
		goto fail;
	bs->seat->userdata = bs;
	seat_set_pause_timeout(bs->seat, b->config.pause_timeout_usec);
	r = sd_event_add_time(b->event, &bs->pause_timer, CLOCK_MONOTONIC, UINT64_MAX, 0,
			      on_pause_timeout, bs);
	if (r < 0)
		goto fail;
	sd_event_source_set_enabled(bs->pause_timer, SD_EVENT_OFF);

	for (; n_attached < b->n_listeners; n_attached++) {
		struct broker_listener *l = b->listeners[n_attached];

		r = l->ops->seat_attach ? l->ops->seat_attach(l, bs) : 0;
		if (r < 0)
			goto fail;
	}
	list_append(&b->seats, &bs->link);
	announce_seat(bs, BROKER_EVENT_SEAT_NEW);
	*ret = bs;
	return 0;
fail:
	broker_seat_free(bs, n_attached);
	return r;
}

void broker_seat_gc(struct broker_seat *bs)
{
	/* seat0 always exists, as in logind. */
	if (strcmp(bs->seat->id, "seat0") == 0 || !list_empty(&bs->seat->devices) ||
	    !list_empty(&bs->seat->containers) || bs->seat->current)
		return;
	announce_seat(bs, BROKER_EVENT_SEAT_REMOVED);
	broker_seat_free(bs, bs->broker->n_listeners);
}

/* Written at once, before the change is answered: a crash right after a
 * caller saw its switch or registration complete must not lose it. */
void broker_state_changed(struct broker *b)
{
	if (b->event)
		broker_state_save(b);
}

void broker_state_active_changed(struct broker *b)
{
	if (b->event)
		broker_state_save_active(b);
}

/* The sockets the transports left in an endpoint directory; nothing else
 * is ever there. Entries are removed without following links. */
static void remove_sockets_in(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_type == DT_SOCK)
			(void)unlinkat(dirfd(d), de->d_name, 0);
	closedir(d);
}

/* Endpoint directories of containers of a previous run that were not
 * picked up. */
static void remove_stale_endpoints(struct broker *b)
{
	DIR *d = opendir(b->containers_dir);
	struct dirent *de;

	if (!d)
		return;
	while ((de = readdir(d))) {
		char path[PATH_MAX];

		if (de->d_name[0] == '.' || broker_find_container(b, de->d_name))
			continue;
		snprintf(path, sizeof(path), "%s/%s", b->containers_dir, de->d_name);
		remove_sockets_in(path);
		if (rmdir(path) < 0)
			log_warning_errno(errno, "Cannot remove stale endpoint %s", path);
	}
	closedir(d);
}

struct container *broker_find_container(struct broker *b, const char *name)
{
	struct container *c;

	list_for_each(c, &b->containers, link)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

int broker_switch(struct broker_seat *bs, enum seat_switch_kind kind,
		  struct container *target, broker_switch_done_t done, void *userdata)
{
	struct switch_request *req = malloc(sizeof(*req));
	int r;

	if (!req)
		return -ENOMEM;
	*req = (struct switch_request) { .done = done, .userdata = userdata };
	/* The switch may complete, and op_switch_done() free req, before
	 * seat_switch() returns. */
	r = seat_switch(bs->seat, kind, target ? target->sc : NULL, req);
	if (r < 0)
		free(req);
	return r;
}

int broker_seat_break_grab(struct broker_seat *bs, dev_t devnum)
{
	struct seat_container *sc = bs->seat->active;
	struct seat_handle *h = sc ? seat_container_find_handle(sc, devnum) : NULL;

	if (!h || h->device->type != SEAT_DEVICE_EVDEV || h->state != SEAT_HANDLE_LIVE)
		return -ENOENT;
	log_warning("Container %s grabbed %s for itself; replacing its file so that the hotkeys of %s work",
		    sc->name, h->device->sysname, bs->seat->id);
	return seat_handle_refresh(h);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];

	if (strlen(path) >= sizeof(buf))
		return -ENAMETOOLONG;
	strcpy(buf, path);
	for (char *p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(buf, 0755) < 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	if (mkdir(buf, mode) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

static int on_signal(sd_event_source *s, const struct signalfd_siginfo *si, void *userdata)
{
	struct broker *b = userdata;

	if (b->served && fd_store_enabled()) {
		/* Whatever clients are connected to is in the fd store, and
		 * a crash must leave nothing lost anyway: so leave everything
		 * as a crash would (devices, connections, the state file, the
		 * VT), and the next devnsd takes it back the same way. */
		log_info("Received %s; handing over to the next devnsd through the fd store",
			 strsignal(si->ssi_signo));
		sd_notify(0, "STOPPING=1");
		_exit(EXIT_SUCCESS);
	}
	log_info("Received %s, stopping", strsignal(si->ssi_signo));
	return sd_event_exit(b->event, 0);
}

int broker_new(struct broker **ret, const struct broker_options *opts)
{
	struct broker *b;
	sigset_t mask;
	int r;

	b = calloc(1, sizeof(*b));
	if (!b)
		return -ENOMEM;
	list_init(&b->seats);
	list_init(&b->containers);
	list_init(&b->lessors);
	config_init(&b->config);

	r = config_load(&b->config, opts->config_file ? opts->config_file : DEVNS_CONFIG_FILE,
			opts->config_file != NULL);
	if (r < 0)
		goto fail;
	b->runtime_dir = strdup(opts->runtime_dir ? opts->runtime_dir :
				b->config.runtime_dir ? b->config.runtime_dir : DEVNS_RUNTIME_DIR);
	if (!b->runtime_dir || asprintf(&b->containers_dir, "%s/containers", b->runtime_dir) < 0) {
		r = -ENOMEM;
		goto fail;
	}
	r = mkdir_p(b->containers_dir, 0755);
	if (r < 0) {
		log_error_errno(r, "Cannot create %s", b->containers_dir);
		goto fail;
	}

	/* Blocked before the reaper thread starts, which inherits the mask:
	 * otherwise a signal could be delivered to it and kill the process
	 * instead of reaching the event loop. */
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	r = reaper_new(&b->reaper);
	if (r < 0)
		goto fail;
	r = sd_event_default(&b->event);
	if (r < 0)
		goto fail;
	if ((r = sd_event_add_signal(b->event, NULL, SIGTERM, on_signal, b)) < 0 ||
	    (r = sd_event_add_signal(b->event, NULL, SIGINT, on_signal, b)) < 0 ||
	    (r = sd_event_add_defer(b->event, &b->reaper_flush, on_reaper_flush, b)) < 0 ||
	    (r = sd_event_source_set_priority(b->reaper_flush, SD_EVENT_PRIORITY_IDLE)) < 0 ||
	    (r = sd_event_source_set_enabled(b->reaper_flush, SD_EVENT_OFF)) < 0)
		goto fail;

	b->udev = udev_new();
	if (!b->udev) {
		r = -ENOMEM;
		goto fail;
	}
	r = vt_take(&b->config, &b->vt);
	if (r < 0 && b->config.vt_mode == CONFIG_VT_NUMBER)
		goto fail;
	/* The module is used where it is loaded; devnsd loads nothing. */
	r = kernel_devns_open(&b->kernel);
	if (r < 0 && r != -ENOENT)
		log_warning_errno(r, "Cannot open /dev/devns; going on without the devns module");
	if (b->kernel)
		log_info("Using the devns kernel module");
	*ret = b;
	return 0;
fail:
	broker_free(b);
	return r;
}

int broker_start(struct broker *b)
{
	struct broker_seat *seat0;
	int r;

	/* seat0 exists even without devices, as in logind. */
	r = broker_get_seat(b, "seat0", &seat0);
	if (r < 0)
		return r;
	r = broker_devices_start(b);
	if (r < 0)
		return log_error_errno(r, "Cannot enumerate devices with udev");
	/* Binder devices come from the binder_linux module; devnsd loads
	 * nothing, so without them containers simply go without. */
	r = broker_binder_start(b);
	if (r < 0)
		log_warning_errno(r, "Cannot enumerate binder devices; containers go without");
	/* After a crash: the containers whose leaders still run, and the
	 * device files they hold. */
	r = broker_state_restore(b);
	if (r < 0)
		return r;
	remove_stale_endpoints(b);
	return 0;
}

int broker_run(struct broker *b)
{
	b->served = true;
	sd_notify(0, "READY=1\nSTATUS=Serving seats");
	log_info("devnsd %s ready, runtime directory %s", DEVNS_VERSION, b->runtime_dir);
	return sd_event_loop(b->event);
}

void broker_free(struct broker *b)
{
	struct container *c, *ctmp;
	struct broker_seat *bs, *btmp;

	if (!b)
		return;
	sd_notify(0, "STOPPING=1");
	/* Releasing a device takes master and input from the client too. */
	list_for_each_safe(c, ctmp, &b->containers, link)
		container_free(c);
	broker_binder_free(b);
	/* A clean stop leaves nothing to pick up; a failed start keeps what
	 * a previous run left. */
	if (b->served && b->runtime_dir) {
		char path[PATH_MAX];
		snprintf(path, sizeof(path), "%s/state", b->runtime_dir);
		(void)unlink(path);
	}
	list_for_each_safe(bs, btmp, &b->seats, link) {
		struct seat_device *d, *dtmp;
		list_for_each_safe(d, dtmp, &bs->seat->devices, link) {
			free(d->userdata);
			seat_remove_device(d);
		}
		broker_seat_free(bs, b->n_listeners);
	}
	broker_lessors_free(b);
	sd_event_source_disable_unref(b->monitor_source);
	udev_monitor_unref(b->monitor);
	udev_unref(b->udev);
	sd_event_source_disable_unref(b->reaper_flush);
	sd_event_unref(b->event);
	reaper_free(b->reaper);
	kernel_devns_close(b->kernel);
	vt_restore(b->vt);
	if (b->containers_dir)
		(void)rmdir(b->containers_dir);
	free(b->containers_dir);
	free(b->runtime_dir);
	free(b->state_containers);
	config_done(&b->config);
	free(b);
}
