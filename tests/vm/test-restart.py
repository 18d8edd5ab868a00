#!/usr/bin/env python3
"""devnsd killed with SIGKILL and started again: it picks up its containers
and the device files they hold, so the active container keeps working and
no background container holds master or live input. Also killed in the
middle of a switch, at each of its ioctls in turn (strace's fault
injection): the next devnsd finishes or undoes it, so that exactly one
container is in front, with master and live input, and the next switch
works. And the "inflight" attack: a live keyboard file parked in a
socket, out of every process's sight, while devnsd is killed; under
devns-keeper the next devnsd revokes it on the next switch.

Run by test-restart.sh in the guest."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devnstest import (  # noqa: E402
    DEVNSCTL, DRM_MAJOR, OUT, RUNTIME, SEAT, Broker, Container, KeptBroker, TestFailure,
    UinputKeyboard, check,
    demo_client, get_prop, log, make_active, manager, run_with_broker, seat_devices,
    seat_path, switch_and_wait, system_bus, wait_until)

ROUNDS = int(os.environ.get("DEVNS_RESTART_ROUNDS", "20"))
PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "endpoint-probe.py")
COLOURS = {"alpha": "cc2222", "beta": "2255cc"}
state = {}


def active():
    bus = system_bus()
    return str(get_prop(bus, seat_path(bus), SEAT, "ActiveContainer")[0])


def check_invariant(cs, name):
    for n, c in cs.items():
        st = c.status()
        if n == name:
            check(st["drm_master"] == "1" and st["evdev"] == "live",
                  f"{n} is active and must be master with live input: {st}")
        else:
            check(st["drm_master"] == "0" and st["evdev"] == "revoked",
                  f"{n} is in the background and must hold nothing: {st}")


def clients():
    """alpha and beta, demo clients that reconnect to a new devnsd, each
    holding the card and every keyboard (a uinput one made for this test
    too, state["keys"]); shared by the testcases."""
    if "keys" not in state:
        keys = state["keys"] = UinputKeyboard("devns-test-restart")
        state.setdefault("devices", []).append(keys)
        wait_until("keyboard on seat0",
                   lambda: any(d[0] == keys.sysname for d in seat_devices(system_bus())))
    if "clients" not in state:
        cs = {n: demo_client(n, col, ["--reconnect"]) for n, col in COLOURS.items()}
        for c in cs.values():
            c.expect("ready", timeout=60)
        state["clients"] = cs
    return state["clients"]


def restart(cs):
    """Kills devnsd, starts it again, waits for the clients to come back."""
    state["broker"].crash()
    for c in cs.values():
        c.expect("disconnected", timeout=30)
    state["broker"] = Broker()
    for c in cs.values():
        c.expect("reconnected", timeout=60)


def testcase_restart_rounds():
    cs = clients()
    keys = state["keys"]
    name, other = list(cs)
    make_active(cs[name])
    for i in range(ROUNDS):
        restart(cs)
        check(active() == name, f"round {i}: {active()} is active after the restart, not {name}")
        check_invariant(cs, name)
        # Still a working seat: switch away, and type into the new one.
        switch_and_wait(cs[other])
        check_invariant(cs, other)
        keys.press(30)
        cs[other].expect(f"key {keys.sysname} 30", timeout=30)
        name, other = other, name
    log(f"{ROUNDS} restarts, each with the seat intact")


def live_holder(name, dev):
    """A container of endpoint-probe.py's silent controller, made active,
    holding dev (MAJ:MIN) live: master for a card, unrevoked for evdev."""
    holder = Container(name, [sys.executable, PROBE, "silent", "--late", dev])
    check(json.loads(holder.expect("{", timeout=60))["controlling"], f"{name} controls")
    manager().SwitchContainer("seat0", name)
    holder.send("take")
    check(json.loads(holder.expect("{", timeout=60))["ready"], f"{name} ready")
    holder.send("status")
    check(json.loads(holder.expect("{", timeout=30))["status"] == [True], f"{name}'s {dev} is live")
    return holder


def testcase_files_taken_back_without_the_client():
    """A controller that never reconnects: the restarted broker still takes
    master and input from it on the next switch."""
    cs = clients()
    holder = live_holder("holder", f"{DRM_MAJOR}:0")
    try:
        restart(cs)
        check(active() == "holder", f"{active()} active after the restart")
        holder.send("status")
        check(json.loads(holder.expect("{", timeout=30))["status"] == [True],
              "the active holder is still master right after the restart")
        switch_and_wait(cs["alpha"])
        holder.send("status")
        check(json.loads(holder.expect("{", timeout=30))["status"] == [False],
              "the restarted broker took master from the holder")
        check_invariant(cs, "alpha")
    finally:
        holder.stop()


def testcase_dead_leader_not_picked_up():
    cs = clients()
    short = Container("short", ["sleep", "infinity"])
    state["broker"].crash()
    os.kill(short.leader, 9)
    short.stop()
    # Both lines of each client, so the next restart() waits for its own.
    for c in cs.values():
        c.expect("disconnected", timeout=30)
    state["broker"] = Broker()
    for c in cs.values():
        c.expect("reconnected", timeout=60)
    names = [str(n) for n, *_ in manager().ListContainers()]
    check("short" not in names and "alpha" in names, f"containers after the restart: {names}")
    check(not os.path.exists(f"{RUNTIME}/containers/short"), "its endpoint is gone")


def tracer_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return 0


def switch_killed_at(cs, target, k, path=None):
    """Switches to target with devnsd killed (SIGKILL) at its k-th ioctl
    from the start of the switch (or soon after it, when it took fewer);
    with path, only the ioctls on that device count. Returns the request of the ioctl devnsd
    died in, or None if the switch needed fewer ioctls."""
    broker = state["broker"]
    pid = broker.proc.pid
    trace = os.path.join(OUT, f"mid-switch-{k:02d}.strace")
    tracer = subprocess.Popen(
        ["strace", "-qq", "-o", trace, "-p", str(pid), "-e", "trace=ioctl",
         "-e", f"inject=ioctl:signal=KILL:when={k}", *(["-P", path] if path else [])],
        stdin=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until("strace attached to devnsd", lambda: tracer_of(pid) == tracer.pid, timeout=30)
        switch = subprocess.Popen([DEVNSCTL, "switch", target], stdin=subprocess.DEVNULL,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(f"devnsd killed at ioctl {k}, or the switch done",
                   lambda: broker.proc.poll() is not None or switch.poll() is not None,
                   timeout=60)
        switch.wait(timeout=60)
        if switch.returncode != 0:
            # The switch fails when devnsd's connection closes, a moment
            # before devnsd is a zombie.
            wait_until("devnsd gone", lambda: broker.proc.poll() is not None, timeout=30)
    finally:
        tracer.terminate()
        tracer.wait(timeout=30)
    # devnsd's ioctls do not end with the switch (the hotkeys read the
    # keyboards' key state ten times a second): the k-th may come after
    # it, before strace let go.
    try:
        wait_until("devnsd killed after the switch", lambda: broker.proc.poll() is not None,
                   timeout=2)
    except TestFailure:
        pass
    died = broker.proc.poll() is not None
    if not died:
        check(switch.returncode == 0, f"devnsctl switch {target}: {switch.returncode}")
        return None
    with open(trace) as f:
        calls = re.findall(r"ioctl\(\d+, ([A-Z_0-9]+|0x[0-9a-f]+|_IOC[^,]*)", f.read())
    return calls[-1] if calls else "?"


def killed_at_each(cs, name, other, path, first, last, outcomes):
    """Kills devnsd at the first..last ioctl (on path only, if given) of a
    switch from name to other, one switch each, until a switch needs fewer;
    after each kill the next devnsd must have one container in front,
    master and live input only there, and switch to the other one. Returns
    the requests it was killed in."""
    points = set()
    for k in range(first, last + 1):
        make_active(cs[name])
        request = switch_killed_at(cs, other, k, path)
        where = f"{path or 'any'} #{k}"
        if request is None:
            # The switch was done before the k-th ioctl came.
            check(active() == other, f"the switch with no kill: {active()} in front")
            check_invariant(cs, other)
            outcomes.append(f"{where}: none")
            break
        broker = state["broker"]
        broker.proc.wait()
        broker.logf.close()
        for c in cs.values():
            c.expect("disconnected", timeout=30)
        state["broker"] = Broker()
        for c in cs.values():
            c.expect("reconnected", timeout=60)
        front = active()
        check(front in cs, f"kill at {where}: {front!r} in front")
        check_invariant(cs, front)
        points.add(request)
        outcomes.append(f"{where} {request}: {'undone' if front == name else 'done'}")
        back = name if front == other else other
        switch_and_wait(cs[back])
        check_invariant(cs, back)
    return points


def testcase_killed_mid_switch():
    """devnsd killed in the middle of a switch: at each ioctl on the card
    in turn (the master check, DROP_MASTER, SET_MASTER), then at the 1st
    to 16th ioctl of any kind (the hotkeys' key-state reads, which come
    ten times a second, and each EVIOCREVOKE)."""
    cs = clients()
    name, other = list(cs)
    outcomes = []
    card = killed_at_each(cs, name, other, "/dev/dri/card0", 1, 12, outcomes)
    killed_at_each(cs, name, other, None, 1, 16, outcomes)
    log(f"devnsd killed mid-switch, then restarted: {'; '.join(outcomes)}")
    for step in ("DRM_IOCTL_DROP_MASTER", "DRM_IOCTL_SET_MASTER"):
        check(step in card, f"never killed at {step}: {outcomes}")

def swap_broker(cs, kept):
    """devnsd stopped (a crash for a plain one; for one under devns-keeper,
    SIGTERM to the keeper: devnsd hands over and the keeper drops the
    store) and started again, under devns-keeper if kept; the clients
    reconnect."""
    old = state["broker"]
    if isinstance(old, KeptBroker):
        old.stop()
    else:
        old.crash()
    for c in cs.values():
        c.expect("disconnected", timeout=30)
    state["broker"] = KeptBroker() if kept else Broker()
    for c in cs.values():
        c.expect("reconnected", timeout=60)


def testcase_parked_file_dead_after_a_crash():
    """The "inflight" attack: root in the active container takes the
    keyboard, sends its live file over a socketpair to itself without
    receiving it and closes its own copy, so no process holds it. devnsd
    is killed (-9) and restarted by devns-keeper, and the seat switches to
    another container, which gets keys. The parked file must give the
    attacker none of them: the stored copy of the file (the fd store) let
    the new devnsd revoke it."""
    cs = clients()
    keys = state["keys"]
    dev = next(d for d in seat_devices(system_bus()) if d[0] == keys.sysname)
    swap_broker(cs, kept=True)
    parker = live_holder("parker", f"{dev[1]}:{dev[2]}")
    try:
        parker.send("park")
        check(json.loads(parker.expect("{", timeout=30)) == {"park": 1}, "the file is parked")

        broker = state["broker"]
        old = broker.devnsd_pid()
        broker.kill_devnsd()
        log(f"devnsd {old} killed; devnsd {broker.pid} took over")
        for c in cs.values():
            c.expect("disconnected", timeout=30)
            c.expect("reconnected", timeout=60)
        check(active() == "parker", f"{active()} active after the restart")
        switch_and_wait(cs["alpha"])
        check_invariant(cs, "alpha")
        for _ in range(4):
            keys.press(30)
        for _ in range(4):
            cs["alpha"].expect(f"key {keys.sysname} 30", timeout=30)
        parker.send("unpark")
        got = json.loads(parker.expect("{", timeout=30))["unpark"]
        log(f"what the parked file held: {got}")
        check(len(got) == 1 and got[0]["keys"] == 0,
              f"the parked file delivered keys typed for alpha: {got}")
        check(got[0].get("errno") == "ENODEV", f"the parked file is not revoked: {got}")
    finally:
        parker.stop()
        swap_broker(cs, kept=False)


ORDER = [
    "testcase_restart_rounds",
    "testcase_parked_file_dead_after_a_crash",
    "testcase_killed_mid_switch",
    "testcase_files_taken_back_without_the_client",
    "testcase_dead_leader_not_picked_up",
]


def main():
    return run_with_broker(globals(), ORDER, state, modules=("bochs", "uinput"))


if __name__ == "__main__":
    sys.exit(main())
