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
/* How many fds are queued or being closed; 0 for NULL. */
int reaper_pending(struct reaper *r);
