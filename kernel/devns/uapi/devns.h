/* SPDX-License-Identifier: (GPL-2.0 WITH Linux-syscall-note) OR MIT */
/*
 * devns: device namespaces for containers, control node ABI.
 *
 * /dev/devns (root only) creates and destroys device namespaces, each bound
 * to one pid namespace, and chooses the active namespace of a seat.
 *
 * Every argument struct starts with its own size, as clone3() and openat2()
 * do: userspace sets @size to sizeof() of the struct it was compiled with.
 * The kernel refuses a size below the first version's (-EINVAL), accepts a
 * larger one only if the bytes it does not know are zero (-E2BIG otherwise)
 * and never writes past @size. Flags and reserved fields it does not know
 * must be zero (-EINVAL). DEVNS_IOC_VERSION returns DEVNS_ABI_VERSION.
 */
#ifndef _UAPI_LINUX_DEVNS_H
#define _UAPI_LINUX_DEVNS_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define DEVNS_ABI_VERSION	1

/* Names: 1 to 64 characters of [A-Za-z0-9_.-], not starting with '.' or '-'. */
#define DEVNS_NAME_MAX		64
#define DEVNS_NAME_LEN		72	/* buffer size: name, NUL, padding */
/* Seats: 1 to 31 characters of [A-Za-z0-9_-] ("seat0", "seat1", ...). */
#define DEVNS_SEAT_MAX		31
#define DEVNS_SEAT_LEN		32

/* devns_create.flags: @pid is a pidfd (of the caller) instead of a pid. */
#define DEVNS_CREATE_PIDFD	(1U << 0)

/**
 * struct devns_create - argument of DEVNS_IOC_CREATE
 * @size: sizeof(struct devns_create)
 * @flags: 0 or DEVNS_CREATE_PIDFD
 * @pid: a process of the pid namespace to bind, as a pid in the caller's
 *	pid namespace (or a pidfd with DEVNS_CREATE_PIDFD). Usually the
 *	container's init. The initial pid namespace cannot be bound.
 * @id: out: the new namespace's id (never 0)
 * @name: NUL-terminated name, unique among live namespaces
 * @seat: NUL-terminated seat the namespace belongs to ("seat0")
 */
struct devns_create {
	__u32 size;
	__u32 flags;
	__s32 pid;
	__u32 id;
	char name[DEVNS_NAME_LEN];
	char seat[DEVNS_SEAT_LEN];
};
#define DEVNS_CREATE_SIZE_VER1	120

/**
 * struct devns_destroy - argument of DEVNS_IOC_DESTROY
 * @size: sizeof(struct devns_destroy)
 * @flags: 0
 * @id: the namespace to destroy
 * @reserved: 0
 */
struct devns_destroy {
	__u32 size;
	__u32 flags;
	__u32 id;
	__u32 reserved;
};
#define DEVNS_DESTROY_SIZE_VER1	16

/**
 * struct devns_activate - argument of DEVNS_IOC_ACTIVATE
 * @size: sizeof(struct devns_activate)
 * @flags: 0
 * @id: the namespace to make active on @seat, or 0 for none
 * @reserved: 0
 * @seat: NUL-terminated seat name; must be the namespace's seat
 */
struct devns_activate {
	__u32 size;
	__u32 flags;
	__u32 id;
	__u32 reserved;
	char seat[DEVNS_SEAT_LEN];
};
#define DEVNS_ACTIVATE_SIZE_VER1 48

/* devns_query.flags */
#define DEVNS_QUERY_NEXT	(1U << 0)	/* the live namespace with the smallest id > @id */
#define DEVNS_QUERY_ACTIVE	(1U << 1)	/* the active namespace of @seat */

/**
 * struct devns_query - argument of DEVNS_IOC_QUERY
 * @size: sizeof(struct devns_query)
 * @flags: 0 (by @id), DEVNS_QUERY_NEXT or DEVNS_QUERY_ACTIVE
 * @id: in: the id (0 starts an enumeration with DEVNS_QUERY_NEXT);
 *	out: the namespace found
 * @active: out: 1 if it is the active namespace of its seat
 * @leader: out: pid of the bound pid namespace's init as seen from the
 *	caller, 0 if it is not visible there
 * @pidns_ino: out: inode number of the pid namespace (as in
 *	/proc/PID/ns/pid)
 * @name: out
 * @seat: in with DEVNS_QUERY_ACTIVE, out otherwise
 *
 * Returns -ENOENT when nothing matches.
 */
struct devns_query {
	__u32 size;
	__u32 flags;
	__u32 id;
	__u32 active;
	__s32 leader;
	__u32 pidns_ino;
	char name[DEVNS_NAME_LEN];
	char seat[DEVNS_SEAT_LEN];
};
#define DEVNS_QUERY_SIZE_VER1	128

#define DEVNS_IOC_MAGIC		0xD7
#define DEVNS_IOC_VERSION	_IO(DEVNS_IOC_MAGIC, 0x00)
#define DEVNS_IOC_CREATE	_IOWR(DEVNS_IOC_MAGIC, 0x01, struct devns_create)
#define DEVNS_IOC_DESTROY	_IOW(DEVNS_IOC_MAGIC, 0x02, struct devns_destroy)
#define DEVNS_IOC_ACTIVATE	_IOW(DEVNS_IOC_MAGIC, 0x03, struct devns_activate)
#define DEVNS_IOC_QUERY		_IOWR(DEVNS_IOC_MAGIC, 0x04, struct devns_query)

#endif /* _UAPI_LINUX_DEVNS_H */
