/* SPDX-License-Identifier: MIT */
/*
 * Switching chords read from every keyboard of a seat through libinput. The
 * broker opens these devices a second time for itself: its own files are
 * never revoked, so a chord works whichever container is active (that
 * container sees the keys too, as with VT switching).
 */
#include <errno.h>
#include <fcntl.h>
#include <libinput.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "broker/broker.h"
#include "common/log.h"
#include "input/hotkeys.h"

struct hotkeys {
	struct broker_seat *seat;
	struct libinput *li;
	sd_event_source *source;
	/* Keys held per modifier, over every keyboard of the seat. */
	unsigned held[4];
};

static int open_restricted(const char *path, int flags, void *data)
{
	int fd = open(path, flags | O_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static void close_restricted(int fd, void *data)
{
	close(fd);
}

static const struct libinput_interface hotkeys_interface = {
	.open_restricted = open_restricted,
	.close_restricted = close_restricted,
};

static int modifier_index(uint32_t key)
{
	switch (key) {
	case KEY_LEFTCTRL:
	case KEY_RIGHTCTRL:
		return 0;
	case KEY_LEFTALT:
	case KEY_RIGHTALT:
		return 1;
	case KEY_LEFTSHIFT:
	case KEY_RIGHTSHIFT:
		return 2;
	case KEY_LEFTMETA:
	case KEY_RIGHTMETA:
		return 3;
	}
	return -1;
}

static uint32_t modifiers_held(const struct hotkeys *hk)
{
	uint32_t mods = 0;

	for (unsigned i = 0; i < ARRAY_SIZE(hk->held); i++)
		if (hk->held[i])
			mods |= 1u << i; /* the order of enum hotkey_modifier */
	return mods;
}

static bool chord_matches(const struct chord *c, uint32_t mods, uint32_t key)
{
	return c->key && c->key == key && c->modifiers == mods;
}

static void on_key(struct hotkeys *hk, uint32_t key, bool pressed)
{
	struct broker_seat *bs = hk->seat;
	const struct config *cfg = &bs->broker->config;
	int mod = modifier_index(key);
	uint32_t mods;

	if (mod >= 0) {
		if (pressed)
			hk->held[mod]++;
		else if (hk->held[mod] > 0)
			hk->held[mod]--;
		return;
	}
	if (!pressed)
		return;

	mods = modifiers_held(hk);
	if (chord_matches(&cfg->next, mods, key)) {
		log_info("%s: hotkey: next container", bs->seat->id);
		broker_switch(bs, SEAT_SWITCH_NEXT, NULL, NULL, NULL);
		return;
	}
	if (chord_matches(&cfg->previous, mods, key)) {
		log_info("%s: hotkey: previous container", bs->seat->id);
		broker_switch(bs, SEAT_SWITCH_PREVIOUS, NULL, NULL, NULL);
		return;
	}
	for (unsigned i = 0; i < HOTKEY_CONTAINERS; i++) {
		struct seat_container *sc;

		if (!chord_matches(&cfg->container[i], mods, key))
			continue;
		sc = seat_container_nth(bs->seat, i);
		if (!sc) {
			log_debug("%s: hotkey for container %u, which does not exist", bs->seat->id, i + 1);
			return;
		}
		log_info("%s: hotkey: container %u (%s)", bs->seat->id, i + 1, sc->name);
		broker_switch(bs, SEAT_SWITCH_TO, sc->userdata, NULL, NULL);
		return;
	}
}

static int on_libinput(sd_event_source *s, int fd, uint32_t revents, void *userdata)
{
	struct hotkeys *hk = userdata;
	struct libinput_event *ev;

	libinput_dispatch(hk->li);
	while ((ev = libinput_get_event(hk->li))) {
		if (libinput_event_get_type(ev) == LIBINPUT_EVENT_KEYBOARD_KEY) {
			struct libinput_event_keyboard *k = libinput_event_get_keyboard_event(ev);
			on_key(hk, libinput_event_keyboard_get_key(k),
			       libinput_event_keyboard_get_key_state(k) == LIBINPUT_KEY_STATE_PRESSED);
		}
		libinput_event_destroy(ev);
	}
	return 0;
}

static void log_libinput(struct libinput *li, enum libinput_log_priority priority,
			 const char *format, va_list args)
{
	char msg[512];

	if (priority < LIBINPUT_LOG_PRIORITY_ERROR)
		return;
	vsnprintf(msg, sizeof(msg), format, args);
	msg[strcspn(msg, "\n")] = '\0';
	log_warning("libinput: %s", msg);
}

static void hotkeys_free(struct hotkeys *hk);

static int hotkeys_new(struct broker_seat *bs, struct hotkeys **ret)
{
	struct broker *b = bs->broker;
	struct hotkeys *hk;
	int r;

	hk = calloc(1, sizeof(*hk));
	if (!hk)
		return -ENOMEM;
	hk->seat = bs;
	hk->li = libinput_udev_create_context(&hotkeys_interface, hk, b->udev);
	if (!hk->li) {
		free(hk);
		return -ENOMEM;
	}
	libinput_log_set_handler(hk->li, log_libinput);
	/* libinput follows the seat's keyboards as they come and go. */
	if (libinput_udev_assign_seat(hk->li, bs->seat->id) < 0) {
		r = -EIO;
		goto fail;
	}
	r = sd_event_add_io(b->event, &hk->source, libinput_get_fd(hk->li), EPOLLIN, on_libinput, hk);
	if (r < 0)
		goto fail;
	*ret = hk;
	return 0;
fail:
	hotkeys_free(hk);
	return r;
}

static void hotkeys_free(struct hotkeys *hk)
{
	if (!hk)
		return;
	sd_event_source_disable_unref(hk->source);
	libinput_unref(hk->li);
	free(hk);
}

/* Every seat gets its own watch when it appears. Switching still works
 * over the bus without one, so a failure is no reason to refuse the seat. */
static int hotkeys_seat_attach(struct broker_listener *l, struct broker_seat *bs)
{
	struct hotkeys *hk;
	int r = hotkeys_new(bs, &hk);

	if (r < 0) {
		log_warning_errno(r, "Cannot watch the keyboards of %s for hotkeys", bs->seat->id);
		return 0;
	}
	broker_seat_set_listener_data(bs, l, hk);
	return 0;
}

static void hotkeys_seat_detach(struct broker_listener *l, struct broker_seat *bs)
{
	hotkeys_free(broker_seat_listener_data(bs, l));
}

static const struct broker_listener_ops hotkeys_listener_ops = {
	.name = "hotkeys",
	.seat_attach = hotkeys_seat_attach,
	.seat_detach = hotkeys_seat_detach,
};

int hotkeys_listen(struct broker *b)
{
	static struct broker_listener listener = { .ops = &hotkeys_listener_ops };

	return broker_add_listener(b, &listener);
}
