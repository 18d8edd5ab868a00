/* SPDX-License-Identifier: MIT */
#pragma once

#include <stdint.h>

#define DEVNS_CONFIG_FILE "/etc/devns/devnsd.conf"
#define DEVNS_RUNTIME_DIR "/run/devns"
#define PAUSE_TIMEOUT_USEC_DEFAULT 500000ULL
#define PAUSE_TIMEOUT_USEC_MAX 60000000ULL

struct config {
	uint64_t pause_timeout_usec;
	char *runtime_dir;
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
