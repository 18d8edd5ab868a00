/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <linux/kcmp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/list.h"
#include "common/macro.h"
#include "keeper/keeper-store.h"
#include "keeper/keeper-log.h"
#include "keeper/notify.h"

struct fd_entry {
	struct list link;
	struct keeper_store *store;
	int fd;
	char *name;
	dev_t dev; /* fstat() when stored, to compare a new fd with */
	ino_t ino;
	sd_event_source *source; /* NULL: not watched */
};

struct keeper_store {
	sd_event *event;
	struct list entries; /* struct fd_entry, in the order stored */
	size_t n, max;
};

int keeper_store_new(sd_event *event, size_t max, struct keeper_store **ret)
{
	struct keeper_store *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->event = sd_event_ref(event);
	s->max = max;
	list_init(&s->entries);
	*ret = s;
	return 0;
}

static void fd_entry_free(struct fd_entry *e)
{
	list_remove(&e->link);
	e->store->n--;
	/* The watch goes before the fd it watches. */
	sd_event_source_disable_unref(e->source);
	close(e->fd);
	free(e->name);
	free(e);
}

void keeper_store_free(struct keeper_store *s)
{
	struct fd_entry *e, *tmp;

	if (!s)
		return;
	list_for_each_safe(e, tmp, &s->entries, link)
		fd_entry_free(e);
	sd_event_unref(s->event);
	free(s);
}

/*
 * Whether a and b, of the same inode, are the same open file. kcmp()
 * answers exactly; without it (a kernel built without it, or a seccomp
 * filter that forbids it, as container runtimes' default profiles do) the
 * answer is systemd's same_fd() guess: the same inode and access mode,
 * except for devices, whose opens differ even on one inode, and anonymous
 * inodes (eventfd, epoll, timerfd...), which all share one.
 */
static int same_open_file(int a, int b, mode_t mode)
{
	pid_t self = getpid();
	long r;
	int fa, fb;

	r = syscall(SYS_kcmp, self, self, KCMP_FILE, a, b);
	if (r >= 0)
		return r == 0;
	if (errno != ENOSYS && errno != EPERM && errno != EACCES)
		return -errno;
	switch (mode & S_IFMT) {
	case S_IFREG:
	case S_IFDIR:
	case S_IFIFO:
	case S_IFSOCK:
	case S_IFLNK:
		break;
	default:
		return 0;
	}
	fa = fcntl(a, F_GETFL);
	fb = fcntl(b, F_GETFL);
	if (fa < 0 || fb < 0)
		return -errno;
	return (fa & (O_ACCMODE | O_PATH)) == (fb & (O_ACCMODE | O_PATH));
}

static int on_fd_event(sd_event_source *source, int fd, uint32_t revents, void *userdata)
{
	struct fd_entry *e = userdata;
	struct keeper_store *s = e->store;
	char name[FDNAME_MAX + 1];

	/* Watched with no events asked: only EPOLLHUP or EPOLLERR wake us. */
	snprintf(name, sizeof(name), "%s", e->name);
	fd_entry_free(e);
	keeper_info("stored file \"%s\" reported %s, its peer is gone; dropped it, %zu stored files left",
		    name, revents & EPOLLERR ? "EPOLLERR" : "EPOLLHUP", s->n);
	return 0;
}

int keeper_store_add(struct keeper_store *s, int fd, const char *name, bool poll)
{
	_cleanup_close_ int owned = fd;
	struct fd_entry *e;
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return -errno;
	/* A file stored already is not stored again, as in systemd. Unlike
	 * systemd, this is checked before the limit: a duplicate costs
	 * nothing, so a full store does not refuse it. */
	list_for_each(e, &s->entries, link) {
		if (e->dev != st.st_dev || e->ino != st.st_ino)
			continue;
		r = same_open_file(e->fd, fd, st.st_mode);
		if (r != 0)
			return r < 0 ? r : 0;
	}
	if (s->n >= s->max)
		return -EXFULL;

	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->name = strdup(name);
	if (!e->name) {
		free(e);
		return -ENOMEM;
	}
	e->store = s;
	e->dev = st.st_dev;
	e->ino = st.st_ino;
	if (poll) {
		/* No events asked: epoll reports EPOLLHUP and EPOLLERR
		 * regardless. Regular files and memfds cannot be watched
		 * (EPERM); they are kept unwatched, as systemd does. */
		r = sd_event_add_io(s->event, &e->source, fd, 0, on_fd_event, e);
		if (r < 0 && r != -EPERM) {
			free(e->name);
			free(e);
			return r;
		}
		if (r >= 0) {
			/* Before a restart timer due at the same time: a new
			 * child never gets a file known to be dead. */
			(void)sd_event_source_set_priority(e->source, SD_EVENT_PRIORITY_IMPORTANT);
			(void)sd_event_source_set_description(e->source, "fd-store");
		}
	}
	e->fd = TAKE_FD(owned);
	list_append(&s->entries, &e->link);
	s->n++;
	return 1;
}

size_t keeper_store_remove(struct keeper_store *s, const char *name)
{
	struct fd_entry *e, *tmp;
	size_t n = 0;

	list_for_each_safe(e, tmp, &s->entries, link) {
		if (strcmp(e->name, name) == 0) {
			fd_entry_free(e);
			n++;
		}
	}
	return n;
}

size_t keeper_store_count(const struct keeper_store *s)
{
	return s->n;
}

int keeper_store_collect(const struct keeper_store *s, int **ret_fds, size_t *ret_n, char **ret_names)
{
	_cleanup_free_ int *fds = NULL;
	struct fd_entry *e;
	size_t len = 1, i = 0;
	char *names, *p;

	list_for_each(e, &s->entries, link)
		len += strlen(e->name) + 1;
	if (s->n > 0) {
		fds = calloc(s->n, sizeof(int));
		if (!fds)
			return -ENOMEM;
	}
	names = malloc(len);
	if (!names)
		return -ENOMEM;
	p = names;
	*p = '\0';
	list_for_each(e, &s->entries, link) {
		if (i > 0)
			*p++ = ':';
		p = stpcpy(p, e->name);
		fds[i++] = e->fd;
	}
	*ret_fds = TAKE_PTR(fds);
	*ret_n = i;
	*ret_names = names;
	return 0;
}
