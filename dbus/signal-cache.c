/* SPDX-License-Identifier: MIT */
#include <stdarg.h>

#include "dbus/signal-cache.h"

int properties_changed_begin(sd_bus *bus, sd_bus_message **ret, const char *path,
			     const char *interface)
{
	sd_bus_message *m = NULL;
	int r;

	r = sd_bus_message_new_signal(bus, &m, path, "org.freedesktop.DBus.Properties",
				      "PropertiesChanged");
	if (r < 0)
		return r;
	if ((r = sd_bus_message_append_basic(m, 's', interface)) < 0 ||
	    (r = sd_bus_message_open_container(m, 'a', "{sv}")) < 0) {
		sd_bus_message_unref(m);
		return r;
	}
	*ret = m;
	return 0;
}

int properties_changed_open_entry(sd_bus_message *m, const char *property, const char *type)
{
	int r;

	if ((r = sd_bus_message_open_container(m, 'e', "sv")) < 0 ||
	    (r = sd_bus_message_append_basic(m, 's', property)) < 0)
		return r;
	return sd_bus_message_open_container(m, 'v', type);
}

int properties_changed_close_entry(sd_bus_message *m)
{
	int r = sd_bus_message_close_container(m);

	return r < 0 ? r : sd_bus_message_close_container(m);
}

/* No invalidated properties: every value is in the message. */
int properties_changed_end(sd_bus_message *m)
{
	int r = sd_bus_message_close_container(m);

	return r < 0 ? r : sd_bus_message_append_strv(m, NULL);
}

int properties_changed_newv(sd_bus *bus, sd_bus_message **ret, const char *path,
			    const char *interface, const char *property, const char *type,
			    va_list ap)
{
	sd_bus_message *m = NULL;
	int r;

	r = properties_changed_begin(bus, &m, path, interface);
	if (r < 0)
		return r;
	if ((r = properties_changed_open_entry(m, property, type)) < 0 ||
	    (r = sd_bus_message_appendv(m, type, ap)) < 0 ||
	    (r = properties_changed_close_entry(m)) < 0 ||
	    (r = properties_changed_end(m)) < 0) {
		sd_bus_message_unref(m);
		return r;
	}
	*ret = m;
	return 0;
}

int properties_changed_new(sd_bus *bus, sd_bus_message **ret, const char *path,
			   const char *interface, const char *property, const char *type, ...)
{
	va_list ap;
	int r;

	va_start(ap, type);
	r = properties_changed_newv(bus, ret, path, interface, property, type, ap);
	va_end(ap);
	return r;
}

int signal_cache_send_changed(sd_bus_message **slot, sd_bus *bus, const char *path,
			      const char *interface, const char *property, const char *type, ...)
{
	va_list ap;
	int r;

	if (!*slot) {
		va_start(ap, type);
		r = properties_changed_newv(bus, slot, path, interface, property, type, ap);
		va_end(ap);
		if (r < 0)
			return r;
	}
	r = sd_bus_send(bus, *slot, NULL);
	return r < 0 ? r : 0;
}

void signal_cache_clear(sd_bus_message **slots, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		slots[i] = sd_bus_message_unref(slots[i]);
}
