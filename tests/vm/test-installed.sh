#!/bin/sh
# devns installed from its Debian packages on a whole Debian system booted
# with systemd as PID 1; see test-installed.py. The system is the disk
# tests/vm/mksysroot.sh built on the host (which runs vm.py for this test):
# udev, D-Bus and devnsd.service are already running, started by systemd.
exec python3 "$DEVNS_SRC/tests/vm/test-installed.py"
