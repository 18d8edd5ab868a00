#!/usr/bin/env python3
"""The demo in the guest: devnsd and three containers started with
`devnsctl run`, each running the demo client in its own colour. They are
switched over D-Bus and with hotkeys typed on the (PS/2) keyboard through
QEMU, and keys are typed into the active one. Every step leaves a
screenshot; summary.txt and summary.json tell the times and where the keys
went. Run by demo.sh."""
import json
import os
import re
import statistics
import struct
import subprocess
import sys
import time
import zlib

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import screen  # noqa: E402
from devnstest import (  # noqa: E402
    Broker, DEVNSCTL, OUT, colours_close, get_prop, load_bochs, run_demo_client, screen_colour,
    screendump, seat_path, sendkey, switch_and_wait, system_bus, wait_until)

CONTAINERS = {"alpha": "cc2222", "beta": "2255cc", "gamma": "22aa44"}

# (kind, argument, container expected in front afterwards)
STEPS = [
    ("dbus", "alpha", "alpha"),
    ("dbus", "beta", "beta"),
    ("dbus", "gamma", "gamma"),
    ("hotkey", "ctrl-alt-right", "alpha"),  # wraps around
    ("hotkey", "ctrl-alt-right", "beta"),
    ("type", "a b c", "beta"),
    ("hotkey", "ctrl-alt-f3", "gamma"),
    ("type", "d e v n s", "gamma"),
    ("hotkey", "ctrl-alt-left", "beta"),
    ("hotkey", "ctrl-alt-f1", "alpha"),
    ("type", "x", "alpha"),
    ("hotkey", "ctrl-alt-f2", "beta"),
    ("dbus", "gamma", "gamma"),
]


def key_names():
    """KEY_* code -> lower-case name, from the kernel's header if there."""
    names = {}
    try:
        with open("/usr/include/linux/input-event-codes.h") as f:
            for m in re.finditer(r"#define KEY_(\w+)\s+(\d+)\b", f.read()):
                names.setdefault(int(m.group(2)), m.group(1).lower())
    except OSError:
        pass
    return names


KEY_NAMES = key_names()


def active():
    bus = system_bus()
    return str(get_prop(bus, seat_path(bus), "org.devns.broker1.Seat", "ActiveContainer")[0])


def top_row_colour(path):
    """The colour of the first pixel row of a PNG. Each client scans out a
    buffer of its own, so the top row tells whose picture is on screen; it
    is decoded in a moment, where a whole picture with text takes a while
    under TCG, which would make the polling below coarse."""
    with open(path, "rb") as f:
        data = f.read()
    pos, idat, width, ctype = 8, [], 0, 2
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, ctype = struct.unpack(">I", body[:4])[0], body[9]
        elif kind == b"IDAT":
            idat.append(body)
    bpp = screen.CHANNELS[ctype]
    raw = zlib.decompressobj().decompress(b"".join(idat), 1 + width * bpp)
    row = screen._unfilter(raw, width, 1, bpp)
    return "%02x%02x%02x" % tuple(row[width // 2 * bpp:width // 2 * bpp + 3])


def shoot(name, colour, t0=None, timeout=30.0):
    """Screendumps into name until it shows colour. Returns the seconds from
    t0 to the return of the first screendump that showed it, and what the
    screen showed (its most common colour and how much of it)."""
    path = os.path.join(OUT, name)
    end = time.monotonic() + timeout
    while True:
        screendump(name)
        t = time.monotonic()
        if colours_close(top_row_colour(path), colour):
            break
        if t > end:
            t0 = None
            break
    got, fraction = screen_colour(path)
    if not colours_close(got, colour) or fraction < 0.8:
        t0 = None
    return (t - t0 if t0 is not None else None), got, fraction


def drain_keys(clients):
    """{name: [key names]} received since the last call. A status round trip
    first, so that every key a client has read is in."""
    got = {}
    for name, c in clients.items():
        c.status()
        keys = [KEY_NAMES.get(int(line.split()[2]), line.split()[2]) for line in c.take_lines("key ")]
        if keys:
            got[name] = keys
    return got


def ms(seconds):
    return round(seconds * 1000, 1)


def stats(values):
    if not values:
        return "none"
    return (f"median {statistics.median(values):.0f} ms, best {min(values):.0f} ms, "
            f"worst {max(values):.0f} ms over {len(values)}")


def main():
    started = time.monotonic()
    load_bochs(timeout=60)
    broker = Broker()
    clients = {}
    lines, problems, record = [], [], {"steps": []}
    dbus_ms, hotkey_resume_ms, hotkey_picture_ms, typed = [], [], [], []

    def say(line):
        lines.append(line)
        print(line, flush=True)

    try:
        for name, colour in CONTAINERS.items():  # one after the other
            clients[name] = run_demo_client(name, colour)
            clients[name].expect("ready", timeout=60)
        listing = subprocess.run([DEVNSCTL, "list"], capture_output=True, text=True, timeout=60)
        say("Three containers, each started with `devnsctl run NAME -- devns-demo-client ...`:")
        lines.extend("    " + line for line in listing.stdout.rstrip().splitlines() if line.strip())
        print(listing.stdout, flush=True)
        shot = "00-start-none-active.png"
        screendump(shot)
        got, fraction = screen_colour(os.path.join(OUT, shot))
        say(f"step  0: no container is active yet, so none has drawn; the screen ({got}) "
            f"still shows what the firmware left -> {shot}")

        # A screendump alone, for scale.
        round_trips = []
        for _ in range(3):
            t = time.monotonic()
            screendump("screendump-round-trip.png")
            round_trips.append(ms(time.monotonic() - t))
        os.unlink(os.path.join(OUT, "screendump-round-trip.png"))

        for i, (kind, arg, expect) in enumerate(STEPS, 1):
            before = active()
            c = clients[expect]
            step = {"step": i, "kind": kind, "arg": arg, "before": before, "expect": expect}
            if kind == "dbus":
                shot = f"{i:02d}-dbus-switch-{expect}.png"
                t = switch_and_wait(c)
                dbus_ms.append(t)
                _, got, fraction = shoot(shot, CONTAINERS[expect])
                step["switch_ms"] = round(t, 1)
                what = (f"D-Bus SwitchContainer(seat0, {expect}): the client resumed "
                        f"{t:.0f} ms after the call")
            elif kind == "hotkey":
                shot = f"{i:02d}-hotkey-{arg}-{expect}.png"
                n = len(get_prop(system_bus(), c.path, "org.devns.broker1.Container", "Devices"))
                c.take_lines("resume")
                t0 = time.monotonic()
                t0_ns = time.monotonic_ns()
                sendkey(arg)
                picture, got, fraction = shoot(shot, CONTAINERS[expect], t0)
                resumes = [c.expect("resume ", timeout=30) for _ in range(n)]
                resumed = (max(int(r.split()[2]) for r in resumes) - t0_ns) / 1e6
                hotkey_resume_ms.append(resumed)
                step["resume_ms"] = round(resumed, 1)
                if picture is None:
                    problems.append(f"step {i}: {arg} did not show {expect}'s colour")
                    what = f"hotkey {arg}: {expect}'s colour never came on screen"
                else:
                    hotkey_picture_ms.append(ms(picture))
                    step["picture_ms"] = ms(picture)
                    what = (f"hotkey {arg}: {expect} resumed {resumed:.0f} ms and its picture "
                            f"was on screen {ms(picture):.0f} ms after the key request")
            else:
                shot = f"{i:02d}-typed-{arg.replace(' ', '')}-into-{expect}.png"
                keys = arg.split()
                count = int(c.status()["keys"])
                sendkey(*keys)
                wait_until(f"{expect} counting {arg}",
                           lambda: int(c.status()["keys"]) >= count + len(keys), timeout=30)
                _, got, fraction = shoot(shot, CONTAINERS[expect])
                what = (f"typed {arg} with {expect} in front: its key counter and bar "
                        f"went from {count} to {count + len(keys)}")
            now = active()
            if now != expect:
                problems.append(f"step {i}: {now} is active, not {expect}")
            received = drain_keys(clients)
            step.update(active=now, screen=got, screen_fraction=round(fraction, 3),
                        screenshot=shot, keys=received)
            if kind == "type":
                typed.append((arg, expect, received))
                if received != {expect: arg.split()}:
                    problems.append(f"step {i}: typed {arg} into {expect}, keys went to {received}")
            elif kind == "hotkey" and set(received) - {before}:
                problems.append(f"step {i}: the chord's keys reached {sorted(received)}, "
                                f"not only {before}")
            got_keys = "; ".join(f"{n} got {' '.join(k)}" for n, k in received.items())
            say(f"step {i:2d}: {what}; screen {got} ({fraction:.0%})"
                f"{'; keys: ' + got_keys if got_keys else ''} -> {shot}")
            record["steps"].append(step)
    finally:
        for c in clients.values():
            c.stop()
        broker.stop()

    say("")
    say("Switch time seen by the clients, from the SwitchContainer call to the new "
        f"client's last ResumeDevice: {stats(dbus_ms)}.")
    say("Hotkey to switch seen by the client, from just before the sendkey request to "
        f"the new client's last ResumeDevice: {stats(hotkey_resume_ms)}.")
    say("Hotkey to picture on screen, from just before the sendkey request to the first "
        "screendump that shows the new colour (this includes a screendump round trip, "
        f"{statistics.median(round_trips):.0f} ms by itself): {stats(hotkey_picture_ms)}.")
    say("Keys typed went to the container in front only:")
    for arg, expect, received in typed:
        got = ", ".join(f"{n} got {' '.join(k)}" for n, k in received.items())
        others = ", ".join(n for n in CONTAINERS if n not in received)
        say(f"    typed {arg} with {expect} in front: {got or 'nobody got them'}; "
            f"{others} got nothing")
    say("The keys of a chord reach the container in front when it is typed (as with VT "
        "switching); the container switched to gets none of them.")
    guest_s = time.monotonic() - started
    say(f"The demo took {guest_s:.0f} s in the guest, boot not counted (QEMU with TCG, no KVM: "
        "every time above is that of an emulated machine).")
    if problems:
        say("PROBLEMS:")
        lines.extend("    " + p for p in problems)
        print("\n".join(problems), flush=True)

    record.update(
        dbus_switch_ms={"median": round(statistics.median(dbus_ms), 1), "worst": round(max(dbus_ms), 1)},
        hotkey_resume_ms={"median": round(statistics.median(hotkey_resume_ms), 1),
                          "worst": round(max(hotkey_resume_ms), 1)},
        hotkey_picture_ms={"median": round(statistics.median(hotkey_picture_ms), 1)
                           if hotkey_picture_ms else None,
                           "worst": max(hotkey_picture_ms) if hotkey_picture_ms else None,
                           "includes_screendump_round_trip_ms": statistics.median(round_trips)},
        problems=problems)
    with open(os.path.join(OUT, "summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(record, f, indent=2)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
