#!/usr/bin/env python3
"""devnsd killed with SIGKILL and started again: it picks up its containers
and the device files they hold, so the active container keeps working and
no background container holds master or live input.

Run by test-restart.sh in the guest."""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devnstest import (  # noqa: E402
    DRM_MAJOR, RUNTIME, SEAT, Broker, Container, UinputKeyboard, check,
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


ORDER = [
    "testcase_restart_rounds",
    "testcase_files_taken_back_without_the_client",
    "testcase_dead_leader_not_picked_up",
]


def main():
    return run_with_broker(globals(), ORDER, state, modules=("bochs", "uinput"))


if __name__ == "__main__":
    sys.exit(main())
