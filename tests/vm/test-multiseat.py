#!/usr/bin/env python3
"""Two seats on one machine: seat0 (the bochs card and the PS/2 keyboard)
and seat1 (a virtio-gpu card, QEMU id video1, and a virtio keyboard bound to
that display), assigned by the udev rule test-multiseat.sh writes. Two
containers per seat run the demo client, started with devnsctl run.
Switching one seat, over D-Bus or with a hotkey typed on its own keyboard,
leaves the other seat's DRM master, input and picture alone.

Run by test-multiseat.sh in the guest.
"""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devnstest import (  # noqa: E402
    Broker, check, expect_screen, get_prop, log, make_active, manager, run_demo_client,
    run_testcases, seat_devices, seat_path, sendkey, switch_and_wait, system_bus, wait_until)

SECOND_HEAD = "video1"  # the QOM id of seat1's display (meson.build)
SEATS = {
    "seat0": {"s0-red": "cc2222", "s0-blue": "2255cc"},
    "seat1": {"s1-green": "22aa44", "s1-amber": "dd9911"},
}
SEAT_OF = {name: seat for seat, cs in SEATS.items() for name in cs}
COLOURS = {name: colour for cs in SEATS.values() for name, colour in cs.items()}

state = {}


def active(seat):
    bus = system_bus()
    return str(get_prop(bus, seat_path(bus, seat), "org.devns.broker1.Seat",
                        "ActiveContainer")[0])


def clients():
    if "clients" not in state:
        cs = {}
        for name, colour in COLOURS.items():  # one after the other
            cs[name] = run_demo_client(name, colour, seat=SEAT_OF[name])
            cs[name].expect("ready", timeout=60)
        state["clients"] = cs
    return state["clients"]


def start_from(s0, s1):
    """s0 active on seat0 and s1 on seat1, whatever a testcase before left."""
    cs = clients()
    make_active(cs[s0], "seat0")
    make_active(cs[s1], "seat1")


def screen_device(seat):
    return SECOND_HEAD if seat == "seat1" else None


def check_screens(tag):
    """Each head shows the active container of its seat."""
    for seat in SEATS:
        name = active(seat)
        expect_screen(f"{tag}-{seat}-{name}.png", COLOURS[name], device=screen_device(seat))


def snapshot(seat):
    """The status of every client of a seat, and what they printed."""
    cs = clients()
    snap = {}
    for name in SEATS[seat]:
        st = cs[name].status()
        snap[name] = (st, cs[name].take_lines("pause") + cs[name].take_lines("resume") +
                      cs[name].take_lines("key "))
    return snap


def check_untouched(seat, before, what):
    """The clients of seat are as they were: nobody paused or resumed, no
    key arrived, the same DRM master, input and last resume."""
    after = snapshot(seat)
    for name, (st, _) in before.items():
        st2, events = after[name]
        check(st2 == st, f"{what}: {name} on {seat} changed from {st} to {st2}")
        check(not events, f"{what}: {name} on {seat} saw {events}")
    live = [n for n, (st, _) in after.items() if st["drm_master"] == "1"]
    check(len(live) == 1 and after[live[0]][0]["evdev"] == "live",
          f"{what}: {seat} has master in {live}")


def hotkey(seat, keys, expect):
    c = clients()[expect]
    c.take_lines("resume")
    # The virtio keyboard is bound to video1, so QEMU sends keys for video1
    # there and every other key to the PS/2 keyboard: seat0's.
    sendkey(keys, device=screen_device(seat))
    wait_until(f"{keys} on {seat} makes {expect} active",
               lambda: active(seat) == expect, timeout=30)
    c.expect("resume ", timeout=30)


def testcase_two_seats():
    bus = system_bus()
    seats = sorted(str(s) for s, _ in manager(bus).ListSeats())
    check(seats == ["seat0", "seat1"], f"seats: {seats}")
    for seat in SEATS:
        devs = seat_devices(bus, seat)
        log(f"{seat}: {devs}")
        cards = [d for d in devs if d[3] == "drm"]
        check(len(cards) == 1, f"{seat} has cards {cards}")
        check(any(d[3] == "evdev" for d in devs), f"{seat} has no input device")
        driver = os.path.basename(os.readlink(f"/sys/class/drm/{cards[0][0]}/device/driver"))
        want = "virtio-pci" if seat == "seat1" else "bochs-drm"  # virtio-gpu's parent
        check(driver == want, f"{seat}'s card {cards[0][0]} is driven by {driver}")
    s1_inputs = [d[0] for d in seat_devices(bus, "seat1") if d[3] == "evdev"]
    for ev in s1_inputs:
        with open(f"/sys/class/input/{ev}/device/name") as f:
            name = f.read().strip()
        check("Virtio" in name, f"seat1 has input {ev} ({name})")
    for name, c in clients().items():
        seat = str(get_prop(bus, c.path, "org.devns.broker1.Container", "Seat")[0])
        check(seat == SEAT_OF[name], f"{name} is on {seat}")


def testcase_switch_by_dbus_keeps_other_seat():
    cs = clients()
    start_from("s0-red", "s1-green")
    check_screens("start")
    before = snapshot("seat0")
    for name in ("s1-amber", "s1-green", "s1-amber"):
        ms = switch_and_wait(cs[name], "seat1")
        log(f"seat1 -> {name}: {ms:.1f} ms")
        st = cs[name].status()
        check(st["drm_master"] == "1" and st["evdev"] == "live", f"{name}: {st}")
        check_screens(f"dbus-{name}")
        check_untouched("seat0", before, f"switching seat1 to {name}")
    check(active("seat0") == "s0-red", f"seat0 active: {active('seat0')}")


def testcase_hotkey_on_seat1_keeps_seat0():
    start_from("s0-red", "s1-amber")
    before = snapshot("seat0")
    # s1-amber is active: next wraps around to s1-green.
    hotkey("seat1", "ctrl-alt-right", "s1-green")
    check_screens("hotkey1-right")
    check_untouched("seat0", before, "ctrl-alt-right on seat1's keyboard")
    hotkey("seat1", "ctrl-alt-f2", "s1-amber")
    check_screens("hotkey1-f2")
    check_untouched("seat0", before, "ctrl-alt-f2 on seat1's keyboard")
    check(active("seat0") == "s0-red", f"seat0 active: {active('seat0')}")


def testcase_hotkey_on_seat0_keeps_seat1():
    start_from("s0-red", "s1-amber")
    before = snapshot("seat1")
    hotkey("seat0", "ctrl-alt-right", "s0-blue")
    check_screens("hotkey0-right")
    check_untouched("seat1", before, "ctrl-alt-right on seat0's keyboard")
    hotkey("seat0", "ctrl-alt-f1", "s0-red")
    check_screens("hotkey0-f1")
    check_untouched("seat1", before, "ctrl-alt-f1 on seat0's keyboard")
    check(active("seat1") == "s1-amber", f"seat1 active: {active('seat1')}")


def testcase_keys_reach_their_seat_only():
    start_from("s0-red", "s1-amber")
    cs = clients()
    for c in cs.values():
        c.status()
        c.take_lines("key ")
    keys = {name: int(c.status()["keys"]) for name, c in cs.items()}
    sendkey("a", "b", device=SECOND_HEAD)
    sendkey("c")
    got = {}
    for seat, n in (("seat1", 2), ("seat0", 1)):
        name = active(seat)
        got[name] = [cs[name].expect("key ", timeout=30) for _ in range(n)]
    log(f"keys: {got}")
    codes = {name: [line.split()[2] for line in lines] for name, lines in got.items()}
    check(codes == {"s1-amber": ["30", "48"], "s0-red": ["46"]}, f"keys went to {codes}")
    for name, c in cs.items():
        st = c.status()
        want = keys[name] + len(got.get(name, []))
        check(int(st["keys"]) == want, f"{name} counted {st['keys']} keys, want {want}")
        check(not c.take_lines("key "), f"{name} received more keys")


ORDER = [
    "testcase_two_seats",
    "testcase_switch_by_dbus_keeps_other_seat",
    "testcase_hotkey_on_seat1_keeps_seat0",
    "testcase_hotkey_on_seat0_keeps_seat1",
    "testcase_keys_reach_their_seat_only",
]


def main():
    for mod in ("bochs", "virtio_gpu", "virtio_input"):
        subprocess.run(["modprobe", mod], check=True)
    wait_until("two DRM cards", lambda: all(os.path.exists(f"/dev/dri/card{i}") for i in (0, 1)),
               timeout=60)
    subprocess.run(["udevadm", "settle", "--timeout=60"], check=False)
    state["broker"] = Broker()
    try:
        return run_testcases(globals(), ORDER)
    finally:
        for c in state.get("clients", {}).values():
            c.stop()
        state["broker"].stop()


if __name__ == "__main__":
    sys.exit(main())
