/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/reaper.h"

_Static_assert(REAPER_HELD_MAX * sizeof(int) <= PIPE_BUF, "one write must be atomic");

struct reaper {
	pthread_t thread;
	int pipe[2]; /* fd numbers travel through it; EOF stops the thread */
	int pending; /* __atomic: held, queued or being closed */
	int held[REAPER_HELD_MAX]; /* the caller's thread only */
	unsigned n_held;
};

static void *reaper_main(void *data)
{
	struct reaper *r = data;
	int fds[REAPER_HELD_MAX];

	for (;;) {
		/* Every write is whole fd numbers, at most PIPE_BUF bytes,
		 * so every read is too. */
		ssize_t n = read(r->pipe[0], fds, sizeof(fds));
		if (n > 0) {
			for (size_t i = 0; i < (size_t)n / sizeof(int); i++) {
				close(fds[i]);
				__atomic_sub_fetch(&r->pending, 1, __ATOMIC_SEQ_CST);
			}
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
	reaper_flush(r);
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

void reaper_flush(struct reaper *r)
{
	size_t n = r ? r->n_held : 0, sent;
	ssize_t w;

	if (n == 0)
		return;
	r->n_held = 0;
	w = write(r->pipe[1], r->held, n * sizeof(int));
	sent = w > 0 ? (size_t)w / sizeof(int) : 0;
	for (size_t i = sent; i < n; i++) {
		close(r->held[i]);
		__atomic_sub_fetch(&r->pending, 1, __ATOMIC_SEQ_CST);
	}
}

void reaper_close_later(struct reaper *r, int fd)
{
	if (fd < 0)
		return;
	if (!r) {
		close(fd);
		return;
	}
	if (r->n_held == REAPER_HELD_MAX)
		reaper_flush(r);
	__atomic_add_fetch(&r->pending, 1, __ATOMIC_SEQ_CST);
	r->held[r->n_held++] = fd;
}

int reaper_pending(struct reaper *r)
{
	return r ? __atomic_load_n(&r->pending, __ATOMIC_SEQ_CST) : 0;
}
