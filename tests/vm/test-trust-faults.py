#!/usr/bin/env python3
"""Faults while switching, each followed by the invariant (exactly one
master, live input only in the active container) on the clients that are
still alive, and a switch to a survivor that must work:

  kill_mid_pause      a controller that takes the card and never answers a
                      pause is killed (SIGKILL) while the switch away from it
                      waits; the switch completes within PauseTimeoutSec plus
                      a margin and the next container is master
  leader_exit         the leader of the active container exits (and, every
                      other round, exits while a switch away from it waits):
                      the seat ends with none active, the next switch works
  unplug              uinput keyboards held by two controllers are made and
                      destroyed before, during and after switches
  forced_pause_load   a controller that never answers, several rounds in a
                      row, with more switches queued behind each forced pause,
                      keys typed and a hostile client on the system bus

Counts: DEVNS_TRUST_KILL_ROUNDS (100), DEVNS_TRUST_LEADER_ROUNDS (10),
DEVNS_TRUST_UNPLUG_ROUNDS (30), DEVNS_TRUST_FORCED_ROUNDS (10).
Run by test-trust-faults.sh in the guest; results in /mnt/out/results.json.
"""
import json
import os
import random
import re
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import devnstest as dt  # noqa: E402
from devnstest import check, log, manager, wait_until  # noqa: E402

import importlib.util  # noqa: E402
_spec = importlib.util.spec_from_file_location(
    "trust_lib", os.path.join(os.path.dirname(os.path.abspath(__file__)), "trust-lib.py"))
lib = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lib)

PAUSE_TIMEOUT = 1.0
# What a switch may take beyond PauseTimeoutSec under TCG, with devnsctl's
# start-up and a loaded guest included.
MARGIN = 5.0
KILL_ROUNDS = lib.env_int("DEVNS_TRUST_KILL_ROUNDS", 100)
LEADER_ROUNDS = lib.env_int("DEVNS_TRUST_LEADER_ROUNDS", 10)
UNPLUG_ROUNDS = lib.env_int("DEVNS_TRUST_UNPLUG_ROUNDS", 30)
FORCED_ROUNDS = lib.env_int("DEVNS_TRUST_FORCED_ROUNDS", 10)
R = random.Random(1)

state = {}


def survivors():
    """alpha and beta: demo clients holding the card and the keyboard."""
    return state["clients"]["alpha"], state["clients"]["beta"]


def devs():
    ma, mi = state["keys"].devnum()
    return [f"{dt.DRM_MAJOR}:0", f"{ma}:{mi}"]


def switch_to_survivor(target, others):
    """A switch to target through devnsctl; waits for its resumes and
    checks the invariant over target and others."""
    n = dt.devices_held(target.name)
    target.take_lines("resume")
    r = subprocess.run([dt.DEVNSCTL, "switch", target.name], capture_output=True, text=True,
                       timeout=120)
    check(r.returncode == 0, f"switch to {target.name}: {r.returncode} {r.stderr.strip()}")
    for _ in range(n):
        target.expect("resume ", timeout=30)
    check(lib.active_of() == target.name, f"active is {lib.active_of()}, not {target.name}")
    lib.check_invariant(target, others)


def wait_switch(proc, what):
    try:
        out, err = proc.communicate(timeout=PAUSE_TIMEOUT + MARGIN + 60)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise dt.TestFailure(f"{what}: devnsctl switch did not return")
    check(proc.returncode == 0, f"{what}: devnsctl switch failed ({proc.returncode}): {err}")


# ---------------------------------------------------------------- testcases

def testcase_kill_mid_pause():
    """kill -9 of a controller in the middle of a pause handshake"""
    alpha, beta = survivors()
    victim = lib.controller("victim", "forker")
    took, after_kill, waited_pause = [], [], 0
    try:
        for r in range(KILL_ROUNDS):
            wait_until("victim without controller",
                       lambda: not bool(lib.container_prop("victim", "Controlled")), timeout=60)
            victim.send("spawn --silent " + " ".join(devs()))
            ns_pid = int(victim.expect("spawned ").split()[1])
            lib.expect_ready(victim)
            # The victim becomes active: its controller is master and live.
            manager().SwitchContainer("seat0", "victim")
            lib.check_invariant(victim, [alpha, beta], active_via_forker=True)

            target, other = (alpha, beta) if r % 2 == 0 else (beta, alpha)
            n = dt.devices_held(target.name)
            target.take_lines("resume")
            victim.take_lines("pause ")
            pid = lib.host_pid(victim.leader, ns_pid)
            check(pid, f"round {r}: controller {ns_pid} not found")
            t0 = time.monotonic()
            proc = lib.devnsctl_async("switch", target.name)
            if r % 4 != 3:
                # The usual case: killed while the switch waits for it.
                victim.expect(f"pause {dt.DRM_MAJOR}:0 pause", timeout=60)
                waited_pause += 1
            # else: killed at once, racing the start of the switch.
            lib.kill(pid)
            t_kill = time.monotonic()
            wait_switch(proc, f"round {r}")
            t1 = time.monotonic()
            took.append(t1 - t0)
            after_kill.append(max(0.0, t1 - t_kill))
            check(t1 - t0 < PAUSE_TIMEOUT + MARGIN,
                  f"round {r}: the switch took {t1 - t0:.2f}s (PauseTimeoutSec={PAUSE_TIMEOUT})")
            for _ in range(n):
                target.expect("resume ", timeout=30)
            check(lib.active_of() == target.name, f"round {r}: active is {lib.active_of()}")
            lib.check_invariant(target, [other])
            wait_until("the dead controller's devices released",
                       lambda: len(lib.container_prop("victim", "Devices")) == 0, timeout=60)
            if r % 10 == 0:
                log(f"kill_mid_pause: round {r}, switch took {t1 - t0:.3f}s")
        # The next switch to a survivor works too.
        switch_to_survivor(beta if lib.active_of() == "alpha" else alpha,
                           [alpha if lib.active_of() == "alpha" else beta])
    finally:
        victim.stop()
    return (f"{KILL_ROUNDS} rounds: a controller holding the card and a keyboard that never "
            f"answers a pause is killed with SIGKILL, {waited_pause} times while the switch "
            f"away from it waits (PauseTimeoutSec={PAUSE_TIMEOUT}), the others at once",
            "every switch completed and the next container was master with live input",
            {"rounds": KILL_ROUNDS, "switch_s": lib.stats(took),
             "kill_to_done_s": lib.stats(after_kill)})


def testcase_leader_exit():
    """a leader that exits while its container is active"""
    alpha, beta = survivors()
    took = []
    log("each kill below makes unshare say 'sigprocmask unblock failed': harmless, "
        "see devnstest.Container")
    for r in range(LEADER_ROUNDS):
        mid_pause = r % 2 == 1
        lead = lib.controller("lead", *(["--silent"] if mid_pause else []), *devs())
        try:
            lib.expect_ready(lead)
            manager().SwitchContainer("seat0", "lead")
            lib.check_invariant(lead, [alpha, beta])
            target, other = (alpha, beta) if r % 4 < 2 else (beta, alpha)
            if mid_pause:
                n = dt.devices_held(target.name)
                target.take_lines("resume")
                t0 = time.monotonic()
                proc = lib.devnsctl_async("switch", target.name)
                lead.expect(f"pause {dt.DRM_MAJOR}:0 pause", timeout=60)
                lib.kill(lead.leader)
                wait_switch(proc, f"round {r}")
                took.append(time.monotonic() - t0)
                for _ in range(n):
                    target.expect("resume ", timeout=30)
                check(lib.active_of() == target.name,
                      f"round {r}: active is {lib.active_of()}, not {target.name}")
                lib.check_invariant(target, [other])
            else:
                lib.kill(lead.leader)
                wait_until("lead unregistered", lambda: not lib.registered("lead"), timeout=60)
                check(lib.active_of() == "", f"round {r}: active is {lib.active_of()!r}, not none")
                lib.check_invariant(None, [alpha, beta])
            wait_until("lead unregistered", lambda: not lib.registered("lead"), timeout=60)
            check(not os.path.exists(f"{dt.RUNTIME}/containers/lead"), "endpoint dir removed")
            switch_to_survivor(other, [target])
        finally:
            lead.stop()
    return (f"{LEADER_ROUNDS} rounds: the leader of the active container is killed; every "
            "other round while the switch away from it waits for a pause it never answers",
            "the container was unregistered each time; the seat had no active container "
            "(or the switch's target), and the next switch to a survivor worked",
            {"rounds": LEADER_ROUNDS, "mid_pause_switch_s": lib.stats(took)})


class DevicesWatch:
    """The last Devices each container announced on the system bus
    (PropertiesChanged, read with dbus-monitor, which writes each message
    at once), by object path."""

    def __init__(self):
        self.last = {}
        self.proc = subprocess.Popen(
            ["dbus-monitor", "--system",
             "type='signal',interface='org.freedesktop.DBus.Properties',"
             "member='PropertiesChanged'"],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        self.ready = threading.Event()
        threading.Thread(target=self._read, daemon=True).start()
        check(self.ready.wait(60), "dbus-monitor did not start")

    def _read(self):
        path, lines = None, []
        for line in self.proc.stdout:
            # A message starts with its header line; its arguments follow.
            if line.startswith("signal "):
                m = re.search(r"path=([^;]+);", line)
                path, lines = (m.group(1) if m else None), []
                self.ready.set()
            else:
                lines.append(line.strip())
                # Taken as soon as its Devices array is complete: no line
                # ends a message, the next one's header may be long in
                # coming.
                if lines[-1].startswith("]"):
                    self._devices(path, lines)

    def _devices(self, path, lines):
        """Devices' (major, minor) pairs, its structs' first two uint32,
        once the array has ended."""
        if path is None or 'string "Devices"' not in lines:
            return
        devs, nums = [], []
        for l in lines[lines.index('string "Devices"') + 1:]:
            if l.startswith("uint32 "):
                nums.append(int(l.split()[1]))
            elif l.startswith("string ") and len(nums) == 2:
                devs.append(tuple(nums))
                nums = []
            elif l.startswith("]"):
                self.last[path] = devs
                return

    def announced(self, path, dev, held):
        """The last Devices announced at path holds dev (held) or not."""
        got = self.last.get(path)
        return got is not None and (dev in got) == held

    def stop(self):
        self.proc.terminate()
        self.proc.wait()


def testcase_unplug():
    """unplugging uinput keyboards held by the clients during switches"""
    alpha, beta = survivors()
    u = [lib.controller(n, *devs()) for n in ("u1", "u2")]
    timing = {"before": 0, "during": 0, "after": 0}
    watch = DevicesWatch()
    try:
        for c in u:
            lib.expect_ready(c)
        for r in range(UNPLUG_ROUNDS):
            me, other = (u[0], u[1]) if r % 2 == 0 else (u[1], u[0])
            k = lib.keyboard(f"trust-hot-{r}")
            ma, mi = k.devnum()
            for c in u:
                c.send(f"take {ma}:{mi}")
                line = c.expect(f"took {ma}:{mi}", timeout=30)
                check("error" not in line, line)
                # The watch sees the take: it hears what comes next.
                path = str(manager().GetContainer(c.name))
                wait_until(f"round {r}: {c.name}'s Devices announced with the keyboard",
                           lambda: watch.announced(path, (ma, mi), True), timeout=30)
            when = R.choice(list(timing))
            timing[when] += 1
            if when == "before":
                k.destroy()
            proc = lib.devnsctl_async("switch", me.name)
            if when == "during":
                k.destroy()
            wait_switch(proc, f"round {r}")
            if when == "after":
                k.destroy()
            for c in u:
                c.expect(f"pause {ma}:{mi} gone", timeout=30)
            wait_until("keyboard withdrawn",
                       lambda: not any(d[0] == k.sysname
                                       for d in dt.seat_devices(dt.system_bus())), timeout=60)
            check(lib.active_of() == me.name, f"round {r}: active is {lib.active_of()}")
            lib.check_invariant(me, [other, alpha, beta])
            for c in u:
                held = {(int(a), int(b)) for a, b, *_ in lib.container_prop(c.name, "Devices")}
                check((ma, mi) not in held, f"{c.name} still holds the unplugged keyboard")
                # ... and said so: a PropertiesChanged of its Devices.
                path = str(manager().GetContainer(c.name))
                wait_until(f"round {r} ({when}): {c.name}'s Devices announced without the "
                           "keyboard", lambda: watch.announced(path, (ma, mi), False),
                           timeout=30)
        switch_to_survivor(alpha, [beta] + u)
    finally:
        watch.stop()
        for c in u:
            c.stop()
    return (f"{UNPLUG_ROUNDS} rounds: a new uinput keyboard taken by two controllers is "
            f"destroyed before ({timing['before']}), during ({timing['during']}) or after "
            f"({timing['after']}) a switch between them",
            "every switch completed; both holders got PauseDevice gone, the keyboard left "
            "Seat.Devices and both containers' Devices (announced by PropertiesChanged), "
            "and the invariant held",
            {"rounds": UNPLUG_ROUNDS, **{f"unplug_{k}": v for k, v in timing.items()}})


def testcase_forced_pause_load():
    """a client that never answers, several rounds in a row, under load"""
    alpha, beta = survivors()
    keys = state["keys"]
    mute = lib.controller("mute", "--silent", *devs())
    stop = threading.Event()

    def typist():
        while not stop.is_set():
            keys.press(30)
            stop.wait(0.05)
    load = subprocess.Popen(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable,
         lib.stress_copy(), "--target", "system", "--others", "alpha,beta,mute",
         "--calls", "1000000000", "--deadline", "3600", "--seed", "7"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/")
    typing = threading.Thread(target=typist, daemon=True)
    typing.start()
    with open(os.path.join(dt.OUT, "devnsd.log")) as f:
        forced_before = f.read().count("did not acknowledge")
    took = []
    try:
        lib.expect_ready(mute)
        for r in range(FORCED_ROUNDS):
            manager().SwitchContainer("seat0", "mute")
            lib.check_invariant(mute, [alpha, beta])
            first, last = (alpha, beta) if r % 2 == 0 else (beta, alpha)
            n = dt.devices_held(last.name)
            last.take_lines("resume")
            t0 = time.monotonic()
            p1 = lib.devnsctl_async("switch", first.name)
            mute.expect(f"pause {dt.DRM_MAJOR}:0 pause", timeout=60)
            # Queued behind the forced pause: they run in order after it.
            p2 = lib.devnsctl_async("switch", last.name)
            wait_switch(p1, f"round {r} (first)")
            t1 = time.monotonic()
            wait_switch(p2, f"round {r} (queued)")
            took.append(t1 - t0)
            check(PAUSE_TIMEOUT * 0.9 <= t1 - t0 < PAUSE_TIMEOUT + MARGIN,
                  f"round {r}: the forced switch took {t1 - t0:.2f}s "
                  f"(PauseTimeoutSec={PAUSE_TIMEOUT})")
            for _ in range(n):
                last.expect("resume ", timeout=30)
            check(lib.active_of() == last.name, f"round {r}: active is {lib.active_of()}")
            lib.check_invariant(last, [first, mute])
        check(load.poll() is None, f"the load stopped: {load.poll()}")
    finally:
        stop.set()
        typing.join()
        load.terminate()
        out, err = load.communicate(timeout=120)
        mute.stop()
    lines = out.strip().splitlines()
    check(lines, f"no summary from the load: {err[-2000:]}")
    hostile = json.loads(lines[-1])
    check(hostile["no_reply"] == 0, f"the load saw calls never answered: {hostile}")
    with open(os.path.join(dt.OUT, "devnsd.log")) as f:
        forced = f.read().count("did not acknowledge") - forced_before
    check(forced >= FORCED_ROUNDS, f"{forced} forced pauses logged, expected {FORCED_ROUNDS}")
    return (f"{FORCED_ROUNDS} rounds in a row: a switch away from a controller that never "
            "answers, a second switch queued behind it, keys typed every 50 ms and a hostile "
            "client calling the system bus all along",
            f"each pause was forced after PauseTimeoutSec ({forced} logged), the queued "
            f"switch ran next, the invariant held; the hostile client's {hostile['calls']} "
            "calls were all answered",
            {"rounds": FORCED_ROUNDS, "forced_switch_s": lib.stats(took),
             "load_calls": hostile["calls"]})


ORDER = [
    "testcase_kill_mid_pause",
    "testcase_leader_exit",
    "testcase_unplug",
    "testcase_forced_pause_load",
]


def main():
    results = lib.Results("trust-faults")
    lib.setup_devices()
    broker = lib.Broker(f"[Broker]\nPauseTimeoutSec={PAUSE_TIMEOUT}\n")
    results.broker(broker)
    failed = 1
    try:
        lib.start_clients(state)
        dt.switch_and_wait(state["clients"]["alpha"])
        fds0 = broker.fd_count()
        failed = lib.run_cases(globals(), ORDER, results)
        check(broker.alive(), "devnsd is gone")
        results.data["devnsd_fds"] = [fds0, broker.settled_fds(fds0 + 2)]
        log(f"devnsd fds before and after: {results.data['devnsd_fds']}")
    finally:
        lib.stop_clients(state)
        rc = lib.finish(broker, results, failed)
    print(json.dumps({"results": results.path}), flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
