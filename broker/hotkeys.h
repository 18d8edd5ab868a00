/* SPDX-License-Identifier: MIT */
#pragma once

struct broker_seat;
struct hotkeys;

/* Watches the seat's keyboards for the chords of the configuration. */
int hotkeys_new(struct broker_seat *bs, struct hotkeys **ret);
void hotkeys_free(struct hotkeys *hk);
