#!/bin/sh
# A libseat client (Debian's libseat) in containers on their seatd.sock; see
# test-seatd-libseat.py.
. "$DEVNS_SRC/tests/vm/lib.sh"

mkdir -p /etc/dbus-1/system.d
cp "$DEVNS_SRC/data/org.devns.broker1.conf" /etc/dbus-1/system.d/
start_udev
start_system_bus
exec python3 "$DEVNS_SRC/tests/vm/test-seatd-libseat.py"
