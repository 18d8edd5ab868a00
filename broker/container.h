/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-event.h>

#include "broker/events.h"
#include "broker/peer.h"
#include "common/list.h"
#include "seat/seat.h"

struct binder_device;
struct broker;
struct broker_seat;

/* The transport of a container's controller: the D-Bus session API (on the
 * broker's bus or the container's endpoint) or the seatd protocol. The seat
 * state machine is the same for both; only how a pause or resume reaches
 * the controller differs. */
struct controller_ops {
	const char *name;
	void (*pause)(struct container *c, void *data, struct seat_handle *h,
		      enum seat_pause_type type);
	void (*resume)(struct container *c, void *data, struct seat_handle *h);
	/* The container became active (after every resume) or inactive. */
	void (*activated)(struct container *c, void *data, bool active);
	/* Control ended (released, replaced, disconnected, unregistered):
	 * the transport forgets data. Called after the devices are gone. */
	void (*released)(struct container *c, void *data);
};

struct container {
	struct broker *broker;
	struct broker_seat *seat;
	struct seat_container *sc; /* the policy side; sc->userdata is this */
	char *name;

	pid_t leader;
	int pidfd;
	/* Field 22 of the leader's /proc/PID/stat, read once: it cannot
	 * change while pidfd pins the leader. */
	unsigned long long leader_start;
	uint32_t kernel_id; /* the devns module's namespace, 0 for none */
	sd_event_source *leader_source;
	struct pidns_id pidns;
	bool allow_activate;

	/* <runtime>/containers/<name>: each transport puts its socket here. */
	char *endpoint_dir;
	const struct controller_ops *controller_ops; /* NULL: no controller */
	void *controller_data;

	/* Outputs: connectors of outputs_card leased to it (broker/outputs.h);
	 * n_outputs 0 and outputs_card NULL for none. */
	char **outputs;
	size_t n_outputs;
	char *outputs_card;

	struct binder_device *binder; /* NULL: none (broker/binder.h) */
	struct list loops;            /* struct loop_device (broker/loop.h) */

	/* The listeners' options it was registered with (broker/events.h). */
	struct broker_option_value options[BROKER_MAX_OPTIONS];
	unsigned n_options;

	void *listener_data[BROKER_MAX_LISTENERS];
	char *listener_status[BROKER_MAX_LISTENERS];
	unsigned n_attached; /* listeners attached, in order */

	struct list link; /* broker->containers */
};

struct container_options {
	bool allow_activate;
	/* After a restart: the devns module's namespace made before it. */
	uint32_t kernel_id;
	/* After a restart: the binder device it had ("" for none); NULL
	 * gives it any free one. */
	const char *binder;
	/* Connector names of the seat's card (broker/outputs.h), checked by
	 * container_new(). */
	char *const *outputs;
	size_t n_outputs;
	/* The listeners' options (broker_find_option()), each at most once. */
	struct broker_option_value values[BROKER_MAX_OPTIONS];
	unsigned n_values;
};

/* Sets an option in opts, replacing an earlier value of it. */
int container_options_set(struct container_options *opts, const struct broker_option *option,
			  uint32_t value);

int container_new(struct broker *b, const char *name, struct broker_seat *seat,
		  pid_t leader, const struct container_options *opts,
		  struct container **ret);
/* Announces the removal, releases everything and removes the endpoint
 * directory. */
void container_free(struct container *c);

bool container_is_active(const struct container *c);

/* ControlUser, when the container was registered with it, lets only
 * that uid and root of the container take control. For a peer of an
 * endpoint socket: peer_uid as SO_PEERCRED shows it, mapped through the
 * leader's user namespace. 0 or -EPERM. */
int container_check_control_uid(const struct container *c, uid_t peer_uid);
/* The same for a uid as the container sees it (the login1 facade's
 * callers, named by the container's own bus daemon). */
bool container_control_uid_allowed(const struct container *c, uid_t uid);

/* Makes (ops, data) the controller; -EBUSY if another one is, unless force
 * replaces it. The caller has checked who is asking. */
int container_take_control(struct container *c, const struct controller_ops *ops,
			   void *data, bool force);
/* Releases every device and ends control. No-op without a controller. */
void container_release_control(struct container *c);
bool container_controlled_by(const struct container *c, const struct controller_ops *ops,
			     const void *data);

/* Device requests of the controller; the caller checked it is the one. */
int container_take_device(struct container *c, dev_t devnum, struct seat_handle **ret);
int container_release_device(struct container *c, dev_t devnum);
int container_pause_device_complete(struct container *c, dev_t devnum);
/* Every device waiting for an acknowledgement is acknowledged (seatd's
 * disable-seat acknowledgement covers all devices at once). */
void container_pause_complete_all(struct container *c);

/* From the seat state machine, to the controller's transport. */
void container_notify_pause(struct container *c, struct seat_handle *h,
			    enum seat_pause_type type);
void container_notify_resume(struct container *c, struct seat_handle *h);
void container_notify_activated(struct container *c, bool active);

/* A container changed in a way clients see (broker/events.h). */
void container_announce(struct container *c, enum broker_event_type type);
