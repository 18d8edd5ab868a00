/* SPDX-License-Identifier: MIT */
/*
 * Files kept where they outlive devnsd: systemd's file descriptor store
 * (FDSTORE=1 on the notify socket, FileDescriptorStoreMax= in the unit), or
 * devns-keeper's, which speaks the same protocol where there is no systemd.
 * A restarted devnsd gets them back, by name, through LISTEN_FDS and
 * LISTEN_FDNAMES. Without a notify socket nothing is kept, and devnsd
 * behaves as a daemon that starts afresh.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

/* Longest name the store takes (systemd's FDNAME limit). */
#define FD_STORE_NAME_MAX 255

/* Takes over the files a previous devnsd stored; once, at start. */
int fd_store_init(void);
/* One file handed back under name, as fd_store_init() does for each that
 * LISTEN_FDS passes (and tests for theirs). Takes fd. */
int fd_store_hand_back(const char *name, int fd);
/* Whether there is a store to keep files in. */
bool fd_store_enabled(void);
/* Stores fds (borrowed: the store keeps duplicates) under name. Without
 * poll, the store does not drop them when they hang up (FDPOLL=0). 0 when
 * there is no store. */
int fd_store_add(const char *name, const int *fds, size_t n_fds, bool poll);
/* Drops every file stored under name. */
int fd_store_remove(const char *name);

/* The files handed back under name, at most max of them; the caller owns
 * them. Returns how many. Not necessarily in the order stored (systemd
 * hands several files of one name back in reverse): tell them apart by
 * what they are. */
size_t fd_store_take(const char *name, int *fds, size_t max);
/* Iterates over the names handed back that start with prefix and are not
 * taken yet: *cursor starts at 0. NULL at the end. */
const char *fd_store_next_name(const char *prefix, size_t *cursor);
/* Closes, and drops from the store, what nobody took back. */
void fd_store_drop_unclaimed(void);
/* Closes our copies of what nobody took back, leaving the store as it is
 * (a start that failed). */
void fd_store_free(void);
