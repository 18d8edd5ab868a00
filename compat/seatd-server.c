/* SPDX-License-Identifier: MIT */
/*
 * The seatd endpoint of a container: sockets, fds and the mapping of seatd
 * requests onto the container's controller (broker/container.h). The wire
 * format is compat/seatd-proto.c; the behaviour mirrors seatd 0.7 (see
 * seatd-proto.h for what comes from where), with these differences:
 *
 * - The seat is the container's, and "active" means the container is the
 *   active one of its seat. Disable and enable follow the broker's switches:
 *   a pause of any device of the controller (evdev revoked first, DRM asked
 *   to pause) sends DISABLE_SEAT once; the acknowledgement completes the
 *   pause of every device (DRM master is dropped then); ENABLE_SEAT is sent
 *   when the container became active again, after every device resumed. A
 *   client that holds no device still gets DISABLE_SEAT when its container
 *   stops being active. The seat's PauseTimeoutSec bounds the wait for the
 *   acknowledgement like any pause.
 * - On enable, libseat clients (libinput through wlroots) open their evdev
 *   devices again, each open a fresh fd; the DRM fd they kept regains
 *   master. That is seatd's behaviour and exactly the broker's: an evdev
 *   device cannot be un-revoked.
 * - A path is resolved inside the container's root to a device number, and
 *   only a brokered card* or event* of the container's seat of that number
 *   is handed out, opened by the broker itself (TakeDevice's machinery).
 * - switch_session N makes the N-th container of the seat (registration
 *   order, from 1) active; only an active client of a container registered
 *   with AllowActivate may ask.
 * - A device withdrawn by hotplug disables nothing: the client notices the
 *   removal through udev, and its close-device for it still succeeds.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/un.h>

#include "broker/broker.h"
#include "broker/container.h"
#include "broker/errors.h"
#include "broker/peer.h"
#include "common/fd-pass.h"
#include "common/fd-store.h"
#include "common/log.h"
#include "common/root-resolve.h"
#include "compat/seatd-proto.h"
#include "compat/seatd-server.h"

/* Connections per container, refused peers included. */
#define SEATD_MAX_CLIENTS 32
/* Messages a client has not read yet; a client that stops reading for this
 * long is not a compositor that works. */
#define SEATD_MAX_QUEUED 256
/* Bytes read and dropped at most from a connection that is closed. */
#define SEATD_DRAIN_MAX (64 * SEATD_MAX_MESSAGE)
/* Clients send no fds; room for a few, so that any are closed. */
#define SEATD_MAX_FDS_IN 8

enum client_state {
	CLIENT_NEW,             /* no seat open */
	CLIENT_ENABLED,         /* seat open, container live */
	CLIENT_PENDING_DISABLE, /* DISABLE_SEAT sent, not acknowledged yet */
	CLIENT_DISABLED,        /* seat open, container not live */
};

struct client_device {
	int32_t id;
	dev_t devnum;
	unsigned refs; /* opened that often; closed when it drops to 0 */
	bool gone;     /* withdrawn by hotplug: only its close is left */
};

struct out_msg {
	struct list link;
	int fd; /* goes with the first byte sent, then closed; -1 for none */
	uint16_t len, sent;
	uint8_t data[SEATD_MAX_MESSAGE];
};

struct seatd_client {
	struct seatd_server *server;
	struct list link; /* server->clients */
	unsigned id;
	pid_t pid;
	int fd;
	/* What a restarted devnsd needs to carry on the conversation (struct
	 * saved_client), in a memfd kept with the connection in the fd
	 * store; -1 without a store. */
	int saved_fd;
	sd_event_source *io;
	/* Freeing is always deferred to the event loop: a client can fail
	 * while the seat state machine calls it, and control must not be
	 * released under the machine's feet. */
	sd_event_source *kill_source;
	bool dead;
	bool controlling;
	bool releasing; /* we are releasing control ourselves */
	enum client_state state;
	unsigned unacked; /* DISABLE_SEAT sent and not acknowledged */

	struct list out;
	unsigned n_out;
	bool want_out; /* EPOLLOUT is in the io source's events */

	struct client_device devices[SEATD_MAX_DEVICES];
	unsigned n_devices;
	int32_t next_device_id;
};

struct seatd_server {
	struct container *container;
	struct peer_listener *listener;
	struct list clients;
	unsigned n_clients;
	unsigned next_id;
};

static const struct controller_ops seatd_controller_ops;

/* A client's state as a restarted devnsd reads it back from its memfd.
 * Only devnsd writes it, and the fd store holds it for devnsd alone, but
 * it is checked as any input. */
#define SAVED_CLIENT_MAGIC 0x31637364u /* "dsc1" */

struct saved_device {
	int32_t id;
	uint32_t major, minor;
	uint32_t refs;
	uint32_t gone;
};

struct saved_client {
	uint32_t magic;
	uint32_t state;
	uint32_t controlling;
	uint32_t unacked;
	int32_t pid;
	int32_t next_device_id;
	uint32_t n_devices;
	struct saved_device devices[SEATD_MAX_DEVICES];
};

static const char *cname(struct seatd_client *cl)
{
	return cl->server->container->name;
}

static void client_kill(struct seatd_client *cl)
{
	if (cl->dead)
		return;
	cl->dead = true;
	sd_event_source_set_enabled(cl->io, SD_EVENT_OFF);
	sd_event_source_set_enabled(cl->kill_source, SD_EVENT_ONESHOT);
}

/* Edge-triggered: a message that is only partly there stays in the
 * socket (client_read), and must not wake the loop again and again. Its
 * rest makes a new edge, so the events are set only when EPOLLOUT comes or
 * goes (sd-event would call epoll_ctl() for every edge-triggered set). */
static int client_want_out(struct seatd_client *cl, bool want)
{
	int r;

	if (cl->dead || cl->want_out == want)
		return 0;
	r = sd_event_source_set_io_events(cl->io, EPOLLIN | (want ? EPOLLOUT : 0) | EPOLLRDHUP |
							  EPOLLET);
	if (r >= 0)
		cl->want_out = want;
	return r;
}

static void client_store_name(struct seatd_client *cl, char *buf, size_t size)
{
	snprintf(buf, size, "seatd.%s.%u", cname(cl), cl->id);
}

/* Rewrites the client's memfd after every change of what it holds. */
static void client_save(struct seatd_client *cl)
{
	struct saved_client saved = {
		.magic = SAVED_CLIENT_MAGIC,
		.state = cl->state,
		.controlling = cl->controlling,
		.unacked = cl->unacked,
		.pid = cl->pid,
		.next_device_id = cl->next_device_id,
		.n_devices = cl->n_devices,
	};
	size_t size = offsetof(struct saved_client, devices) +
		      cl->n_devices * sizeof(struct saved_device);

	if (cl->saved_fd < 0 || cl->dead)
		return;
	for (unsigned i = 0; i < cl->n_devices; i++) {
		const struct client_device *d = &cl->devices[i];

		saved.devices[i] = (struct saved_device) {
			.id = d->id, .major = major(d->devnum), .minor = minor(d->devnum),
			.refs = d->refs, .gone = d->gone,
		};
	}
	if (pwrite(cl->saved_fd, &saved, size, 0) != (ssize_t)size)
		log_warning("seatd client %u of %s: cannot save its state; a restart of devnsd would lose it",
			    cl->id, cname(cl));
}

/* Keeps the connection and its memfd in the fd store (common/fd-store.h),
 * so that the client outlives a crash or restart of devnsd. */
static void client_store(struct seatd_client *cl)
{
	char name[FD_STORE_NAME_MAX + 1];
	int fds[2];
	int r;

	if (!fd_store_enabled())
		return;
	cl->saved_fd = memfd_create("seatd-client", MFD_CLOEXEC);
	if (cl->saved_fd < 0) {
		log_warning_errno(-errno, "seatd client %u of %s: no memfd; it will not outlive devnsd",
				  cl->id, cname(cl));
		return;
	}
	client_save(cl);
	fds[0] = cl->fd;
	fds[1] = cl->saved_fd;
	client_store_name(cl, name, sizeof(name));
	/* Polled: a client that hangs up while devnsd is away is dropped. */
	r = fd_store_add(name, fds, 2, true);
	if (r < 0)
		log_warning_errno(r, "seatd client %u of %s: cannot store its connection; it will not outlive devnsd",
				  cl->id, cname(cl));
}

static void client_unstore(struct seatd_client *cl)
{
	char name[FD_STORE_NAME_MAX + 1];

	if (cl->saved_fd < 0)
		return;
	client_store_name(cl, name, sizeof(name));
	(void)fd_store_remove(name);
	close(cl->saved_fd);
	cl->saved_fd = -1;
}

static void out_msg_free(struct out_msg *m)
{
	list_remove(&m->link);
	if (m->fd >= 0)
		close(m->fd);
	free(m);
}

/* Writes what the socket takes; the rest waits for EPOLLOUT. */
static int client_flush(struct seatd_client *cl)
{
	struct out_msg *m;

	while ((m = list_first(&cl->out, struct out_msg, link))) {
		ssize_t n = fd_pass_send(cl->fd, m->data + m->sent, m->len - m->sent, &m->fd,
					 m->fd >= 0 ? 1 : 0);

		if (n == -EAGAIN)
			return client_want_out(cl, true);
		if (n < 0)
			return (int)n;
		/* The fd travelled with the first byte. */
		if (m->fd >= 0) {
			close(m->fd);
			m->fd = -1;
		}
		m->sent += (uint16_t)n;
		if (m->sent == m->len) {
			out_msg_free(m);
			cl->n_out--;
		}
	}
	return client_want_out(cl, false);
}

/* Queues data[sent..len) with fd (borrowed, or -1: duplicated to wait
 * with it), after what waits already. */
static int client_queue(struct seatd_client *cl, const uint8_t *data, size_t len, size_t sent,
			int fd)
{
	struct out_msg *m = calloc(1, sizeof(*m));

	if (!m)
		return -ENOMEM;
	list_init(&m->link);
	m->fd = -1;
	if (fd >= 0) {
		m->fd = fcntl(fd, F_DUPFD_CLOEXEC, 3);
		if (m->fd < 0) {
			free(m);
			return -errno;
		}
	}
	memcpy(m->data, data, len);
	m->len = (uint16_t)len;
	m->sent = (uint16_t)sent;
	list_append(&cl->out, &m->link);
	if (++cl->n_out > SEATD_MAX_QUEUED) {
		log_warning("seatd client %u (pid %d) of %s reads none of its messages; disconnecting it",
			    cl->id, (int)cl->pid, cname(cl));
		return -ENOBUFS;
	}
	return client_want_out(cl, true);
}

/* Sends one message, with fd (borrowed, or -1). With nothing queued it
 * goes straight to the socket, as it nearly always does; only what the
 * socket does not take is copied to wait for EPOLLOUT. */
static int client_send(struct seatd_client *cl, const struct seatd_reply *reply, int fd)
{
	uint8_t data[SEATD_MAX_MESSAGE];
	ssize_t len, n = -EAGAIN;
	int r;

	if (cl->dead)
		return -ECONNRESET;
	len = seatd_write_reply(data, sizeof(data), reply);
	if (len < 0)
		return (int)len;
	if (list_empty(&cl->out))
		n = fd_pass_send(cl->fd, data, (size_t)len, &fd, fd >= 0 ? 1 : 0);
	if (n == len)
		return 0;
	if (n >= 0)
		/* The fd travelled with the first byte. */
		r = client_queue(cl, data, (size_t)len, (size_t)n, -1);
	else if (n == -EAGAIN)
		r = client_queue(cl, data, (size_t)len, 0, fd);
	else
		r = (int)n;
	if (r < 0) {
		log_debug_errno(r, "seatd client %u of %s: cannot send", cl->id, cname(cl));
		client_kill(cl);
	}
	return r;
}

static void client_send_simple(struct seatd_client *cl, uint16_t opcode)
{
	struct seatd_reply reply = { .opcode = opcode };

	(void)client_send(cl, &reply, -1);
}

static void client_send_error(struct seatd_client *cl, int error)
{
	struct seatd_reply reply = { .opcode = SEATD_SERVER_ERROR, .error = abs(error) };

	(void)client_send(cl, &reply, -1);
}

/* ---------------------------------------------------------------- control */

static void client_enable(struct seatd_client *cl)
{
	if (cl->state != CLIENT_DISABLED && cl->state != CLIENT_PENDING_DISABLE)
		return;
	cl->state = CLIENT_ENABLED;
	client_send_simple(cl, SEATD_SERVER_ENABLE_SEAT);
	client_save(cl);
}

static void client_disable(struct seatd_client *cl)
{
	if (cl->state != CLIENT_ENABLED)
		return;
	cl->state = CLIENT_PENDING_DISABLE;
	cl->unacked++;
	client_send_simple(cl, SEATD_SERVER_DISABLE_SEAT);
	client_save(cl);
}

static struct client_device *client_find_device(struct seatd_client *cl, int32_t id)
{
	for (unsigned i = 0; i < cl->n_devices; i++)
		if (cl->devices[i].id == id)
			return &cl->devices[i];
	return NULL;
}

static struct client_device *client_find_devnum(struct seatd_client *cl, dev_t devnum)
{
	for (unsigned i = 0; i < cl->n_devices; i++)
		if (cl->devices[i].devnum == devnum && !cl->devices[i].gone)
			return &cl->devices[i];
	return NULL;
}

static void client_remove_device(struct seatd_client *cl, struct client_device *d)
{
	*d = cl->devices[--cl->n_devices];
}

static void seatd_controller_pause(struct container *c, void *data, struct seat_handle *h,
				   enum seat_pause_type type)
{
	struct seatd_client *cl = data;
	struct client_device *d;

	if (type == SEAT_PAUSE_GONE) {
		d = client_find_devnum(cl, h->device->devnum);
		if (d)
			d->gone = true;
		client_save(cl);
		return;
	}
	/* seatd has one disable for the whole seat: the first pause of a
	 * switch sends it (evdev was revoked already, DRM waits for the
	 * acknowledgement), the others find it sent. */
	client_disable(cl);
}

static void seatd_controller_resume(struct container *c, void *data, struct seat_handle *h)
{
	/* Nothing per device: ENABLE_SEAT follows once all are resumed. */
}

static void seatd_controller_activated(struct container *c, void *data, bool active)
{
	struct seatd_client *cl = data;

	if (active)
		client_enable(cl);
	else
		client_disable(cl);
}

static void seatd_controller_released(struct container *c, void *data)
{
	struct seatd_client *cl = data;

	cl->controlling = false;
	cl->n_devices = 0; /* their handles are gone */
	cl->state = CLIENT_NEW;
	/* Saved by the request that released it, or not at all: a client
	 * that loses control is hung up on. */
	if (!cl->releasing) {
		/* Replaced by a forced TakeControl, or the container goes: the
		 * protocol has no way to say so but hanging up. */
		log_info("seatd client %u of %s lost control of the container; disconnecting it",
			 cl->id, c->name);
		client_kill(cl);
	}
}

static const struct controller_ops seatd_controller_ops = {
	.name = "seatd",
	.pause = seatd_controller_pause,
	.resume = seatd_controller_resume,
	.activated = seatd_controller_activated,
	.released = seatd_controller_released,
};

static void client_release(struct seatd_client *cl)
{
	struct container *c = cl->server->container;

	if (!cl->controlling)
		return;
	cl->releasing = true;
	if (container_controlled_by(c, &seatd_controller_ops, cl))
		container_release_control(c);
	cl->releasing = false;
	cl->controlling = false;
	cl->n_devices = 0;
	cl->state = CLIENT_NEW;
	cl->unacked = 0;
}

/* ---------------------------------------------------------------- requests */

/* ControlUser: the uid the client connected with (SO_PEERCRED, read
 * again here so that a client taken back after a restart is judged the
 * same way). */
static bool client_may_control(struct seatd_client *cl)
{
	uid_t uid;

	if (peer_uid(cl->fd, &uid) < 0)
		uid = (uid_t)-1; /* matches no ControlUser */
	return container_check_control_uid(cl->server->container, uid) >= 0;
}

static void handle_open_seat(struct seatd_client *cl)
{
	struct container *c = cl->server->container;
	struct seatd_reply reply = { .opcode = SEATD_SERVER_SEAT_OPENED };
	const char *seat_id = c->seat->seat->id;
	int r;

	if (cl->state != CLIENT_NEW) {
		client_send_error(cl, EBUSY);
		return;
	}
	if (strlen(seat_id) >= sizeof(reply.seat_name)) {
		log_warning("seatd client of %s: seat name %s is too long for the seatd protocol",
			    c->name, seat_id);
		client_send_error(cl, ENAMETOOLONG);
		return;
	}
	strcpy(reply.seat_name, seat_id);
	if (!client_may_control(cl)) {
		log_info("seatd client %u (pid %d) of %s refused: not the container's control user or root",
			 cl->id, (int)cl->pid, c->name);
		client_send_error(cl, EPERM);
		return;
	}

	r = container_take_control(c, &seatd_controller_ops, cl, false);
	if (r < 0) {
		if (r == -ERRNO_ALREADY_CONTROLLED)
			log_info("seatd client %u (pid %d) of %s refused: the container already has a controller",
				 cl->id, (int)cl->pid, c->name);
		else
			log_warning_errno(r, "seatd client %u of %s: cannot take control", cl->id, c->name);
		client_send_error(cl, -r);
		return;
	}
	cl->controlling = true;
	cl->unacked = 0;
	cl->state = CLIENT_DISABLED;
	log_info("seatd client %u (pid %d) opened %s for container %s", cl->id, (int)cl->pid,
		 seat_id, c->name);
	if (client_send(cl, &reply, -1) < 0) {
		client_kill(cl); /* releases control */
		return;
	}
	/* Active at once: ENABLE_SEAT follows SEAT_OPENED, as in seatd. */
	if (seat_container_is_live(c->sc))
		client_enable(cl);
}

static void handle_close_seat(struct seatd_client *cl)
{
	log_info("seatd client %u of %s closed its seat", cl->id, cname(cl));
	client_release(cl);
	client_send_simple(cl, SEATD_SERVER_SEAT_CLOSED);
}

static int open_error(struct seatd_client *cl, const char *path, dev_t devnum, int r)
{
	/* seatd answers ENOENT for a path that is not a device it serves. */
	if (r == -ENODEV) {
		if (devnum)
			log_info("seatd client of %s: %s (%u:%u) is not a brokered card or evdev node of %s",
				 cname(cl), path, major(devnum), minor(devnum),
				 cl->server->container->seat->seat->id);
		else
			log_info("seatd client of %s: %s is not a character device", cname(cl), path);
		return ENOENT;
	}
	log_info("seatd client of %s: cannot open %s: %s", cname(cl), path, strerror(-r));
	return -r;
}

static void handle_open_device(struct seatd_client *cl, const char *path)
{
	struct container *c = cl->server->container;
	struct seatd_reply reply = { .opcode = SEATD_SERVER_DEVICE_OPENED };
	_cleanup_close_ int rootfd = -1;
	struct client_device *d;
	struct seat_handle *h;
	dev_t devnum = 0;
	int r;

	if (cl->state != CLIENT_ENABLED || !seat_container_is_live(c->sc)) {
		log_debug("seatd client of %s: open of %s refused, the seat is disabled", c->name, path);
		client_send_error(cl, EPERM);
		return;
	}
	rootfd = root_open_of_pid(c->leader, c->pidfd);
	if (rootfd < 0) {
		client_send_error(cl, open_error(cl, path, 0, rootfd));
		return;
	}
	r = root_resolve_chrdev(rootfd, path, &devnum);
	if (r < 0) {
		client_send_error(cl, open_error(cl, path, 0, r));
		return;
	}

	d = client_find_devnum(cl, devnum);
	if (d) {
		/* seatd hands out the same device again, counted. */
		h = seat_container_find_handle(c->sc, devnum);
		if (!h || h->fd < 0) {
			client_send_error(cl, ENODEV);
			return;
		}
		reply.device_id = d->id;
		r = client_send(cl, &reply, h->fd);
		if (r >= 0)
			d->refs++;
		else if (!cl->dead)
			client_send_error(cl, -r);
		return;
	}
	if (cl->n_devices >= SEATD_MAX_DEVICES || cl->next_device_id == INT32_MAX) {
		log_info("seatd client of %s: more than %d devices refused", c->name, SEATD_MAX_DEVICES);
		client_send_error(cl, EMFILE);
		return;
	}

	r = container_take_device(c, devnum, &h);
	if (r < 0) {
		client_send_error(cl, open_error(cl, path, devnum, r));
		return;
	}
	d = &cl->devices[cl->n_devices++];
	*d = (struct client_device) { .id = ++cl->next_device_id, .devnum = devnum, .refs = 1 };
	log_debug("seatd client of %s: %s is %s, device %d", c->name, path, h->device->sysname, d->id);
	reply.device_id = d->id;
	r = client_send(cl, &reply, h->fd);
	if (r < 0 && !cl->dead) {
		/* Not sent (no fd to spare): the client never saw it. */
		client_remove_device(cl, d);
		(void)container_release_device(c, devnum);
		client_send_error(cl, -r);
	}
}

static void handle_close_device(struct seatd_client *cl, int32_t id)
{
	struct container *c = cl->server->container;
	struct client_device *d = client_find_device(cl, id);
	int r;

	if (!d) {
		client_send_error(cl, EBADF);
		return;
	}
	if (--d->refs == 0) {
		if (!d->gone) {
			r = container_release_device(c, d->devnum);
			if (r < 0)
				log_debug_errno(r, "seatd client of %s: releasing device %d", c->name, id);
		}
		client_remove_device(cl, d);
	}
	client_send_simple(cl, SEATD_SERVER_DEVICE_CLOSED);
}

/* libseat 0.7 reads no answer to this; problems only go to the log. */
static void handle_disable_ack(struct seatd_client *cl)
{
	struct container *c = cl->server->container;

	if (cl->unacked == 0) {
		log_info("seatd client %u of %s acknowledged a disable that was not sent; ignored",
			 cl->id, c->name);
		return;
	}
	if (--cl->unacked == 0 && cl->state == CLIENT_PENDING_DISABLE) {
		cl->state = CLIENT_DISABLED;
		/* Drops master on every DRM device waiting for it; may finish
		 * the switch. */
		container_pause_complete_all(c);
	}
}

/* libseat 0.7 reads no answer to this either. */
static void handle_switch_session(struct seatd_client *cl, int32_t session)
{
	struct container *c = cl->server->container;
	struct seat_container *target;
	int r;

	if (!c->allow_activate) {
		log_warning("seatd client of %s asked to switch to session %d; refused: the container was registered without AllowActivate",
			    c->name, (int)session);
		return;
	}
	if (cl->state != CLIENT_ENABLED) {
		log_info("seatd client of %s asked to switch to session %d; refused: it is not active",
			 c->name, (int)session);
		return;
	}
	target = session > 0 ? seat_container_nth(c->seat->seat, (unsigned)session - 1) : NULL;
	if (!target) {
		log_info("seatd client of %s asked to switch to session %d; %s has no such container",
			 c->name, (int)session, c->seat->seat->id);
		return;
	}
	log_info("seatd client of %s switches %s to container %s (session %d)", c->name,
		 c->seat->seat->id, target->name, (int)session);
	r = broker_switch(c->seat, SEAT_SWITCH_TO, target->userdata, NULL, NULL);
	if (r < 0)
		log_warning_errno(r, "seatd client of %s: cannot switch to %s", c->name, target->name);
}

static void client_handle(struct seatd_client *cl, const struct seatd_request *req)
{
	log_debug("seatd client %u of %s: %s", cl->id, cname(cl), seatd_opcode_to_string(req->opcode));
	switch (req->opcode) {
	case SEATD_CLIENT_OPEN_SEAT:
		handle_open_seat(cl);
		return;
	case SEATD_CLIENT_PING:
		client_send_simple(cl, SEATD_SERVER_PONG);
		return;
	}
	if (cl->state == CLIENT_NEW) {
		/* As seatd: a seat request without a seat ends the connection. */
		log_warning("seatd client %u of %s sent %s without an open seat; disconnecting it",
			    cl->id, cname(cl), seatd_opcode_to_string(req->opcode));
		client_kill(cl);
		return;
	}
	switch (req->opcode) {
	case SEATD_CLIENT_CLOSE_SEAT:
		handle_close_seat(cl);
		break;
	case SEATD_CLIENT_OPEN_DEVICE:
		handle_open_device(cl, req->path);
		break;
	case SEATD_CLIENT_CLOSE_DEVICE:
		handle_close_device(cl, req->device_id);
		break;
	case SEATD_CLIENT_DISABLE_SEAT:
		handle_disable_ack(cl);
		break;
	case SEATD_CLIENT_SWITCH_SESSION:
		handle_switch_session(cl, req->session);
		break;
	}
	client_save(cl);
}

/* ---------------------------------------------------------------- I/O */

/* Consumes n bytes that a peek showed; fds sent with them are closed
 * (nobody sends fds to seatd). */
static int client_consume(struct seatd_client *cl, size_t n)
{
	uint8_t buf[SEATD_MAX_MESSAGE];
	int fds[SEATD_MAX_FDS_IN];
	size_t n_fds;

	while (n > 0) {
		ssize_t k = fd_pass_recv(cl->fd, buf, n < sizeof(buf) ? n : sizeof(buf), fds, ARRAY_SIZE(fds),
					 &n_fds, NULL);

		if (k <= 0)
			return k < 0 ? (int)k : -ECONNRESET;
		fd_pass_close(fds, n_fds);
		n -= (size_t)k;
	}
	return 0;
}

/* Whole messages only: each is peeked at, taken off the socket when it is
 * complete and handled at once. A message that is only partly there stays
 * in the socket, so that a devnsd that dies meanwhile loses nothing of it
 * and the next one reads it whole. Returns whether the socket hung up. */
static bool client_read(struct seatd_client *cl)
{
	uint8_t buf[SEATD_MAX_MESSAGE];
	struct seatd_request req;
	ssize_t n, m;
	int r;

	while (!cl->dead) {
		do
			n = recv(cl->fd, buf, sizeof(buf), MSG_PEEK | MSG_DONTWAIT);
		while (n < 0 && errno == EINTR);
		if (n < 0 && errno == EAGAIN)
			return false;
		if (n < 0) {
			log_debug_errno(-errno, "seatd client %u of %s: read failed", cl->id, cname(cl));
			client_kill(cl);
			return true;
		}
		if (n == 0) {
			log_debug("seatd client %u of %s disconnected", cl->id, cname(cl));
			client_kill(cl);
			return true;
		}
		m = seatd_parse_request(buf, (size_t)n, &req);
		if (m == 0)
			return false; /* the rest comes with the next wake-up */
		if (m < 0) {
			log_warning_errno((int)m, "seatd client %u (pid %d) of %s: protocol error; disconnecting it",
					  cl->id, (int)cl->pid, cname(cl));
			client_kill(cl);
			return true;
		}
		r = client_consume(cl, (size_t)m);
		if (r < 0) {
			log_debug_errno(r, "seatd client %u of %s: read failed", cl->id, cname(cl));
			client_kill(cl);
			return true;
		}
		client_handle(cl, &req);
	}
	return true;
}

static int on_client_io(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct seatd_client *cl = userdata;
	int r;

	if (revents & EPOLLOUT) {
		r = client_flush(cl);
		if (r < 0) {
			log_debug_errno(r, "seatd client %u of %s: cannot send", cl->id, cname(cl));
			client_kill(cl);
			return 0;
		}
	}
	if (revents & (EPOLLIN | EPOLLRDHUP | EPOLLHUP | EPOLLERR)) {
		/* A hang-up with half a message left: that half never
		 * completes. */
		if (!client_read(cl) && (revents & (EPOLLRDHUP | EPOLLHUP | EPOLLERR))) {
			log_debug("seatd client %u of %s hung up in the middle of a message",
				  cl->id, cname(cl));
			client_kill(cl);
		}
	}
	return 0;
}

static void client_free(struct seatd_client *cl)
{
	struct out_msg *m, *tmp;

	list_remove(&cl->link);
	cl->server->n_clients--;
	list_for_each_safe(m, tmp, &cl->out, link)
		out_msg_free(m);
	if (cl->saved_fd >= 0)
		close(cl->saved_fd);
	/* What the client sent and we left unread would make its end see a
	 * reset instead of the end of file it is owed. */
	if (cl->fd >= 0)
		(void)client_consume(cl, SEATD_DRAIN_MAX);
	sd_event_source_disable_unref(cl->io);
	sd_event_source_disable_unref(cl->kill_source);
	if (cl->fd >= 0)
		close(cl->fd);
	free(cl);
}

static int on_client_kill(sd_event_source *s, void *userdata)
{
	struct seatd_client *cl = userdata;

	client_release(cl);
	client_unstore(cl);
	client_free(cl);
	return 0;
}

/* A connection, accepted or (id != 0) taken back from the fd store. */
static int client_new(struct seatd_server *srv, int fd, pid_t pid, unsigned id,
		      struct seatd_client **ret)
{
	sd_event *event = srv->container->broker->event;
	struct seatd_client *cl;
	int r;

	cl = calloc(1, sizeof(*cl));
	if (!cl) {
		close(fd);
		return -ENOMEM;
	}
	cl->server = srv;
	cl->id = id ? id : ++srv->next_id;
	if (cl->id > srv->next_id)
		srv->next_id = cl->id;
	cl->pid = pid;
	cl->fd = fd;
	cl->saved_fd = -1;
	cl->state = CLIENT_NEW;
	list_init(&cl->out);
	list_append(&srv->clients, &cl->link);
	srv->n_clients++;

	r = sd_event_add_io(event, &cl->io, fd, EPOLLIN | EPOLLRDHUP | EPOLLET, on_client_io,
			    cl);
	if (r >= 0)
		r = sd_event_add_defer(event, &cl->kill_source, on_client_kill, cl);
	if (r >= 0)
		r = sd_event_source_set_enabled(cl->kill_source, SD_EVENT_OFF);
	if (r < 0) {
		client_free(cl);
		return r;
	}
	*ret = cl;
	return 0;
}

static void on_accepted(void *userdata, int fd, pid_t pid)
{
	struct seatd_server *srv = userdata;
	struct seatd_client *cl;
	int r = client_new(srv, fd, pid, 0, &cl);

	if (r < 0) {
		log_warning_errno(r, "seatd endpoint of %s: cannot set up connection",
				  srv->container->name);
		return;
	}
	log_debug("seatd client %u (pid %d) of %s connected", cl->id, (int)pid, srv->container->name);
	client_store(cl);
}

int seatd_server_new(struct container *c, const char *socket_path, struct seatd_server **ret)
{
	struct seatd_server *srv;
	int r;

	srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -ENOMEM;
	srv->container = c;
	list_init(&srv->clients);
	r = peer_listener_new(c->broker->event, &(struct peer_listener_args) {
		.path = socket_path, .ns = &c->pidns, .kind = "seatd endpoint", .name = c->name,
		.n_conns = &srv->n_clients, .max_conns = SEATD_MAX_CLIENTS,
		.accepted = on_accepted, .userdata = srv, .stored = true,
	}, &srv->listener);
	if (r < 0) {
		free(srv);
		return r;
	}
	*ret = srv;
	return 0;
}

void seatd_server_free(struct seatd_server *srv)
{
	struct seatd_client *cl, *tmp;

	if (!srv)
		return;
	/* Control was released by the container already; only close. */
	list_for_each_safe(cl, tmp, &srv->clients, link) {
		client_unstore(cl);
		client_free(cl);
	}
	peer_listener_free(srv->listener);
	free(srv);
}

/* ---------------------------------------------------------------- restart */

static bool saved_client_is_valid(const struct saved_client *saved, ssize_t size)
{
	if (size < (ssize_t)offsetof(struct saved_client, devices) ||
	    saved->magic != SAVED_CLIENT_MAGIC || saved->state > CLIENT_DISABLED ||
	    saved->n_devices > SEATD_MAX_DEVICES || saved->next_device_id < 0 ||
	    (size_t)size < offsetof(struct saved_client, devices) +
				   saved->n_devices * sizeof(struct saved_device))
		return false;
	for (uint32_t i = 0; i < saved->n_devices; i++) {
		const struct saved_device *d = &saved->devices[i];

		if (d->id <= 0 || d->id > saved->next_device_id || d->refs == 0)
			return false;
	}
	return true;
}

/* A connection of the previous devnsd, carried on where it stopped: the
 * seat still open, the devices with the ids the client knows. Their files
 * are the ones the broker took back from the container (broker/state.c).
 * Then the client is told what changed meanwhile, as in any switch. */
static void client_resume(struct seatd_server *srv, const char *name, unsigned id, int *fds,
			  size_t n_fds)
{
	struct container *c = srv->container;
	struct saved_client saved;
	int sock = -1, saved_fd = -1;
	struct seatd_client *cl;
	struct stat st;
	ssize_t size;
	bool live;
	int r;

	for (size_t i = 0; i < n_fds; i++) {
		if (fstat(fds[i], &st) == 0 && S_ISSOCK(st.st_mode) && sock < 0)
			sock = fds[i];
		else if (fstat(fds[i], &st) == 0 && S_ISREG(st.st_mode) && saved_fd < 0)
			saved_fd = fds[i];
		else
			close(fds[i]);
	}
	memset(&saved, 0, sizeof(saved));
	size = saved_fd >= 0 ? pread(saved_fd, &saved, sizeof(saved), 0) : -1;
	if (sock < 0 || !saved_client_is_valid(&saved, size)) {
		log_warning("Stored seatd connection %s is not whole; dropping it", name);
		if (sock >= 0)
			close(sock);
		if (saved_fd >= 0)
			close(saved_fd);
		(void)fd_store_remove(name);
		return;
	}
	r = client_new(srv, sock, saved.pid, id, &cl);
	if (r < 0) {
		log_warning_errno(r, "Cannot take back seatd connection %s", name);
		close(saved_fd);
		(void)fd_store_remove(name);
		return;
	}
	cl->saved_fd = saved_fd;

	if (saved.controlling) {
		r = container_take_control(c, &seatd_controller_ops, cl, false);
		if (r < 0) {
			log_warning_errno(r, "seatd client %u of %s: cannot take control again; disconnecting it",
					  cl->id, c->name);
			client_kill(cl);
			return;
		}
		cl->controlling = true;
		cl->state = saved.state;
		cl->unacked = saved.unacked;
		cl->next_device_id = saved.next_device_id;
		for (uint32_t i = 0; i < saved.n_devices; i++) {
			const struct saved_device *sd = &saved.devices[i];
			struct client_device *d = &cl->devices[cl->n_devices++];
			struct seat_handle *h;

			*d = (struct client_device) {
				.id = sd->id, .devnum = makedev(sd->major, sd->minor),
				.refs = sd->refs, .gone = sd->gone,
			};
			if (d->gone)
				continue;
			r = container_take_device(c, d->devnum, &h);
			if (r < 0) {
				/* Withdrawn meanwhile: only its close is left. */
				log_info("seatd client %u of %s: device %d (%u:%u) is gone: %s", cl->id,
					 c->name, d->id, sd->major, sd->minor, strerror(-r));
				d->gone = true;
			}
		}
	}
	log_info("seatd client %u (pid %d) of %s taken back after a restart, %u devices", cl->id,
		 (int)cl->pid, c->name, cl->n_devices);

	live = seat_container_is_live(c->sc);
	if (cl->state == CLIENT_ENABLED && !live)
		client_disable(cl);
	else if ((cl->state == CLIENT_DISABLED || cl->state == CLIENT_PENDING_DISABLE) && live)
		client_enable(cl);
	client_save(cl);
}

void seatd_server_resume(struct seatd_server *srv)
{
	char prefix[FD_STORE_NAME_MAX + 1];
	size_t cursor = 0, len;
	const char *name;

	len = (size_t)snprintf(prefix, sizeof(prefix), "seatd.%s.", srv->container->name);
	while ((name = fd_store_next_name(prefix, &cursor))) {
		const char *digits = name + len;
		char *end;
		unsigned long id;
		int fds[3];
		size_t n;

		/* seatd.c1.3 is c1's, seatd.c1.x.3 is another container's. */
		if (*digits < '1' || *digits > '9')
			continue;
		id = strtoul(digits, &end, 10);
		if (*end || id > UINT_MAX)
			continue;
		n = fd_store_take(name, fds, ARRAY_SIZE(fds));
		client_resume(srv, name, (unsigned)id, fds, n);
	}
}

/* Every container gets its seatd.sock when it is registered. */
static int seatd_container_attach(struct broker_listener *l, struct container *c)
{
	char socket_path[PATH_MAX];
	struct seatd_server *srv;
	int r;

	snprintf(socket_path, sizeof(socket_path), "%s/" SEATD_SOCKET_NAME, c->endpoint_dir);
	r = seatd_server_new(c, socket_path, &srv);
	if (r < 0)
		return log_error_errno(r, "Cannot listen on %s", socket_path);
	container_set_listener_data(c, l, srv);
	return 0;
}

static void seatd_container_detach(struct broker_listener *l, struct container *c)
{
	seatd_server_free(container_listener_data(c, l));
}

static void seatd_event(struct broker_listener *l, const struct broker_event *ev)
{
	if (ev->type == BROKER_EVENT_CONTAINER_PICKED_UP)
		seatd_server_resume(container_listener_data(ev->container, l));
}

static const struct broker_listener_ops seatd_listener_ops = {
	.name = "seatd",
	.container_attach = seatd_container_attach,
	.container_detach = seatd_container_detach,
	.event = seatd_event,
};

int seatd_transport_listen(struct broker *b)
{
	static struct broker_listener listener = { .ops = &seatd_listener_ops };

	return broker_add_listener(b, &listener);
}
