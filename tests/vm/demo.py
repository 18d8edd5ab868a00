#!/usr/bin/env python3
"""The demo in the guest: devnsd, two containers running the demo client,
switches by D-Bus, a screenshot of every step and a summary."""
import json
import os
import statistics
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devnstest import (  # noqa: E402
    OUT, Broker, demo_client, screen_colour, screendump, switch_and_wait, wait_until)

CONTAINERS = {"alpha": "cc2222", "beta": "2255cc"}
ROUNDS = 6


def main():
    for mod in ("bochs", "uinput"):
        subprocess.run(["modprobe", mod], check=True)
    wait_until("/dev/dri/card0", lambda: os.path.exists("/dev/dri/card0"), timeout=60)
    broker = Broker()
    clients = {}
    lines = []
    try:
        for name, colour in CONTAINERS.items():
            clients[name] = demo_client(name, colour)
            clients[name].expect("ready", timeout=60)
        latencies = []
        names = list(CONTAINERS)
        for step in range(ROUNDS):
            name = names[step % 2]
            ms = switch_and_wait(clients[name])
            if step > 0:  # the first starts from "none active"
                latencies.append(ms)
            shot = f"step-{step + 1}-{name}.png"
            path = screendump(shot)
            colour, fraction = screen_colour(path)
            lines.append(f"step {step + 1}: switched to {name}; screen {colour} "
                         f"({fraction:.0%} of pixels) -> {shot}")
            print(lines[-1], flush=True)
        summary = {
            "switches_timed": len(latencies),
            "median_ms": round(statistics.median(latencies), 2),
            "worst_ms": round(max(latencies), 2),
        }
        lines.append(f"switch time seen by the clients: median {summary['median_ms']} ms, "
                     f"worst {summary['worst_ms']} ms over {len(latencies)} switches")
    finally:
        for c in clients.values():
            c.stop()
        broker.stop()
    with open(os.path.join(OUT, "summary.txt"), "w") as f:
        f.write("\n".join(lines) + "\n")
    with open(os.path.join(OUT, "summary.json"), "w") as f:
        json.dump(summary, f)
    print(lines[-1], flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
