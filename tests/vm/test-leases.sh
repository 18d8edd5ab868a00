#!/bin/sh
# Two containers on two screens at once, by DRM lease; see test-leases.py.
. "$DEVNS_SRC/tests/vm/lib.sh"
mkdir -p /etc/dbus-1/system.d
cp "$DEVNS_SRC/data/org.devns.broker1.conf" /etc/dbus-1/system.d/
start_udev
start_system_bus
exec python3 "$DEVNS_SRC/tests/vm/test-leases.py"
