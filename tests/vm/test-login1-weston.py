#!/usr/bin/env python3
"""A real logind compositor on the login1 facade: Debian's weston 10,
unmodified (built without libseat: its drm backend has only the logind
launcher), in a container beside the examples' demo client in another one,
on bochs (vm.py's -vga std) with the pixman renderer.

The weston container is set up by hand, the way an OS container would be,
and registered with RegisterContainer itself (not devnsctl run): its own
pid and mount namespaces, tmpfs on /run/dbus, /run/systemd and /run/user,
its own `dbus-daemon --system`, registered with Login1, Login1User 65534
and AllowActivate. Once devnsd serves org.freedesktop.login1 on that bus
and has written sd-login's files, weston starts as uid 65534: it finds its
session through those files, takes control, activates itself and takes the
card and every keyboard through the facade.

Checked: the facade's state (Login1 "waiting" until the container's bus
is there, then "serving"; the three sd-login files and their ACTIVE/STATE
on every switch; the container's bus listing the session); weston's
picture (a solid background) on screen while its container is active and
the demo client's while the other is, for DEVNS_SWITCHES switches back and
forth; weston holds no live input in the background; keys typed while the
demo client is in front reach it and not weston, keys typed while weston
is in front reach weston's client (weston-eventdemo); weston still runs at
the end. Debian's own tools agree: drm_info finds weston's framebuffer
(by the kernel's debugfs, allocated by weston) on the CRTC while weston is
in front and the demo's while the demo is, and modetest, run in the demo's
container while it is in the background, fails to set a mode and changes
nothing on screen. devnsd runs under devns-keeper, and weston outlives
DEVNS_RESTART_ROUNDS (3) kills (-9) of devnsd and as many restarts: it keeps
running on the same session and devices, its picture stays, nothing grows,
and a switch away and back then shows it and gives it keys. Last, apart:
devnsd leaves the host's own system bus alone when a
container that still shares the host's /run is registered with Login1.

(weston 10 sets up no Ctrl+Alt+Fn bindings for a session without a VT,
which the facade's sessions are, so it never calls Seat.SwitchTo.)

weston.log, the container's dbus-daemon log, eventdemo.log, devnsd.log and
the screendumps land in the test's output directory.

Run by test-login1-weston.sh in the guest.
"""
import json
import os
import re
import subprocess
import sys
import time

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compositors  # noqa: E402
import devnstest  # noqa: E402
from devnstest import (  # noqa: E402
    Container, KeptBroker, OUT, SEAT, ScriptContainer, TestFailure, UinputKeyboard, active_container,
    check, container_prop, demo_client, expect_screen, get_prop, held_devices, load_bochs, log,
    make_active, manager, press_chord, read_env_file, run_testcases, seat_devices, seat_path,
    switch_and_wait, system_bus, wait_unregistered, wait_until)

ROUNDS = int(os.environ.get("DEVNS_SWITCHES", "10"))
RESTART_ROUNDS = int(os.environ.get("DEVNS_RESTART_ROUNDS", "3"))
COLOURS = {"demo": "2255cc", "weston": "33aa77"}
PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "endpoint-probe.py")
DRM_MAJOR = 226
WESTON_UID = 65534
XDG = f"/run/user/{WESTON_UID}"       # inside the container
SOCKET = "wayland-devns"
CONFIG = "/tmp/devns-weston.ini"      # the guest's /tmp: seen inside too
SESSION = "c1"                        # login1/login1.h: LOGIN1_SESSION_ID

KEY_TAB, KEY_A, KEY_B, KEY_C, KEY_LEFTMETA = 15, 30, 48, 46, 125

# The container's leader, root in its new namespaces. At once: its own
# /run/dbus, /run/systemd and /run/user (as a runtime sets up a container's
# file systems before it is registered) and the weston user's runtime
# directory. On the first line (it is registered by then): its own system
# bus. On the second (the facade serves login1 by then) it becomes weston
# as that user, with no supplementary group: every device comes through
# logind's TakeDevice.
LEADER_SCRIPT = r'''
set -e
U=$1 XDG=$2 CONFIG=$3 SOCKET=$4
for d in /run/dbus /run/systemd /run/user; do
	mkdir -p "$d"
	mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs "$d"
done
mkdir -p "$XDG"
chown "$U:$U" "$XDG"
chmod 0700 "$XDG"
echo "mounted"
read -r go
dbus-daemon --system --nofork --nopidfile </dev/null >"$DEVNS_OUT/weston-dbus.log" 2>&1 &
echo "bus $!"
read -r go
echo "weston"
''' + compositors.WESTON_EXEC

state = {}


class WestonContainer(ScriptContainer):
    """weston's container: registered with the login1 options once its
    leader has its own /run/dbus, /run/systemd and /run/user; its bus
    starts after that (start_bus), so devnsd first waits for it."""

    def __init__(self, name, options):
        super().__init__(name, LEADER_SCRIPT, [str(WESTON_UID), XDG, CONFIG, SOCKET], options)

    def start_bus(self):
        self.send("go")
        self.expect("bus ", timeout=60)

    def start_weston(self):
        self.send("go")
        self.expect("weston", timeout=60)


def bus():
    return system_bus()


def weston_log_tail(n=40):
    try:
        with open(os.path.join(OUT, "weston.log"), errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no weston.log)"


def weston_log():
    try:
        with open(os.path.join(OUT, "weston.log"), errors="replace") as f:
            return f.read()
    except OSError:
        return ""


def check_weston_alive(when):
    if not state["weston"].alive():
        raise TestFailure(f"weston is not running {when}; last lines of weston.log:\n"
                          f"{weston_log_tail()}")


def check_weston_live():
    return devnstest.wait_compositor_live("weston")


def check_weston_background():
    """In the background weston keeps its card, paused, and no live input
    (weston closes its input on pause and takes it again on resume; any
    evdev node it still holds must be paused, that is revoked)."""
    def ok():
        h = held_devices("weston")
        card = [d for d in h if d[2] == "drm"]
        return card and all(d[3] for d in h) and h
    return wait_until("weston keeps only paused devices", ok, timeout=60)


def sd_login_files():
    c = state["weston"]
    return {
        "session": read_env_file(c.path_in_root(f"/run/systemd/sessions/{SESSION}")),
        "seat": read_env_file(c.path_in_root("/run/systemd/seats/seat0")),
        "user": read_env_file(c.path_in_root(f"/run/systemd/users/{WESTON_UID}")),
    }


def check_sd_login_active(active):
    """The facade keeps sd-login's ACTIVE and STATE current on switches."""
    want = "1" if active else "0"

    def ok():
        f = sd_login_files()
        s, seat, user = f["session"], f["seat"], f["user"]
        if not (s and seat and user):
            return False
        return (s.get("ACTIVE") == want and
                (s.get("STATE") == "active") == active and
                (seat.get("ACTIVE") == SESSION) == active and
                (user.get("STATE") == "active") == active and f)
    try:
        return wait_until(f"sd-login's files saying ACTIVE={want}", ok, timeout=30)
    except TestFailure:
        c = state["weston"]
        seen = devnstest.in_container(c, ["ls", "-laR", "/run/systemd"])
        raise TestFailure(f"sd-login's files do not say ACTIVE={want}: {sd_login_files()}; "
                          f"the container's /run/systemd:\n{seen.stdout}{seen.stderr}")


def eventdemo_keys():
    """Key codes weston-eventdemo saw pressed, in order."""
    return compositors.eventdemo_keys(os.path.join(OUT, "eventdemo.log"))


def start_eventdemo():
    return compositors.start_eventdemo(state["weston"].leader, WESTON_UID, XDG, SOCKET,
                                       os.path.join(OUT, "eventdemo.log"))


def refocus():
    """Super+Tab, desktop-shell's window switcher: on Super's release it
    activates the (only) window, eventdemo's. weston 10 drops the keyboard
    focus when its keyboards go away on a pause (weston_seat_release_keyboard)
    and gives it back to nobody on resume, as with a VT switch under
    systemd-logind; a binding reaches weston without any focus."""
    press_chord(state["kbd"], KEY_LEFTMETA, KEY_TAB)


def type_into_weston(code):
    """Super+Tab then code while weston is in front: its client must get
    code, once."""
    seen = eventdemo_keys().count(code)
    refocus()
    state["kbd"].press(code)
    try:
        wait_until(f"weston-eventdemo's key {code}",
                   lambda: eventdemo_keys().count(code) > seen, timeout=60)
    except TestFailure:
        raise TestFailure(f"weston's client did not get key {code} while weston is in front "
                          f"(it has {eventdemo_keys()}); weston.log:\n{weston_log_tail(15)}")
    check(eventdemo_keys().count(code) == seen + 1,
          f"weston's client got {eventdemo_keys().count(code) - seen} key {code} for one press")


def wait_eventdemo_focused():
    """Until weston-eventdemo gets keys: its window is mapped and has the
    keyboard focus (weston gives it to a new window). Probed with C, a key
    the other checks do not count."""
    proc = state["eventdemo"]
    end = time.monotonic() + 120
    while KEY_C not in eventdemo_keys():
        check(proc.poll() is None, f"weston-eventdemo exited with {proc.poll()}")
        check(time.monotonic() < end, "weston-eventdemo got no key within 120 s")
        state["kbd"].press(KEY_C)
        try:
            wait_until("weston-eventdemo's C", lambda: KEY_C in eventdemo_keys(), timeout=2)
        except TestFailure:
            pass


# ---------------------------------------------------------------- set-up
# The stages the testcases start from, each reached from whatever the
# testcases before left: a new weston container (its bus not started), its
# bus served by the facade, weston running with weston-eventdemo.

def end_weston():
    """Ends the weston container a testcase before set up; weston and
    weston-eventdemo end with its pid namespace."""
    c = state.pop("weston", None)
    if c is None:
        return
    log("ending the weston container a testcase before set up")
    c.stop()
    ev = state.pop("eventdemo", None)
    if ev:
        try:
            ev.wait(timeout=30)
        except subprocess.TimeoutExpired:
            ev.kill()
            ev.wait()
    state.pop("weston_bus", None)
    state.pop("weston_started", None)
    wait_unregistered("weston")


def new_weston_container():
    """The demo client in front (weston's Activate has to switch away from
    it) and a new weston container, registered, its bus not started.
    state["weston_mark"] marks devnsd's log where this container begins."""
    end_weston()
    compositors.write_weston_config(CONFIG, COLOURS["weston"])
    if "demo" not in state:
        # It reconnects when devnsd restarts (testcase_survives_*).
        state["demo"] = demo_client("demo", COLOURS["demo"], ["--reconnect"])
        state["demo"].expect("ready", timeout=120)
    make_active(state["demo"])
    options = {"Login1": dbus.Boolean(True), "Login1User": dbus.UInt32(WESTON_UID),
               "AllowActivate": dbus.Boolean(True)}
    state["weston_mark"] = state["broker"].log_mark()
    state["weston"] = WestonContainer("weston", options)
    return state["weston"]


def start_bus(c):
    c.start_bus()
    state["weston_bus"] = True


def weston_container_served():
    """A weston container whose bus the facade serves, weston not started
    in it yet."""
    c = state.get("weston")
    if c is None or state.get("weston_started") or not c.alive():
        c = new_weston_container()
    if not state.get("weston_bus"):
        start_bus(c)
        wait_until("the facade serving login1",
                   lambda: str(container_prop("weston", "Login1")) == "serving", timeout=60)
    return c


def start_weston_on_screen(c, screenshot):
    """Starts weston in container c and waits until its desktop is on the
    screen; weston activates its own session (AllowActivate)."""
    c.start_weston()
    state["weston_started"] = True
    try:
        expect_screen(screenshot, COLOURS["weston"], timeout=300)
    except TestFailure:
        check_weston_alive("after start-up")
        raise TestFailure(f"weston is not on screen; weston.log:\n{weston_log_tail()}")


def weston_in_front(replace_dead=True):
    """weston running with weston-eventdemo focused, in front with its
    card and input live: started if no testcase did, or (replace_dead) if
    it ended. Without replace_dead a weston that ended is a failure."""
    started = "eventdemo" in state
    if not started or (replace_dead and not (state["weston"].alive() and
                                             state["eventdemo"].poll() is None)):
        start_weston_on_screen(weston_container_served(), "weston-start.png")
        state["eventdemo"] = start_eventdemo()
        wait_eventdemo_focused()
    check_weston_alive("before this testcase")
    if active_container() != "weston":
        manager().SwitchContainer("seat0", "weston")
    check_weston_live()


def devnsd_log_of_weston():
    """devnsd's log since the current weston container was registered."""
    return state["broker"].log_since(state["weston_mark"])


# ---------------------------------------------------------------- testcases

def testcase_facade_serves_the_containers_own_bus():
    r = subprocess.run(["weston", "--version"], capture_output=True, text=True, timeout=60)
    version = (r.stdout + r.stderr).strip()
    log(f"compositor: {version}")
    with open(os.path.join(OUT, "weston-version.txt"), "w") as f:
        f.write(version + "\n")
    check(os.path.exists("/usr/share/dbus-1/system.d/org.freedesktop.login1.conf"),
          "Debian's D-Bus policy for org.freedesktop.login1 (systemd) is installed")

    c = new_weston_container()
    # Its own /run/dbus is empty until its bus starts.
    status = str(container_prop("weston", "Login1"))
    check(status == "waiting", f"Login1 of the weston container before its bus starts: {status}")
    start_bus(c)
    wait_until("the facade serving login1 or failing",
               lambda: str(container_prop("weston", "Login1")) != "waiting", timeout=60)
    status = str(container_prop("weston", "Login1"))
    check(status == "serving", f"Login1 of the weston container: {status}")

    # What weston's logind launcher reads through sd-login before it says
    # a word to logind.
    f = check_sd_login_active(False)
    log(f"sd-login files: {f}")
    check(f["user"].get("DISPLAY") == SESSION, f"users/{WESTON_UID} names the display session")
    check(f["session"].get("SEAT") == "seat0" and f["session"].get("UID") == str(WESTON_UID),
          f"sessions/{SESSION} is on seat0 for uid {WESTON_UID}")
    check(f["seat"].get("CAN_TTY") == "0", "seats/seat0 has no TTY")

    # The session as weston will see it, on the container's own bus.
    cbus = dbus.bus.BusConnection(f"unix:path={c.path_in_root('/run/dbus/system_bus_socket')}")
    try:
        login1 = cbus.get_object("org.freedesktop.login1", "/org/freedesktop/login1")
        sessions = login1.ListSessions(dbus_interface="org.freedesktop.login1.Manager")
        log(f"ListSessions on the container's bus: {[tuple(str(x) for x in s) for s in sessions]}")
        check([(str(s[0]), int(s[1]), str(s[3])) for s in sessions] ==
              [(SESSION, WESTON_UID, "seat0")], "one session, the weston user's, on seat0")
    finally:
        cbus.close()


def testcase_weston_starts_through_logind():
    c = weston_container_served()
    make_active(state["demo"])
    start_weston_on_screen(c, "weston-start.png")
    check_weston_alive("after start-up")
    check("logind: session control granted" in weston_log(),
          "weston took control through its logind launcher")
    check(active_container() == "weston", "weston's Activate made its container active")
    st = state["demo"].status()
    check(st["drm_master"] == "0" and st["evdev"] == "revoked", f"demo background: {st}")
    h = check_weston_live()
    log(f"weston holds {h}")
    check_sd_login_active(True)
    check("Container weston: login1 session taken over by" in devnsd_log_of_weston(),
          "devnsd saw weston take control through login1")

    # A client of weston's that logs the keys it gets.
    state["eventdemo"] = start_eventdemo()
    wait_eventdemo_focused()
    type_into_weston(KEY_B)
    expect_screen("weston-with-client.png", COLOURS["weston"], timeout=60)


def testcase_switch_back_and_forth():
    weston_in_front()
    demo, kbd = state["demo"], state["kbd"]
    times = []
    for i in range(ROUNDS):
        switch_and_wait(demo)
        check_weston_alive(f"after switch {2 * i + 1}")
        check_weston_background()
        check_sd_login_active(False)
        expect_screen(f"round-{i:02d}-demo.png", COLOURS["demo"], timeout=120)
        st = demo.status()
        check(st["drm_master"] == "1" and st["evdev"] == "live", f"demo active: {st}")
        typing = i % 3 == 0
        if typing:
            # In the background weston must not see these: with live input
            # it would give eventdemo the focus, and then the A.
            refocus()
            kbd.press(KEY_A)
            for code in (KEY_LEFTMETA, KEY_TAB, KEY_A):
                demo.expect(f"key {kbd.sysname} {code}", timeout=60)

        t0 = time.monotonic()
        manager().SwitchContainer("seat0", "weston")
        check_weston_live()
        expect_screen(f"round-{i:02d}-weston.png", COLOURS["weston"], timeout=120)
        times.append(time.monotonic() - t0)
        check_weston_alive(f"after switch {2 * i + 2}")
        check_sd_login_active(True)
        st = demo.status()
        check(st["drm_master"] == "0" and st["evdev"] == "revoked", f"demo background: {st}")
        if typing:
            check(KEY_A not in eventdemo_keys(),
                  f"weston's client got a key typed while weston was in the background: "
                  f"{eventdemo_keys()}")
            # ...but this one, on the keyboard it took again on resume.
            type_into_weston(KEY_B)
    log(f"{ROUNDS} round trips; back on weston's screen after "
        f"{min(times):.2f} to {max(times):.2f} s (screendumps included)")


DEBUGFS = "/sys/kernel/debug"


def scanout():
    """(framebuffer id, the command that allocated it) on the card's only
    CRTC, as drm_info (Debian's drm-info) and the kernel's debugfs say."""
    r = subprocess.run(["drm_info", "-j", "/dev/dri/card0"], capture_output=True, text=True,
                       timeout=120)
    check(r.returncode == 0, f"drm_info: {r.stderr}")
    info = json.loads(r.stdout)["/dev/dri/card0"]
    crtcs = [c for c in info["crtcs"] if c["fb_id"]]
    check(len(crtcs) == 1, f"one CRTC scanning out: {info['crtcs']}")
    fb = crtcs[0]["fb_id"]
    with open(f"{DEBUGFS}/dri/0/framebuffer") as f:
        text = f.read()
    m = re.search(rf"^framebuffer\[{fb}\]:\n\s*allocated by = (.*)$", text, re.M)
    check(m, f"framebuffer {fb} of drm_info in debugfs:\n{text}")
    return fb, m.group(1).strip()


def expect_scanout(owner):
    """The framebuffer on the CRTC is owner's (a command name, cut to 15
    characters by the kernel)."""
    def ok():
        fb, comm = scanout()
        return comm == owner[:15] and (fb, comm)
    try:
        return wait_until(f"{owner}'s framebuffer on the CRTC", ok, timeout=60)
    except TestFailure:
        raise TestFailure(f"drm_info shows framebuffer {scanout()} on the CRTC, not {owner}'s")


def testcase_outside_checks():
    """Debian's own tools see what devns says: drm_info finds the front
    container's framebuffer on the CRTC, and modetest, run in the
    background container, fails to set a mode (weston holds DRM master)."""
    weston_in_front()
    if not os.path.ismount(DEBUGFS):
        subprocess.run(["mount", "-t", "debugfs", "debugfs", DEBUGFS], check=True)
    demo = state["demo"]
    check(active_container() == "weston", f"weston in front, not {active_container()}")
    fb_weston, _ = expect_scanout("weston")

    r = subprocess.run(["drm_info", "-j", "/dev/dri/card0"], capture_output=True, text=True,
                       timeout=120)
    info = json.loads(r.stdout)["/dev/dri/card0"]
    conn = info["connectors"][0]
    modes = [m["name"] for m in conn["modes"]]
    mode = "1024x768" if "1024x768" in modes else modes[-1]
    # -M: modetest finds the card by its driver's name (bochs-drm).
    seen = devnstest.in_container(demo, ["modetest", "-M", info["driver"]["name"],
                                         "-s", f"{conn['id']}:{mode}"],
                                  stdin=subprocess.DEVNULL)
    with open(os.path.join(OUT, "modetest-background.log"), "w") as f:
        f.write(seen.stdout + seen.stderr)
    check("failed to set mode" in seen.stderr,
          f"modetest in the background container set a mode: {seen.stdout}{seen.stderr}")
    check(scanout()[0] == fb_weston, "weston's framebuffer is still on the CRTC after modetest")
    expect_screen("outside-modetest-refused.png", COLOURS["weston"], timeout=120)

    switch_and_wait(demo)
    fb_demo, _ = expect_scanout("devns-demo-client")
    check(fb_demo != fb_weston, "another framebuffer once the demo is in front")
    expect_screen("outside-demo.png", COLOURS["demo"], timeout=120)
    manager().SwitchContainer("seat0", "weston")
    check_weston_live()
    expect_scanout("weston")
    expect_screen("outside-weston.png", COLOURS["weston"], timeout=120)


def restart_rounds(how, restart):
    """weston in front through RESTART_ROUNDS rounds of restart() of
    devnsd (which returns once the next devnsd serves): weston keeps
    running with its client, the new devnsd serves login1 again and takes
    weston back as the session's controller, its devices stay live, its
    picture stays, and no fd grows; then a switch away and back shows it
    again and gives its client keys."""
    weston_in_front()
    broker, demo = state["broker"], state["demo"]
    leader = state["weston"].leader
    counts = []
    for i in range(RESTART_ROUNDS):
        mark = broker.log_mark()
        pid = restart()
        demo.expect("reconnected", timeout=60)
        wait_until("the new devnsd finding weston still on its bus",
                   lambda: "login1 controller" in broker.log_since(mark) and
                   "is still there" in broker.log_since(mark), timeout=60)
        text = broker.log_since(mark)
        check("taken back after a restart, " in text,
              f"{how} {i + 1}: the new devnsd took weston's session back; its log:\n{text[-2000:]}")
        check(str(container_prop("weston", "Login1")) == "serving",
              f"{how} {i + 1}: the facade serves again")
        check_weston_alive(f"after {how} {i + 1}")
        check(state["weston"].leader == leader, "the same weston container")
        check(state["eventdemo"].poll() is None, f"weston-eventdemo still runs after {how} {i + 1}")
        check(active_container() == "weston", f"after {how} {i + 1}: weston is still in front")
        check_weston_live()
        check_sd_login_active(True)
        expect_screen(f"{how}-{i + 1:02d}.png", COLOURS["weston"], timeout=120)
        counts.append((broker.fd_count(), broker.keeper_fd_count()))
        log(f"{how} {i + 1}: devnsd pid {pid}, fds of devnsd and the keeper {counts[-1]}")
    check(all(c == counts[0] for c in counts[1:]), f"fds stay flat across rounds: {counts}")

    switch_and_wait(demo)
    check_weston_background()
    check_sd_login_active(False)
    expect_screen(f"{how}-demo.png", COLOURS["demo"], timeout=120)
    manager().SwitchContainer("seat0", "weston")
    check_weston_live()
    check_sd_login_active(True)
    expect_screen(f"{how}-weston.png", COLOURS["weston"], timeout=120)
    type_into_weston(KEY_B)


def testcase_survives_devnsd_killed():
    restart_rounds("kill", lambda: state["broker"].kill_devnsd())


def testcase_survives_devnsd_restarted():
    restart_rounds("restart", lambda: state["broker"].restart())


def testcase_still_running_and_on_screen():
    weston_in_front(replace_dead=False)
    check_weston_alive("at the end")
    check(state["eventdemo"].poll() is None, "weston-eventdemo still runs")
    check(KEY_A not in eventdemo_keys(), "weston's client never got a key typed for the demo")
    expect_screen("weston-end.png", COLOURS["weston"], timeout=120)
    check(str(container_prop("weston", "Login1")) == "serving", "the facade still serves weston")
    text = devnsd_log_of_weston()
    check("did not acknowledge" not in text, "weston acknowledged every pause in time")
    check(text.count("Container weston: login1 session taken over by") == 1,
          "one login1 controller all along")
    check(weston_log().count("logind: session control granted") == 1,
          "weston took control once")


def testcase_starts_behind_a_slow_controller():
    """weston starts while the container in front holds its card and never
    acknowledges a pause, so weston's Activate waits for PauseTimeoutSec.
    weston calls TakeDevice right after Activate, without waiting for its
    answer: as on logind, its devices come live once the switch is done,
    and it comes up with its input (weston exits when it has none)."""
    c = new_weston_container()
    slow = Container("slow", [sys.executable, PROBE, "silent", f"{DRM_MAJOR}:0"])
    try:
        check(json.loads(slow.expect("{", timeout=60))["ready"], "slow ready")
        manager().SwitchContainer("seat0", "slow")
        start_bus(c)
        wait_until("the facade serving login1",
                   lambda: str(container_prop("weston", "Login1")) == "serving", timeout=60)
        start_weston_on_screen(c, "weston-behind-slow.png")
        check_weston_alive("after start-up behind a slow controller")
        check(active_container() == "weston", f"active: {active_container()}")
        log(f"weston holds {check_weston_live()}")
        check("did not acknowledge" in state["broker"].log_since(state["weston_mark"]),
              "the switch waited for the slow controller")
    finally:
        slow.stop()
    wait_unregistered("slow")


def testcase_host_bus_left_alone():
    """A container registered with Login1 while it still shares the host's
    /run (before a runtime has mounted its own /run/dbus, or a container
    that never does): the socket at /run/dbus/system_bus_socket inside its
    root is the host's own system bus. devnsd must not take
    org.freedesktop.login1 on the host's bus, nor write sd-login's files
    into the host's /run/systemd. Nothing tells when devnsd has tried, so
    this watches for DEADLINE seconds (it tries at once, then every 0.5 s)."""
    deadline = 10
    host = system_bus()
    check(not host.name_has_owner("org.freedesktop.login1"),
          "nobody owns org.freedesktop.login1 on the host's bus before")
    c = Container("sharing", ["sh", "-c", "echo up; read -r x", "sh"],
                  options={"Login1": dbus.Boolean(True),
                           "Login1User": dbus.UInt32(WESTON_UID)})
    try:
        c.expect("up", timeout=60)

        def bad():
            owner = host.name_has_owner("org.freedesktop.login1")
            files = [p for p in (f"/run/systemd/sessions/{SESSION}", "/run/systemd/seats/seat0",
                                 f"/run/systemd/users/{WESTON_UID}") if os.path.exists(p)]
            status = str(container_prop("sharing", "Login1"))
            if owner or files or status == "serving":
                return (f"Login1={status!r}, org.freedesktop.login1 owned on the host's bus: "
                        f"{owner}, sd-login files written on the host: {files}")
            return None
        try:
            found = wait_until("devnsd to take the host's bus", bad, timeout=deadline)
        except TestFailure:
            found = None
        status = str(container_prop("sharing", "Login1"))
        log(f"Login1 of a container sharing the host's /run after {deadline} s: {status}")
        check(found is None, f"devnsd served login1 for a container on the host's own bus: {found}")
    finally:
        c.stop()
        wait_until("the sharing container gone",
                   lambda: "sharing" not in [str(n) for n, _ in get_prop(
                       bus(), seat_path(bus()), SEAT, "Containers")], timeout=60)


ORDER = [
    "testcase_facade_serves_the_containers_own_bus",
    "testcase_weston_starts_through_logind",
    "testcase_switch_back_and_forth",
    "testcase_outside_checks",
    "testcase_survives_devnsd_killed",
    "testcase_survives_devnsd_restarted",
    "testcase_still_running_and_on_screen",
    "testcase_starts_behind_a_slow_controller",
    "testcase_host_bus_left_alone",
]

BROKER_CONFIG = "[Broker]\nPauseTimeoutSec=10\n"


def main():
    if not os.path.exists("/usr/bin/weston"):
        print("# weston is not installed", flush=True)
        return 77
    load_bochs("uinput")
    # Under devns-keeper: weston outlives devnsd (testcase_survives_*).
    state["broker"] = KeptBroker(config=BROKER_CONFIG)
    # A keyboard libinput can open, so weston has input to lose and regain.
    state["kbd"] = UinputKeyboard("devns-weston-keys")
    wait_until("the uinput keyboard on seat0",
               lambda: any(d[0] == state["kbd"].sysname for d in seat_devices(bus())))
    try:
        rc = run_testcases(globals(), ORDER)
    finally:
        # weston's end ends its pid namespace, eventdemo with it.
        for name in ("weston", "demo"):
            if name in state:
                state[name].stop()
        if "eventdemo" in state:
            try:
                state["eventdemo"].wait(timeout=30)
            except subprocess.TimeoutExpired:
                state["eventdemo"].kill()
        state["broker"].stop()
        state["kbd"].destroy()
    return rc


if __name__ == "__main__":
    sys.exit(main())
