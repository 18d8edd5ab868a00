/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/reaper.h"

struct reaper {
	pthread_t thread;
	int pipe[2]; /* fd numbers travel through it; EOF stops the thread */
	int pending; /* __atomic: queued or being closed */
};

static void *reaper_main(void *data)
{
	struct reaper *r = data;
	int fd;

	for (;;) {
		ssize_t n = read(r->pipe[0], &fd, sizeof(fd));
		if (n == sizeof(fd)) {
			close(fd);
			__atomic_sub_fetch(&r->pending, 1, __ATOMIC_SEQ_CST);
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		return NULL;
	}
}

int reaper_new(struct reaper **ret)
{
	struct reaper *r = calloc(1, sizeof(*r));
	int e;

	if (!r)
		return -ENOMEM;
	if (pipe2(r->pipe, O_CLOEXEC) < 0) {
		e = -errno;
		free(r);
		return e;
	}
	e = pthread_create(&r->thread, NULL, reaper_main, r);
	if (e != 0) {
		close(r->pipe[0]);
		close(r->pipe[1]);
		free(r);
		return -e;
	}
	*ret = r;
	return 0;
}

void reaper_free(struct reaper *r)
{
	if (!r)
		return;
	close(r->pipe[1]);
	pthread_join(r->thread, NULL);
	close(r->pipe[0]);
	free(r);
}

void reaper_close(struct reaper *r, int fd)
{
	if (fd < 0)
		return;
	if (!r) {
		close(fd);
		return;
	}
	/* A write of an int to a pipe is atomic; a full pipe (thousands of
	 * queued fds) would block the loop for the same RCU waits anyway. */
	__atomic_add_fetch(&r->pending, 1, __ATOMIC_SEQ_CST);
	if (write(r->pipe[1], &fd, sizeof(fd)) != sizeof(fd)) {
		close(fd);
		__atomic_sub_fetch(&r->pending, 1, __ATOMIC_SEQ_CST);
	}
}

int reaper_pending(struct reaper *r)
{
	return r ? __atomic_load_n(&r->pending, __ATOMIC_SEQ_CST) : 0;
}
