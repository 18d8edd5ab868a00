/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/macro.h"
#include "seat/seat.h"

struct seat_request {
	struct list link;
	enum seat_switch_kind kind;
	struct seat_container *target;
	bool target_gone; /* the target was removed while queued or running */
	void *cookie;
};

static void seat_dispatch(struct seat *s);

int seat_new(struct seat **ret, const char *id, const struct seat_ops *ops, void *ud)
{
	struct seat *s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->id = strdup(id);
	if (!s->id) {
		free(s);
		return -ENOMEM;
	}
	list_init(&s->devices);
	list_init(&s->containers);
	list_init(&s->requests);
	s->pause_timeout_usec = 500000;
	s->ops = ops;
	s->ud = ud;
	*ret = s;
	return 0;
}

void seat_free(struct seat *s)
{
	struct seat_request *req, *tmp;

	if (!s)
		return;
	/* Requests still running or queued are answered so no caller waits
	 * forever. */
	if (s->current) {
		s->ops->switch_done(s->ud, s, s->current->cookie, -ESHUTDOWN);
		free(s->current);
	}
	list_for_each_safe(req, tmp, &s->requests, link) {
		list_remove(&req->link);
		s->ops->switch_done(s->ud, s, req->cookie, -ESHUTDOWN);
		free(req);
	}
	free(s->id);
	free(s);
}

void seat_set_pause_timeout(struct seat *s, uint64_t usec)
{
	s->pause_timeout_usec = usec;
}

bool seat_can_graphical(const struct seat *s)
{
	const struct seat_device *d;

	list_for_each(d, &s->devices, link)
		if (d->type == SEAT_DEVICE_DRM)
			return true;
	return false;
}

const char *seat_device_type_to_string(enum seat_device_type t)
{
	return t == SEAT_DEVICE_DRM ? "drm" : "evdev";
}

const char *seat_pause_type_to_string(enum seat_pause_type t)
{
	switch (t) {
	case SEAT_PAUSE_PAUSE:
		return "pause";
	case SEAT_PAUSE_FORCE:
		return "force";
	case SEAT_PAUSE_GONE:
		return "gone";
	}
	return NULL;
}

int seat_add_device(struct seat *s, const char *sysname, dev_t devnum,
		    enum seat_device_type type, struct seat_device **ret)
{
	struct seat_device *d;

	if (seat_find_device(s, devnum))
		return -EEXIST;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->sysname = strdup(sysname);
	if (!d->sysname) {
		free(d);
		return -ENOMEM;
	}
	d->seat = s;
	d->devnum = devnum;
	d->type = type;
	list_append(&s->devices, &d->link);
	if (ret)
		*ret = d;
	return 0;
}

struct seat_device *seat_find_device(struct seat *s, dev_t devnum)
{
	struct seat_device *d;

	list_for_each(d, &s->devices, link)
		if (d->devnum == devnum)
			return d;
	return NULL;
}

void seat_remove_device(struct seat_device *d)
{
	struct seat *s = d->seat;
	struct seat_handle *pausing = NULL;
	struct seat_container *c;

	list_remove(&d->link);
	list_for_each(c, &s->containers, link) {
		struct seat_handle *h = seat_container_find_handle(c, d->devnum);
		if (!h)
			continue;
		/* Released last: it may finish a switch, whose target must
		 * no longer see the device. */
		if (h->state == SEAT_HANDLE_PAUSING) {
			s->ops->notify_pause(s->ud, h, SEAT_PAUSE_GONE);
			pausing = h;
		} else {
			seat_handle_gone(h);
		}
	}
	if (pausing)
		seat_handle_release(pausing);
	free(d->sysname);
	free(d);
}

int seat_add_container(struct seat *s, const char *name, struct seat_container **ret)
{
	struct seat_container *c;

	if (seat_find_container(s, name))
		return -EEXIST;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->name = strdup(name);
	if (!c->name) {
		free(c);
		return -ENOMEM;
	}
	c->seat = s;
	list_init(&c->handles);
	list_append(&s->containers, &c->link);
	*ret = c;
	return 0;
}

struct seat_container *seat_find_container(struct seat *s, const char *name)
{
	struct seat_container *c;

	list_for_each(c, &s->containers, link)
		if (strcmp(c->name, name) == 0)
			return c;
	return NULL;
}

struct seat_container *seat_container_nth(struct seat *s, unsigned n)
{
	struct seat_container *c;
	unsigned i = 0;

	list_for_each(c, &s->containers, link)
		if (i++ == n)
			return c;
	return NULL;
}

bool seat_handle_gets_master(const struct seat_handle *h)
{
	return h->device->type == SEAT_DEVICE_DRM && !h->lease && h->device->leases == 0;
}

/* The first lease of d is about to be made: the broker needs master of the
 * card for it, so the file that holds it now (the active container's, or
 * the leaving one's still waiting to pause) gives it up. */
static void seat_device_leases_begin(struct seat_device *d)
{
	struct seat *s = d->seat;
	struct seat_container *c;
	struct seat_handle *h;

	list_for_each(c, &s->containers, link)
		list_for_each(h, &c->handles, link)
			if (h->device == d && !h->lease && h->state != SEAT_HANDLE_PAUSED)
				s->ops->handle_drop_master(s->ud, h);
}

void seat_device_leases_end(struct seat_device *d)
{
	struct seat *s = d->seat;
	struct seat_container *c;
	struct seat_handle *h;

	list_for_each(c, &s->containers, link) {
		if (!seat_container_is_live(c))
			continue;
		list_for_each(h, &c->handles, link)
			if (h->device == d && h->state == SEAT_HANDLE_LIVE)
				s->ops->handle_set_master(s->ud, h);
	}
}

bool seat_container_is_live(const struct seat_container *c)
{
	return c->seat->active == c && c->seat->leaving != c;
}

static void seat_mark_target_gone(struct seat *s, struct seat_container *c)
{
	struct seat_request *req;

	if (s->current && s->current->target == c)
		s->current->target_gone = true;
	list_for_each(req, &s->requests, link)
		if (req->target == c)
			req->target_gone = true;
}

void seat_remove_container(struct seat_container *c)
{
	struct seat *s = c->seat;

	seat_mark_target_gone(s, c);
	/* Unlinked first: if c is being paused, releasing its last pausing
	 * handle finishes that switch and dispatches the next request, and
	 * nothing dispatched may pick c. */
	list_remove(&c->link);
	seat_container_release_control(c);

	if (s->active == c) {
		s->active = NULL;
		s->ops->kernel_activate(s->ud, s, NULL);
		s->ops->active_changed(s->ud, s, c);
	}
	free(c->name);
	free(c);
}

int seat_container_take_control(struct seat_container *c)
{
	if (c->controlled)
		return -EBUSY;
	c->controlled = true;
	return 0;
}

void seat_container_release_control(struct seat_container *c)
{
	struct seat_handle *h, *tmp;

	list_for_each_safe(h, tmp, &c->handles, link)
		seat_handle_release(h);
	c->controlled = false;
}

struct seat_handle *seat_container_find_handle(struct seat_container *c, dev_t devnum)
{
	struct seat_handle *h;

	list_for_each(h, &c->handles, link)
		if (h->device->devnum == devnum)
			return h;
	return NULL;
}

/* A handle adopted after a restart becomes the controller's: the same open
 * file the container had before, brought to the container's state. */
static int seat_handle_claim(struct seat_handle *h, bool live)
{
	struct seat *s = h->container->seat;
	int r;

	if (live && h->state != SEAT_HANDLE_LIVE) {
		if (h->device->type == SEAT_DEVICE_EVDEV)
			r = s->ops->handle_reopen(s->ud, h);
		else
			r = seat_handle_gets_master(h) ? s->ops->handle_set_master(s->ud, h) : 0;
		if (r < 0)
			return r;
		h->state = SEAT_HANDLE_LIVE;
	}
	h->adopted = false;
	return 0;
}

int seat_container_take_device(struct seat_container *c, dev_t devnum,
			       struct seat_handle **ret)
{
	struct seat *s = c->seat;
	struct seat_device *d;
	struct seat_handle *h;
	bool live = seat_container_is_live(c), lease, open_live;
	int r;

	if (!c->controlled)
		return -ENOTCONN;
	d = seat_find_device(s, devnum);
	if (!d)
		return -ENODEV;
	h = seat_container_find_handle(c, devnum);
	if (h) {
		if (!h->adopted)
			return -EALREADY;
		r = seat_handle_claim(h, live);
		if (r < 0)
			return r;
		*ret = h;
		return 0;
	}

	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->container = c;
	h->device = d;
	h->fd = -1;
	lease = d->type == SEAT_DEVICE_DRM && s->ops->device_leased &&
		s->ops->device_leased(s->ud, c, d);
	h->lease = lease;
	h->state = live || lease ? SEAT_HANDLE_LIVE : SEAT_HANDLE_PAUSED;
	/* Opened live means master for a card: a lease always, a plain card
	 * file only where no lease needs the broker to be master. */
	open_live = lease || (live && (d->type != SEAT_DEVICE_DRM || d->leases == 0));
	if (lease && d->leases == 0)
		seat_device_leases_begin(d);
	r = s->ops->handle_open(s->ud, h, open_live);
	if (r < 0) {
		free(h);
		if (lease && d->leases == 0)
			seat_device_leases_end(d);
		return r;
	}
	d->leases += lease;
	list_append(&c->handles, &h->link);
	c->handles_version++;
	*ret = h;
	return 0;
}

int seat_container_adopt(struct seat_container *c, struct seat_device *d, int fd,
			 enum seat_handle_state state, struct seat_handle **ret)
{
	struct seat *s = c->seat;
	struct seat_handle *h;

	if (d->seat != c->seat || state == SEAT_HANDLE_PAUSING)
		return -EINVAL;
	if (seat_container_find_handle(c, d->devnum))
		return -EALREADY;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->container = c;
	h->device = d;
	h->fd = fd;
	h->lease = d->type == SEAT_DEVICE_DRM && s->ops->device_leased &&
		   s->ops->device_leased(s->ud, c, d);
	h->state = h->lease ? SEAT_HANDLE_LIVE : state;
	h->adopted = true;
	d->leases += h->lease;
	list_append(&c->handles, &h->link);
	c->handles_version++;
	if (ret)
		*ret = h;
	return 0;
}

void seat_restore_active(struct seat *s, struct seat_container *c)
{
	s->active = c;
}

static void seat_finish_switch(struct seat *s);

void seat_handle_release(struct seat_handle *h)
{
	struct seat *s = h->container->seat;
	struct seat_device *d = h->device;
	bool was_pausing = h->state == SEAT_HANDLE_PAUSING, lease = h->lease;

	list_remove(&h->link);
	h->container->handles_version++;
	/* Closing the file drops master with it; a lease's closes the lease. */
	s->ops->handle_close(s->ud, h);
	free(h);
	if (lease && --d->leases == 0)
		seat_device_leases_end(d);

	if (was_pausing && --s->pending_acks == 0)
		seat_finish_switch(s);
}

void seat_handle_gone(struct seat_handle *h)
{
	struct seat *s = h->container->seat;

	s->ops->notify_pause(s->ud, h, SEAT_PAUSE_GONE);
	seat_handle_release(h);
}

void seat_handle_pause_complete(struct seat_handle *h)
{
	struct seat *s = h->container->seat;

	if (h->state != SEAT_HANDLE_PAUSING)
		return;
	if (seat_handle_gets_master(h))
		s->ops->handle_drop_master(s->ud, h);
	h->state = SEAT_HANDLE_PAUSED;
	if (--s->pending_acks == 0)
		seat_finish_switch(s);
}

void seat_pause_timeout(struct seat *s)
{
	struct seat_handle *h;

	if (!s->leaving || s->pending_acks == 0)
		return;
	list_for_each(h, &s->leaving->handles, link) {
		if (h->state != SEAT_HANDLE_PAUSING)
			continue;
		s->ops->pause_forced(s->ud, h);
		if (seat_handle_gets_master(h))
			s->ops->handle_drop_master(s->ud, h);
		h->state = SEAT_HANDLE_PAUSED;
	}
	s->pending_acks = 0;
	seat_finish_switch(s);
}

/* Steps 1 and 2. Returns true when the seat must wait for acknowledgements. */
static bool seat_pause_container(struct seat *s, struct seat_container *c)
{
	bool force = s->pause_timeout_usec == 0, changed = false;
	struct seat_handle *h;

	s->leaving = c;
	list_for_each(h, &c->handles, link) {
		if (h->device->type != SEAT_DEVICE_EVDEV || h->state != SEAT_HANDLE_LIVE)
			continue;
		s->ops->handle_revoke(s->ud, h);
		h->state = SEAT_HANDLE_PAUSED;
		s->ops->notify_pause(s->ud, h, SEAT_PAUSE_FORCE);
		changed = true;
	}

	/* Count first, then notify: an answer may only arrive later, but the
	 * count must be complete before any of them. */
	list_for_each(h, &c->handles, link) {
		if (h->device->type != SEAT_DEVICE_DRM || h->lease || h->state != SEAT_HANDLE_LIVE)
			continue;
		changed = true;
		if (force) {
			if (seat_handle_gets_master(h))
				s->ops->handle_drop_master(s->ud, h);
			h->state = SEAT_HANDLE_PAUSED;
			s->ops->notify_pause(s->ud, h, SEAT_PAUSE_FORCE);
			continue;
		}
		h->state = SEAT_HANDLE_PAUSING;
		s->pending_acks++;
	}
	list_for_each(h, &c->handles, link)
		if (h->state == SEAT_HANDLE_PAUSING)
			s->ops->notify_pause(s->ud, h, SEAT_PAUSE_PAUSE);
	/* Pausing counts as paused already: an acknowledgement or the
	 * timeout changes nothing a client sees of the handle. */
	if (changed)
		s->ops->handles_changed(s->ud, c);

	if (s->pending_acks == 0)
		return false;
	s->ops->timer_set(s->ud, s, s->pause_timeout_usec);
	return true;
}

/* Step 4: all of c's handles live, or none. A device that vanished during
 * the switch (-ENODEV) is left paused: udev's remove event is on its way
 * and withdraws it from every holder; the switch does not fail for it. */
static int seat_resume_container(struct seat *s, struct seat_container *c)
{
	struct seat_handle *h;
	bool changed = false;
	int r = 0;

	list_for_each(h, &c->handles, link) {
		if (h->lease)
			continue;
		if (h->device->type == SEAT_DEVICE_EVDEV)
			r = s->ops->handle_reopen(s->ud, h);
		else
			r = seat_handle_gets_master(h) ? s->ops->handle_set_master(s->ud, h) : 0;
		if (r == -ENODEV) {
			r = 0;
			continue;
		}
		if (r < 0)
			break;
		h->state = SEAT_HANDLE_LIVE;
	}
	if (r < 0) {
		list_for_each(h, &c->handles, link) {
			if (h->lease || h->state != SEAT_HANDLE_LIVE)
				continue;
			if (h->device->type == SEAT_DEVICE_EVDEV)
				s->ops->handle_revoke(s->ud, h);
			else if (seat_handle_gets_master(h))
				s->ops->handle_drop_master(s->ud, h);
			h->state = SEAT_HANDLE_PAUSED;
		}
		return r;
	}

	list_for_each(h, &c->handles, link)
		if (!h->lease && h->state == SEAT_HANDLE_LIVE) {
			s->ops->notify_resume(s->ud, h);
			changed = true;
		}
	if (changed)
		s->ops->handles_changed(s->ud, c);
	return 0;
}

int seat_handle_refresh(struct seat_handle *h)
{
	struct seat *s = h->container->seat;
	int r;

	/* Live: the container is the active one and no switch away from it
	 * has begun (its first step revokes every evdev handle). */
	if (h->device->type != SEAT_DEVICE_EVDEV || h->state != SEAT_HANDLE_LIVE)
		return -EINVAL;
	s->ops->handle_revoke(s->ud, h);
	h->state = SEAT_HANDLE_PAUSED;
	s->ops->notify_pause(s->ud, h, SEAT_PAUSE_FORCE);
	r = s->ops->handle_reopen(s->ud, h);
	if (r < 0) {
		s->ops->handles_changed(s->ud, h->container);
		return r;
	}
	h->state = SEAT_HANDLE_LIVE;
	s->ops->notify_resume(s->ud, h);
	return 0;
}

static void seat_complete(struct seat *s, int r)
{
	struct seat_request *req = s->current;

	s->current = NULL;
	s->ops->switch_done(s->ud, s, req->cookie, r);
	free(req);
}

/* Steps 3 to 5, once the leaving container is paused. */
static void seat_finish_switch(struct seat *s)
{
	struct seat_request *req = s->current;
	struct seat_container *old = s->active;
	struct seat_container *target;
	int r;

	if (!req)
		return;
	if (s->leaving) {
		s->ops->timer_set(s->ud, s, 0);
		s->leaving = NULL;
	}
	s->pending_acks = 0;

	target = req->target_gone ? NULL : req->target;
	r = s->ops->kernel_activate(s->ud, s, target);
	if (r >= 0 && target)
		r = seat_resume_container(s, target);
	if (r >= 0 && req->target_gone)
		r = -ESRCH;

	if (r < 0) {
		target = NULL;
		/* Best effort: the kernel side follows the broker to "none". */
		s->ops->kernel_activate(s->ud, s, NULL);
	}
	s->active = target;
	if (old != target)
		s->ops->active_changed(s->ud, s, old);
	seat_complete(s, r);
	seat_dispatch(s);
}

static struct seat_container *seat_resolve(struct seat *s, struct seat_request *req)
{
	struct list *next;

	if (req->kind == SEAT_SWITCH_TO || list_empty(&s->containers))
		return req->target;
	if (!s->active)
		return req->kind == SEAT_SWITCH_NEXT ?
			list_first(&s->containers, struct seat_container, link) :
			list_last(&s->containers, struct seat_container, link);

	next = req->kind == SEAT_SWITCH_NEXT ? s->active->link.next : s->active->link.prev;
	if (next == &s->containers)
		next = req->kind == SEAT_SWITCH_NEXT ? next->next : next->prev;
	return container_of(next, struct seat_container, link);
}

/* Runs queued requests until one has to wait or none is left. */
static void seat_dispatch(struct seat *s)
{
	while (!s->current && !list_empty(&s->requests)) {
		struct seat_request *req =
			list_first(&s->requests, struct seat_request, link);

		list_remove(&req->link);
		s->current = req;
		if (req->target_gone) {
			seat_complete(s, -ESRCH);
			continue;
		}
		if (req->kind != SEAT_SWITCH_TO && list_empty(&s->containers)) {
			seat_complete(s, 0);
			continue;
		}
		req->target = seat_resolve(s, req);
		if (req->target == s->active) {
			seat_complete(s, 0);
			continue;
		}
		if (s->active && seat_pause_container(s, s->active))
			return; /* seat_handle_pause_complete or the timeout goes on */
		seat_finish_switch(s);
		return; /* seat_finish_switch dispatched the rest */
	}
}

int seat_switch(struct seat *s, enum seat_switch_kind kind,
		struct seat_container *target, void *cookie)
{
	struct seat_request *req;

	if (target && target->seat != s)
		return -EINVAL;
	req = calloc(1, sizeof(*req));
	if (!req)
		return -ENOMEM;
	req->kind = kind;
	req->target = kind == SEAT_SWITCH_TO ? target : NULL;
	req->cookie = cookie;
	list_append(&s->requests, &req->link);
	seat_dispatch(s);
	return 0;
}
