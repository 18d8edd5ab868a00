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
#include <stdint.h>

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

/* After a restart: the lessor files the previous devnsd kept in the fd
 * store, before any container's files are taken back. */
void broker_lessors_take_back(struct broker *b);
/* Whether devnsd holds a lessor file of d (its card files then get no
 * master). */
bool broker_card_has_lessor(struct broker *b, const struct seat_device *d);
/* After a restart: h, a lease handle adopted from the fd store, is the
 * lease lessee of the lessor taken back: 0, or -ENOENT when there is no
 * such lessor or h's file is no lease of it. */
int broker_lease_adopt(struct broker *b, struct seat_handle *h, uint32_t lessee);
/* The lessee id of a lease handle, 0 for none. */
uint32_t broker_lease_lessee(const struct seat_handle *h);
/* The card d changed (a udev change event): every lease of it that lost an
 * object (a connector gone with its monitor, on DisplayPort MST) ends, and
 * its container is told the card is gone, as on removal. Returns how many
 * leases ended. */
int broker_card_changed(struct broker *b, struct seat_device *d);

/* After the containers are picked up: lessor files that no lease was
 * taken back for are closed, and the live container's card file of that
 * card gets master; of a lessor kept, every lease no container took back
 * is revoked. */
void broker_lessors_gc(struct broker *b);
