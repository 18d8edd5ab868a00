/* SPDX-License-Identifier: MIT */
/* The keeper's log lines. Its stderr is also its child's, so every line it
 * writes starts with "devns-keeper: " to tell the two apart. */
#pragma once

#include "common/log.h"

#define KEEPER_LOG_PREFIX "devns-keeper: "

#define keeper_error(fmt, ...) log_error(KEEPER_LOG_PREFIX fmt, ##__VA_ARGS__)
#define keeper_warning(fmt, ...) log_warning(KEEPER_LOG_PREFIX fmt, ##__VA_ARGS__)
#define keeper_info(fmt, ...) log_info(KEEPER_LOG_PREFIX fmt, ##__VA_ARGS__)
#define keeper_debug(fmt, ...) log_debug(KEEPER_LOG_PREFIX fmt, ##__VA_ARGS__)
#define keeper_error_errno(e, fmt, ...) log_error_errno((e), KEEPER_LOG_PREFIX fmt, ##__VA_ARGS__)
#define keeper_warning_errno(e, fmt, ...) log_warning_errno((e), KEEPER_LOG_PREFIX fmt, ##__VA_ARGS__)
