/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/stat.h>

#include "broker/binder.h"
#include "broker/broker.h"
#include "broker/container.h"
#include "broker/errors.h"
#include "broker/kernel-devns.h"
#include "broker/loop.h"
#include "broker/outputs.h"
#include "broker/state.h"
#include "common/log.h"
#include "common/root-resolve.h"

static bool pidfd_exited(int pidfd)
{
	struct pollfd p = { .fd = pidfd, .events = POLLIN };

	return poll(&p, 1, 0) > 0;
}

static int on_leader_exit(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct container *c = userdata;

	log_info("Leader %d of container %s exited; unregistering it", (int)c->leader, c->name);
	container_free(c);
	return 0;
}

static int endpoint_dir_create(struct container *c)
{
	char *path;

	if (asprintf(&path, "%s/%s", c->broker->containers_dir, c->name) < 0)
		return -ENOMEM;
	c->endpoint_dir = path;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	return 0;
}

/* Each transport removed its socket when it detached. */
static void endpoint_dir_remove(struct container *c)
{
	if (c->endpoint_dir && rmdir(c->endpoint_dir) < 0 && errno != ENOENT)
		log_warning_errno(errno, "Cannot remove %s", c->endpoint_dir);
}

static int container_attach_listeners(struct container *c)
{
	struct broker *b = c->broker;
	int r;

	for (; c->n_attached < b->n_listeners; c->n_attached++) {
		struct broker_listener *l = b->listeners[c->n_attached];

		if (!l->ops->container_attach)
			continue;
		r = l->ops->container_attach(l, c);
		if (r < 0)
			return r;
	}
	return 0;
}

static void container_detach_listeners(struct container *c)
{
	struct broker *b = c->broker;

	while (c->n_attached > 0) {
		struct broker_listener *l = b->listeners[--c->n_attached];

		if (l->ops->container_detach)
			l->ops->container_detach(l, c);
		c->listener_data[l->slot] = NULL;
		free(c->listener_status[l->slot]);
		c->listener_status[l->slot] = NULL;
	}
}

void container_announce(struct container *c, enum broker_event_type type)
{
	struct broker_event ev = { .type = type, .seat = c->seat, .container = c };

	broker_announce(c->broker, &ev);
}

void *container_listener_data(const struct container *c, const struct broker_listener *l)
{
	return c->listener_data[l->slot];
}

void container_set_listener_data(struct container *c, const struct broker_listener *l, void *data)
{
	c->listener_data[l->slot] = data;
}

int container_options_set(struct container_options *opts, const struct broker_option *option,
			  uint32_t value)
{
	for (unsigned i = 0; i < opts->n_values; i++)
		if (opts->values[i].option == option) {
			opts->values[i].value = value;
			return 0;
		}
	if (opts->n_values == BROKER_MAX_OPTIONS)
		return -E2BIG;
	opts->values[opts->n_values++] = (struct broker_option_value) { option, value };
	return 0;
}

bool container_option_given(const struct container *c, const char *name, uint32_t *ret)
{
	for (unsigned i = 0; i < c->n_options; i++)
		if (strcmp(c->options[i].option->name, name) == 0) {
			if (ret)
				*ret = c->options[i].value;
			return true;
		}
	return false;
}

uint32_t container_option(const struct container *c, const char *name)
{
	uint32_t v = 0;

	(void)container_option_given(c, name, &v);
	return v;
}

bool container_control_uid_allowed(const struct container *c, uid_t uid)
{
	uint32_t user;

	return !container_option_given(c, "ControlUser", &user) || uid == 0 || uid == user;
}

/* A uid of the container, as SO_PEERCRED shows it to us; never matches
 * when the container's user namespace does not map it. */
static bool is_container_uid(const struct container *c, uid_t inner, uid_t peer_uid)
{
	uid_t uid;

	return root_map_uid(c->leader, c->pidfd, inner, &uid) >= 0 && uid == peer_uid;
}

int container_check_control_uid(const struct container *c, uid_t peer_uid)
{
	uint32_t user;

	if (!container_option_given(c, "ControlUser", &user))
		return 0;
	if (is_container_uid(c, (uid_t)user, peer_uid) || is_container_uid(c, 0, peer_uid))
		return 0;
	return -EPERM;
}

int container_set_listener_status(struct container *c, const struct broker_listener *l,
				  const char *status)
{
	char *copy = NULL;

	if (c->listener_status[l->slot] && status &&
	    strcmp(c->listener_status[l->slot], status) == 0)
		return 0;
	if (status && !(copy = strdup(status)))
		return -ENOMEM;
	free(c->listener_status[l->slot]);
	c->listener_status[l->slot] = copy;
	broker_announce(c->broker, &(struct broker_event) {
		.type = BROKER_EVENT_LISTENER_STATUS, .seat = c->seat, .container = c,
		.listener = l });
	return 0;
}

const char *container_listener_status(const struct container *c, const char *listener_name)
{
	const struct broker *b = c->broker;

	for (unsigned i = 0; i < b->n_listeners; i++)
		if (strcmp(b->listeners[i]->ops->name, listener_name) == 0)
			return c->listener_status[i];
	return NULL;
}

static bool leader_shares_our_pidns(const struct container *c)
{
	struct pidns_id ours;

	return pidns_of_pid(getpid(), &ours) >= 0 && ours.dev == c->pidns.dev &&
	       ours.ino == c->pidns.ino;
}

int container_new(struct broker *b, const char *name, struct broker_seat *seat,
		  pid_t leader, const struct container_options *opts,
		  struct container **ret)
{
	struct container *c;
	int r;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->broker = b;
	c->seat = seat;
	c->leader = leader;
	c->allow_activate = opts->allow_activate;
	memcpy(c->options, opts->values, sizeof(c->options));
	c->n_options = opts->n_values;
	list_init(&c->link);
	list_init(&c->loops);

	/* Pin the leader first, then read its namespace, then make sure the
	 * pinned process is still the one whose namespace was read. */
	c->pidfd = pidfd_open(leader, 0);
	if (c->pidfd < 0) {
		r = -errno;
		goto fail;
	}
	r = pidns_of_pid(leader, &c->pidns);
	if (r >= 0)
		r = process_start_time(leader, &c->leader_start);
	if (r < 0 || pidfd_exited(c->pidfd)) {
		r = -ESRCH;
		goto fail;
	}

	c->name = strdup(name);
	if (!c->name) {
		r = -ENOMEM;
		goto fail;
	}
	if (opts->n_outputs > 0) {
		const char *bad;

		r = outputs_check(b, seat, opts->outputs, opts->n_outputs, &c->outputs_card, &bad);
		if (r < 0)
			goto fail;
		c->outputs = calloc(opts->n_outputs, sizeof(*c->outputs));
		if (!c->outputs) {
			r = -ENOMEM;
			goto fail;
		}
		for (size_t i = 0; i < opts->n_outputs; i++, c->n_outputs++)
			if (!(c->outputs[i] = strdup(opts->outputs[i]))) {
				r = -ENOMEM;
				goto fail;
			}
	}
	r = seat_add_container(seat->seat, name, &c->sc);
	if (r < 0)
		goto fail;
	c->sc->userdata = c;

	r = endpoint_dir_create(c);
	if (r < 0) {
		log_error_errno(r, "Cannot create endpoint directory %s", c->endpoint_dir);
		goto fail;
	}
	r = container_attach_listeners(c);
	if (r < 0)
		goto fail;
	r = sd_event_add_io(b->event, &c->leader_source, c->pidfd, EPOLLIN, on_leader_exit, c);
	if (r < 0)
		goto fail;
	c->kernel_id = opts->kernel_id;
	if (b->kernel && !c->kernel_id) {
		r = kernel_devns_create(b->kernel, name, seat->seat->id, leader, &c->kernel_id);
		if (r < 0 && leader_shares_our_pidns(c)) {
			/* The module binds pid namespaces, and the host's cannot
			 * be one: such a container goes without. */
			log_warning("Container %s shares devnsd's pid namespace; no kernel device namespace for it",
				    name);
			c->kernel_id = 0;
		} else if (r < 0) {
			log_error_errno(r, "The devns module cannot make a device namespace for %s", name);
			goto fail;
		}
	}

	container_binder_assign(c, opts->binder);

	list_append(&b->containers, &c->link);
	log_info("Registered container %s on %s, leader %d", name, seat->seat->id, (int)leader);
	container_announce(c, BROKER_EVENT_CONTAINER_NEW);
	broker_state_changed(b);
	*ret = c;
	return 0;

fail:
	container_free(c);
	return r;
}

void container_free(struct container *c)
{
	struct broker_seat *bs;
	bool registered;

	if (!c)
		return;
	bs = c->seat;
	registered = !list_empty(&c->link);
	list_remove(&c->link);

	if (c->sc) {
		container_release_control(c);
		seat_remove_container(c->sc);
	}
	/* Gone before its switch was answered: nothing to announce of it. */
	if (bs && bs->announce_old == c)
		bs->announce_old = NULL;
	container_detach_all_loops(c);
	container_binder_release(c);
	if (registered) {
		log_info("Unregistered container %s", c->name);
		container_announce(c, BROKER_EVENT_CONTAINER_REMOVED);
	}
	container_detach_listeners(c);
	endpoint_dir_remove(c);
	if (registered)
		broker_state_changed(c->broker);
	if (c->kernel_id)
		(void)kernel_devns_destroy(c->broker->kernel, c->kernel_id);
	sd_event_source_disable_unref(c->leader_source);
	if (c->pidfd >= 0)
		close(c->pidfd);
	for (size_t i = 0; i < c->n_outputs; i++)
		free(c->outputs[i]);
	free(c->outputs);
	free(c->outputs_card);
	free(c->endpoint_dir);
	free(c->name);
	free(c);
	if (registered)
		broker_seat_gc(bs);
}

bool container_is_active(const struct container *c)
{
	return c->seat->seat->active == c->sc;
}

bool container_controlled_by(const struct container *c, const struct controller_ops *ops,
			     const void *data)
{
	return c->controller_ops == ops && c->controller_data == data;
}

void container_release_control(struct container *c)
{
	const struct controller_ops *ops = c->controller_ops;
	void *data = c->controller_data;

	if (!ops)
		return;
	c->controller_ops = NULL;
	c->controller_data = NULL;
	seat_container_release_control(c->sc);
	ops->released(c, data);
	container_announce(c, BROKER_EVENT_DEVICES_CHANGED);
	container_announce(c, BROKER_EVENT_CONTROL_CHANGED);
}

int container_take_control(struct container *c, const struct controller_ops *ops,
			   void *data, bool force)
{
	int r;

	if (c->controller_ops) {
		if (!force)
			return -ERRNO_ALREADY_CONTROLLED;
		log_info("Controller of container %s replaced by force", c->name);
		container_release_control(c);
	}
	r = seat_container_take_control(c->sc);
	if (r < 0)
		return r;
	c->controller_ops = ops;
	c->controller_data = data;
	log_debug("Container %s is controlled through %s", c->name, ops->name);
	container_announce(c, BROKER_EVENT_CONTROL_CHANGED);
	return 0;
}

int container_take_device(struct container *c, dev_t devnum, struct seat_handle **ret)
{
	int r = seat_container_take_device(c->sc, devnum, ret);

	if (r < 0)
		return r;
	/* A new lease's id goes into the state file, for the next devnsd. */
	if ((*ret)->lease)
		broker_state_changed(c->broker);
	container_announce(c, BROKER_EVENT_DEVICES_CHANGED);
	return 0;
}

int container_release_device(struct container *c, dev_t devnum)
{
	struct seat_handle *h = seat_container_find_handle(c->sc, devnum);

	if (!h)
		return -ERRNO_DEVICE_NOT_TAKEN;
	seat_handle_release(h);
	container_announce(c, BROKER_EVENT_DEVICES_CHANGED);
	return 0;
}

int container_pause_device_complete(struct container *c, dev_t devnum)
{
	struct seat_handle *h = seat_container_find_handle(c->sc, devnum);

	if (!h)
		return -ERRNO_DEVICE_NOT_TAKEN;
	seat_handle_pause_complete(h);
	return 0;
}

void container_pause_complete_all(struct container *c)
{
	struct seat_handle *h, *tmp;

	/* An acknowledgement may finish the switch; nothing here is freed. */
	list_for_each_safe(h, tmp, &c->sc->handles, link)
		seat_handle_pause_complete(h);
}

void container_notify_pause(struct container *c, struct seat_handle *h,
			    enum seat_pause_type type)
{
	if (c->controller_ops)
		c->controller_ops->pause(c, c->controller_data, h, type);
}

void container_notify_resume(struct container *c, struct seat_handle *h)
{
	if (c->controller_ops)
		c->controller_ops->resume(c, c->controller_data, h);
}

void container_notify_activated(struct container *c, bool active)
{
	if (c->controller_ops && c->controller_ops->activated)
		c->controller_ops->activated(c, c->controller_data, active);
}
