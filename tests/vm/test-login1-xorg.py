#!/usr/bin/env python3
"""Xorg through its logind support on the login1 facade: Debian's
xserver-xorg-core 21.1 (the modesetting driver, on bochs) and
xserver-xorg-input-libinput, unmodified, in a container beside the
examples' demo client in another one.

Xorg uses logind only without a VT, or with -keeptty on one: a VT would be
the guest's console, which devnsd holds for the seat. So the container has
its own /dev (a tmpfs with copies of the nodes it needs) without
/dev/tty0, as an OS container's /dev is; then Xorg's xf86HasTTYs() is false
and it asks logind for everything. It runs as root in the container
(Login1User 0), on display :1.

Xorg also wants its session active when it starts (a paused card is an
error to it, as after a login on a VT), so the test switches to the
container first.

Checked: Xorg takes control of the facade's session, gets the card and
every input device through TakeDevice, and its root window (xsetroot)
fills the screen; a switch to the demo pauses all of Xorg's devices and
shows the demo; a switch back resumes them all for Xorg.

What Xorg 21.1 then does is its own: it never draws again. Without a VT,
its xf86VTEnter() stops at once (xf86VTSwitchTo() answers VT_RELDISP on a
console it does not have), so the CRTC keeps the demo's last frame. And it
acknowledges a pause with major and minor swapped (PauseDeviceComplete
0:226), which real logind refuses the same way, so every pause of its card
ends with devnsd's pause timeout. The test records both (Xorg.log,
screendumps) rather than asserting them: they are Xorg's.

Run by test-login1-xorg.sh in the guest.
"""
import os
import subprocess
import sys

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import devnstest  # noqa: E402
from devnstest import (  # noqa: E402
    Broker, OUT, ScriptContainer, TestFailure, active_container, check, container_prop,
    demo_client, expect_screen, held_devices, load_bochs, log, make_active, manager,
    run_testcases, screen_colour, screendump, switch_and_wait, wait_unregistered, wait_until)

COLOURS = {"demo": "2255cc", "xorg": "33aa77"}
DISPLAY = ":1"
XORG_LOG = os.path.join(OUT, "Xorg.log")

# The container's leader, root in its new namespaces. At once: its own
# /run/dbus and /run/systemd, and its own /dev with what Xorg needs but no
# VT. On the first line (it is registered by then): its own system bus.
# On the second: Xorg.
LEADER_SCRIPT = r'''
set -e
for d in /run/dbus /run/systemd; do
	mkdir -p "$d"
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$d"
done
mkdir -p /run/host-dev
mount --bind /dev /run/host-dev
mount -t tmpfs -o mode=0755,nosuid tmpfs /dev
for n in null zero full random urandom tty dri input; do
	cp -a "/run/host-dev/$n" /dev/
done
mkdir -m 1777 /dev/shm
umount /run/host-dev
echo "mounted"
read -r go
dbus-daemon --system --nofork --nopidfile </dev/null >"$DEVNS_OUT/xorg-dbus.log" 2>&1 &
echo "bus $!"
read -r go
echo "xorg"
exec Xorg "$1" -nolisten tcp -noreset -logfile "$DEVNS_OUT/Xorg.log" </dev/null >"$DEVNS_OUT/xorg.out" 2>&1
'''

state = {}


def xorg_log():
    try:
        with open(XORG_LOG, errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def check_xorg_alive(when):
    if not state["xorg"].alive():
        tail = "".join(xorg_log().splitlines(True)[-30:])
        raise TestFailure(f"Xorg is not running {when}; last lines of Xorg.log:\n{tail}")


def xsetroot():
    """Xorg's root window in its colour, asked of Xorg by an X client."""
    r = devnstest.in_container(state["xorg"], ["env", f"DISPLAY={DISPLAY}", "xsetroot", "-solid",
                                               "#" + COLOURS["xorg"]])
    check(r.returncode == 0, f"xsetroot: {r.stderr}")


def end_xorg():
    """Ends the Xorg container a testcase before started."""
    c = state.pop("xorg", None)
    if c is not None:
        log("ending the Xorg a testcase before started")
        c.stop()
        wait_unregistered("xorg")


def xorg_running():
    """Xorg started (by testcase_xorg_starts_without_a_vt) unless it runs."""
    if "xorg" not in state or not state["xorg"].alive():
        testcase_xorg_starts_without_a_vt()


def testcase_xorg_starts_without_a_vt():
    r = subprocess.run(["Xorg", "-version"], capture_output=True, text=True, timeout=60)
    version = next((line for line in (r.stdout + r.stderr).splitlines()
                    if line.startswith("X.Org X Server")), "?")
    log(f"server: {version}")
    end_xorg()
    if "demo" not in state:
        state["demo"] = demo_client("demo", COLOURS["demo"])
        state["demo"].expect("ready", timeout=120)
    make_active(state["demo"])

    options = {"Login1": dbus.Boolean(True), "Login1User": dbus.UInt32(0),
               "AllowActivate": dbus.Boolean(True)}
    c = state["xorg"] = ScriptContainer("xorg", LEADER_SCRIPT, [DISPLAY], options)
    c.send("go")
    c.expect("bus ", timeout=60)
    wait_until("the facade serving login1",
               lambda: str(container_prop("xorg", "Login1")) == "serving", timeout=60)
    manager().SwitchContainer("seat0", "xorg")
    check(active_container() == "xorg", "the xorg container in front before Xorg starts")
    c.send("go")
    c.expect("xorg", timeout=60)

    took = "systemd-logind: took control of session /org/freedesktop/login1/session/c1"
    wait_until("Xorg to take control of the facade's session",
               lambda: took in xorg_log() or not c.alive(), timeout=300)
    check_xorg_alive("after start-up")
    wait_until("Xorg to take the card", lambda: "226:0" in xorg_log() or not c.alive(),
               timeout=120)
    check("systemd-logind: got fd for /dev/dri/card0 226:0 fd" in xorg_log() and
          "(EE) Error systemd-logind returned paused fd" not in xorg_log(),
          "Xorg got the card, live, through TakeDevice")
    wait_until("Xorg's input devices",
               lambda: "systemd-logind: got fd for /dev/input/event" in xorg_log(), timeout=120)
    xsetroot()
    expect_screen("xorg-start.png", COLOURS["xorg"], timeout=120)
    h = held_devices("xorg")
    check(any(d[2] == "drm" for d in h) and any(d[2] == "evdev" for d in h) and
          not any(d[3] for d in h), f"Xorg holds the card and input, none paused: {h}")


def testcase_switch_away_pauses_xorg():
    xorg_running()
    if active_container() != "xorg":  # in front, as after its start
        manager().SwitchContainer("seat0", "xorg")
        wait_until("Xorg's devices resumed",
                   lambda: not any(d[3] for d in held_devices("xorg")), timeout=60)
    pauses = xorg_log().count("systemd-logind: got pause for 226:0")
    switch_and_wait(state["demo"])
    expect_screen("demo.png", COLOURS["demo"], timeout=120)
    check_xorg_alive("after the switch away")
    wait_until("every device of Xorg paused",
               lambda: all(d[3] for d in held_devices("xorg")) and held_devices("xorg"),
               timeout=60)
    wait_until("Xorg told of the card's pause",
               lambda: xorg_log().count("systemd-logind: got pause for 226:0") > pauses,
               timeout=60)


def testcase_switch_back_resumes_xorg():
    xorg_running()
    make_active(state["demo"])  # Xorg in the background, as after a switch away
    wait_until("every device of Xorg paused",
               lambda: all(d[3] for d in held_devices("xorg")) and held_devices("xorg"),
               timeout=60)
    resumes = xorg_log().count("systemd-logind: got resume for ")
    manager().SwitchContainer("seat0", "xorg")
    check(active_container() == "xorg", "the xorg container in front again")
    n = len(held_devices("xorg"))
    wait_until("Xorg told of every device's resume",
               lambda: xorg_log().count("systemd-logind: got resume for ") >= resumes + n,
               timeout=60)
    check("systemd-logind: got resume for 226:0" in xorg_log(), "the card among them")
    check(not any(d[3] for d in held_devices("xorg")), f"none paused: {held_devices('xorg')}")
    check_xorg_alive("after the switch back")
    st = state["demo"].status()
    check(st["drm_master"] == "0" and st["evdev"] == "revoked", f"demo background: {st}")
    # Xorg's to draw now; 21.1 without a VT does not (see above).
    xsetroot()
    got, frac = screen_colour(screendump("xorg-back.png"))
    log(f"screen after the switch back: {got} ({frac:.0%}); Xorg's colour {COLOURS['xorg']}, "
        f"the demo's {COLOURS['demo']}")


ORDER = [
    "testcase_xorg_starts_without_a_vt",
    "testcase_switch_away_pauses_xorg",
    "testcase_switch_back_resumes_xorg",
]


def main():
    if not os.path.exists("/usr/lib/xorg/Xorg"):
        print("# Xorg is not installed", flush=True)
        return 77
    load_bochs()
    state["broker"] = Broker()
    try:
        rc = run_testcases(globals(), ORDER)
    finally:
        for name in ("xorg", "demo"):
            if name in state:
                state[name].stop()
        state["broker"].stop()
    return rc


if __name__ == "__main__":
    sys.exit(main())
