/* SPDX-License-Identifier: MIT */
/*
 * Outputs by DRM lease: a container registered with Outputs gets, where it
 * takes the card they are on, a lease of them (drm/lease.h) instead of the
 * card, live whether or not it is active. devnsd is the lessor: it keeps a
 * file of the card of its own, master for as long as any lease of that card
 * exists, which also keeps every other container from becoming master of it.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct broker;
struct broker_seat;
struct container;
struct seat_device;
struct seat_handle;

/* At most this many outputs per container. */
#define CONTAINER_OUTPUTS_MAX 8

/* Connector names as the kernel gives them: 1 to 32 of [A-Za-z0-9-]. */
bool output_name_is_valid(const char *name);

/* Checks names for a container of the seat bs: each a connector of one of
 * the seat's cards, all on the same card (its sysname in *ret_card, which
 * the caller frees), none twice, none another container's. 0, or -EINVAL
 * (a bad name, one given twice, or too many), -ENOENT (no such connector),
 * -EXDEV (on different cards), -EBUSY (another container's). On an error
 * *ret_name is the name at fault. */
int outputs_check(struct broker *b, struct broker_seat *bs, char *const *names, size_t n,
		  char **ret_card, const char **ret_name);

/* c's handles of the card d are leases. */
bool container_has_outputs_on(const struct container *c, const struct seat_device *d);

/* The container an output of the seat is leased to, or NULL. */
struct container *outputs_owner(struct broker_seat *bs, const char *name);

/* Every connector of the seat's cards, in udev's order. */
int outputs_foreach(struct broker_seat *bs,
		    void (*fn)(const char *connector, struct container *owner, void *userdata),
		    void *userdata);

/* The seat's handle_open and handle_close of a lease handle: h->fd becomes
 * the lessee's file, made master of the container's outputs. */
int broker_lease_open(struct broker *b, struct seat_handle *h);
void broker_lease_close(struct broker *b, struct seat_handle *h);
/* Closes every lessor file (broker_free(): no lease is left). */
void broker_lessors_free(struct broker *b);
