#!/bin/sh
# The login1 facade for a container in its own user namespace; see
# test-login1-userns.py.
. "$DEVNS_SRC/tests/vm/lib.sh"

mkdir -p /etc/dbus-1/system.d
cp "$DEVNS_SRC/data/org.devns.broker1.conf" /etc/dbus-1/system.d/
start_udev
start_system_bus
# Mount points for the container's own; its root may not create them.
mkdir -p /run/systemd
exec python3 "$DEVNS_SRC/tests/vm/test-login1-userns.py"
