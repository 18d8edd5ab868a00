/* SPDX-License-Identifier: MIT */
/* Registering containers, and "devnsctl run": a command started as a
 * container of its own, the way seatd-launch starts a compositor. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

/* devnsd's limit on the Outputs option. */
#define REGISTER_OUTPUTS_MAX 8

struct register_options {
	const char *name;
	const char *seat;   /* NULL or "": the broker's default, seat0 */
	int allow_activate; /* -1: not given, the broker's default */
	bool login1;        /* the login1 facade, for login1_user */
	int64_t login1_user;
	int64_t control_user; /* -1: not given, anyone in the container */
	char **outputs;       /* NULL-terminated connector names; none: NULL or empty */
};

/* Calls RegisterContainer for the pid namespace of leader; *ret_path, if
 * given, receives the new object path. */
int register_container(sd_bus *bus, const struct register_options *o,
		       uint32_t leader, char **ret_path, sd_bus_error *error);

/* Runs cmd (NULL-terminated) in new pid and mount namespaces, registered as
 * container o->name while it runs, with the container's endpoint directory
 * at /run/devns; with o->login1, with a system bus of its own on which the
 * broker serves org.freedesktop.login1 before cmd starts; with confine, in a cgroup of its own that keeps it from
 * opening the devices the broker hands out (ctl/run-cgroup.h). Returns the
 * exit status for devnsctl: the command's (128 + the signal when it was
 * killed), 126 or 127 when it could not be executed, 1 when anything before
 * that failed (already reported on stderr). */
int run_container(sd_bus *bus, const struct register_options *o,
		  bool confine, char **cmd);
