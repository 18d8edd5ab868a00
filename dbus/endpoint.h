/* SPDX-License-Identifier: MIT */
/*
 * The container's own D-Bus endpoint: a peer-to-peer socket (no bus daemon)
 * at <runtime>/containers/<name>/bus, serving the container object at its
 * path and at .../container/self, and its seat read-only. A peer is admitted
 * by its pid namespace: the container's, or one below it.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>
#include <systemd/sd-bus.h>

struct dbus_container;
struct endpoint;

int endpoint_new(struct dbus_container *dc, const char *socket_path, struct endpoint **ret);
/* The uid of the peer on bus, one of ep's connections (SO_PEERCRED, as
 * we see it). -ENOTCONN when bus is none of them. */
int endpoint_peer_uid(struct endpoint *ep, sd_bus *bus, uid_t *ret);
/* Closes every connection and removes the socket. Accepts NULL. */
void endpoint_free(struct endpoint *ep);
/* Something was sent on the endpoint's connections: a client that does
 * not read its backlog is hung up on (from the event loop). */
void endpoint_check_backlog(struct endpoint *ep);
void endpoint_emit_properties_changed(struct endpoint *ep, const char *path,
				      const char *interface, const char *property);
/* The switch's changes as this endpoint shows them: Active, Devices or
 * both of its container (at both paths, container_dbus_emit_switched()),
 * and ActiveContainer of its scoped seat. */
void endpoint_emit_switched(struct endpoint *ep, bool active, bool devices);
void endpoint_emit_seat_active_changed(struct endpoint *ep);
