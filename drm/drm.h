/* SPDX-License-Identifier: MIT */
/*
 * DRM master, the only DRM state the broker manages. Master belongs to an
 * open file, not a process: whoever opens a primary node while no master
 * exists becomes master, and since Linux 5.8 only CAP_SYS_ADMIN may set or
 * drop it on a file it did not open as master. So the broker opens every
 * card itself, hands that same open file to the container, and moves master
 * between files; a container can never take it back on its own.
 * All functions return 0 or a negative errno and never log.
 */
#pragma once

#include <stdbool.h>

int drm_set_master(int fd);
int drm_drop_master(int fd);
bool drm_is_master(int fd);
