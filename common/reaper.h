/* SPDX-License-Identifier: MIT */
/*
 * Closes file descriptors on a thread of its own. Closing the last reference
 * to an evdev file waits for an RCU grace period (about 16 ms in a small VM),
 * which must not sit on the switch path or stall the event loop: devnsd
 * closes its revoked copies here, and so do the benchmark's clients.
 */
#pragma once

struct reaper;

int reaper_new(struct reaper **ret);
/* Closes what is still queued, then stops the thread. Accepts NULL. */
void reaper_free(struct reaper *r);
/* Takes ownership of fd; falls back to close() if the queue is unusable. */
void reaper_close(struct reaper *r, int fd);
/* The same, but the thread is only told at the next reaper_flush(): a
 * burst of closes wakes it once, when the caller has answered whoever
 * waits. At most REAPER_HELD_MAX are held: one more sends them on. Small,
 * because a caller kept busy (a client flooding it with calls) may not
 * flush for a long time, and each held fd stays open meanwhile; a switch
 * revokes a few. */
#define REAPER_HELD_MAX 8
void reaper_close_later(struct reaper *r, int fd);
void reaper_flush(struct reaper *r);
/* How many fds are queued (or held for the next flush) or being closed;
 * 0 for NULL. */
int reaper_pending(struct reaper *r);
