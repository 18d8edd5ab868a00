/* SPDX-License-Identifier: MIT */
/* Marshalling between D-Bus and the broker: vtables, property getters,
 * argument checks and signals. The logic lives in broker/ and seat/. */
#pragma once

#include <stdbool.h>
#include <systemd/sd-bus.h>

#include "broker/broker.h"
#include "broker/container.h"

#define MANAGER_INTERFACE "org.devns.broker1.Manager"
#define SEAT_INTERFACE "org.devns.broker1.Seat"
#define CONTAINER_INTERFACE "org.devns.broker1.Container"

extern const sd_bus_vtable manager_vtable[];
extern const sd_bus_vtable seat_vtable[];
extern const sd_bus_vtable container_vtable[];

/* Registers every object on the broker's bus (manager-dbus.c). */
int manager_dbus_register(struct broker *b);
void manager_dbus_emit_container(struct container *c, bool added);
void manager_dbus_emit_seat(struct broker_seat *bs, bool added);

/* Property changes on the bus and on every endpoint that shows the object. */
void seat_dbus_emit_changed(struct broker_seat *bs, const char *property);
void container_dbus_emit_changed(struct container *c, const char *property);

/* An endpoint connection closed: control ends if it was the controller. */
void container_dbus_connection_gone(struct container *c, sd_bus *bus);

/* Method-call helpers shared by the vtables. */
bool bus_is_broker_bus(struct broker *b, sd_bus_message *m);
/* 1 if the caller may change state, else AccessDenied set and < 0. */
int bus_check_privileged(struct broker *b, sd_bus_message *m, sd_bus_error *error);
int bus_reply_switch(sd_bus_message *m, int r);

int seat_dbus_find(sd_bus *bus, const char *path, const char *interface,
		   void *userdata, void **found, sd_bus_error *error);
