/* SPDX-License-Identifier: MIT */
/* A private binder device per container, from a pool of binder_linux
 * devices (see binder.c). */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "common/list.h"

struct broker;
struct container;

struct binder_device {
	char *name; /* "binder2" */
	char *node; /* "/dev/binder2" */
	dev_t devnum;
	struct container *owner; /* NULL: free */
	unsigned handed_out;     /* times given to a container */
	struct list link;        /* broker->binder->devices */
};

struct binder_pool {
	struct list devices; /* struct binder_device, in name order */
};

/* Fills the pool from udev: every misc device binder*, or those that
 * [Binder] Devices= names. Finding none is fine; the containers go
 * without. */
int broker_binder_start(struct broker *b);
void broker_binder_free(struct broker *b);
/* One device of the pool. */
int broker_binder_add(struct broker *b, const char *name, const char *node, dev_t devnum);

/* True if some process has the device open or mapped (/proc). */
bool binder_device_is_held(dev_t devnum);

/* Gives c a free device of the pool. wanted: NULL for any; after a restart,
 * the name c had ("" for none), which is given back without the check for
 * holders (c's own processes hold it). No device is not an error: c goes
 * without one (c->binder NULL). */
void container_binder_assign(struct container *c, const char *wanted);
/* The device returns to the pool (see binder.c for when it is reused). */
void container_binder_release(struct container *c);
/* The host path of c's device, "" when it has none. */
const char *container_binder_node(const struct container *c);
