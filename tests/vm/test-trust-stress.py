#!/usr/bin/env python3
"""Hostile input: random calls at every way into the broker, then proof
that nothing else noticed.

  hostile_calls       trust-stress.py, in parallel: at a container's D-Bus
                      endpoint from inside its pid namespace (as root and as
                      an unprivileged user), at its seatd.sock, and at the
                      system bus (as root with calls nobody could mean, as
                      nobody with everything). Afterwards devnsd is up, its
                      fd count is back where it was and its memory did not
                      grow beyond a small bound, the other containers' state
                      is unchanged, the hostile container's endpoint still
                      serves a plain client, and a normal switch works.
  unread_replies      a controller that floods TakeDevice/ReleaseDevice and
                      reads no reply: devnsd's fds stay bounded, the other
                      containers still switch
  invalid_message_fds invalid messages carrying fds leave none of them open
                      in devnsd (sd-bus forgets them; the endpoint closes
                      them and hangs up)
  fds_with_begin      a first message with fds that arrives with BEGIN is
                      answered or hung up on, never left waiting

DEVNS_TRUST_CALLS (10000; 100000 for the full run) is split: with the
hostile container active 5 % seatd and 5 % endpoint; then, with alpha
active and the baseline taken, 15 % seatd, and at once 25 % endpoint as
root, 15 % endpoint as an unprivileged user, 25 % system bus as nobody,
10 % system bus as root. DEVNS_TRUST_DEADLINE (s, default 600) bounds the
time of each.
"""
import json
import os
import select
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import devnstest as dt  # noqa: E402
from devnstest import check, log, manager  # noqa: E402

import importlib.util  # noqa: E402
_spec = importlib.util.spec_from_file_location(
    "trust_lib", os.path.join(os.path.dirname(os.path.abspath(__file__)), "trust-lib.py"))
lib = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lib)

CALLS = lib.env_int("DEVNS_TRUST_CALLS", 10000)
DEADLINE = lib.env_int("DEVNS_TRUST_DEADLINE", 600)
# Growth allowed after the hostile calls: fds none beyond noise, memory a
# little for allocator caches (more under ASan, whose quarantine is 8 MiB).
FD_SLACK = 2
RSS_SLACK_KB = 4096
RSS_SLACK_ASAN_KB = 24576
# TakeDevice/ReleaseDevice pairs of the unread flood, and how many fds devnsd
# may hold for one client's unread replies meanwhile.
PAIRS = lib.env_int("DEVNS_TRUST_FLOOD_PAIRS", 2000)
FLOOD_FDS = 64

state = {}


def others_state():
    """What the hostile client must not change: the seat's active
    container, every other container's devices and control, and what
    alpha's and beta's clients see on their fds."""
    b = dt.system_bus()
    seat = dt.get_prop(b, dt.seat_path(b), dt.SEAT, "ActiveContainer")
    out = {"active": str(seat[0]),
           "containers": sorted(str(n) for n, *_ in manager(b).ListContainers())}
    for name, c in state["clients"].items():
        out[name] = {
            "devices": sorted((int(a), int(m), str(t), bool(p))
                              for a, m, t, p in lib.container_prop(name, "Devices")),
            "controlled": bool(lib.container_prop(name, "Controlled")),
            "client": {k: v for k, v in lib.status(c).items()
                       if k in ("drm_master", "evdev", "active")},
        }
    return out


def stress(target, calls, seed, user=None, extra=()):
    """Starts trust-stress.py: inside the hostile container for its
    endpoints, on the host for the system bus. As user, from a copy that
    user can read, in /."""
    argv = [sys.executable, lib.stress_copy() if user else lib.STRESS, "--target", target,
            "--calls", str(calls), "--deadline", str(DEADLINE), "--seed", str(seed), *extra]
    if user:
        argv = ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"] + argv
    if target != "system":
        argv = ["nsenter", "-t", str(state["hostile"].leader), "-p", "-m"] + argv
    return subprocess.Popen(argv, stdin=subprocess.PIPE if target == "flood" else None,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd="/")


def summary(proc, what):
    try:
        out, err = proc.communicate(timeout=DEADLINE + 300)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise dt.TestFailure(f"{what}: the stress client did not finish")
    check(proc.returncode == 0, f"{what}: exited with {proc.returncode}: {err[-2000:]}")
    return json.loads(out.strip().splitlines()[-1])


def testcase_hostile_calls():
    """random calls at both endpoints of a container and at the system bus"""
    broker = state["broker"]
    alpha, beta = state["clients"]["alpha"], state["clients"]["beta"]
    seatd = os.path.exists(f"{dt.RUNTIME}/containers/hostile/seatd.sock")
    # First with the hostile container active: its clients get live
    # devices (seatd opens them, TakeDevice hands out master and live
    # input), and the switch back finds whatever they left behind. This
    # also warms caches and pools before measuring.
    sums = {}
    manager().SwitchContainer("seat0", "hostile")
    for target, share in ((("seatd", 0.05), ("endpoint", 0.05)) if seatd else
                          (("endpoint", 0.10),)):
        what = f"{target} as root, hostile active"
        sums[what] = summary(stress(target, int(CALLS * share), 100,
                                    extra=["--name", "hostile"] if target == "endpoint" else []),
                             what)
    dt.switch_and_wait(alpha)
    lib.check_invariant(alpha, [beta])
    before = others_state()
    fds0 = broker.settled_fds(broker.fd_count())
    rss0 = broker.rss_kb()
    log(f"before: devnsd fds {fds0}, rss {rss0} kB; {before}")

    shares = [("endpoint", 0.25, None), ("endpoint", 0.15, "65534"), ("seatd", 0.15, None),
              ("system", 0.25, "65534"), ("system", 0.10, None)]
    if not seatd:
        shares = [(t, s * 0.90 / 0.75, u) for t, s, u in shares if t != "seatd"]
    for phase in ("seatd", "dbus"):
        # seatd.sock first on its own: a seatd client is refused while a
        # D-Bus controller holds the container, so alone it gets further.
        procs = []
        for i, (target, share, user) in enumerate(shares):
            n = int(CALLS * share)
            if not n or (target == "seatd") != (phase == "seatd"):
                continue
            extra = ["--name", "hostile"] if target == "endpoint" else \
                ["--others", "alpha,beta,hostile"] if target == "system" else []
            procs.append((f"{target} as {'uid ' + user if user else 'root'}",
                          stress(target, n, i + 1, user, extra)))
        sums.update({what: summary(p, what) for what, p in procs})
    for what, s in sums.items():
        log(f"{what}: {s['calls']} calls, {s['replies']} replies, {s['disconnects']} "
            f"hang-ups, {s['seconds']} s")
    total = sum(s["calls"] for s in sums.values())
    for what, s in sums.items():
        check(s["done"], f"{what}: only {s['calls']} calls within {DEADLINE}s")
        check(s["no_reply"] == 0, f"{what}: {s['no_reply']} calls never answered: "
                                  f"{s['no_reply_kinds']}")

    check(broker.alive(), "devnsd is gone after the hostile calls")
    fds1 = broker.settled_fds(fds0 + FD_SLACK)
    rss1 = broker.rss_kb()
    log(f"after: devnsd fds {fds1}, rss {rss1} kB")
    slack = RSS_SLACK_ASAN_KB if "address" in broker.sanitizers else RSS_SLACK_KB
    check(fds1 <= fds0 + FD_SLACK,
          f"devnsd fds grew from {fds0} to {fds1}: {broker.fd_listing()[-20:]}")
    check(rss1 <= rss0 + slack, f"devnsd RSS grew from {rss0} to {rss1} kB")
    after = others_state()
    check(after == before, f"other containers changed:\n{before}\n{after}")

    # The hostile container's endpoint still serves a plain client.
    who = dt.run_probe(state["hostile"], "whoami")
    check(who == {"name": "hostile"}, f"whoami on the hostile endpoint: {who}")
    # And a normal switch works, both ways.
    dt.switch_and_wait(beta)
    lib.check_invariant(beta, [alpha])
    dt.switch_and_wait(alpha)
    lib.check_invariant(alpha, [beta])

    errors = {}
    for s in sums.values():
        for k, v in s["errors"].items():
            errors[k] = errors.get(k, 0) + v
    top = sorted(errors.items(), key=lambda kv: -kv[1])[:6]
    kinds = sorted({k for s in sums.values() for k in s["kinds"]})
    split = ", ".join(f"{w}: {s['calls']}" for w, s in sums.items())
    return (f"{total} random messages ({split}); kinds: {', '.join(kinds)}",
            f"devnsd stayed up; fds {fds0} -> {fds1}, RSS {rss0} -> {rss1} kB; alpha and beta "
            f"unchanged; the hostile endpoint still answered; switches worked. Answers: "
            + ", ".join(f"{k.rsplit('.', 1)[-1]} {v}" for k, v in top)
            + f"; {sum(s['disconnects'] for s in sums.values())} hang-ups",
            {"calls": total, "fds_before": fds0, "fds_after": fds1, "rss_kb_before": rss0,
             "rss_kb_after": rss1, "targets": sums})


def testcase_unread_replies():
    """a controller that floods TakeDevice/ReleaseDevice and reads no reply"""
    broker = state["broker"]
    alpha, beta = state["clients"]["alpha"], state["clients"]["beta"]
    ma, mi = state["keys"].devnum()
    fds0 = broker.settled_fds(broker.fd_count())
    limit = int(open(f"/proc/{broker.proc.pid}/limits").read().split("Max open files")[1].split()[0])
    proc = stress("flood", PAIRS, 1, extra=["--device", f"{ma}:{mi}"])
    sent = None
    peak = fds0
    try:
        r, _, _ = select.select([proc.stdout], [], [], 300)
        if not r:
            with open(f"/proc/{broker.proc.pid}/stack") as f:
                stack = f.read()
            raise dt.TestFailure(f"the flood client did not finish sending within 300 s; devnsd "
                                 f"alive {broker.alive()}, fds {broker.fd_count()}, kernel "
                                 f"stack:\n{stack}")
        line = proc.stdout.readline()
        if not line:
            raise dt.TestFailure(f"the flood client printed nothing: {proc.stderr.read()[-2000:]}")
        sent = json.loads(line)["sent"]
        # What the broker holds for the unread replies, until it is stable.
        seen = []

        def stable():
            seen.append(broker.fd_count())
            return len(seen) > 5 and seen[-1] == seen[-5]
        dt.wait_until("devnsd's fd count stable", stable, timeout=120, interval=0.2)
        peak = max(seen)
        log(f"flood: {sent} calls sent unread; devnsd fds {fds0} -> {peak} (limit {limit})")
        # Everyone else still switches meanwhile.
        dt.switch_and_wait(beta)
        lib.check_invariant(beta, [alpha])
        dt.switch_and_wait(alpha)
        lib.check_invariant(alpha, [beta])
    finally:
        proc.kill()
        proc.communicate(timeout=60)
    fds1 = broker.settled_fds(fds0 + FD_SLACK)
    check(fds1 <= fds0 + FD_SLACK, f"devnsd fds {fds0} -> {fds1} after the flood ended")
    check(peak - fds0 <= FLOOD_FDS, f"devnsd held {peak - fds0} fds for one client's unread "
                                    f"replies (limit {limit})")
    return (f"one controller sends {sent} TakeDevice/ReleaseDevice calls for a keyboard and "
            "reads no reply, while alpha and beta switch",
            f"devnsd fds {fds0} -> {peak} during the flood (limit {limit}), {fds1} after; the "
            "switches worked", {"calls": sent, "fds_before": fds0, "fds_peak": peak,
                                "fds_after": fds1, "fd_limit": limit})


def fd_growth(target, calls):
    broker = state["broker"]
    fds0 = broker.settled_fds(broker.fd_count())
    s = summary(stress(target, calls, 1), target)
    fds1 = broker.settled_fds(fds0 + FD_SLACK)
    return s, fds0, fds1


def testcase_invalid_message_fds():
    """an invalid message that carries fds (the header counts one more)"""
    s, fds0, fds1 = fd_growth("invalid-fds", 5)
    check(lib.registered("hostile"), "hostile is still registered")
    check(fds1 <= fds0 + FD_SLACK,
          f"devnsd kept the fds of {s['calls']} invalid messages: {fds0} -> {fds1}")
    check(s["no_reply"] == 0, f"{s['no_reply']} connections were left waiting: {s}")
    return ("5 invalid messages on the endpoint, 100 fds each, each on a new connection",
            f"devnsd fds {fds0} -> {fds1}; {s['disconnects']} connections hung up on, "
            f"the endpoint served the next one",
            {"calls": 5, "fds_before": fds0, "fds_after": fds1})


def testcase_fds_with_begin():
    """a first message with an fd, in one write with BEGIN"""
    s, fds0, fds1 = fd_growth("fds-after-begin", 5)
    check(s["no_reply"] == 0, f"{s['no_reply']} of 5 connections got neither an answer "
                              f"nor a hang-up: {s}")
    return ("5 connections whose first message carries an fd and comes with BEGIN",
            f"{s['replies']} answered, {s['disconnects']} hung up", {"calls": 5})


ORDER = [
    "testcase_hostile_calls",
    "testcase_unread_replies",
    "testcase_invalid_message_fds",
    "testcase_fds_with_begin",
]


def main():
    results = lib.Results("trust-stress")
    lib.setup_devices()
    broker = lib.Broker(quarantine_mb=8)
    state["broker"] = broker
    results.broker(broker)
    failed = 1
    try:
        lib.start_clients(state)
        dt.switch_and_wait(state["clients"]["alpha"])
        state["hostile"] = dt.Container("hostile", ["sleep", "infinity"])
        failed = lib.run_cases(globals(), ORDER, results)
    finally:
        if "hostile" in state:
            state["hostile"].stop()
        lib.stop_clients(state)
        rc = lib.finish(broker, results, failed)
    return rc


if __name__ == "__main__":
    sys.exit(main())
