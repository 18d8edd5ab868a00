#!/bin/sh
# A Debian 12 container booted by systemd-nspawn, weston in it on the login1
# facade; see test-login1-nspawn.py. Its root is the disk tests/vm/mkosroot.sh
# built on the host (which runs vm.py for this test).
. "$DEVNS_SRC/tests/vm/lib.sh"

mkdir -p /etc/dbus-1/system.d
cp "$DEVNS_SRC/data/org.devns.broker1.conf" /etc/dbus-1/system.d/
start_udev
start_system_bus
exec python3 "$DEVNS_SRC/tests/vm/test-login1-nspawn.py"
