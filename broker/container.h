/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

#include "broker/peer.h"
#include "common/list.h"
#include "seat/seat.h"

struct broker;
struct broker_seat;
struct endpoint;

/* Who controls a container: a connection on the broker's bus (sender set)
 * or a connection to the container's own endpoint (sender NULL). */
struct controller {
	sd_bus *bus;
	char *sender;
	sd_bus_track *track;
};

struct container {
	struct broker *broker;
	struct broker_seat *seat;
	struct seat_container *sc; /* the policy side; sc->userdata is this */
	char *name;
	char *path; /* D-Bus object path */

	pid_t leader;
	int pidfd;
	sd_event_source *leader_source;
	struct pidns_id pidns;
	bool allow_activate;

	char *endpoint_dir;
	struct endpoint *endpoint;
	struct controller controller;

	struct list link; /* broker->containers */
};

struct container_options {
	bool allow_activate;
};

int container_new(struct broker *b, const char *name, struct broker_seat *seat,
		  pid_t leader, const struct container_options *opts,
		  struct container **ret);
/* Releases everything and removes the endpoint; announces the removal. */
void container_free(struct container *c);

bool container_is_active(const struct container *c);

int container_take_control(struct container *c, sd_bus *bus, const char *sender, bool force);
int container_release_control(struct container *c, sd_bus *bus, const char *sender);
/* The connection went away: drop control if it held it. */
void container_connection_gone(struct container *c, sd_bus *bus, const char *sender);
int container_check_controller(struct container *c, sd_bus *bus, const char *sender);

int container_take_device(struct container *c, sd_bus *bus, const char *sender,
			  dev_t devnum, int *ret_fd, bool *ret_inactive);
int container_release_device(struct container *c, sd_bus *bus, const char *sender,
			     dev_t devnum);
int container_pause_device_complete(struct container *c, sd_bus *bus,
				    const char *sender, dev_t devnum);

/* To the controller only (broker/container.c sends, dbus/ marshals). */
void container_notify_pause(struct container *c, struct seat_handle *h,
			    enum seat_pause_type type);
void container_notify_resume(struct container *c, struct seat_handle *h);
