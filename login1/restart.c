/* SPDX-License-Identifier: MIT */
/*
 * What of a container's login1 session outlives devnsd: who its controller
 * is on the container's bus, the devices it took, the session type, and
 * whether it was last told the seat is live. A memfd in the fd store
 * (common/fd-store.h), rewritten after every change; a restarted devnsd
 * reads it back and goes on with the same controller, which keeps its
 * devices and never calls TakeControl again.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "common/fd-store.h"
#include "common/log.h"
#include "common/macro.h"
#include "login1/login1.h"

#define SAVED_MAGIC 0x316c6473u /* "sdl1" */

/* Only devnsd writes it and the store keeps it for devnsd alone, but it is
 * read back as any input: checked before a byte of it is used. */
struct saved_session {
	uint32_t magic;
	uint32_t told;
	char controller[LOGIN1_UNIQUE_NAME_MAX + 1];
	char type[LOGIN1_TYPE_MAX + 1];
	uint32_t n_devices;
	struct {
		uint32_t major, minor;
	} devices[LOGIN1_SAVED_MAX_DEVICES];
};

static void store_name(const struct login1_session *s, char *buf, size_t size)
{
	snprintf(buf, size, "login1.%s", s->container->name);
}

/* ":" and then letters, digits, ".", "_", "-": the unique names a bus
 * daemon hands out. */
static bool unique_name_is_valid(const char *name)
{
	if (name[0] != ':' || !name[1])
		return false;
	for (const char *p = name + 1; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '.' || *p == '_' || *p == '-'))
			return false;
	return true;
}

static bool field_is_string(const char *field, size_t size)
{
	return memchr(field, '\0', size) != NULL;
}

int login1_saved_parse(const void *buf, size_t size, struct login1_saved *ret)
{
	const struct saved_session *saved = buf;
	size_t header = offsetof(struct saved_session, devices);

	if (size < header || saved->magic != SAVED_MAGIC || saved->told > LOGIN1_TOLD_UNSURE ||
	    saved->n_devices > LOGIN1_SAVED_MAX_DEVICES ||
	    size != header + saved->n_devices * sizeof(saved->devices[0]) ||
	    !field_is_string(saved->controller, sizeof(saved->controller)) ||
	    !field_is_string(saved->type, sizeof(saved->type)) ||
	    !login1_type_is_valid(saved->type) ||
	    (saved->controller[0] && !unique_name_is_valid(saved->controller)) ||
	    (!saved->controller[0] && saved->n_devices))
		return -EBADMSG;
	*ret = (struct login1_saved) { .told = saved->told, .n_devices = saved->n_devices };
	strcpy(ret->controller, saved->controller);
	strcpy(ret->type, saved->type);
	for (uint32_t i = 0; i < saved->n_devices; i++)
		ret->devices[i] = makedev(saved->devices[i].major, saved->devices[i].minor);
	return 0;
}

size_t login1_saved_format(const struct login1_saved *saved, void *buf, size_t size)
{
	struct saved_session out = {
		.magic = SAVED_MAGIC,
		.told = saved->told,
		.n_devices = saved->n_devices < LOGIN1_SAVED_MAX_DEVICES ? saved->n_devices :
							     LOGIN1_SAVED_MAX_DEVICES,
	};
	size_t n = offsetof(struct saved_session, devices) + out.n_devices * sizeof(out.devices[0]);

	if (size < n)
		return 0;
	snprintf(out.controller, sizeof(out.controller), "%s", saved->controller);
	snprintf(out.type, sizeof(out.type), "%s", saved->type);
	for (uint32_t i = 0; i < out.n_devices; i++) {
		out.devices[i].major = major(saved->devices[i]);
		out.devices[i].minor = minor(saved->devices[i]);
	}
	memcpy(buf, &out, n);
	return n;
}

void login1_save(struct login1_session *s, const struct login1_saved *saved)
{
	char name[FD_STORE_NAME_MAX + 1];
	struct saved_session buf;
	size_t n;
	int r;

	if (!fd_store_enabled())
		return;
	n = login1_saved_format(saved, &buf, sizeof(buf));
	if (s->saved_fd < 0) {
		s->saved_fd = memfd_create("login1-session", MFD_CLOEXEC);
		if (s->saved_fd < 0) {
			log_warning_errno(-errno, "Container %s: no memfd; its login1 session will not outlive devnsd",
					  s->container->name);
			return;
		}
		store_name(s, name, sizeof(name));
		r = fd_store_add(name, &s->saved_fd, 1, false);
		if (r < 0)
			log_warning_errno(r, "Container %s: cannot store its login1 session; it will not outlive devnsd",
					  s->container->name);
	}
	if (ftruncate(s->saved_fd, (off_t)n) < 0 || pwrite(s->saved_fd, &buf, n, 0) != (ssize_t)n)
		log_warning("Container %s: cannot save its login1 session; a restart of devnsd would lose it",
			    s->container->name);
}

void login1_unsave(struct login1_session *s)
{
	char name[FD_STORE_NAME_MAX + 1];

	if (s->saved_fd < 0)
		return;
	store_name(s, name, sizeof(name));
	(void)fd_store_remove(name);
	close(s->saved_fd);
	s->saved_fd = -1;
}

int login1_take_saved(struct login1_session *s, struct login1_saved *ret)
{
	char name[FD_STORE_NAME_MAX + 1];
	struct saved_session buf;
	struct stat st;
	ssize_t n;
	int fd, r;

	store_name(s, name, sizeof(name));
	if (fd_store_take(name, &fd, 1) != 1)
		return 0;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > (off_t)sizeof(buf)) {
		r = -EBADMSG;
	} else {
		n = pread(fd, &buf, sizeof(buf), 0);
		r = n < 0 ? -errno : login1_saved_parse(&buf, (size_t)n, ret);
	}
	if (r < 0) {
		log_warning_errno(r, "Container %s: its stored login1 session is damaged; dropped",
				  s->container->name);
		(void)fd_store_remove(name);
		close(fd);
		return r;
	}
	/* The same file goes on being rewritten, where the store has it. */
	if (s->saved_fd >= 0)
		close(s->saved_fd);
	s->saved_fd = fd;
	return 1;
}
