#!/bin/sh
# Debian's KWin, unmodified, through the login1 facade; see
# test-login1-desktop.py.
. "$DEVNS_SRC/tests/vm/lib.sh"

mkdir -p /etc/dbus-1/system.d
cp "$DEVNS_SRC/data/org.devns.broker1.conf" /etc/dbus-1/system.d/
start_udev
start_system_bus
exec python3 "$DEVNS_SRC/tests/vm/test-login1-desktop.py" kwin
