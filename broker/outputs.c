/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "broker/broker.h"
#include "broker/container.h"
#include "broker/outputs.h"
#include "common/fd-store.h"
#include "common/log.h"
#include "drm/drm.h"
#include "drm/fb-guard.h"
#include "drm/lease.h"

/* devnsd's own file of a card with leases. */
struct lessor {
	struct seat_device *device;
	int fd;
	struct list link; /* broker->lessors */
};

/* A lease handle's h->userdata. */
struct lease {
	uint32_t lessee;
	uint32_t objects[CONTAINER_OUTPUTS_MAX * DRM_LEASE_OBJECTS_PER_OUTPUT];
	size_t n_objects;
};

bool output_name_is_valid(const char *name)
{
	size_t n = strlen(name);

	return n > 0 && n <= 32 &&
	       strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

static bool container_has_output(const struct container *c, const char *name)
{
	for (size_t i = 0; i < c->n_outputs; i++)
		if (strcmp(c->outputs[i], name) == 0)
			return true;
	return false;
}

bool container_has_outputs_on(const struct container *c, const struct seat_device *d)
{
	return c->outputs_card && strcmp(c->outputs_card, d->sysname) == 0;
}

struct container *outputs_owner(struct broker_seat *bs, const char *name)
{
	struct container *c;

	list_for_each(c, &bs->broker->containers, link)
		if (c->seat == bs && container_has_output(c, name))
			return c;
	return NULL;
}

/* The card of the seat that has a connector of that name (sysfs names
 * connectors after their card: card1-Virtual-2). */
static struct seat_device *find_card(struct broker *b, struct broker_seat *bs, const char *name)
{
	struct seat_device *d;

	list_for_each(d, &bs->seat->devices, link) {
		struct udev_device *ud;
		char sysname[128];

		if (d->type != SEAT_DEVICE_DRM)
			continue;
		snprintf(sysname, sizeof(sysname), "%s-%s", d->sysname, name);
		ud = udev_device_new_from_subsystem_sysname(b->udev, "drm", sysname);
		if (ud) {
			udev_device_unref(ud);
			return d;
		}
	}
	return NULL;
}

int outputs_check(struct broker *b, struct broker_seat *bs, char *const *names, size_t n,
		  char **ret_card, const char **ret_name)
{
	struct seat_device *card = NULL;

	*ret_name = NULL;
	if (n > CONTAINER_OUTPUTS_MAX)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		struct seat_device *d;

		*ret_name = names[i];
		if (!output_name_is_valid(names[i]))
			return -EINVAL;
		for (size_t k = 0; k < i; k++)
			if (strcmp(names[k], names[i]) == 0)
				return -EINVAL;
		d = find_card(b, bs, names[i]);
		if (!d)
			return -ENOENT;
		if (card && d != card)
			return -EXDEV;
		card = d;
		if (outputs_owner(bs, names[i]))
			return -EBUSY;
	}
	*ret_name = NULL;
	*ret_card = NULL;
	if (card && !(*ret_card = strdup(card->sysname)))
		return -ENOMEM;
	return 0;
}

struct foreach_data {
	struct broker_seat *bs;
	size_t prefix_len;
	void (*fn)(const char *connector, struct container *owner, void *userdata);
	void *userdata;
};

static void foreach_connector(struct broker *b, struct udev_device *ud, void *userdata)
{
	struct foreach_data *fd = userdata;
	const char *connector = udev_device_get_sysname(ud) + fd->prefix_len;

	fd->fn(connector, outputs_owner(fd->bs, connector), fd->userdata);
}

int outputs_foreach(struct broker_seat *bs,
		    void (*fn)(const char *connector, struct container *owner, void *userdata),
		    void *userdata)
{
	struct foreach_data data = { .bs = bs, .fn = fn, .userdata = userdata };
	struct seat_device *d;
	int r;

	list_for_each(d, &bs->seat->devices, link) {
		char glob[128];

		if (d->type != SEAT_DEVICE_DRM)
			continue;
		snprintf(glob, sizeof(glob), "%s-*", d->sysname);
		data.prefix_len = strlen(d->sysname) + 1;
		r = broker_udev_foreach(bs->broker, "drm", glob, foreach_connector, &data);
		if (r < 0)
			return r;
	}
	return 0;
}

/* The framebuffer guard, kept in the fd store beside the lessors: a lessee
 * must not read other outputs' framebuffers while devnsd restarts either. */
#define FB_GUARD_STORE_NAME "fb-guard"

static void guard_store(struct fb_guard *g)
{
	int fds[2] = { g->link_fd, g->map_fd };
	int r;

	if (!fd_store_enabled())
		return;
	(void)fd_store_remove(FB_GUARD_STORE_NAME);
	r = fd_store_add(FB_GUARD_STORE_NAME, fds, 2, false);
	if (r < 0)
		log_warning_errno(r, "Cannot keep the framebuffer guard in the fd store; it ends with devnsd");
}

/* Before the first lease of card d: its lessees may not read what the
 * card's other outputs show (drm/fb-guard.h). */
static void guard_card(struct broker *b, struct seat_device *d)
{
	int r;

	if (!b->fb_guard) {
		r = fb_guard_new(&b->fb_guard);
		if (r < 0) {
			log_warning_errno(r, "Cannot load the framebuffer guard: the leases of %s can read what the card's other outputs show",
					  d->sysname);
			return;
		}
		b->fb_guard_checked = false;
		guard_store(b->fb_guard);
		log_info("Loaded the framebuffer guard");
	}
	r = fb_guard_add(b->fb_guard, d->devnum);
	if (r < 0)
		log_warning_errno(r, "Cannot guard the framebuffers of %s: its leases can read what its other outputs show",
				  d->sysname);
}

static void guard_drop(struct broker *b)
{
	if (!b->fb_guard)
		return;
	fb_guard_free(b->fb_guard);
	b->fb_guard = NULL;
	if (fd_store_enabled())
		(void)fd_store_remove(FB_GUARD_STORE_NAME);
}

/* The guard goes with the last lessor: whether it went. */
static bool guard_drop_unused(struct broker *b)
{
	if (!b->fb_guard || !list_empty(&b->lessors))
		return false;
	guard_drop(b);
	log_info("Unloaded the framebuffer guard: no leases left");
	return true;
}

/* An LSM program attaches where the kernel never calls it (bpf not in its
 * lsm= list): the first lease tells. */
static void guard_check(struct broker *b, struct seat_device *d, int lessee_fd)
{
	if (!b->fb_guard || b->fb_guard_checked)
		return;
	if (fb_guard_check(lessee_fd) < 0) {
		log_warning("The kernel does not run the framebuffer guard (bpf is not among its LSMs): the leases of %s can read what the card's other outputs show",
			    d->sysname);
		guard_drop(b);
		return;
	}
	b->fb_guard_checked = true;
}

/* After a restart: the guard of the lessors taken back, now for exactly
 * their cards. Added before the rest is forgotten, so that no card is
 * unguarded in between. */
static void guard_take_back(struct broker *b)
{
	dev_t cards[64];
	struct lessor *l;
	size_t n = 0;
	int fds[2], r;

	if (fd_store_take(FB_GUARD_STORE_NAME, fds, 2) == 2) {
		r = fb_guard_adopt(fds[0], fds[1], &b->fb_guard);
		if (r < 0)
			log_warning_errno(r, "The stored framebuffer guard is not one; loading a new one");
		else
			log_info("Took back the framebuffer guard");
		b->fb_guard_checked = false;
	}
	list_for_each(l, &b->lessors, link) {
		guard_card(b, l->device);
		if (n < sizeof(cards) / sizeof(cards[0]))
			cards[n++] = l->device->devnum;
	}
	if (!guard_drop_unused(b) && b->fb_guard)
		(void)fb_guard_keep_only(b->fb_guard, cards, n);
}

/* The lessor waits in the fd store too: closed with a crashed devnsd, it
 * would end every lease. */
static void lessor_store_name(const struct seat_device *d, char *buf, size_t size)
{
	snprintf(buf, size, "lessor.%s", d->sysname);
}

static struct lessor *lessor_add(struct broker *b, struct seat_device *d, int fd)
{
	struct lessor *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->device = d;
	l->fd = fd;
	list_append(&b->lessors, &l->link);
	return l;
}

static struct lessor *find_lessor(struct broker *b, const struct seat_device *d)
{
	struct lessor *l;

	list_for_each(l, &b->lessors, link)
		if (l->device == d)
			return l;
	return NULL;
}

static int get_lessor(struct broker *b, struct seat_device *d, struct lessor **ret)
{
	struct lessor *l = find_lessor(b, d);
	int fd, r;

	if (l) {
		*ret = l;
		return 0;
	}
	fd = broker_open_node(d);
	if (fd < 0)
		return fd;
	r = drm_is_master(fd) ? 0 : broker_make_master(d, fd);
	if (r < 0 || !(l = lessor_add(b, d, fd))) {
		close(fd);
		return r < 0 ? r : -ENOMEM;
	}
	if (fd_store_enabled()) {
		char name[FD_STORE_NAME_MAX + 1];

		lessor_store_name(d, name, sizeof(name));
		r = fd_store_add(name, &fd, 1, false);
		if (r < 0)
			log_warning_errno(r, "Cannot keep the lessor of %s in the fd store; its leases end with devnsd",
					  d->sysname);
	}
	log_info("devnsd is master of %s for its leases", d->sysname);
	guard_card(b, d);
	*ret = l;
	return 0;
}

static void lessor_free(struct broker *b, struct lessor *l)
{
	struct seat_device *d = l->device;

	if (fd_store_enabled()) {
		char name[FD_STORE_NAME_MAX + 1];

		lessor_store_name(l->device, name, sizeof(name));
		(void)fd_store_remove(name);
	}
	list_remove(&l->link);
	/* Master belongs to the open file, which the fd store's copy keeps
	 * open until the store gets to the removal: dropped now, so that the
	 * live container's card file can have it at once. Closing ends every
	 * lease the lessor made. */
	(void)drm_drop_master(l->fd);
	close(l->fd);
	free(l);
	if (!guard_drop_unused(b) && b->fb_guard)
		(void)fb_guard_remove(b->fb_guard, d->devnum);
}

/* sc's lease of card d, its handle in *ret_h; NULL if sc holds none. */
static struct lease *lease_of(struct seat_container *sc, struct seat_device *d,
			      struct seat_handle **ret_h)
{
	struct seat_handle *h = seat_container_find_handle(sc, d->devnum);

	if (!h || !h->lease || !h->userdata)
		return NULL;
	*ret_h = h;
	return h->userdata;
}

/* The objects of every other lease of d: a CRTC or plane is leased once. */
static size_t busy_objects(struct seat_device *d, const struct seat_handle *except,
			   uint32_t *busy, size_t size)
{
	struct seat_container *sc;
	size_t n = 0;

	list_for_each(sc, &d->seat->containers, link) {
		struct seat_handle *h;
		const struct lease *lease = lease_of(sc, d, &h);

		if (!lease || h == except)
			continue;
		for (size_t i = 0; i < lease->n_objects && n < size; i++)
			busy[n++] = lease->objects[i];
	}
	return n;
}

int broker_lease_open(struct broker *b, struct seat_handle *h)
{
	struct container *c = h->container->userdata;
	uint32_t busy[32];
	struct lessor *l;
	struct lease *lease;
	size_t n_busy;
	int fd, r;

	r = get_lessor(b, h->device, &l);
	if (r < 0)
		return log_warning_errno(r, "Cannot become master of %s to lease it", h->device->sysname);
	lease = calloc(1, sizeof(*lease));
	if (!lease) {
		r = -ENOMEM;
		goto fail;
	}
	n_busy = busy_objects(h->device, h, busy, sizeof(busy) / sizeof(busy[0]));
	fd = drm_lease_outputs(l->fd, (const char *const *)c->outputs, c->n_outputs, busy, n_busy,
			       lease->objects, &lease->lessee);
	if (fd < 0) {
		r = log_warning_errno(fd, "Cannot lease the outputs of %s on %s", c->name,
				      h->device->sysname);
		free(lease);
		goto fail;
	}
	lease->n_objects = c->n_outputs * DRM_LEASE_OBJECTS_PER_OUTPUT;
	h->userdata = lease;
	h->fd = fd;
	guard_check(b, h->device, fd);
	log_info("Leased %zu output%s of %s to %s (lessee %u)", c->n_outputs,
		 c->n_outputs == 1 ? "" : "s", h->device->sysname, c->name, lease->lessee);
	return 0;

fail:
	if (h->device->leases == 0)
		lessor_free(b, l);
	return r;
}

void broker_lease_close(struct broker *b, struct seat_handle *h)
{
	struct lessor *l = find_lessor(b, h->device);
	struct lease *lease = h->userdata;

	/* The container's copy of the file outlives ours: the lease ends now
	 * all the same. */
	if (l && lease)
		(void)drm_revoke_lease(l->fd, lease->lessee);
	free(lease);
	h->userdata = NULL;
	if (h->fd >= 0)
		close(h->fd);
	h->fd = -1;
	broker_state_changed(b);
	/* The seat counts this handle until it is closed. */
	if (l && h->device->leases <= 1)
		lessor_free(b, l);
}

void broker_lessors_free(struct broker *b)
{
	struct lessor *l, *tmp;

	list_for_each_safe(l, tmp, &b->lessors, link)
		lessor_free(b, l);
}

bool broker_card_has_lessor(struct broker *b, const struct seat_device *d)
{
	return find_lessor(b, d) != NULL;
}

uint32_t broker_lease_lessee(const struct seat_handle *h)
{
	const struct lease *lease = h->lease ? h->userdata : NULL;

	return lease ? lease->lessee : 0;
}

void broker_lessors_take_back(struct broker *b)
{
	struct broker_seat *bs;
	struct seat_device *d;

	list_for_each(bs, &b->seats, link)
		list_for_each(d, &bs->seat->devices, link) {
			char name[FD_STORE_NAME_MAX + 1];
			struct stat st;
			int fd;

			if (d->type != SEAT_DEVICE_DRM)
				continue;
			lessor_store_name(d, name, sizeof(name));
			if (fd_store_take(name, &fd, 1) != 1)
				continue;
			/* The card may have been replaced meanwhile. */
			if (fstat(fd, &st) < 0 || !S_ISCHR(st.st_mode) || st.st_rdev != d->devnum ||
			    !lessor_add(b, d, fd)) {
				close(fd);
				(void)fd_store_remove(name);
				continue;
			}
			log_info("Took back the lessor of %s", d->sysname);
		}
	guard_take_back(b);
}

int broker_lease_adopt(struct broker *b, struct seat_handle *h, uint32_t lessee)
{
	struct lessor *l = find_lessor(b, h->device);
	struct lease *lease;
	int n;

	if (!l || !lessee || !drm_lease_exists(l->fd, lessee))
		return -ENOENT;
	lease = calloc(1, sizeof(*lease));
	if (!lease)
		return -ENOMEM;
	n = drm_lease_objects(h->fd, lease->objects, sizeof(lease->objects) / sizeof(lease->objects[0]));
	if (n <= 0) {
		free(lease);
		return n < 0 ? n : -ENOENT;
	}
	lease->lessee = lessee;
	lease->n_objects = (size_t)n;
	free(h->userdata);
	h->userdata = lease;
	guard_check(b, h->device, h->fd);
	return 0;
}

int broker_card_changed(struct broker *b, struct seat_device *d)
{
	struct lessor *l = find_lessor(b, d);
	struct seat_container *sc;
	int n_gone = 0;

	if (!l)
		return 0;
	list_for_each(sc, &d->seat->containers, link) {
		struct container *c = sc->userdata;
		struct seat_handle *h;
		const struct lease *lease = lease_of(sc, d, &h);
		int missing;

		if (!lease)
			continue;
		missing = drm_objects_missing(l->fd, lease->objects, lease->n_objects);
		if (missing < 0) {
			log_warning_errno(missing, "Cannot check the outputs of %s's lease of %s",
					  c->name, d->sysname);
			continue;
		}
		if (missing == 0)
			continue;
		log_info("An output of %s's lease of %s is gone; the lease ends", c->name,
			 d->sysname);
		/* Closing the handle revokes the lease; the last one closed
		 * gives master back to the card file in front. */
		seat_handle_gone(h);
		container_announce(c, BROKER_EVENT_DEVICES_CHANGED);
		n_gone++;
		/* The lessor may be gone with the last lease. */
		if (!find_lessor(b, d))
			break;
	}
	return n_gone;
}

static bool lessee_adopted(struct seat_device *d, uint32_t lessee)
{
	struct seat_container *sc;

	list_for_each(sc, &d->seat->containers, link) {
		struct seat_handle *h;
		const struct lease *lease = lease_of(sc, d, &h);

		if (lease && lease->lessee == lessee)
			return true;
	}
	return false;
}

/* A lease no container took back after a restart may still be open
 * elsewhere (a file passed out of a container that is gone): it would keep
 * its outputs, out of every container's reach, for as long as it lives. */
static void revoke_strays(struct lessor *l)
{
	uint32_t ids[DRM_LESSEES_MAX];
	int n = drm_lessees(l->fd, ids, DRM_LESSEES_MAX);

	if (n < 0) {
		log_warning_errno(n, "Cannot list the leases of %s", l->device->sysname);
		return;
	}
	for (int i = 0; i < n; i++) {
		int r;

		if (lessee_adopted(l->device, ids[i]))
			continue;
		r = drm_revoke_lease(l->fd, ids[i]);
		if (r < 0)
			log_warning_errno(r, "Cannot revoke lease %u of %s", ids[i], l->device->sysname);
		else
			log_info("Revoked lease %u of %s, which no container took back", ids[i],
				 l->device->sysname);
	}
}

void broker_lessors_gc(struct broker *b)
{
	struct lessor *l, *tmp;

	list_for_each_safe(l, tmp, &b->lessors, link) {
		struct seat_device *d = l->device;

		if (d->leases > 0) {
			revoke_strays(l);
			continue;
		}
		lessor_free(b, l);
		seat_device_leases_end(d);
	}
}
