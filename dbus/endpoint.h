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
struct endpoint_conn;

int endpoint_new(struct dbus_container *dc, const char *socket_path, struct endpoint **ret);
/* The uid of the peer on bus, one of ep's connections (SO_PEERCRED, as
 * we see it). -ENOTCONN when bus is none of them. */
int endpoint_peer_uid(struct endpoint *ep, sd_bus *bus, uid_t *ret);
/* Closes every connection and removes the socket. Accepts NULL. */
void endpoint_free(struct endpoint *ep);
/* Something was sent on the endpoint's connections: what does not fit
 * in a client's socket waits for it to read, and a client that does not
 * read its backlog is hung up on (from the event loop). */
void endpoint_check_backlog(struct endpoint *ep);
/* For an answer to the call m sent later, outside the dispatch of its
 * connection (Activate's, when the switch is done): m's connection on ep,
 * referenced, or NULL if it is none of ep's. */
struct endpoint_conn *endpoint_conn_of_call(struct endpoint *ep, sd_bus_message *m);
/* After that answer went to sd-bus: as endpoint_check_backlog() for its
 * connection, if it is still up; drops the reference. Accepts NULL. */
void endpoint_conn_sent_unref(struct endpoint_conn *conn);
void endpoint_emit_properties_changed(struct endpoint *ep, const char *path,
				      const char *interface, const char *property);
/* The switch's changes as this endpoint shows them: Active, Devices or
 * both of its container (at both paths, container_dbus_emit_switched()),
 * and ActiveContainer of its scoped seat. */
void endpoint_emit_switched(struct endpoint *ep, bool active, bool devices);
void endpoint_emit_seat_active_changed(struct endpoint *ep);
