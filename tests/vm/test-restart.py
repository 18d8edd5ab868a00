#!/usr/bin/env python3
"""devnsd killed with SIGKILL and started again: it picks up its containers
and the device files they hold, so the active container keeps working and
no background container holds master or live input. Also killed in the
middle of a switch, at each of its ioctls in turn (strace's fault
injection): the next devnsd finishes or undoes it, so that exactly one
container is in front, with master and live input, and the next switch
works.

Run by test-restart.sh in the guest."""
import json
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devnstest import (  # noqa: E402
    DEVNSCTL, DRM_MAJOR, OUT, RUNTIME, SEAT, Broker, Container, TestFailure, UinputKeyboard, check,
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


def testcase_files_taken_back_without_the_client():
    """A controller that never reconnects: the restarted broker still takes
    master and input from it on the next switch."""
    cs = clients()
    holder = Container("holder", [sys.executable, PROBE, "silent", "--late", f"{DRM_MAJOR}:0"])
    try:
        check(json.loads(holder.expect("{", timeout=60))["controlling"], "holder controls")
        manager().SwitchContainer("seat0", "holder")
        holder.send("take")
        check(json.loads(holder.expect("{", timeout=60))["ready"], "holder ready")
        holder.send("status")
        check(json.loads(holder.expect("{", timeout=30))["status"] == [True], "holder is master")
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


def switch_killed_at(cs, target, k):
    """Switches to target with devnsd killed (SIGKILL) at its k-th ioctl
    from the start of the switch. Returns the request of the ioctl devnsd
    died in, or None if the switch needed fewer ioctls."""
    broker = state["broker"]
    pid = broker.proc.pid
    trace = os.path.join(OUT, f"mid-switch-{k:02d}.strace")
    tracer = subprocess.Popen(
        ["strace", "-qq", "-o", trace, "-p", str(pid), "-e", "trace=ioctl",
         "-e", f"inject=ioctl:signal=KILL:when={k}"],
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
        died = broker.proc.poll() is not None
    finally:
        tracer.terminate()
        tracer.wait(timeout=30)
    if not died:
        check(switch.returncode == 0, f"devnsctl switch {target}: {switch.returncode}")
        return None
    with open(trace) as f:
        calls = re.findall(r"ioctl\(\d+, ([A-Z_0-9]+|0x[0-9a-f]+|_IOC[^,]*)", f.read())
    return calls[-1] if calls else "?"


def testcase_killed_mid_switch():
    """devnsd killed at the 1st, 2nd, ... ioctl of a switch (revoking,
    dropping and setting master, reopening), until a switch needs fewer:
    after each kill the next devnsd has one container in front, master and
    live input only there, and a switch to the other one works."""
    cs = clients()
    name, other = list(cs)
    make_active(cs[name])
    outcomes = []
    for k in range(1, 40):
        request = switch_killed_at(cs, other, k)
        if request is None:
            check(active() == other, f"the switch with no kill: {active()} in front")
            check_invariant(cs, other)
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
        check(front in cs, f"kill at ioctl {k}: {front!r} in front")
        check_invariant(cs, front)
        outcomes.append(f"{k} {request}: {'undone' if front == name else 'done'}")
        back = name if front == other else other
        switch_and_wait(cs[back])
        check_invariant(cs, back)
        # The next round starts from name in front again.
        if back != name:
            switch_and_wait(cs[name])
            check_invariant(cs, name)
    else:
        raise TestFailure("a switch took more than 39 ioctls")
    check(len(outcomes) >= 3, f"killed at only {len(outcomes)} points of a switch")
    log(f"devnsd killed at each of the {len(outcomes)} ioctls of a switch, then restarted: "
        f"{'; '.join(outcomes)}")


ORDER = [
    "testcase_restart_rounds",
    "testcase_killed_mid_switch",
    "testcase_files_taken_back_without_the_client",
    "testcase_dead_leader_not_picked_up",
]


def main():
    return run_with_broker(globals(), ORDER, state, modules=("bochs", "uinput"))


if __name__ == "__main__":
    sys.exit(main())
