/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bench/bench-util.h"

static const char *bench_prog = "bench";

void bench_set_prog(const char *prog)
{
	bench_prog = prog;
}

uint64_t bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void bench_die(int err, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", bench_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (err)
		fprintf(stderr, ": %s", strerror(err < 0 ? -err : err));
	fputc('\n', stderr);
	exit(1);
}

int bench_write_line(int fd, const char *fmt, ...)
{
	char buf[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, sizeof(buf) - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n > sizeof(buf) - 2)
		n = sizeof(buf) - 2;
	buf[n++] = '\n';
	for (int off = 0; off < n;) {
		ssize_t w = write(fd, buf + off, n - off);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += w;
	}
	return 0;
}

void line_reader_init(struct line_reader *lr, int fd)
{
	lr->fd = fd;
	lr->len = 0;
	lr->eof = false;
}

static bool take_line(struct line_reader *lr, char *out, size_t size)
{
	char *nl = memchr(lr->buf, '\n', lr->len);
	size_t n;

	if (!nl)
		return false;
	n = nl - lr->buf;
	if (size > 0) {
		size_t c = n < size - 1 ? n : size - 1;
		memcpy(out, lr->buf, c);
		out[c] = '\0';
	}
	memmove(lr->buf, nl + 1, lr->len - n - 1);
	lr->len -= n + 1;
	return true;
}

int line_reader_next(struct line_reader *lr, char *out, size_t size)
{
	ssize_t r;

	if (take_line(lr, out, size))
		return 1;
	if (lr->eof)
		return -EPIPE;
	if (lr->len == sizeof(lr->buf))
		lr->len = 0; /* a line longer than the buffer: drop it */
	r = read(lr->fd, lr->buf + lr->len, sizeof(lr->buf) - lr->len);
	if (r < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	if (r == 0) {
		lr->eof = true;
		return take_line(lr, out, size) ? 1 : -EPIPE;
	}
	lr->len += r;
	return take_line(lr, out, size) ? 1 : 0;
}

int line_reader_wait(struct line_reader *lr, char *out, size_t size, int timeout_ms)
{
	uint64_t end = bench_now_ns() + (uint64_t)timeout_ms * 1000000u;

	for (;;) {
		struct pollfd p = { .fd = lr->fd, .events = POLLIN };
		uint64_t now;
		int r = line_reader_next(lr, out, size);

		if (r != 0)
			return r;
		now = bench_now_ns();
		if (now >= end)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)((end - now) / 1000000u) + 1);
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

void trace_add(struct trace *t, uint32_t kind, uint32_t a, uint32_t b)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 4096;
		struct trace_rec *n = realloc(t->recs, cap * sizeof(*n));
		if (!n)
			return; /* a shorter trace, not a failed benchmark */
		t->recs = n;
		t->cap = cap;
	}
	t->recs[t->n++] = (struct trace_rec) { bench_now_ns(), kind, a, b };
}

void trace_free(struct trace *t)
{
	free(t->recs);
	*t = (struct trace) { 0 };
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

uint64_t bench_quantile(uint64_t *v, size_t n, double q)
{
	size_t i;

	if (n == 0)
		return 0;
	qsort(v, n, sizeof(*v), cmp_u64);
	i = (size_t)ceil(q * (double)n);
	if (i > 0)
		i--;
	if (i >= n)
		i = n - 1;
	return v[i];
}

void trace_write(const struct trace *t, const char *const *names, const char *path)
{
	FILE *f = fopen(path, "we");

	if (!f) {
		fprintf(stderr, "%s: %s: %s\n", bench_prog, path, strerror(errno));
		return;
	}
	for (size_t i = 0; i < t->n; i++) {
		const struct trace_rec *r = &t->recs[i];

		fprintf(f, "%" PRIu64 " %s %u %u\n", r->t, names[r->kind], r->a, r->b);
	}
	fclose(f);
}
