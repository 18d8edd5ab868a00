#!/bin/sh
# The broker on real devices in the guest; see test-broker.py.
. "$DEVNS_SRC/tests/vm/lib.sh"

mkdir -p /etc/udev/rules.d /etc/dbus-1/system.d
cp "$DEVNS_SRC/data/org.devns.broker1.conf" /etc/dbus-1/system.d/
# A uinput keyboard named for the multi-seat case belongs to seat1.
echo 'SUBSYSTEM=="input", KERNEL=="event*", ATTRS{name}=="devns-test-seat1", ENV{ID_SEAT}="seat1"' \
	>/etc/udev/rules.d/72-devns-test.rules

start_udev
start_system_bus
exec python3 "$DEVNS_SRC/tests/vm/test-broker.py"
