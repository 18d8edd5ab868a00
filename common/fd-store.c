/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>

#include "common/fd-store.h"
#include "common/log.h"
#include "common/macro.h"

struct handed_back {
	char *name;
	int fd; /* -1 once taken */
};

static struct handed_back *handed;
static size_t n_handed;

int fd_store_hand_back(const char *name, int fd)
{
	struct handed_back *h;
	char *copy = strdup(name);

	h = copy ? reallocarray(handed, n_handed + 1, sizeof(*handed)) : NULL;
	if (!h) {
		free(copy);
		close(fd);
		return -ENOMEM;
	}
	handed = h;
	handed[n_handed++] = (struct handed_back) { .name = copy, .fd = fd };
	return 0;
}

int fd_store_init(void)
{
	char **names = NULL;
	int n = sd_listen_fds_with_names(true, &names);

	if (n <= 0) {
		free(names);
		return n;
	}
	for (int i = 0; i < n; i++) {
		int fd = SD_LISTEN_FDS_START + i;

		/* Handed over without close-on-exec; nothing devnsd runs
		 * may inherit them. */
		(void)fcntl(fd, F_SETFD, FD_CLOEXEC);
		(void)fd_store_hand_back(names[i], fd);
		free(names[i]);
	}
	free(names);
	log_info("Got %d stored files back", n);
	return n;
}

bool fd_store_enabled(void)
{
	const char *e = getenv("NOTIFY_SOCKET");

	return e && *e;
}

int fd_store_add(const char *name, const int *fds, size_t n_fds, bool poll)
{
	char msg[64 + FD_STORE_NAME_MAX];

	if (!fd_store_enabled())
		return 0;
	if (strlen(name) > FD_STORE_NAME_MAX || strchr(name, ':') || strchr(name, '\n'))
		return -EINVAL;
	snprintf(msg, sizeof(msg), "FDSTORE=1\nFDNAME=%s%s", name, poll ? "" : "\nFDPOLL=0");
	return sd_pid_notify_with_fds(0, false, msg, fds, (unsigned)n_fds);
}

int fd_store_remove(const char *name)
{
	if (!fd_store_enabled())
		return 0;
	return sd_notifyf(false, "FDSTOREREMOVE=1\nFDNAME=%s", name);
}

size_t fd_store_take(const char *name, int *fds, size_t max)
{
	size_t n = 0;

	for (size_t i = 0; i < n_handed && n < max; i++)
		if (handed[i].fd >= 0 && strcmp(handed[i].name, name) == 0)
			fds[n++] = TAKE_FD(handed[i].fd);
	return n;
}

const char *fd_store_next_name(const char *prefix, size_t *cursor)
{
	size_t len = strlen(prefix);

	for (; *cursor < n_handed; (*cursor)++) {
		struct handed_back *h = &handed[*cursor];

		if (h->fd >= 0 && strncmp(h->name, prefix, len) == 0)
			return handed[(*cursor)++].name;
	}
	return NULL;
}

static void handed_free(bool drop)
{
	for (size_t i = 0; i < n_handed; i++) {
		if (handed[i].fd >= 0) {
			if (drop)
				log_info("Stored file %s belongs to nothing any more; dropping it",
					 handed[i].name);
			close(handed[i].fd);
			if (drop)
				(void)fd_store_remove(handed[i].name);
		}
		free(handed[i].name);
	}
	free(handed);
	handed = NULL;
	n_handed = 0;
}

void fd_store_drop_unclaimed(void)
{
	handed_free(true);
}

void fd_store_free(void)
{
	handed_free(false);
}
