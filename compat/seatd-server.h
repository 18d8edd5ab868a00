/* SPDX-License-Identifier: MIT */
/*
 * A container's seatd endpoint: <runtime>/containers/<name>/seatd.sock,
 * where an unmodified libseat client (LIBSEAT_BACKEND=seatd) inside the
 * container opens its seat. A client that opens the seat becomes the
 * container's controller, through the same seat state machine as a D-Bus
 * controller (struct controller_ops): disable-seat is the pause of a switch,
 * its acknowledgement is PauseDeviceComplete for every device, enable-seat
 * the resume, and open-device is TakeDevice of the device that the path
 * names inside the container's root.
 *
 * Peers are admitted by pid namespace (broker/peer.h), as on the D-Bus
 * endpoint: the container's, or one below it.
 */
#pragma once

struct broker;
struct container;
struct seatd_server;

#define SEATD_SOCKET_NAME "seatd.sock"

/* Gives every container a seatd.sock from now on; before broker_start(). */
int seatd_transport_listen(struct broker *b);

int seatd_server_new(struct container *c, const char *socket_path, struct seatd_server **ret);
/* Closes every connection and removes the socket. Accepts NULL. The
 * container has released its controller before. */
void seatd_server_free(struct seatd_server *s);
/* Takes back the connections of the server's container that a previous
 * devnsd kept in the fd store (common/fd-store.h), and carries each on
 * where it stopped; on BROKER_EVENT_CONTAINER_PICKED_UP. */
void seatd_server_resume(struct seatd_server *s);
