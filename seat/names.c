/* SPDX-License-Identifier: MIT */
#include <string.h>

#include "seat/names.h"

static bool char_is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool container_name_is_valid(const char *name)
{
	size_t n;

	if (!name)
		return false;
	n = strlen(name);
	if (n == 0 || n > CONTAINER_NAME_MAX || name[0] == '.' || name[0] == '-')
		return false;
	for (size_t i = 0; i < n; i++)
		if (!char_is_alnum(name[i]) && !strchr("_.-", name[i]))
			return false;
	return true;
}

bool seat_id_is_valid(const char *id)
{
	if (!id || strncmp(id, "seat", 4) != 0 || id[4] == '\0' || strlen(id) > SEAT_ID_MAX)
		return false;
	for (const char *p = id + 4; *p; p++)
		if (!char_is_alnum(*p) && *p != '_' && *p != '-')
			return false;
	return true;
}
