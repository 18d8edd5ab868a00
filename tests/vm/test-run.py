#!/usr/bin/env python3
"""devnsctl run: a command started as a container, with its endpoint at
/run/devns, registered while it runs, and devnsctl's exit status its own.

Run by test-run.sh in the guest.
"""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devnstest import (  # noqa: E402
    CLIENT, DEVNSCTL, RUNTIME, Broker, RunContainer, _children, check, expect_screen,
    in_container, log, run_demo_client, run_testcases, switch_and_wait, wait_until)

COLOURS = {"alpha": "cc2222", "beta": "2255cc"}

state = {}


def devnsctl(*args, **kw):
    return subprocess.run([DEVNSCTL, *args], capture_output=True, text=True, timeout=120, **kw)


def listed():
    """{name: leader} from devnsctl list."""
    r = devnsctl("list", "--no-legend")
    check(r.returncode == 0, f"devnsctl list: {r.stderr}")
    rows = [line.split() for line in r.stdout.splitlines() if line.strip()]
    return {row[0]: row[3] for row in rows}


def clients():
    if "clients" not in state:
        cs = {}
        for name, colour in COLOURS.items():
            cs[name] = run_demo_client(name, colour)
            cs[name].expect("ready", timeout=60)
        state["clients"] = cs
    return state["clients"]


def testcase_client_works_through_its_endpoint():
    cs = clients()
    for c in cs.values():
        # The leader is the init devnsctl forked: its child, in our view.
        check(_children(c.proc.pid) == [c.leader],
              f"{c.name}: leader {c.leader}, devnsctl's children {_children(c.proc.pid)}")
    got = listed()
    for c in cs.values():
        check(got.get(c.name) == str(c.leader), f"devnsctl list shows {got}, want {c.name} {c.leader}")
    for name in ("alpha", "beta", "alpha"):
        ms = switch_and_wait(cs[name])
        log(f"switch to {name}: {ms:.1f} ms")
        st = cs[name].status()
        check(st["drm_master"] == "1" and st["evdev"] == "live" and st["active"] == "1",
              f"{name} after its switch: {st}")
        expect_screen(f"run-{name}.png", COLOURS[name])
    st = cs["beta"].status()
    check(st["drm_master"] == "0" and st["evdev"] in ("revoked", "none"),
          f"beta in the background: {st}")


def testcase_sees_only_its_endpoint():
    cs = clients()
    for c in cs.values():
        r = in_container(c, ["ls", "-A", "/run/devns"])
        check(r.returncode == 0, f"ls /run/devns in {c.name}: {r.stderr}")
        entries = set(r.stdout.split())
        log(f"{c.name}: /run/devns holds {sorted(entries)}")
        check("bus" in entries and entries <= {"bus", "seatd.sock"},
              f"{c.name} sees {sorted(entries)} at /run/devns")
        for other in cs:
            path = f"/run/devns/containers/{other}"
            r = in_container(c, ["test", "-e", path])
            check(r.returncode != 0, f"{c.name} can reach {path}")
        # The endpoint answers from inside, for this container only.
        r = in_container(c, [DEVNSCTL, "--address", "unix:path=/run/devns/bus", "status"])
        check(r.returncode == 0 and f"Name: {c.name}" in r.stdout,
              f"status on {c.name}'s endpoint: {r.stdout} {r.stderr}")
        # Its own /proc: the init is pid 1, the client pid 2.
        r = in_container(c, ["cat", "/proc/1/cmdline", "/proc/2/cmdline"])
        argv = r.stdout.split("\0")
        check(r.returncode == 0 and DEVNSCTL in argv and CLIENT in argv,
              f"{c.name}: pid 1 and 2 are {argv}")


def testcase_exit_status_and_unregistered():
    cs = state.pop("clients", None) or clients()
    # quit: the client releases control and exits 0.
    c = cs.pop("alpha")
    c.send("quit")
    rc = c.stop()
    check(rc == 0, f"devnsctl run alpha: exit status {rc}")
    check("alpha" not in listed(), f"alpha still listed: {listed()}")
    check(not os.path.exists(f"{RUNTIME}/containers/alpha"), "alpha's endpoint dir is left")
    # SIGTERM to devnsctl reaches the client, which exits 0 on it.
    c = cs.pop("beta")
    c.proc.send_signal(signal.SIGTERM)
    rc = c.proc.wait(timeout=60)
    check(rc == 0, f"devnsctl run beta after SIGTERM: exit status {rc}")
    check("beta" not in listed(), f"beta still listed: {listed()}")
    # A command's own status comes back as devnsctl's ...
    r = devnsctl("run", "gamma", "--", "sh", "-c", "test -S /run/devns/bus && exit 7")
    check(r.returncode == 7, f"run gamma -- sh -c 'exit 7': {r.returncode} {r.stderr}")
    # ... and a command killed by a signal gives 128 + the signal.
    c = RunContainer("delta", ["sleep", "1000"])
    sleeper = wait_until("sleep in delta", lambda: _children(c.leader))[0]
    os.kill(sleeper, signal.SIGKILL)
    rc = c.proc.wait(timeout=60)
    check(rc == 128 + signal.SIGKILL, f"devnsctl run delta -- sleep, killed: {rc}")
    check(listed() == {}, f"containers left: {listed()}")


def testcase_errors():
    c = run_demo_client("alpha", COLOURS["alpha"])
    try:
        c.expect("ready", timeout=60)
        r = devnsctl("run", "alpha", "--", "true")
        check(r.returncode == 1 and "alpha" in r.stderr, f"run with a taken name: {r}")
        check(list(listed()) == ["alpha"], f"after the refused run: {listed()}")
    finally:
        c.stop()
    r = devnsctl("run", "x/y", "--", "true")
    check(r.returncode == 1 and "x/y" in r.stderr, f"run with a bad name: {r}")
    r = devnsctl("run", "epsilon", "--", "/nonexistent/command")
    check(r.returncode == 127 and "/nonexistent/command" in r.stderr, f"missing command: {r}")
    r = devnsctl("run", "epsilon", "true")
    check(r.returncode == 2, f"run without --: {r}")
    r = devnsctl("run", "--", "true")
    check(r.returncode == 2, f"run without a name: {r}")
    r = devnsctl("run", "epsilon", "--leader", "1", "--", "true")
    check(r.returncode == 2, f"run with --leader: {r}")
    check(listed() == {}, f"containers left: {listed()}")


ORDER = [
    "testcase_client_works_through_its_endpoint",
    "testcase_sees_only_its_endpoint",
    "testcase_exit_status_and_unregistered",
    "testcase_errors",
]


def main():
    subprocess.run(["modprobe", "bochs"], check=True)
    wait_until("/dev/dri/card0", lambda: os.path.exists("/dev/dri/card0"), timeout=60)
    subprocess.run(["udevadm", "settle", "--timeout=60"], check=False)
    state["broker"] = Broker()
    try:
        return run_testcases(globals(), ORDER)
    finally:
        for c in state.get("clients", {}).values():
            c.stop()
        state["broker"].stop()


if __name__ == "__main__":
    sys.exit(main())
