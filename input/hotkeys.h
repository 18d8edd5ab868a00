/* SPDX-License-Identifier: MIT */
/*
 * Switching chords from the keyboards of every seat (libinput). A client of
 * the broker like any transport: it hears of seats through a listener
 * (broker/events.h) and asks for switches with broker_switch().
 */
#pragma once

struct broker;

/* Watches each seat's keyboards from now on; before broker_start(). */
int hotkeys_listen(struct broker *b);
