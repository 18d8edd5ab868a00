/* SPDX-License-Identifier: MIT */
/* Reads the properties devnsctl shows with one Properties.GetAll call per
 * object and copies them into plain structs, so printing code never touches
 * a message. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <systemd/sd-bus.h>

#define DEVNS_BUS_NAME "org.devns.broker1"
#define DEVNS_MANAGER_PATH "/org/devns/broker1"
#define DEVNS_MANAGER_IFACE "org.devns.broker1.Manager"
#define DEVNS_SEAT_PREFIX "/org/devns/broker1/seat"
#define DEVNS_SEAT_IFACE "org.devns.broker1.Seat"
#define DEVNS_CONTAINER_PREFIX "/org/devns/broker1/container"
#define DEVNS_CONTAINER_SELF "/org/devns/broker1/container/self"
#define DEVNS_CONTAINER_IFACE "org.devns.broker1.Container"

/* A (so) pair: a name and its object path. */
struct name_path {
	char *name;
	char *path;
};

struct name_path_list {
	struct name_path *items;
	size_t n;
};

struct manager_info {
	char *version;
	bool kernel_devns;
	char *runtime_directory;
};

struct seat_device {
	char *sysname;
	uint32_t major;
	uint32_t minor;
	char *type;
};

struct seat_device_list {
	struct seat_device *items;
	size_t n;
};

/* An (ss) pair of the seat's Outputs: a connector and the container it is
 * leased to, "" when none. */
struct seat_output {
	char *connector;
	char *container;
};

struct seat_output_list {
	struct seat_output *items;
	size_t n;
};

struct seat_info {
	char *id;
	struct name_path active_container;
	struct name_path_list containers;
	struct seat_device_list devices;
	bool can_graphical;
	struct seat_output_list outputs;
};

struct container_device {
	uint32_t major;
	uint32_t minor;
	char *type;
	bool paused;
};

struct container_device_list {
	struct container_device *items;
	size_t n;
};

struct string_list {
	char **items;
	size_t n;
};

struct container_info {
	char *name;
	struct name_path seat;
	uint32_t leader;
	bool active;
	bool controlled;
	struct container_device_list devices;
	char *binder_device; /* "" or NULL: none */
	struct string_list loop_devices;
};

int manager_info_get(sd_bus *bus, struct manager_info *ret,
		     sd_bus_error *error);
int seat_info_get(sd_bus *bus, const char *path, struct seat_info *ret,
		  sd_bus_error *error);
int container_info_get(sd_bus *bus, const char *path,
		       struct container_info *ret, sd_bus_error *error);

/* These free what the struct holds, not the struct, and zero it. */
void manager_info_clear(struct manager_info *i);
void seat_info_clear(struct seat_info *i);
void container_info_clear(struct container_info *i);
