#!/bin/sh
# Two seats in the guest; see test-multiseat.py. The second display
# (virtio-gpu, QEMU id video1) and the keyboard bound to it form seat1, as
# an administrator would assign them: a udev rule that sets ID_SEAT, in
# place before udev sees the devices.
. "$DEVNS_SRC/tests/vm/lib.sh"
mkdir -p /etc/udev/rules.d /etc/dbus-1/system.d
cat >/etc/udev/rules.d/72-devns-seat1.rules <<'RULES'
# The virtio-gpu card (PCI 1af4:1050) and the virtio keyboard.
SUBSYSTEM=="drm", KERNEL=="card[0-9]*", ATTRS{vendor}=="0x1af4", ATTRS{device}=="0x1050", ENV{ID_SEAT}="seat1"
SUBSYSTEM=="input", KERNEL=="event[0-9]*", DRIVERS=="virtio_input", ENV{ID_SEAT}="seat1"
RULES
cp "$DEVNS_SRC/data/org.devns.broker1.conf" /etc/dbus-1/system.d/
start_udev
start_system_bus
exec python3 "$DEVNS_SRC/tests/vm/test-multiseat.py"
