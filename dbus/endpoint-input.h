/* SPDX-License-Identifier: MIT */
/*
 * The read side of an endpoint connection. devnsd reads the client's socket
 * itself and hands sd-bus one message at a time through a socketpair: sd-bus
 * (252) drops an invalid message without closing the fds that came with it,
 * so any process of a container could otherwise fill devnsd's fd table. A
 * message that carries fds is handed over alone; when sd-bus did not
 * dispatch it, the copies it received are found and closed.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>
#include <systemd/sd-event.h>

/* Larger than any call the endpoint serves, far smaller than sd-bus's own
 * 128 MiB: a connection that sends more is hung up on. */
#define ENDPOINT_MESSAGE_MAX (4u << 20)

struct endpoint_input;

struct endpoint_input_ops {
	/* Lets sd-bus read and dispatch everything handed over so far.
	 * Returns < 0 when the connection is gone. */
	int (*process)(void *userdata);
	/* The client broke the protocol or hung up: drop the connection. */
	void (*hang_up)(void *userdata, const char *why);
};

/* Takes client_fd. *ret_bus_input is the socket sd-bus reads from, and
 * *ret_bus_output a duplicate of client_fd for sd-bus to write to (sd-event
 * watches each fd once); both are the caller's to give to sd_bus_set_fd(). */
int endpoint_input_new(sd_event *event, int client_fd, const struct endpoint_input_ops *ops,
		       void *userdata, struct endpoint_input **ret, int *ret_bus_input,
		       int *ret_bus_output);
/* Stops reading and closes what it holds. Accepts NULL. */
void endpoint_input_free(struct endpoint_input *in);
/* To be called from an sd-bus filter for every message sd-bus dispatches:
 * that is how a message handed over with fds is known to be in sd-bus's
 * care. */
void endpoint_input_dispatched(struct endpoint_input *in, sd_bus_message *m);

/* The size of the D-Bus message whose first 16 bytes are at hdr, and its
 * serial. -EBADMSG for a byte order that does not exist, -EMSGSIZE above
 * ENDPOINT_MESSAGE_MAX. */
int endpoint_message_size(const uint8_t hdr[16], size_t *ret_size, uint32_t *ret_serial);
