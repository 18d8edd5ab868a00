/* SPDX-License-Identifier: MIT */
/* Bytes with file descriptors over a unix socket (SCM_RIGHTS), without
 * blocking and without SIGPIPE. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* The kernel passes at most this many fds with one message (SCM_MAX_FD). */
#define FD_PASS_MAX 253

/* sendmsg() of len bytes with n_fds fds (at most FD_PASS_MAX) attached to
 * the first byte: the bytes written, or -errno (-EAGAIN when full). */
ssize_t fd_pass_send(int sock, const void *buf, size_t len, const int *fds, size_t n_fds);

/* recvmsg() of at most len bytes. Every fd that came along is stored in
 * fds (close-on-exec), up to max_fds, and counted in *ret_n_fds; the
 * caller owns them, also on 0 (end of file). *ret_truncated: the sender
 * attached more fds than fit (max_fds or the kernel's room), and those
 * are lost. The bytes read, 0 at end of file, or -errno (-EAGAIN when
 * there is nothing). */
ssize_t fd_pass_recv(int sock, void *buf, size_t len, int *fds, size_t max_fds,
		     size_t *ret_n_fds, bool *ret_truncated);

/* Closes fds[0..n). */
void fd_pass_close(int *fds, size_t n);
