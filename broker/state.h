/* SPDX-License-Identifier: MIT */
#pragma once

#include <sys/types.h>

struct broker;

/* Writes <runtime>/state: the containers and each seat's active one. */
int broker_state_save(struct broker *b);
/* The same after a switch, when only the active containers changed: the
 * containers' part is written as it was last formatted. */
int broker_state_save_active(struct broker *b);
/* Picks up the containers of a previous run whose leaders still run, and
 * takes back the device files they hold (see state.c). */
int broker_state_restore(struct broker *b);
int process_start_time(pid_t pid, unsigned long long *ret);
