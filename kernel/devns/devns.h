/* SPDX-License-Identifier: GPL-2.0 */
/*
 * devns: the interface for other drivers.
 *
 * A device namespace is bound to one pid namespace. A task belongs to the
 * device namespace of its pid namespace or, failing that, of the nearest
 * ancestor pid namespace that has one. At most one namespace per seat is
 * active; drivers that have no revoke of their own (framebuffers, LEDs,
 * backlights, ...) hold back what a background namespace does and replay it
 * when the namespace becomes active. They learn about switches through a
 * notifier chain whose callbacks may sleep.
 */
#ifndef _DEVNS_H
#define _DEVNS_H

#include <linux/notifier.h>
#include <linux/types.h>

struct devns;

/**
 * enum devns_event - notifier events; the notifier data is the struct devns
 * @DEVNS_EVENT_CREATE: a namespace was created
 * @DEVNS_EVENT_DESTROY: a namespace was destroyed (by request, because its
 *	pid namespace ended, or at module unload); if it was active,
 *	%DEVNS_EVENT_DEACTIVATE came first. The struct stays valid for
 *	holders of a reference, but it is no longer found.
 * @DEVNS_EVENT_ACTIVATE: the namespace became the active one of its seat
 * @DEVNS_EVENT_DEACTIVATE: the namespace stopped being active
 *
 * Events are delivered one at a time, in order: a switch from A to B is
 * %DEVNS_EVENT_DEACTIVATE for A, then %DEVNS_EVENT_ACTIVATE for B, and
 * no namespace of the seat is active in between.
 */
enum devns_event {
	DEVNS_EVENT_CREATE = 1,
	DEVNS_EVENT_DESTROY,
	DEVNS_EVENT_ACTIVATE,
	DEVNS_EVENT_DEACTIVATE,
};

int devns_register_notifier(struct notifier_block *nb);
int devns_unregister_notifier(struct notifier_block *nb);

struct devns *devns_get_current(void);
struct devns *devns_get(struct devns *ns);
void devns_put(struct devns *ns);

bool devns_is_active(const struct devns *ns);
u32 devns_id(const struct devns *ns);
const char *devns_name(const struct devns *ns);
const char *devns_seat(const struct devns *ns);

#endif /* _DEVNS_H */
