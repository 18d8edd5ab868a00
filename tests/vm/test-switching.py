#!/usr/bin/env python3
"""Switching as a person does it: hotkeys typed on the guest's PS/2 keyboard
through QEMU's sendkey, and the console VT that devnsd takes.

Run by test-switching.sh in the guest.
"""
import fcntl
import os
import struct
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devnstest import (  # noqa: E402
    VM_DIR, Broker, check, demo_client, expect_screen, get_prop, make_active,
    run_with_broker, seat_path, system_bus, wait_until)

COLOURS = {"alpha": "cc2222", "beta": "2255cc", "gamma": "22aa44"}
KDGETMODE = 0x4B3B
KD_TEXT, KD_GRAPHICS = 0, 1

state = {}


def active():
    bus = system_bus()
    return str(get_prop(bus, seat_path(bus), "org.devns.broker1.Seat", "ActiveContainer")[0])


def sendkey(keys):
    r = subprocess.run([sys.executable, os.path.join(VM_DIR, "hostctl"), "sendkey", keys],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"sendkey {keys}: {r.stderr}")


def vt_mode():
    """The mode of the VT in front: KD_TEXT or KD_GRAPHICS."""
    with open("/sys/class/tty/tty0/active") as f:
        tty = f.read().strip()
    fd = os.open(f"/dev/{tty}", os.O_RDONLY | os.O_NOCTTY)
    try:
        buf = fcntl.ioctl(fd, KDGETMODE, struct.pack("i", 0))
        return tty, struct.unpack("i", buf)[0]
    finally:
        os.close(fd)


def broker():
    """devnsd running: testcase_vt_restored_after_stop stops it."""
    if not state["broker"].running():
        state["broker"] = Broker()
    return state["broker"]


def clients():
    broker()
    if "clients" not in state:
        cs = {}
        for name in ("alpha", "beta", "gamma"):
            cs[name] = demo_client(name, COLOURS[name])
            cs[name].expect("ready", timeout=60)
        state["clients"] = cs
    return state["clients"]


def hotkey(keys, expect):
    c = clients()[expect]
    c.take_lines("resume")
    sendkey(keys)
    wait_until(f"{keys} makes {expect} active", lambda: active() == expect, timeout=30)
    c.expect("resume ", timeout=30)
    expect_screen(f"hotkey-{keys}-{expect}.png", COLOURS[expect])


def testcase_vt_in_graphics_mode():
    broker()
    tty, mode = vt_mode()
    check(mode == KD_GRAPHICS, f"{tty} is in mode {mode} while devnsd runs")


def testcase_hotkey_next_previous():
    make_active(clients()["alpha"])
    hotkey("ctrl-alt-right", "beta")
    hotkey("ctrl-alt-right", "gamma")
    hotkey("ctrl-alt-right", "alpha")  # wraps around
    hotkey("ctrl-alt-left", "gamma")


def testcase_hotkey_nth():
    # Each chord below must change the active container.
    make_active(clients()["gamma"])
    hotkey("ctrl-alt-f2", "beta")
    hotkey("ctrl-alt-f1", "alpha")
    hotkey("ctrl-alt-f3", "gamma")
    before = active()
    sendkey("ctrl-alt-f9")  # no ninth container: nothing happens
    clients()[before].status()
    check(active() == before, "a chord for a missing container changes nothing")


def testcase_keys_reach_only_the_active_client():
    cs = clients()
    make_active(cs["gamma"])  # so that the chord switches
    hotkey("ctrl-alt-f1", "alpha")
    for c in cs.values():
        c.status()  # read everything typed so far (the chords) ...
        c.take_lines("key ")  # ... and forget it
    sendkey("a")
    line = cs["alpha"].expect("key ", timeout=30)
    check(line.endswith(" 30"), f"alpha got {line}")
    for name in ("beta", "gamma"):
        cs[name].status()  # a round trip: anything queued has been read
        check(not cs[name].take_lines("key "), f"background {name} received a key")


def testcase_vt_restored_after_stop():
    # A devnsd that has had clients, as one stopped in use.
    clients()
    for c in state.pop("clients", {}).values():
        c.stop()
    rc = state["broker"].stop()
    check(rc == 0, f"devnsd exit status {rc}")
    tty, mode = vt_mode()
    check(mode == KD_TEXT, f"{tty} is in mode {mode} after devnsd stopped")


ORDER = [
    "testcase_vt_in_graphics_mode",
    "testcase_hotkey_next_previous",
    "testcase_hotkey_nth",
    "testcase_keys_reach_only_the_active_client",
    "testcase_vt_restored_after_stop",
]


def main():
    return run_with_broker(globals(), ORDER, state, modules=("bochs",))


if __name__ == "__main__":
    sys.exit(main())
