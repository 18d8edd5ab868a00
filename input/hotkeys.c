/* SPDX-License-Identifier: MIT */
/*
 * Switching chords read from every keyboard of a seat through libinput. The
 * broker opens these devices a second time for itself: its own files are
 * never revoked, so a chord works whichever container is active (that
 * container sees the keys too, as with VT switching).
 *
 * A container that grabs a keyboard (EVIOCGRAB on the file it was given)
 * keeps every key to itself, the chords included. evdev can neither forbid
 * a grab nor say who holds one, but the kernel's key state (EVIOCGKEY) is
 * kept whoever receives the events. So the modifiers of a chord are those
 * libinput reported or the kernel holds, and each keyboard's state is
 * compared ten times a second with the keys libinput reported: a key held
 * down that libinput never saw, twice in a row, means the events go
 * elsewhere. Only then is the grab
 * probed (taking it fails with EBUSY while someone else holds it), and the
 * active container's file replaced, which ends its grab.
 *
 * The key state is asked of a second file that nobody reads: EVIOCGKEY
 * throws away the key events queued on the file it is asked of (the
 * caller is taken to have synced), so asking libinput's own file would
 * lose a key press that libinput had not read yet, and with it a chord.
 */
#include <errno.h>
#include <fcntl.h>
#include <libinput.h>
#include <libudev.h>
#include <linux/input.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "broker/broker.h"
#include "common/log.h"
#include "input/hotkeys.h"

/* How often each keyboard's state is compared with what libinput saw. */
#define GRAB_WATCH_USEC 100000ULL
#define HOTKEYS_MAX_DEVICES 64
#define KEY_BYTES ((KEY_MAX + 7) / 8 + 1)

struct hotkeys_device {
	int fd;       /* libinput's, -1 for a free slot */
	int state_fd; /* for EVIOCGKEY only, never read */
	dev_t devnum;
	uint8_t seen[KEY_BYTES]; /* held down, as libinput reported */
	bool suspect;            /* held keys libinput did not see, last time */
	/* Grabbed by someone other than the active container (the host, or a
	 * file devnsd did not hand out): reported once, until it ends. */
	bool foreign_grab;
};

struct hotkeys {
	struct broker_seat *seat;
	struct libinput *li;
	sd_event_source *source;
	sd_event_source *watch_timer;
	/* Presses minus releases per modifier, as libinput reported them,
	 * over every keyboard of the seat: a chord is read late when devnsd
	 * is slow, after the kernel's state has moved on. */
	unsigned held[4];
	struct hotkeys_device devices[HOTKEYS_MAX_DEVICES];
};

/* The keys the kernel holds down on the device now, whoever reads them. */
static int read_key_state(int fd, uint8_t state[KEY_BYTES])
{
	memset(state, 0, KEY_BYTES);
	return ioctl(fd, EVIOCGKEY(KEY_BYTES), state) < 0 ? -errno : 0;
}

static int open_restricted(const char *path, int flags, void *data)
{
	struct hotkeys *hk = data;
	int fd = open(path, flags | O_CLOEXEC);
	struct hotkeys_device *d = NULL;
	struct stat st;
	int r;

	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0)
		goto fail;
	for (unsigned i = 0; i < ARRAY_SIZE(hk->devices) && !d; i++)
		if (hk->devices[i].fd < 0)
			d = &hk->devices[i];
	if (!d) {
		errno = EMFILE;
		goto fail;
	}
	*d = (struct hotkeys_device) { .fd = fd, .devnum = st.st_rdev };
	d->state_fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (d->state_fd < 0) {
		d->fd = -1;
		goto fail;
	}
	(void)read_key_state(d->state_fd, d->seen);
	return fd;
fail:
	r = -errno;
	close(fd);
	return r;
}

static void close_restricted(int fd, void *data)
{
	struct hotkeys *hk = data;

	for (unsigned i = 0; i < ARRAY_SIZE(hk->devices); i++)
		if (hk->devices[i].fd == fd) {
			hk->devices[i].fd = -1;
			close(hk->devices[i].state_fd);
		}
	close(fd);
}

static struct hotkeys_device *device_of(struct hotkeys *hk, struct libinput_device *dev)
{
	struct udev_device *ud = libinput_device_get_udev_device(dev);
	dev_t devnum = ud ? udev_device_get_devnum(ud) : 0;

	udev_device_unref(ud);
	for (unsigned i = 0; i < ARRAY_SIZE(hk->devices); i++)
		if (hk->devices[i].fd >= 0 && hk->devices[i].devnum == devnum)
			return &hk->devices[i];
	return NULL;
}

static bool bit(const uint8_t *bits, unsigned n)
{
	return bits[n / 8] & (1u << (n % 8));
}


static int try_grab(struct hotkeys_device *d)
{
	if (ioctl(d->fd, EVIOCGRAB, (void *)1) < 0)
		return -errno;
	(void)ioctl(d->fd, EVIOCGRAB, (void *)0);
	return 0;
}

static void watch_device(struct hotkeys *hk, struct hotkeys_device *d)
{
	struct broker_seat *bs = hk->seat;
	uint8_t now[KEY_BYTES];
	bool unseen = false;

	if (read_key_state(d->state_fd, now) < 0)
		return;
	for (unsigned i = 0; i < sizeof(now); i++)
		unseen = unseen || (now[i] & ~d->seen[i]);
	/* Twice in a row: an event still queued for libinput is read by
	 * then. A key released meanwhile took its suspicion with it. */
	if (!unseen || !d->suspect) {
		d->suspect = unseen;
		if (!unseen)
			d->foreign_grab = false;
		return;
	}
	d->suspect = false;
	memcpy(d->seen, now, sizeof(now));
	if (try_grab(d) != -EBUSY || d->foreign_grab)
		return;
	if (broker_seat_break_grab(bs, d->devnum) == 0 && try_grab(d) == 0) {
		/* Releases libinput will never report for presses it never
		 * saw: count from what is held now. */
		memset(hk->held, 0, sizeof(hk->held));
		return;
	}
	d->foreign_grab = true;
	log_warning("%s: keyboard %u:%u is grabbed through a file devnsd did not hand out; its hotkeys do not work until it is released",
		    bs->seat->id, major(d->devnum), minor(d->devnum));
}

static int on_watch_timer(sd_event_source *s, uint64_t usec, void *userdata)
{
	struct hotkeys *hk = userdata;

	for (unsigned i = 0; i < ARRAY_SIZE(hk->devices); i++)
		if (hk->devices[i].fd >= 0)
			watch_device(hk, &hk->devices[i]);
	sd_event_source_set_time(s, usec + GRAB_WATCH_USEC);
	return 0;
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

/* The modifiers held on any keyboard of the seat: those libinput reported,
 * and those the kernel's key state has now, which include presses that
 * went to a grabbing file instead. */
static uint32_t modifiers_held(struct hotkeys *hk)
{
	static const unsigned modifier_keys[] = {
		KEY_LEFTCTRL, KEY_RIGHTCTRL, KEY_LEFTALT, KEY_RIGHTALT,
		KEY_LEFTSHIFT, KEY_RIGHTSHIFT, KEY_LEFTMETA, KEY_RIGHTMETA,
	};
	uint32_t mods = 0;

	/* modifier_index() gives the bit of enum hotkey_modifier. */
	for (unsigned i = 0; i < ARRAY_SIZE(hk->held); i++)
		if (hk->held[i])
			mods |= 1u << i;
	for (unsigned i = 0; i < ARRAY_SIZE(hk->devices); i++) {
		uint8_t now[KEY_BYTES];

		if (hk->devices[i].fd < 0 || read_key_state(hk->devices[i].state_fd, now) < 0)
			continue;
		for (unsigned k = 0; k < ARRAY_SIZE(modifier_keys); k++)
			if (bit(now, modifier_keys[k]))
				mods |= 1u << modifier_index(modifier_keys[k]);
	}
	return mods;
}

static bool chord_matches(const struct chord *c, uint32_t mods, uint32_t key)
{
	return c->key && c->key == key && c->modifiers == mods;
}

static void on_key(struct hotkeys *hk, struct hotkeys_device *d, uint32_t key, bool pressed)
{
	struct broker_seat *bs = hk->seat;
	const struct config *cfg = &bs->broker->config;
	uint32_t mods;
	int mod = modifier_index(key);

	if (d && key <= KEY_MAX) {
		if (pressed)
			d->seen[key / 8] |= 1u << (key % 8);
		else
			d->seen[key / 8] &= ~(1u << (key % 8));
	}
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
			on_key(hk, device_of(hk, libinput_event_get_device(ev)),
			       libinput_event_keyboard_get_key(k),
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
	for (unsigned i = 0; i < ARRAY_SIZE(hk->devices); i++)
		hk->devices[i].fd = -1;
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
	r = sd_event_add_time_relative(b->event, &hk->watch_timer, CLOCK_MONOTONIC, GRAB_WATCH_USEC,
				       0, on_watch_timer, hk);
	if (r < 0)
		goto fail;
	(void)sd_event_source_set_enabled(hk->watch_timer, SD_EVENT_ON);
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
	sd_event_source_disable_unref(hk->watch_timer);
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
