/* SPDX-License-Identifier: MIT */
/*
 * evdev revocation. EVIOCREVOKE is one-way: the open file stays dead
 * (reads and ioctls fail with ENODEV), so "resume" means a fresh open.
 * Revoking the broker's copy revokes the container's too: it is the same
 * open file, passed over a socket. Return 0 or a negative errno, never log.
 */
#pragma once

#include <stdbool.h>

int evdev_revoke(int fd);
/* False once the file is revoked or the device is gone. */
bool evdev_is_live(int fd);
