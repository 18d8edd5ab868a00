/* SPDX-License-Identifier: MIT */
/*
 * Signals whose content never changes, built once and sent again each time
 * the same change recurs: a switch toggles the same few values (Active,
 * ActiveContainer) back and forth, and building a message in sd-bus costs
 * many times more than writing it. A sealed message may be sent on any
 * connection; its serial needs only to be non-zero, since no reply ever
 * refers to a signal.
 */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <systemd/sd-bus.h>

/* A new PropertiesChanged of one property, its value given as for
 * sd_bus_message_append() with the property's type (e.g. "b", "(so)");
 * made on bus (only its settings count: it may be sent on others). */
int properties_changed_new(sd_bus *bus, sd_bus_message **ret, const char *path,
			   const char *interface, const char *property, const char *type, ...);
int properties_changed_newv(sd_bus *bus, sd_bus_message **ret, const char *path,
			    const char *interface, const char *property, const char *type,
			    va_list ap);

/* The same with any number of properties: begin, then for each property
 * open its entry, append its value, close the entry; then end. */
int properties_changed_begin(sd_bus *bus, sd_bus_message **ret, const char *path,
			     const char *interface);
int properties_changed_open_entry(sd_bus_message *m, const char *property, const char *type);
int properties_changed_close_entry(sd_bus_message *m);
int properties_changed_end(sd_bus_message *m);

/* Sends *slot on bus, building it first with properties_changed_new()
 * when it is NULL. 0 or a negative errno. */
int signal_cache_send_changed(sd_bus_message **slot, sd_bus *bus, const char *path,
			      const char *interface, const char *property, const char *type, ...);

/* Unrefs every message of an array of slots. */
void signal_cache_clear(sd_bus_message **slots, unsigned n);
