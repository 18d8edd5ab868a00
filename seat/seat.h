/* SPDX-License-Identifier: MIT */
/*
 * The seat state machine: which container of a seat is active, which devices
 * each container's controller holds, and the order of a switch.
 *
 * This file decides; it does nothing. Every effect (an ioctl, a signal to a
 * controller, a timer) is a call through struct seat_ops, implemented by the
 * broker and by fakes in the unit tests. So every transition is testable
 * without devices, and the D-Bus and seatd transports share one machine.
 *
 * Switch from A to B (the order of the contract):
 *   1. A's evdev handles are revoked and reported paused ("force").
 *   2. A's DRM handles get a "pause" request; the seat waits for every
 *      acknowledgement or the pause timeout, then drops master on each.
 *   3. The kernel's active device namespace becomes B's.
 *   4. B's DRM handles get master, its evdev handles fresh fds, and only
 *      when all succeeded is each reported resumed.
 *   5. The active container changes and the request completes.
 * A failure in 3 or 4 leaves the seat with no active container.
 *
 * A container with outputs (RegisterContainer's Outputs) gets a DRM lease of
 * them where others get the card: its handle of that card is a lease, live
 * whether or not the container is active, so a switch leaves it alone and
 * moves input only. The lessor is the broker, which must stay master of the
 * card while any lease of it exists (a lessee is master only while its
 * lessor is): meanwhile no other handle of the card gets master.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/list.h"

enum seat_device_type {
	SEAT_DEVICE_DRM,
	SEAT_DEVICE_EVDEV,
};

enum seat_handle_state {
	SEAT_HANDLE_LIVE,    /* master held / input flowing */
	SEAT_HANDLE_PAUSING, /* pause requested, waiting for the controller */
	SEAT_HANDLE_PAUSED,  /* master dropped / input revoked */
};

enum seat_pause_type {
	SEAT_PAUSE_PAUSE, /* please acknowledge */
	SEAT_PAUSE_FORCE, /* already paused */
	SEAT_PAUSE_GONE,  /* device removed */
};

enum seat_switch_kind {
	SEAT_SWITCH_TO,   /* to a given container, or to none */
	SEAT_SWITCH_NEXT, /* registration order, wrapping */
	SEAT_SWITCH_PREVIOUS,
};

struct seat;
struct seat_container;

struct seat_device {
	struct seat *seat;
	char *sysname;
	dev_t devnum;
	enum seat_device_type type;
	unsigned leases; /* lease handles of this card */
	struct list link; /* seat->devices */
	void *userdata;
};

/* A device taken by a container's controller. */
struct seat_handle {
	struct seat_container *container;
	struct seat_device *device;
	enum seat_handle_state state;
	int fd; /* the open file; managed by the ops, -1 when none */
	/* A DRM lease of the container's outputs: always live, never paused
	 * or resumed (ops->device_leased said so when it was taken). */
	bool lease;
	/* Taken back from the container after a restart and not claimed by
	 * a controller since: TakeDevice hands out this same file. */
	bool adopted;
	struct list link; /* container->handles */
	void *userdata;
};

struct seat_container {
	struct seat *seat;
	char *name;
	bool controlled;
	struct list handles;
	/* Changes whenever a handle is added or removed: what a transport
	 * built from the list stays good while this is the same. */
	unsigned handles_version;
	struct list link; /* seat->containers, in registration order */
	void *userdata;
};

struct seat_ops {
	/* Device side: return 0 or a negative errno. */
	int (*handle_open)(void *ud, struct seat_handle *h, bool live);
	void (*handle_close)(void *ud, struct seat_handle *h);
	int (*handle_revoke)(void *ud, struct seat_handle *h);
	int (*handle_drop_master)(void *ud, struct seat_handle *h);
	int (*handle_set_master)(void *ud, struct seat_handle *h);
	int (*handle_reopen)(void *ud, struct seat_handle *h);
	/* c's handle of d is a lease of its outputs (NULL: never). */
	bool (*device_leased)(void *ud, struct seat_container *c, struct seat_device *d);
	/* Step 3: make c (NULL for none) the kernel's active namespace. */
	int (*kernel_activate)(void *ud, struct seat *s, struct seat_container *c);

	/* Controller side. */
	void (*notify_pause)(void *ud, struct seat_handle *h, enum seat_pause_type type);
	void (*notify_resume)(void *ud, struct seat_handle *h);
	/* A handle whose controller did not acknowledge in time. */
	void (*pause_forced)(void *ud, struct seat_handle *h);
	/* Some of c's handles went from live to paused (or pausing), or back:
	 * once per step, after its notifications. For the leaving container
	 * of a switch s->pending_acks is already counted: nonzero, the seat
	 * now waits for the controller. */
	void (*handles_changed)(void *ud, struct seat_container *c);

	/* Broker: arm (usec > 0) or disarm (0) the pause timeout, after which
	 * it calls seat_pause_timeout(). */
	void (*timer_set)(void *ud, struct seat *s, uint64_t usec);
	/* A switch request finished: r is 0 or the failure. */
	void (*switch_done)(void *ud, struct seat *s, void *cookie, int r);
	/* s->active changed from old. */
	void (*active_changed)(void *ud, struct seat *s, struct seat_container *old);
};

struct seat {
	char *id;
	struct list devices;
	struct list containers;
	struct list requests; /* queued switch requests, oldest first */

	struct seat_container *active;

	/* The running switch, NULL when idle. */
	struct seat_request *current;
	struct seat_container *leaving; /* being paused in step 2 */
	unsigned pending_acks;

	uint64_t pause_timeout_usec;
	const struct seat_ops *ops;
	void *ud;
	void *userdata;
};

int seat_new(struct seat **ret, const char *id, const struct seat_ops *ops, void *ud);
/* Containers and devices must have been removed first. */
void seat_free(struct seat *s);
void seat_set_pause_timeout(struct seat *s, uint64_t usec);

int seat_add_device(struct seat *s, const char *sysname, dev_t devnum,
		    enum seat_device_type type, struct seat_device **ret);
struct seat_device *seat_find_device(struct seat *s, dev_t devnum);
/* Withdraws the device from every holder ("gone") and frees it. */
void seat_remove_device(struct seat_device *d);

int seat_add_container(struct seat *s, const char *name, struct seat_container **ret);
/* Releases everything c holds; if it was active the seat ends with none. */
void seat_remove_container(struct seat_container *c);
struct seat_container *seat_find_container(struct seat *s, const char *name);
struct seat_container *seat_container_nth(struct seat *s, unsigned n);

/* Whether h's file holds master when live: a card handle that is no
 * lease, on a card without leases. */
bool seat_handle_gets_master(const struct seat_handle *h);
/* The broker no longer holds master of the card d for leases (the last
 * lease went, or a lessor taken back after a restart had none left): the
 * live container's file of it gets master. A failure leaves it without,
 * as a refused SET_MASTER would. */
void seat_device_leases_end(struct seat_device *d);

/* True when c's devices are live: it is active and not being paused. */
bool seat_container_is_live(const struct seat_container *c);

/* Controller: the transport decides who; the seat knows whether. Losing
 * control releases every device. */
int seat_container_take_control(struct seat_container *c);
void seat_container_release_control(struct seat_container *c);

/* A new handle opened through ops->handle_open, or the adopted one. */
int seat_container_take_device(struct seat_container *c, dev_t devnum,
			       struct seat_handle **ret);
/* After a restart: a file the container still has open becomes a handle
 * again (without a controller), in the state the broker brought it to. */
int seat_container_adopt(struct seat_container *c, struct seat_device *d, int fd,
			 enum seat_handle_state state, struct seat_handle **ret);
/* After a restart: the active container as it was, no switch run; the
 * caller has brought every adopted handle to the matching state. */
void seat_restore_active(struct seat *s, struct seat_container *c);
struct seat_handle *seat_container_find_handle(struct seat_container *c, dev_t devnum);
void seat_handle_release(struct seat_handle *h);
/* What h gave access to is gone (a lease whose connector went away): its
 * container is told "gone", as for a removed device, and h is released. */
void seat_handle_gone(struct seat_handle *h);
/* The controller acknowledged a "pause"; other calls are ignored. */
void seat_handle_pause_complete(struct seat_handle *h);
/* A live evdev handle whose file the container misused (EVIOCGRAB): the
 * file is revoked, which ends the grab, and a fresh one handed over, with
 * PauseDevice(force) and ResumeDevice as in a switch. -EINVAL for any other
 * handle (a switch away has revoked them all already), or the error of
 * reopening (the handle then stays paused). */
int seat_handle_refresh(struct seat_handle *h);

/* Queues a switch; ops->switch_done(cookie, r) reports its end, possibly
 * before this returns. Returns a negative errno only when nothing was queued. */
int seat_switch(struct seat *s, enum seat_switch_kind kind,
		struct seat_container *target, void *cookie);
void seat_pause_timeout(struct seat *s);

/* The seat has a DRM card (logind's CanGraphical). */
bool seat_can_graphical(const struct seat *s);

const char *seat_device_type_to_string(enum seat_device_type t);
const char *seat_pause_type_to_string(enum seat_pause_type t);
