#!/bin/sh
# A binder device and loop devices of each container's own; see
# test-private-devices.py.
. "$DEVNS_SRC/tests/vm/lib.sh"
mkdir -p /etc/dbus-1/system.d
cp "$DEVNS_SRC/data/org.devns.broker1.conf" /etc/dbus-1/system.d/
# binder's list of live contexts, which devnsd reads, is in debugfs;
# systemd mounts it on real systems.
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
start_udev
start_system_bus
exec python3 "$DEVNS_SRC/tests/vm/test-private-devices.py"
