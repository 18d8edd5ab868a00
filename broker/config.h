/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* DEVNS_CONFIG_FILE comes from meson (sysconfdir). */
#define DEVNS_RUNTIME_DIR "/run/devns"
#define PAUSE_TIMEOUT_USEC_DEFAULT 500000ULL
#define PAUSE_TIMEOUT_USEC_MAX 60000000ULL
#define LOOP_DEVICES_PER_CONTAINER_DEFAULT 64
#define LOOP_DEVICES_PER_CONTAINER_MAX 1024

#define HOTKEY_CONTAINERS 12

enum hotkey_modifier {
	HOTKEY_MOD_CTRL = 1 << 0,
	HOTKEY_MOD_ALT = 1 << 1,
	HOTKEY_MOD_SHIFT = 1 << 2,
	HOTKEY_MOD_SUPER = 1 << 3,
};

/* A key chord such as Ctrl+Alt+Right: the modifiers held, exactly, and the
 * key pressed (a KEY_* code; 0 when the chord is disabled). */
struct chord {
	uint32_t modifiers;
	uint32_t key;
};

/* VT=: which virtual terminal devnsd takes on seat0. */
enum config_vt {
	CONFIG_VT_NO,
	CONFIG_VT_AUTO,   /* the first free one */
	CONFIG_VT_NUMBER, /* config.vt_number */
};

struct config {
	uint64_t pause_timeout_usec;
	char *runtime_dir;
	enum config_vt vt_mode;
	int vt_number;
	struct chord next, previous;
	struct chord container[HOTKEY_CONTAINERS]; /* the n-th container */
	/* [Binder] Devices=: names of the binder devices to hand out,
	 * space-separated; NULL for every binder* misc device. */
	char *binder_devices;
	/* [Loop] DevicesPerContainer=: how many loop devices one container
	 * may hold attached at once. */
	unsigned loop_devices_per_container;
};

void config_init(struct config *c);
void config_done(struct config *c);

/* Parses an INI text into c; name is used in messages. Returns 0, or
 * -EINVAL after logging file, line and key of the first bad value. */
int config_parse_string(struct config *c, const char *text, const char *name);
/* A missing file is fine unless must_exist: every key is optional. */
int config_load(struct config *c, const char *path, int must_exist);

/* "0.5" seconds -> 500000. Decimal seconds from 0 to 60. */
int config_parse_seconds(const char *s, uint64_t *ret_usec);
/* "Ctrl+Alt+Right", "Super+F3", "a"; "" or "none" disables (key 0).
 * Modifiers: Ctrl (Control), Alt, Shift, Super (Logo, Meta); the key is a
 * name of linux/input-event-codes.h without KEY_, in any case. */
int config_parse_chord(const char *s, struct chord *ret);
/* Writes the chord as config_parse_chord reads it. */
int config_format_chord(const struct chord *c, char *buf, size_t size);
