#!/usr/bin/env python3
"""mutter through the login1 facade: Debian's mutter 43 as a Wayland display
server (its native backend, no gnome-shell), unmodified, in a container
beside the examples' demo client in another one.

mutter finds its session through sd-login (sd_uid_get_display() of its
uid: the files the facade keeps in the container's root), takes control of
it, and opens the card and every input device with TakeDevice. It renders
with Mesa's llvmpipe through GBM on bochs (kms_swrast), slowly under TCG.

Checked: mutter takes the card and input, and its stage is on screen
(mutter's own default background, without gnome-shell a vignette around
one reproducible colour, looked at in the middle of the screen); a switch
to the demo pauses mutter's card (mutter hands its input devices back
itself) and shows the demo; a switch back gives mutter its devices again
and it draws once more. Each round is checked on the screen.

mutter 43 pauses on the session's Active property and does not answer the
card's PauseDevice("pause"): devnsd's pause timeout ends each switch away
from it (logged, not asserted: it is mutter's).

Run by test-login1-mutter.sh in the guest.
"""
import os
import subprocess
import sys

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import devnstest  # noqa: E402
import screen  # noqa: E402
from devnstest import (  # noqa: E402
    Broker, OUT, ScriptContainer, TestFailure, active_container, check, container_prop,
    demo_client, expect_screen, held_devices, load_bochs, log, manager, run_testcases,
    screendump, switch_and_wait, wait_until)

ROUNDS = int(os.environ.get("DEVNS_SWITCHES", "3"))
DEMO_COLOUR = "2255cc"
# The middle of mutter's default background (its default plugin picks the
# colour from a fixed seed), in the middle 160x160 of the 1280x800 screen.
MUTTER_COLOUR = (0x1b, 0x4b, 0x7a)
MIDDLE = (560, 320, 160, 160)
MUTTER_UID = 65534
XDG = f"/run/user/{MUTTER_UID}"       # inside the container
MUTTER_LOG = os.path.join(OUT, "mutter.log")

# The container's leader, root in its new namespaces. At once: its own
# /run/dbus, /run/systemd and /run/user and the user's runtime directory.
# On the first line (it is registered by then): its own system bus. On the
# second (the facade serves login1 by then): mutter as that user, with no
# supplementary group (every device comes through TakeDevice), with a
# session bus of its own and its settings in memory.
LEADER_SCRIPT = r'''
set -e
U=$1 XDG=$2
for d in /run/dbus /run/systemd /run/user; do
	mkdir -p "$d"
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$d"
done
mkdir -p "$XDG"
chown "$U:$U" "$XDG"
chmod 0700 "$XDG"
echo "mounted"
read -r go
dbus-daemon --system --nofork --nopidfile </dev/null >"$DEVNS_OUT/mutter-dbus.log" 2>&1 &
echo "bus $!"
read -r go
echo "mutter"
cd "$XDG"
# mutter itself becomes the namespace's init: it ends on SIGTERM, which a
# pid namespace's init only gets when it has a handler for it.
as_user="setpriv --reuid=$U --regid=$U --clear-groups env -i PATH=/usr/bin:/bin HOME=$XDG"
as_user="$as_user XDG_RUNTIME_DIR=$XDG XDG_SEAT=seat0"
addr=$($as_user dbus-daemon --session --fork --nopidfile --print-address)
exec $as_user DBUS_SESSION_BUS_ADDRESS="$addr" GSETTINGS_BACKEND=memory MUTTER_DEBUG=backend \
	mutter --wayland --no-x11 --display-server </dev/null >"$DEVNS_OUT/mutter.log" 2>&1
'''

state = {}


def mutter_log():
    try:
        with open(MUTTER_LOG, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def check_mutter_alive(when):
    if not state["mutter"].alive():
        tail = "".join(mutter_log().splitlines(True)[-30:])
        raise TestFailure(f"mutter is not running {when}; last lines of its log:\n{tail}")


def mutter_fraction(name):
    """How much of the middle of the screen is mutter's background."""
    img = screen.load_png(screendump(name))
    return screen.fraction(img, MUTTER_COLOUR, 8, MIDDLE)


def expect_mutter_on_screen(name, timeout):
    seen = []

    def look():
        seen.append(mutter_fraction(name))
        return seen[-1] >= 0.9

    try:
        wait_until(f"mutter's picture ({name})", look, timeout=timeout, interval=0.5)
    except TestFailure:
        check_mutter_alive(f"for {name}")
        raise TestFailure(f"screen {name}: mutter's colour covers {seen[-3:]} of the middle")


def ensure_demo():
    if "demo" not in state:
        state["demo"] = demo_client("demo", DEMO_COLOUR)
        state["demo"].expect("ready", timeout=120)
    return state["demo"]


def ensure_mutter():
    """mutter running in its container, in front, on screen."""
    ensure_demo()
    c = state.get("mutter")
    if c is not None and c.alive():
        if active_container() != "mutter":
            manager().SwitchContainer("seat0", "mutter")
        expect_mutter_on_screen("mutter-front.png", timeout=120)
        return c
    if c is not None:
        c.stop()
    options = {"Login1": dbus.Boolean(True), "Login1User": dbus.UInt32(MUTTER_UID)}
    c = state["mutter"] = ScriptContainer("mutter", LEADER_SCRIPT, [str(MUTTER_UID), XDG],
                                          options)
    c.send("go")
    c.expect("bus ", timeout=60)
    wait_until("the facade serving login1",
               lambda: str(container_prop("mutter", "Login1")) == "serving", timeout=60)
    # A paused card at start-up is fatal to mutter, as after a login on a VT.
    manager().SwitchContainer("seat0", "mutter")
    check(active_container() == "mutter", "the mutter container in front before mutter starts")
    c.send("go")
    c.expect("mutter", timeout=60)
    expect_mutter_on_screen("mutter-start.png", timeout=300)
    return c


def testcase_mutter_starts_on_the_facade():
    r = subprocess.run(["mutter", "--version"], capture_output=True, text=True, timeout=60)
    log(f"compositor: {r.stdout.strip() or r.stderr.strip()}")
    ensure_mutter()
    check("Running Mutter" in mutter_log() and "as a Wayland display server" in mutter_log(),
          "mutter runs as a Wayland display server")
    check("Opening and taking control of device file '/dev/dri/card0'" in mutter_log(),
          "mutter took the card through logind")
    h = held_devices("mutter")
    check(any(d[2] == "drm" for d in h) and any(d[2] == "evdev" for d in h) and
          not any(d[3] for d in h), f"mutter holds the card and input, none paused: {h}")
    st = state["demo"].status()
    check(st["drm_master"] == "0" and st["evdev"] == "revoked", f"demo background: {st}")


def testcase_switches_back_and_forth():
    ensure_mutter()
    demo = state["demo"]
    for i in range(1, ROUNDS + 1):
        switch_and_wait(demo)
        expect_screen(f"round-{i:02d}-demo.png", DEMO_COLOUR, timeout=120)
        check_mutter_alive(f"after switch {i} away")
        h = held_devices("mutter")
        check(any(d[2] == "drm" and d[3] for d in h) and
              not any(d[2] == "evdev" and not d[3] for d in h),
              f"mutter in the background: card paused, no live input: {h}")
        st = demo.status()
        check(st["drm_master"] == "1" and st["evdev"] == "live", f"demo in front: {st}")

        manager().SwitchContainer("seat0", "mutter")
        check(active_container() == "mutter", "the mutter container in front again")
        expect_mutter_on_screen(f"round-{i:02d}-mutter.png", timeout=120)
        wait_until("mutter's card and input resumed",
                   lambda: [d for d in held_devices("mutter") if d[2] == "evdev"] and
                   not any(d[3] for d in held_devices("mutter")), timeout=60)
        st = demo.status()
        check(st["drm_master"] == "0" and st["evdev"] == "revoked", f"demo background: {st}")


ORDER = [
    "testcase_mutter_starts_on_the_facade",
    "testcase_switches_back_and_forth",
]


def main():
    if not os.path.exists("/usr/bin/mutter"):
        print("# mutter is not installed", flush=True)
        return 1
    load_bochs()
    state["broker"] = Broker()
    try:
        rc = run_testcases(globals(), ORDER)
    finally:
        for name in ("mutter", "demo"):
            if name in state:
                state[name].stop()
        state["broker"].stop()
    return rc


if __name__ == "__main__":
    sys.exit(main())
