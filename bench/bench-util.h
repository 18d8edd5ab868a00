/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the benchmark programs: CLOCK_MONOTONIC timestamps, line
 * I/O on pipes and an in-memory event trace.
 *
 * The clients close their revoked fds off the measured path on a thread of
 * their own, devnsd's common/reaper.h: closing the last reference to an
 * evdev file runs synchronize_rcu() in the kernel (about 16 ms in the test
 * guest), which on a client's main thread would stall its next switch.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "common/macro.h"

uint64_t bench_now_ns(void);

/* Prints "PROG: message" (and strerror(-err) when err != 0) and exits 1. */
_Noreturn void bench_die(int err, const char *fmt, ...) _printf_(2, 3);
void bench_set_prog(const char *prog);

/* Writes one whole line (a '\n' is added) with a single write(2). */
int bench_write_line(int fd, const char *fmt, ...) _printf_(2, 3);

/* Reads from a non-blocking or blocking fd into buf, returning complete
 * lines one by one. */
struct line_reader {
	int fd;
	char buf[4096];
	size_t len;
	bool eof;
};
void line_reader_init(struct line_reader *lr, int fd);
/* Next complete line (NUL-terminated, without '\n') into out, 1; 0 when none
 * is complete yet; -errno on a read error; -EPIPE at end of file. Reads at
 * most once from the fd per call. */
int line_reader_next(struct line_reader *lr, char *out, size_t size);
/* Waits (poll) up to timeout_ms for the next line. 1, or -ETIMEDOUT,
 * -EPIPE, -errno. */
int line_reader_wait(struct line_reader *lr, char *out, size_t size, int timeout_ms);

/* An append-only list of (time, kind, a, b) records, written as text at the
 * end. Cheap enough to record on the measured path (no syscall). */
struct trace_rec {
	uint64_t t;
	uint32_t kind;
	uint32_t a, b;
};
struct trace {
	struct trace_rec *recs;
	size_t n, cap;
};
void trace_add(struct trace *t, uint32_t kind, uint32_t a, uint32_t b);
void trace_free(struct trace *t);
/* Writes one line per record: time, names[kind], a, b. */
void trace_write(const struct trace *t, const char *const *names, const char *path);

/* Sorts v in place; returns the q-quantile (0..1) by nearest rank. */
uint64_t bench_quantile(uint64_t *v, size_t n, double q);
