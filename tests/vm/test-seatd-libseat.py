#!/usr/bin/env python3
"""The seatd endpoint with Debian's libseat (0.7) on real devices.

Containers, in registration order (so seatd session numbers 1, 2, 3):

  demo   the examples' demo client on the D-Bus endpoint (blue)
  seat   tests/vm/libseat-client in its own root (a tmpfs with /usr, /etc,
         the card and one uinput keyboard bind-mounted, plus symlinks and
         nodes that try to reach elsewhere), AllowActivate (orange)
  plain  (later) the same client in the host's root, without AllowActivate

Run by test-seatd-libseat.sh in the guest. The containers are shared;
each testcase sets up the state it starts from with setup() and the
ensure_*() helpers, whatever the testcases before left.
"""
import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devnstest import (  # noqa: E402
    BUILD, CONTAINER, OUT, RUNTIME, SEAT, VM_DIR, Broker, Container, TestFailure,
    UinputKeyboard, check, deactivate, demo_client, devices_held, expect_screen, get_prop,
    in_container, log, manager, run_testcases, seat_devices, seat_path, switch_and_wait,
    system_bus, wait_unregistered, wait_until)

CLIENT = os.path.join(BUILD, "tests", "vm", "libseat-client")
PROBE = os.path.join(VM_DIR, "seatd-probe.py")
SWITCHES = int(os.environ.get("DEVNS_SWITCHES", "10"))
COLOURS = {"demo": "2255cc", "seat": "dd7711", "plain": "22aa44"}
EPERM, ENOENT, EACCES, EBUSY, ELOOP = 1, 2, 13, 16, 40
SEATD_ERROR = 0xFFFF

# Builds the container's root and chroots into it; runs as the container's
# leader, in its mount namespace. $1 root, $2 keyboard node, $3 another
# evdev node of the host that the root does not have, then the command.
ROOT_SCRIPT = r'''
set -e
R=$1 KBD=$2 OTHER=$3 CLIENT_SCRIPT=$4
shift 4
mkdir -p "$R"
mount -t tmpfs -o mode=0755 croot "$R"
mkdir -p "$R/usr" "$R/etc" "$R/proc" "$R/sys" "$R/run/udev" "$R/run/devns" \
	"$R/dev/dri" "$R/dev/input" "$R/tmp" "$R$DEVNS_BUILD"
for d in usr etc sys run/udev run/devns; do mount --rbind "/$d" "$R/$d"; done
mount --bind "$DEVNS_BUILD" "$R$DEVNS_BUILD"
mount -t proc proc "$R/proc"
ln -s usr/bin "$R/bin"; ln -s usr/lib "$R/lib"; ln -s usr/lib64 "$R/lib64"; ln -s usr/sbin "$R/sbin"
for n in /dev/dri/card0 "$KBD" /dev/null; do touch "$R$n"; mount --bind "$n" "$R$n"; done
# Ways out that must not work: up and out of the root, a magic link to the
# host's root, a node of a device the seat does not broker.
ln -s "../../../../../..$OTHER" "$R/dev/input/escape"
ln -s "/proc/1/root$OTHER" "$R/dev/magic"
mknod "$R/dev/mem-alias" c 1 1
# A node of the brokered card under another name is the card.
mknod "$R/dev/card-alias" c 226 0
# The leader itself changes root (the container's root is its leader's);
# it stays when the client has quit, so the container outlives it.
exec chroot "$R" /bin/sh -c "$CLIENT_SCRIPT" sh "$@"
'''

# Runs the client as a child of the container's leader; the container stays
# registered after the client exits.
CLIENT_SCRIPT = '''
env LIBSEAT_BACKEND=seatd SEATD_SOCK=/run/devns/seatd.sock "$@"
echo "exited $?"
exec sleep infinity
'''

state = {}


def bus():
    return system_bus()


def active_of(seat="seat0"):
    return str(get_prop(bus(), seat_path(bus(), seat), SEAT, "ActiveContainer")[0])


def container_prop(name, prop):
    return get_prop(bus(), manager().GetContainer(name), CONTAINER, prop)


def held(name):
    """{(major, minor): paused} of the container's devices."""
    return {(int(ma), int(mi)): bool(p) for ma, mi, _, p in container_prop(name, "Devices")}


def devnsd_log():
    with open(os.path.join(OUT, "devnsd.log")) as f:
        return f.read()


def other_evdev(kbd):
    """An evdev node of seat0 that is not kbd's (the PS/2 keyboard's)."""
    for name, _, _, kind in seat_devices(bus()):
        if kind == "evdev" and name != kbd.sysname:
            return "/dev/input/" + name
    raise TestFailure("no second evdev device on seat0")


def start_seat_client():
    kbd = state["kbd"]
    node = "/dev/input/" + kbd.sysname
    argv = ["sh", "-c", ROOT_SCRIPT, "sh", "/tmp/devns-seat-root", node, other_evdev(kbd),
            CLIENT_SCRIPT, CLIENT, "--card", "/dev/dri/card0", "--input", node,
            "--color", COLOURS["seat"], "--label", "seat"]
    return Container("seat", argv, options={"AllowActivate": True})


def registered(name):
    return any(str(n) == name for n, *_ in manager().ListContainers())


def end_seat():
    kill_leader(state.pop("seat"))
    wait_unregistered("seat")


def setup(fresh_seat=False):
    """The keyboard, then demo and seat registered in that order (seatd
    sessions 1 and 2), seat's libseat client in control of its container.
    A seat whose client has quit is started again; with fresh_seat, also
    one whose client was ever enabled or is active: a client that has not
    seen its seat enabled yet."""
    if "kbd" not in state:
        kbd = state["kbd"] = UinputKeyboard("devns-seatd-keys")
        wait_until("the uinput keyboard on seat0",
                   lambda: any(d[0] == kbd.sysname for d in seat_devices(bus())))
    if "seat" in state:
        s = state["seat"]
        stale = not registered("seat") or not container_prop("seat", "Controlled")
        if not stale and fresh_seat:
            stale = active_of() == "seat" or enable_count(s) > 0
        if stale:
            end_seat()
    if "demo" not in state:
        if "seat" in state:  # registered after demo
            end_seat()
        state["demo"] = demo_client("demo", COLOURS["demo"])
        state["demo"].expect("ready", timeout=60)
    if "seat" not in state:
        state["seat"] = start_seat_client()
        wait_until("seat controlled", lambda: bool(container_prop("seat", "Controlled")),
                   timeout=60)
    return state


def open_result(c, path, timeout=30.0):
    """Asks the client to open path; returns its "opened"/"open-failed" line."""
    prefixes = (f"opened {path} ", f"open-failed {path} ")
    for p in prefixes:
        c.take_lines(p)
    c.send(f"open {path}")
    end = time.monotonic() + timeout
    while True:
        for i, line in enumerate(c.lines):
            if line.startswith(prefixes):
                del c.lines[i]
                return line
        left = end - time.monotonic()
        if left <= 0:
            raise TestFailure(f"{c.name}: no answer to open {path}; have {c.lines[-10:]}")
        c._fill(left)


def kill_leader(c):
    """Ends a container whose leader waits forever (CLIENT_SCRIPT)."""
    try:
        os.kill(c.leader, signal.SIGKILL)
    except ProcessLookupError:
        pass
    c.stop()


def enable_count(c):
    return int(c.status()["enables"])


def switch_to_seat(expect_enable):
    """Makes 'seat' active; returns ms until its enable was handled."""
    s = state["seat"]
    t0 = time.monotonic_ns()
    manager().SwitchContainer("seat0", "seat")
    line = s.expect(f"enable {expect_enable} ", timeout=60)
    return (int(line.split()[2]) - t0) / 1e6


def ensure_seat_active():
    """Testcases start from 'seat' active, whatever the one before left."""
    if active_of() != "seat":
        switch_to_seat(enable_count(state["seat"]) + 1)
    check_seat_active()


def check_seat_active():
    s, d = state["seat"], state["demo"]
    st = s.status()
    check(st["master"] == "1" and st["evdev"] == "live" and st["enabled"] == "1",
          f"seat should be master with live input: {st}")
    sd = d.status()
    check(sd["drm_master"] == "0" and sd["evdev"] == "revoked",
          f"demo must be background: {sd}")
    kbd = state["kbd"]
    dev = kbd.devnum()
    h = held("seat")
    check(h.get(dev) is False and h.get((226, 0)) is False, f"seat's devices live: {h}")


def check_demo_active():
    s, d = state["seat"], state["demo"]
    sd = d.status()
    check(sd["drm_master"] == "1" and sd["evdev"] == "live", f"demo should be active: {sd}")
    st = s.status()
    # The client closed its evdev devices on disable (as libinput does).
    check(st["master"] == "0" and st["evdev"] == "none" and st["enabled"] == "0",
          f"seat must be disabled, without master or input: {st}")
    # Released before the acknowledgement, or soon after a forced pause.
    wait_until("seat keeps only its paused card", lambda: held("seat") == {(226, 0): True})


# ---------------------------------------------------------------- testcases

def testcase_open_seat_while_inactive():
    deactivate()  # nothing active while seat's client opens its seat
    st = setup(fresh_seat=True)
    s = st["seat"]
    line = s.expect("seat ", timeout=60)
    check(line == "seat seat0", line)
    wait_until("seat controlled", lambda: bool(container_prop("seat", "Controlled")))
    check(active_of() == "", f"nothing active yet, got {active_of()}")
    check(s.status()["enables"] == "0", "no enable while inactive")
    # seatd: an inactive client may not open devices.
    line = open_result(s, "/dev/dri/card0")
    check(line == f"open-failed /dev/dri/card0 {EPERM}", line)
    check(held("seat") == {}, f"nothing taken: {held('seat')}")


def testcase_enable_opens_devices():
    st = setup(fresh_seat=True)
    s = st["seat"]
    ms = switch_to_seat(1)
    log(f"first enable handled {ms:.1f} ms after the switch call")
    s.expect("ready", timeout=30)
    check_seat_active()
    expect_screen("seat-first.png", COLOURS["seat"], timeout=60)
    # Input reaches the active libseat client.
    st["kbd"].press(30)
    s.expect(f"key /dev/input/{st['kbd'].sysname} 30", timeout=30)


def testcase_paths_resolve_in_the_container_root():
    s = setup()["seat"]
    ensure_seat_active()
    card_id = None
    for line in s.take_lines("opened /dev/dri/card0 "):
        card_id = line.split()[2]
    cases = [
        ("/dev/input/escape", f"open-failed /dev/input/escape {ENOENT}"),
        ("/dev/magic", f"open-failed /dev/magic {ELOOP}"),
        ("/dev/mem-alias", f"open-failed /dev/mem-alias {ENOENT}"),
        ("/dev/null", f"open-failed /dev/null {ENOENT}"),
        ("/dev/nonexistent", f"open-failed /dev/nonexistent {ENOENT}"),
        ("/dev/card-alias", "opened /dev/card-alias "),
        ("/dev/dri/../dri/card0", "opened /dev/dri/../dri/card0 "),
    ]
    for path, want in cases:
        line = open_result(s, path)
        check(line.startswith(want), f"open {path}: {line}, wanted {want}")
        if want.startswith("opened") and card_id is not None:
            check(line.split()[2] == card_id, f"{path} is the card, same id: {line}")
    check(set(held("seat")) == {(226, 0), state["kbd"].devnum()},
          f"nothing else taken: {held('seat')}")


def testcase_switch_loop():
    st = setup()
    ensure_seat_active()
    s, d, kbd = st["seat"], st["demo"], st["kbd"]
    enables = enable_count(s)
    disables = int(s.status()["disables"])
    latencies = []
    for i in range(SWITCHES):
        switch_and_wait(d)
        disables += 1
        line = s.expect(f"disable {disables} ", timeout=60)
        # Revoked before the event; master is dropped only on the ack.
        check("evdev=revoked" in line, f"input not revoked before disable: {line}")
        log(f"round {i}: {line}")
        check(active_of() == "demo", f"round {i}: active {active_of()}")
        check_demo_active()
        expect_screen(f"round-{i:02d}-demo.png", COLOURS["demo"], timeout=60)
        if i % 3 == 0:
            kbd.press(31)
            d.expect(f"key {kbd.sysname} 31", timeout=30)

        enables += 1
        latencies.append(switch_to_seat(enables))
        check(active_of() == "seat", f"round {i}: active {active_of()}")
        check_seat_active()
        expect_screen(f"round-{i:02d}-seat.png", COLOURS["seat"], timeout=60)
        if i % 3 == 0:
            kbd.press(32)
            s.expect(f"key /dev/input/{kbd.sysname} 32", timeout=30)
            d.status()
            check(not d.take_lines(f"key {kbd.sysname} 32"), "background demo got a key")
    latencies.sort()
    summary = {"switches": len(latencies), "median_ms": round(latencies[len(latencies) // 2], 3),
               "worst_ms": round(latencies[-1], 3)}
    with open(os.path.join(OUT, "enable-latency.json"), "w") as f:
        json.dump(summary, f)
    log(f"switch to the libseat client until its enable was handled: {summary}")
    log(f"pauses forced by PauseTimeoutSec: {devnsd_log().count('did not acknowledge')}")


def testcase_open_while_disabled_fails():
    st = setup()
    ensure_seat_active()
    s, d = st["seat"], st["demo"]
    switch_and_wait(d)
    s.expect("disable ", timeout=60)
    line = open_result(s, f"/dev/input/{st['kbd'].sysname}")
    check(line.endswith(f" {EPERM}") and line.startswith("open-failed"),
          f"open while disabled: {line}")
    switch_to_seat(enable_count(s) + 1)
    check_seat_active()


def testcase_switch_session():
    st = setup()
    s, d = st["seat"], st["demo"]
    ensure_seat_active()
    n = devices_held("demo")
    d.take_lines("resume")
    # Session 1 is the first container registered: demo.
    s.send("switch 1")
    line = s.expect("switch 1 ", timeout=30)
    check(line == "switch 1 0", line)
    s.expect("disable ", timeout=60)
    wait_until("demo active", lambda: active_of() == "demo", timeout=60)
    for _ in range(n):
        d.expect("resume ", timeout=60)
    check_demo_active()
    # A disabled client may not switch (as seatd).
    s.send("switch 2")
    open_result(s, "/dev/null")  # a round trip: the switch was handled
    check(active_of() == "demo", f"a disabled client switched: {active_of()}")
    switch_to_seat(enable_count(s) + 1)


def testcase_switch_session_needs_allow_activate():
    st = setup()
    ensure_seat_active()
    plain = Container("plain", ["sh", "-c", CLIENT_SCRIPT, "sh", CLIENT,
                                "--card", "/dev/dri/card0", "--color", COLOURS["plain"],
                                "--label", "plain"])
    try:
        plain.expect("seat seat0", timeout=60)
        manager().SwitchContainer("seat0", "plain")
        plain.expect("enable 1 ", timeout=60)
        st["seat"].expect("disable ", timeout=60)
        expect_screen("plain.png", COLOURS["plain"], timeout=60)
        plain.send("switch 2")
        plain.expect("switch 2 ", timeout=30)
        open_result(plain, "/dev/null")  # a round trip
        check(active_of() == "plain", f"switched without AllowActivate: {active_of()}")
        check("without AllowActivate" in devnsd_log(), "the refusal is logged")
        plain.send("quit")
        line = plain.expect("exited ", timeout=60)
        check(line == "exited 0", f"plain's client: {line}")
        wait_until("plain released", lambda: not container_prop("plain", "Controlled"))
        check(held("plain") == {}, "plain's devices released on close")
    finally:
        kill_leader(plain)
    switch_to_seat(enable_count(st["seat"]) + 1)
    check_seat_active()


def probe(c, *args):
    r = in_container(c, [sys.executable, PROBE, *args])
    if r.returncode != 0:
        raise TestFailure(f"seatd-probe {args}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def testcase_one_controller_per_container():
    st = setup()
    ensure_seat_active()
    # The libseat client controls 'seat': D-Bus TakeControl is refused...
    r = in_container(st["seat"], ["busctl", "--address=unix:path=/run/devns/bus", "call",
                                  "org.devns.broker1", "/org/devns/broker1/container/self",
                                  "org.devns.broker1.Container", "TakeControl", "b", "false"])
    check(r.returncode != 0 and "already has a controller" in r.stderr + r.stdout,
          f"TakeControl while a seatd client controls: {r.returncode} {r.stderr}")
    # ...and so is a second seatd client.
    res = probe(st["seat"], "open-seat")
    check(res == {"opcode": SEATD_ERROR, "errno": EBUSY}, f"second seatd client: {res}")
    # demo is controlled over D-Bus: open-seat is refused there.
    res = probe(st["demo"], "open-seat")
    check(res == {"opcode": SEATD_ERROR, "errno": EBUSY}, f"open-seat beside D-Bus: {res}")
    check_seat_active()


def testcase_outsider_is_refused():
    setup()
    ensure_seat_active()
    r = subprocess.run([sys.executable, PROBE, "open-seat", f"{RUNTIME}/containers/seat/seatd.sock"],
                       capture_output=True, text=True, timeout=60)
    check(r.returncode == 0, f"probe: {r.stderr}")
    res = json.loads(r.stdout)
    # Hung up on at once, without a word: a refused peer costs nothing.
    check(res == {"opcode": None, "errno": None}, f"outsider: {res}")
    check("refusing pid" in devnsd_log(), "the refusal is logged")
    check_seat_active()


def testcase_bad_input():
    st = setup()
    ensure_seat_active()
    fds = st["broker"].fd_count()
    res = probe(st["seat"], "abuse")
    expected = {name: "closed" for name in res}
    expected["ping"] = "pong"
    expected["ping_with_fd"] = "pong"
    check(res == expected, f"bad input: {res}")
    check(st["broker"].proc.poll() is None, "devnsd survived")
    wait_until("devnsd's fds back to before", lambda: st["broker"].fd_count() <= fds, timeout=30)
    check_seat_active()
    # The libseat client is unaffected.
    switch_and_wait(st["demo"])
    st["seat"].expect("disable ", timeout=60)
    switch_to_seat(enable_count(st["seat"]) + 1)
    check_seat_active()


def testcase_quit_releases_everything():
    st = setup()
    ensure_seat_active()  # the client quits while it holds the seat
    s = st["seat"]
    s.send("quit")
    line = s.expect("exited ", timeout=60)
    check(line == "exited 0", f"libseat-client: {line}")
    wait_until("seat released", lambda: not container_prop("seat", "Controlled"))
    check(held("seat") == {}, f"devices released: {held('seat')}")
    # Nobody is master now; the demo client takes over.
    switch_and_wait(st["demo"])
    sd = st["demo"].status()
    check(sd["drm_master"] == "1" and sd["evdev"] == "live", f"demo active: {sd}")


ORDER = [
    "testcase_open_seat_while_inactive",
    "testcase_enable_opens_devices",
    "testcase_paths_resolve_in_the_container_root",
    "testcase_switch_loop",
    "testcase_open_while_disabled_fails",
    "testcase_switch_session",
    "testcase_switch_session_needs_allow_activate",
    "testcase_one_controller_per_container",
    "testcase_outsider_is_refused",
    "testcase_bad_input",
    "testcase_quit_releases_everything",
]


def main():
    if not os.path.exists(CLIENT):
        print(f"# {CLIENT} was not built (no libseat)", flush=True)
        return 77
    for mod in ("bochs", "uinput"):
        subprocess.run(["modprobe", mod], check=True)
    wait_until("/dev/dri/card0", lambda: os.path.exists("/dev/dri/card0"), timeout=60)
    subprocess.run(["udevadm", "settle", "--timeout=60"], check=False)
    state["broker"] = Broker()
    try:
        rc = run_testcases(globals(), ORDER)
    finally:
        if "seat" in state:
            kill_leader(state["seat"])
        if "demo" in state:
            state["demo"].stop()
        state["broker"].stop()
        if "kbd" in state:
            state["kbd"].destroy()
    return rc


if __name__ == "__main__":
    sys.exit(main())
