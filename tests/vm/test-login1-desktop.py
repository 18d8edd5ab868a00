#!/usr/bin/env python3
"""Desktop compositors that need OpenGL, through the login1 facade:
Debian's mutter 43 (its native backend, no gnome-shell) or KWin 5.27
(kwin_wayland --drm, no Plasma), unmodified, in a container beside the
examples' demo client in another one. Which one is the first argument.

Both render with Mesa's llvmpipe through GBM on bochs (kms_swrast),
slowly under TCG. mutter finds its session through sd-login
(sd_uid_get_display() of its uid: the files the facade keeps in the
container's root), KWin through logind's session/self; both take control
of it and open the card and every input device with TakeDevice.

Checked: the compositor holds the card and input, and its picture is on
screen (mutter's own default background, a vignette around a reproducible
colour, looked at in the middle of the screen; for KWin, swaybg as its
client, filling the screen with one colour through layer-shell); a switch
to the demo pauses its card, leaves it no live input and shows the demo; a
switch back gives it its devices again and it draws once more. Each round
is checked on the screen.

devnsd runs under devns-keeper: the compositor outlives DEVNS_RESTART_ROUNDS
(3) kills (-9) of devnsd and as many restarts, on the same session and
devices, its picture staying; a switch away and back then still works.

mutter 43 pauses on the session's Active property and does not answer the
card's PauseDevice("pause"): devnsd's pause timeout ends each switch away
from it (logged, not asserted: it is mutter's).

Run by test-login1-mutter.sh and test-login1-kwin.sh in the guest.
"""
import os
import subprocess
import sys

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import screen  # noqa: E402
from devnstest import (  # noqa: E402
    OUT, KeptBroker, ScriptContainer, TestFailure, active_container, check, container_prop,
    demo_client, expect_screen, held_devices, load_bochs, log, manager, run_testcases,
    screendump, switch_and_wait, wait_until)

ROUNDS = int(os.environ.get("DEVNS_SWITCHES", "3"))
RESTART_ROUNDS = int(os.environ.get("DEVNS_RESTART_ROUNDS", "3"))
DEMO_COLOUR = "2255cc"
USER = 65534
XDG = f"/run/user/{USER}"             # inside the container

COMPOSITORS = {
    "mutter": {
        "binary": "/usr/bin/mutter",
        "version": ["mutter", "--version"],
        "env": "GSETTINGS_BACKEND=memory MUTTER_DEBUG=backend",
        "command": "mutter --wayland --no-x11 --display-server",
        # The middle of mutter's default background (its default plugin
        # picks the colour from a fixed seed), in the middle 160x160 of
        # the 1280x800 screen.
        "colour": (0x1b, 0x4b, 0x7a),
        "region": (560, 320, 160, 160),
    },
    "kwin": {
        "binary": "/usr/bin/kwin_wayland",
        "version": ["kwin_wayland", "--version"],
        "env": "KWIN_COMPOSE=O2 QT_LOGGING_RULES=kwin_*.debug=true",
        # Its one application: swaybg, a layer-shell background.
        "command": "kwin_wayland --drm --no-lockscreen --no-global-shortcuts "
                   "--no-kactivities 'swaybg -m solid_color -c #33aa77'",
        "colour": (0x33, 0xaa, 0x77),
        "region": None,
    },
}
NAME = sys.argv[1] if len(sys.argv) > 1 else "mutter"
COMP = COMPOSITORS[NAME]
LOG = os.path.join(OUT, f"{NAME}.log")

# The container's leader, root in its new namespaces. At once: its own
# /run/dbus, /run/systemd and /run/user and the user's runtime directory.
# On the first line (it is registered by then): its own system bus. On the
# second (the facade serves login1 by then): the compositor as that user,
# with no supplementary group (every device comes through TakeDevice), with
# a session bus of its own. It becomes the namespace's init: both end on
# SIGTERM, which a pid namespace's init only gets when it has a handler.
LEADER_SCRIPT = r'''
set -e
U=$1 XDG=$2 ENV=$3 COMMAND=$4 LOG=$5
for d in /run/dbus /run/systemd /run/user; do
	mkdir -p "$d"
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$d"
done
mkdir -p "$XDG"
chown "$U:$U" "$XDG"
chmod 0700 "$XDG"
echo "mounted"
read -r go
dbus-daemon --system --nofork --nopidfile </dev/null >"$DEVNS_OUT/container-dbus.log" 2>&1 &
echo "bus $!"
read -r go
echo "started"
cd "$XDG"
as_user="setpriv --reuid=$U --regid=$U --clear-groups env -i PATH=/usr/bin:/bin HOME=$XDG"
as_user="$as_user XDG_RUNTIME_DIR=$XDG XDG_SEAT=seat0"
addr=$($as_user dbus-daemon --session --fork --nopidfile --print-address)
eval "exec $as_user DBUS_SESSION_BUS_ADDRESS=$addr $ENV $COMMAND" </dev/null >"$LOG" 2>&1
'''

state = {}


def compositor_log():
    try:
        with open(LOG, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def check_alive(when):
    if not state[NAME].alive():
        tail = "".join(compositor_log().splitlines(True)[-30:])
        raise TestFailure(f"{NAME} is not running {when}; last lines of its log:\n{tail}")


def expect_on_screen(name, timeout):
    """Screendumps until the compositor's colour covers (nearly) all of
    its region."""
    seen = []

    def look():
        img = screen.load_png(screendump(name))
        seen.append(screen.fraction(img, COMP["colour"], 8, COMP["region"]))
        return seen[-1] >= 0.9

    try:
        wait_until(f"{NAME}'s picture ({name})", look, timeout=timeout, interval=0.5)
    except TestFailure:
        check_alive(f"for {name}")
        raise TestFailure(f"screen {name}: {NAME}'s colour covers {seen[-3:]} of its region")


def ensure_demo():
    if "demo" not in state:
        # It reconnects when devnsd restarts (testcase_survives_devnsd).
        state["demo"] = demo_client("demo", DEMO_COLOUR, ["--reconnect"])
        state["demo"].expect("ready", timeout=120)
    return state["demo"]


def ensure_compositor():
    """The compositor running in its container, in front, on screen."""
    ensure_demo()
    c = state.get(NAME)
    if c is not None and c.alive():
        if active_container() != NAME:
            manager().SwitchContainer("seat0", NAME)
        expect_on_screen(f"{NAME}-front.png", timeout=120)
        return c
    if c is not None:
        c.stop()
    options = {"Login1": dbus.Boolean(True), "Login1User": dbus.UInt32(USER)}
    c = state[NAME] = ScriptContainer(NAME, LEADER_SCRIPT,
                                      [str(USER), XDG, COMP["env"], COMP["command"], LOG], options)
    c.send("go")
    c.expect("bus ", timeout=60)
    wait_until("the facade serving login1",
               lambda: str(container_prop(NAME, "Login1")) == "serving", timeout=60)
    # A paused card at start-up is fatal to both, as after a login on a VT.
    manager().SwitchContainer("seat0", NAME)
    check(active_container() == NAME, f"the {NAME} container in front before {NAME} starts")
    c.send("go")
    c.expect("started", timeout=60)
    expect_on_screen(f"{NAME}-start.png", timeout=300)
    return c


def testcase_starts_on_the_facade():
    r = subprocess.run(COMP["version"], capture_output=True, text=True, timeout=60)
    log(f"compositor: {r.stdout.strip() or r.stderr.strip()}")
    ensure_compositor()
    h = held_devices(NAME)
    check(any(d[2] == "drm" for d in h) and any(d[2] == "evdev" for d in h) and
          not any(d[3] for d in h), f"{NAME} holds the card and input, none paused: {h}")
    st = state["demo"].status()
    check(st["drm_master"] == "0" and st["evdev"] == "revoked", f"demo background: {st}")
    renderer = [line for line in compositor_log().splitlines() if "llvmpipe" in line]
    log(f"renderer: {renderer[0].strip() if renderer else 'not in the log'}")


def testcase_switches_back_and_forth():
    ensure_compositor()
    demo = state["demo"]
    for i in range(1, ROUNDS + 1):
        switch_and_wait(demo)
        expect_screen(f"round-{i:02d}-demo.png", DEMO_COLOUR, timeout=120)
        check_alive(f"after switch {i} away")
        h = held_devices(NAME)
        check(any(d[2] == "drm" and d[3] for d in h) and
              not any(d[2] == "evdev" and not d[3] for d in h),
              f"{NAME} in the background: card paused, no live input: {h}")
        st = demo.status()
        check(st["drm_master"] == "1" and st["evdev"] == "live", f"demo in front: {st}")

        manager().SwitchContainer("seat0", NAME)
        check(active_container() == NAME, f"the {NAME} container in front again")
        expect_on_screen(f"round-{i:02d}-{NAME}.png", timeout=120)
        wait_until(f"{NAME}'s card and input resumed",
                   lambda: [d for d in held_devices(NAME) if d[2] == "evdev"] and
                   not any(d[3] for d in held_devices(NAME)), timeout=60)
        st = demo.status()
        check(st["drm_master"] == "0" and st["evdev"] == "revoked", f"demo background: {st}")


def testcase_survives_devnsd():
    """RESTART_ROUNDS kills of devnsd, then as many restarts, with the
    compositor in front: it keeps running and its picture stays; the new
    devnsd finds it on the container's bus, still the session's controller;
    no fd grows. Then a switch away and back."""
    ensure_compositor()
    broker, demo = state["broker"], state["demo"]
    seen = len(compositor_log())
    counts = []
    for how, restart in (("kill", broker.kill_devnsd), ("restart", broker.restart)):
        for i in range(1, RESTART_ROUNDS + 1):
            mark = broker.log_mark()
            pid = restart()
            demo.expect("reconnected", timeout=60)
            wait_until("the new devnsd finding the compositor still on its bus",
                       lambda: "is still there" in broker.log_since(mark), timeout=60)
            check("taken back after a restart" in broker.log_since(mark),
                  f"{how} {i}: the new devnsd took the session back")
            check_alive(f"after {how} {i}")
            check(active_container() == NAME, f"after {how} {i}: {NAME} is still in front")
            check(not any(d[3] for d in held_devices(NAME)), f"after {how} {i}: nothing paused")
            expect_on_screen(f"{how}-{i:02d}.png", timeout=120)
            counts.append((broker.fd_count(), broker.keeper_fd_count()))
            log(f"{how} {i}: devnsd pid {pid}, fds of devnsd and the keeper {counts[-1]}")
    check(all(c == counts[0] for c in counts[1:]), f"fds stay flat across rounds: {counts}")
    # mutter releases its input while the name has no owner (the release
    # cannot reach devnsd) and takes it again when the name is back.
    refused = [line for line in compositor_log()[seen:].splitlines() if "already taken" in line]
    check(not refused, f"{NAME} could take its devices again: {refused[:3]}")
    switch_and_wait(demo)
    expect_screen("after-restarts-demo.png", DEMO_COLOUR, timeout=120)
    manager().SwitchContainer("seat0", NAME)
    expect_on_screen(f"after-restarts-{NAME}.png", timeout=120)
    wait_until(f"{NAME}'s card and input resumed",
               lambda: [d for d in held_devices(NAME) if d[2] == "evdev"] and
               not any(d[3] for d in held_devices(NAME)), timeout=60)
    text = broker.log_since()
    check(text.count(f"Container {NAME}: login1 session taken over by") == 1,
          "one login1 controller all along")


ORDER = [
    "testcase_starts_on_the_facade",
    "testcase_switches_back_and_forth",
    "testcase_survives_devnsd",
]


def main():
    if not os.path.exists(COMP["binary"]):
        print(f"# {COMP['binary']} is not installed (scripts/install-deps.sh)", flush=True)
        return 1
    load_bochs()
    # Under devns-keeper: the compositor outlives devnsd.
    state["broker"] = KeptBroker()
    try:
        rc = run_testcases(globals(), ORDER)
    finally:
        for name in (NAME, "demo"):
            if name in state:
                state[name].stop()
        state["broker"].stop()
    return rc


if __name__ == "__main__":
    sys.exit(main())
