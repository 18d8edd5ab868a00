#!/usr/bin/env python3
"""Soak: DEVNS_TRUST_SWITCHES switches (300 here, 10000 in the full run,
scripts/reliability.sh --soak) between two demo clients that draw their
colour and read a uinput keyboard.

After every switch both clients report their fds (master and live input
only in the active one); every 50th switch a key typed must reach only the
active client; every DEVNS_TRUST_SCREEN_EVERY switches (default: 10 % of
the run) the screen must show the active client's colour. devnsd's fd
count and RSS are sampled as it goes; from a fifth into the run (at least
150 switches) to the end, fds must not grow and RSS only within a small
bound.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import devnstest as dt  # noqa: E402
from devnstest import check, log  # noqa: E402

import importlib.util  # noqa: E402
_spec = importlib.util.spec_from_file_location(
    "trust_lib", os.path.join(os.path.dirname(os.path.abspath(__file__)), "trust-lib.py"))
lib = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(lib)

SWITCHES = lib.env_int("DEVNS_TRUST_SWITCHES", 300)
WARMUP = 50
SCREEN_EVERY = lib.env_int("DEVNS_TRUST_SCREEN_EVERY", max(SWITCHES // 10, 1))

FD_SLACK = 2
RSS_SLACK_KB = 2048
RSS_SLACK_ASAN_KB = 8192
KEY_A = 30

state = {}


def testcase_soak():
    """switches between two clients drawing and reading input"""
    broker = state["broker"]
    cs = state["clients"]
    keys = state["keys"]
    names = ["alpha", "beta"]
    latencies = []
    samples = []
    keys_checked = screens = 0
    t_start = time.monotonic()
    for i in range(WARMUP + SWITCHES):
        me, other = cs[names[i % 2]], cs[names[(i + 1) % 2]]
        ms = dt.switch_and_wait(me)
        if i >= WARMUP:
            latencies.append(ms)
        # Everything else the clients printed (pauses, keys) is old news.
        me.lines.clear()
        lib.check_invariant(me, [other])
        if i % 50 == 0:
            keys.press(KEY_A)
            me.expect(f"key {keys.sysname} {KEY_A}", timeout=30)
            lib.status(other)  # a round trip: what it received is read
            check(not other.take_lines(f"key {keys.sysname}"),
                  f"switch {i}: background {other.name} received a key")
            keys_checked += 1
        if i >= WARMUP and (i - WARMUP) % SCREEN_EVERY == 0:
            dt.expect_screen(f"soak-{i:05d}-{me.name}.png", lib.COLOURS[me.name])
            screens += 1
        if i >= WARMUP and ((i - WARMUP) % max(SWITCHES // 20, 1) == 0 or
                            i == WARMUP + SWITCHES - 1):
            samples.append((i - WARMUP, broker.fd_count(), broker.rss_kb()))
            if len(samples) % 4 == 1:
                log(f"soak: switch {i - WARMUP}/{SWITCHES}, devnsd fds {samples[-1][1]}, "
                    f"rss {samples[-1][2]} kB, median {sorted(latencies)[len(latencies) // 2]:.1f} ms")
    check(broker.alive(), "devnsd is gone")
    # The baseline is a fifth into the run (at least 150 switches): ASan's
    # allocator settles over the first hundred or so (the plain build is
    # flat from the start); from there on nothing may grow.
    base = next(s for s in samples if s[0] >= max(SWITCHES // 5, min(150, SWITCHES // 2)))
    fds0, rss0 = base[1], base[2]
    fds1 = broker.settled_fds(fds0 + FD_SLACK)
    rss1 = broker.rss_kb()
    slack = RSS_SLACK_ASAN_KB if "address" in broker.sanitizers else RSS_SLACK_KB
    check(fds1 <= fds0 + FD_SLACK, f"devnsd fds grew from {fds0} to {fds1} over {SWITCHES} "
                                   f"switches: {broker.fd_listing()[-20:]}")
    check(rss1 <= rss0 + slack, f"devnsd RSS grew from {rss0} to {rss1} kB over {SWITCHES} "
                                "switches")
    lat = lib.stats(latencies)
    return (f"{SWITCHES} switches (after {WARMUP} to warm up) between two demo clients drawing "
            "and reading a uinput keyboard; the invariant after every switch, "
            f"{keys_checked} keys typed, {screens} screenshots",
            f"every switch completed with the invariant; fds {fds0} -> {fds1}, RSS {rss0} -> "
            f"{rss1} kB; switch to last resume median {lat['median']:.1f} ms, worst "
            f"{lat['max']:.1f} ms",
            {"switches": SWITCHES, "fds_before": fds0, "fds_after": fds1, "rss_kb_before": rss0,
             "rss_kb_after": rss1, "latency_ms": lat, "keys": keys_checked, "screens": screens,
             "seconds_switching": round(time.monotonic() - t_start, 1),
             "samples": samples})


def main():
    results = lib.Results("trust-soak")
    lib.setup_devices()
    # The quarantine holds freed memory back; small, so RSS shows growth.
    broker = lib.Broker(quarantine_mb=4)
    state["broker"] = broker
    results.broker(broker)
    failed = 1
    try:
        lib.start_clients(state)
        failed = lib.run_cases(globals(), ["testcase_soak"], results)
    finally:
        lib.stop_clients(state)
        rc = lib.finish(broker, results, failed)
    return rc


if __name__ == "__main__":
    sys.exit(main())
