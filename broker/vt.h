/* SPDX-License-Identifier: MIT */
/*
 * The console on a seat with VTs (seat0). While containers own the screen,
 * devnsd holds a VT in graphics mode with its keyboard off, so the kernel
 * console neither draws over them nor reads their keys.
 */
#pragma once

#include "broker/config.h"

struct vt;

/* Takes the VT the configuration names; *ret is NULL for VT=no, or when
 * the machine has no VTs (VT=auto). */
int vt_take(const struct config *c, struct vt **ret);
/* Text mode, keyboard and the VT that was active before. Accepts NULL. */
void vt_restore(struct vt *vt);
int vt_number(const struct vt *vt);
