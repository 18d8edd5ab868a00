#!/usr/bin/env python3
"""A real compositor on the seatd endpoint: Debian's sway (wlroots, libseat)
in a container, as an unprivileged user, beside the examples' demo client
in another container, on virtio-gpu (vm.py --vga virtio) with the pixman
renderer.

With DEVNS_SWAY_BACKEND=logind (test-login1-sway.sh) the same sway talks
to the login1 facade instead, through libseat's logind backend: the
container is started with `devnsctl run --login1`, which gives it a system
bus of its own where devnsd serves org.freedesktop.login1. libseat 0.7's
logind backend drops every PropertiesChanged (background.md), so it learns
of switches from PauseDevice/ResumeDevice alone.

sway paints a solid background (swaybg); the screendumps must show it while
its container is active and the demo client's colour while the other one
is, for every switch back and forth, and sway must still be running at the
end. The screendumps land in the test's output directory.

Run by test-seatd-sway.sh in the guest.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compositors  # noqa: E402
import devnstest  # noqa: E402
from devnstest import (  # noqa: E402
    CONTAINER, OUT, Container, KeptBroker, TestFailure, UinputKeyboard,
    active_container, check, demo_client, expect_screen, get_prop, log, manager,
    run_testcases, seat_devices, switch_and_wait, system_bus, wait_unregistered, wait_until)

ROUNDS = int(os.environ.get("DEVNS_SWITCHES", "10"))
# Rounds of kill -9 and of a clean restart of devnsd (seatd only).
RESTART_ROUNDS = int(os.environ.get("DEVNS_RESTART_ROUNDS", "3"))
COLOURS = {"demo": "2255cc", "sway": "33aa77"}
BACKEND = os.environ.get("DEVNS_SWAY_BACKEND", "seatd")
# dbus-daemon refuses a uid that has no passwd entry, so on the container's
# bus (logind) sway is nobody; on seatd.sock a bare uid is enough.
SWAY_UID = 65534 if BACKEND == "logind" else 4711
SWAY_CONFIG = "/tmp/devns-sway.conf"
XDG = "/tmp/devns-sway-xdg"

KEYS = os.path.join(XDG, "keys")
KEY_F9 = compositors.KEY_F9

state = {}


class ActiveContainer(Container):
    """A Container that is registered and made the active one of seat0
    before its command starts: a compositor opens its card at start-up,
    and seatd (so the endpoint too) refuses that to an inactive client."""

    def __init__(self, name, cmd):
        self.name = name
        script = (f'read go; mount --bind {devnstest.RUNTIME}/containers/{name} /run/devns && '
                  f'exec "$@"')
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--mount", "--fork", "--propagation", "private",
             "--mount-proc", "sh", "-c", script, "sh"] + cmd,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr, bufsize=0)
        self.leader = wait_until(f"leader of {name}",
                                 lambda: (devnstest._children(self.proc.pid) or [None])[0])
        self._buf = b""
        self.lines = []
        self.register({})
        manager().SwitchContainer("seat0", name)
        self.proc.stdin.write(b"go\n")

    def stop(self):
        # sway ignores its stdin; it ends on SIGTERM like any compositor.
        if self.alive():
            os.kill(self.leader, signal.SIGTERM)
        super().stop()

    def alive(self):
        try:
            os.kill(self.leader, 0)
        except ProcessLookupError:
            return False
        return self.proc.poll() is None


def bus():
    return system_bus()


def held(name):
    """[(major, minor, type, paused)] of the container's devices."""
    return [(int(a), int(b), str(t), bool(p))
            for a, b, t, p in get_prop(bus(), manager().GetContainer(name), CONTAINER, "Devices")]


def sway_log_tail():
    try:
        with open(os.path.join(OUT, "sway.log")) as f:
            return "".join(f.readlines()[-30:])
    except OSError:
        return "(no sway.log)"


def keys_seen():
    return compositors.lines_in(KEYS)


def check_sway_alive(when):
    if not state["sway"].alive():
        raise TestFailure(f"sway is not running {when}; last lines of sway.log:\n{sway_log_tail()}")


def check_sway_live():
    return devnstest.wait_compositor_live("sway")


def check_sway_background():
    """In the background sway keeps only its card, paused; libinput closed
    its input on disable (and reopens it on enable)."""
    def ok():
        h = held("sway")
        return [(d[2], d[3]) for d in h] == [("drm", True)]
    wait_until("sway keeps only its paused card", ok, timeout=60)


def start_sway():
    """The demo client, and sway started afresh (an earlier one ended
    first); returns once sway is on screen. state["sway_mark"] marks
    devnsd's log where this sway begins."""
    compositors.write_sway_config(SWAY_CONFIG, COLOURS["sway"], KEYS)
    if "demo" not in state:
        # It reconnects when devnsd restarts (testcase_survives_*).
        state["demo"] = demo_client("demo", COLOURS["demo"], ["--reconnect"])
        state["demo"].expect("ready", timeout=120)
    if "sway" in state:
        log("ending the sway a testcase before started")
        state.pop("sway").stop()
        wait_unregistered("sway")
    state["sway_mark"] = state["broker"].log_mark()
    if BACKEND == "logind":
        # libseat's logind backend activates the session itself
        # (AllowActivate) and takes control through login1.
        state["sway"] = compositors.CompositorRun(
            "sway", ["sh", "-c", compositors.SWAY_LOGIND_SCRIPT, "sh", str(SWAY_UID), XDG,
                     SWAY_CONFIG], allow_activate=True, login1_user=SWAY_UID)
    else:
        state["sway"] = ActiveContainer(
            "sway", ["sh", "-c", compositors.SWAY_SCRIPT, "sh", str(SWAY_UID), XDG, SWAY_CONFIG])
    try:
        expect_screen("sway-start.png", COLOURS["sway"], timeout=300)
    except TestFailure:
        check_sway_alive("after start-up")
        raise
    check_sway_alive("after start-up")


def sway_in_front(replace_dead=True):
    """sway running and the active container, with its card and input
    live: started if no testcase did, or (replace_dead) if it ended.
    Without replace_dead a sway that ended is a failure."""
    if "sway" not in state or (replace_dead and not state["sway"].alive()):
        start_sway()
    check_sway_alive("before this testcase")
    if active_container() != "sway":
        manager().SwitchContainer("seat0", "sway")
    check_sway_live()


def sway_log():
    """devnsd's log since the current sway started."""
    return state["broker"].log_since(state["sway_mark"])


# ---------------------------------------------------------------- testcases

def testcase_sway_starts_on_the_seatd_socket():
    r = subprocess.run(["sway", "--version"], capture_output=True, text=True, timeout=60)
    version = (r.stdout + r.stderr).strip()
    log(f"compositor: {version}")
    with open(os.path.join(OUT, "sway-version.txt"), "w") as f:
        f.write(version + "\n")
    start_sway()
    h = check_sway_live()
    log(f"sway holds {h}")
    text = sway_log()
    if BACKEND == "logind":
        check("Container sway: login1 session taken over by" in text,
              "sway came in through the login1 facade")
        check(get_prop(bus(), manager().GetContainer("sway"), CONTAINER, "Login1") == "serving",
              "the facade serves sway's container")
    else:
        check("opened seat0 for container sway" in text, "sway came in through seatd.sock")


def testcase_switch_back_and_forth():
    sway_in_front()
    demo, kbd = state["demo"], state["kbd"]
    times = []
    for i in range(ROUNDS):
        switch_and_wait(demo)
        check_sway_alive(f"after switch {2 * i + 1}")
        check_sway_background()
        expect_screen(f"round-{i:02d}-demo.png", COLOURS["demo"], timeout=120)
        st = demo.status()
        check(st["drm_master"] == "1" and st["evdev"] == "live", f"demo active: {st}")
        typing = i % 3 == 0
        if typing:
            # In the background sway must not see this one...
            seen = keys_seen()
            kbd.press(KEY_F9)
            demo.expect(f"key {kbd.sysname} {KEY_F9}", timeout=60)

        t0 = time.monotonic()
        manager().SwitchContainer("seat0", "sway")
        check_sway_live()
        expect_screen(f"round-{i:02d}-sway.png", COLOURS["sway"], timeout=120)
        times.append(time.monotonic() - t0)
        check_sway_alive(f"after switch {2 * i + 2}")
        st = demo.status()
        check(st["drm_master"] == "0" and st["evdev"] == "revoked", f"demo background: {st}")
        if typing:
            # ...but this one, on the keyboard it reopened on enable.
            kbd.press(KEY_F9)
            wait_until("sway's F9 binding", lambda: keys_seen() > seen, timeout=60)
            check(keys_seen() == seen + 1,
                  f"sway ran its binding {keys_seen() - seen} times for one press")
    log(f"{ROUNDS} round trips; back on sway's screen after "
        f"{min(times):.2f} to {max(times):.2f} s (screendumps included)")


def testcase_still_running_and_on_screen():
    sway_in_front(replace_dead=False)
    check_sway_alive("at the end")
    expect_screen("sway-end.png", COLOURS["sway"], timeout=120)
    text = sway_log()
    check("did not acknowledge" not in text, "sway acknowledged every disable in time")
    if BACKEND == "logind":
        check(text.count("Container sway: login1 session taken over by") == 1,
              "one login1 controller all along")
    else:
        check(text.count("opened seat0 for container sway") == 1, "one seatd session all along")


def restart_rounds(how, restart):
    """sway in front through RESTART_ROUNDS rounds of restart() of devnsd
    (which returns once the next devnsd serves): sway keeps running, on
    the same seatd connection, its picture stays, its devices stay live,
    and no fd grows; then a switch away and back shows it again and gives
    it keys."""
    sway_in_front()
    broker, sway, demo, kbd = state["broker"], state["sway"], state["demo"], state["kbd"]
    leader = sway.leader
    counts = []
    for i in range(RESTART_ROUNDS):
        mark = broker.log_mark()
        pid = restart()
        demo.expect("reconnected", timeout=60)
        if BACKEND == "logind":
            # The facade owns the name again and finds sway on the bus.
            wait_until("the new devnsd finding sway still on its bus",
                       lambda: "is still there" in broker.log_since(mark), timeout=60)
        text = broker.log_since(mark)
        taken = ("login1 controller" if BACKEND == "logind" else "seatd client 1 (pid")
        check(taken in text and "taken back after a restart" in text,
              f"{how} {i + 1}: the new devnsd took sway's session back; its log:\n{text[-2000:]}")
        check_sway_alive(f"after {how} {i + 1}")
        check(sway.leader == leader, "the same sway")
        check(active_container() == "sway", f"after {how} {i + 1}: sway is still in front")
        check_sway_live()
        expect_screen(f"{how}-{i + 1:02d}.png", COLOURS["sway"], timeout=120)
        counts.append((broker.fd_count(), broker.keeper_fd_count()))
        log(f"{how} {i + 1}: devnsd pid {pid}, fds of devnsd and the keeper {counts[-1]}")
    # The first devnsd after a restart may hold what the first one did
    # not (the stored files it got back); from then on nothing grows.
    check(all(c == counts[0] for c in counts[1:]), f"fds stay flat across rounds: {counts}")

    switch_and_wait(demo)
    check_sway_background()
    expect_screen(f"{how}-demo.png", COLOURS["demo"], timeout=120)
    seen = keys_seen()
    manager().SwitchContainer("seat0", "sway")
    check_sway_live()
    expect_screen(f"{how}-sway.png", COLOURS["sway"], timeout=120)
    kbd.press(KEY_F9)
    wait_until("sway's F9 binding", lambda: keys_seen() > seen, timeout=60)
    check(keys_seen() == seen + 1, f"sway ran its binding {keys_seen() - seen} times for one press")


def testcase_survives_devnsd_killed():
    restart_rounds("kill", lambda: state["broker"].kill_devnsd())


def testcase_survives_devnsd_restarted():
    restart_rounds("restart", lambda: state["broker"].restart())


ORDER = [
    "testcase_sway_starts_on_the_seatd_socket",
    "testcase_switch_back_and_forth",
    "testcase_survives_devnsd_killed",
    "testcase_survives_devnsd_restarted",
    "testcase_still_running_and_on_screen",
]


def main():
    if not os.path.exists("/usr/bin/sway"):
        print("# sway is not installed", flush=True)
        return 77
    for mod in ("virtio_gpu", "uinput"):
        subprocess.run(["modprobe", mod], check=True)
    wait_until("/dev/dri/card0", lambda: os.path.exists("/dev/dri/card0"), timeout=120)
    subprocess.run(["udevadm", "settle", "--timeout=60"], check=False)
    # Long enough for sway under TCG, where it may still be compiling the
    # keymaps of the keyboards it just reopened when the next switch comes:
    # every disable is then acknowledged by sway itself, none forced.
    # Under devns-keeper: sway outlives devnsd (testcase_survives_*).
    state["broker"] = KeptBroker(config="[Broker]\nPauseTimeoutSec=10\n")
    # A keyboard libinput can open, so sway has input to lose and regain.
    state["kbd"] = UinputKeyboard("devns-sway-keys")
    wait_until("the uinput keyboard on seat0",
               lambda: any(d[0] == state["kbd"].sysname for d in seat_devices(bus())))
    try:
        rc = run_testcases(globals(), ORDER)
    finally:
        for name in ("sway", "demo"):
            if name in state:
                state[name].stop()
        state["broker"].stop()
        state["kbd"].destroy()
    return rc


if __name__ == "__main__":
    sys.exit(main())
