/* SPDX-License-Identifier: MIT */
/*
 * The file descriptor store, as systemd keeps one per service
 * (FileDescriptorStoreMax=, src/core/service.c): open files the child
 * hands over with FDSTORE=1, each under a name, kept in the order they
 * came and handed back to every new child. Several fds may share a name;
 * a file already stored is not stored twice (the same open file, as
 * kcmp(KCMP_FILE) sees it). Unless told not to (FDPOLL=0), a stored fd is
 * watched and dropped when it reports EPOLLHUP or EPOLLERR: a client that
 * hung up while the child was down need not be handed back.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include <systemd/sd-event.h>

struct keeper_store;

int keeper_store_new(sd_event *event, size_t max, struct keeper_store **ret);
/* Closes every stored fd. Accepts NULL. */
void keeper_store_free(struct keeper_store *s);

/*
 * Stores fd under name (valid as fdname_is_valid() says), watched unless
 * poll is false. Takes fd in every case: 1 stored; 0 the same open file is
 * stored already, and fd was closed; -EXFULL the store holds max fds, and
 * fd was closed; another -errno, fd closed.
 */
int keeper_store_add(struct keeper_store *s, int fd, const char *name, bool poll);

/* Closes every fd stored under name; how many. */
size_t keeper_store_remove(struct keeper_store *s, const char *name);

size_t keeper_store_count(const struct keeper_store *s);

/* The stored fds in order (still the store's), and their names joined by
 * ':' as $LISTEN_FDNAMES wants them. Both freed by the caller; *ret_fds is
 * NULL when the store is empty. */
int keeper_store_collect(const struct keeper_store *s, int **ret_fds, size_t *ret_n, char **ret_names);
