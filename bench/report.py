#!/usr/bin/env python3
"""Turns the JSON files of bench/run-guest.sh (OUTDIR/runs) into the tables
(OUTDIR/results.md) and the plot (OUTDIR/switch-latency.png, gnuplot).

usage: report.py OUTDIR [--host-load TEXT]

Samples of all rounds are pooled, and each devnsd scenario is also compared
with seatd round by round: the median of the per-round ratios. Each round is
given the host's load sampled while it ran (OUTDIR/host-load.txt, matched by
the UTC times of OUTDIR/rounds.txt). Everything is read from OUTDIR and
written there.
"""
import argparse
import datetime
import glob
import json
import math
import os
import re
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import hops  # noqa: E402

MIB = 1024
# gnuplot's libgd terminal writes an indexed-colour PNG, a quarter of the
# size of the cairo one: small enough to keep next to the docs.
TERMINAL, FONT = "png", "font 'DejaVuSans,10'"
LISTS = ("switch_ns", "activate_ns", "hotkey_ns", "register_ns", "pipe_ns", "unix_ns",
         "screen_ns", "screen_live_ns", "screen_read_ns", "screen_request_ns")
# The targets for devnsd against seatd, as the median of the
# per-round ratios over at least MIN_ROUNDS rounds.
MIN_ROUNDS = 4


def load(path):
    with open(path) as f:
        return json.load(f)


def round_of(path):
    m = re.search(r"-(\d+)\.json$", path)
    return int(m.group(1)) if m else 0


def runs(out, prefix):
    """(round, data) of OUTDIR/runs/PREFIX-ROUND.json, by round."""
    paths = glob.glob(os.path.join(out, "runs", f"{prefix}-*.json"))
    paths = [p for p in paths if re.fullmatch(rf"{re.escape(prefix)}-\d+\.json", os.path.basename(p))]
    return [(round_of(p), load(p)) for p in sorted(paths, key=round_of)]


def pooled(rs):
    if not rs:
        return None
    res = dict(rs[0][1])
    for k in LISTS:
        res[k] = [x for _, d in rs for x in d.get(k, [])]
    res["check_failures"] = sum(d.get("check_failures", 0) for _, d in rs)
    res["rounds"] = len(rs)
    return res


def quantile(values, q):
    """Nearest rank, as devns-bench prints it."""
    v = sorted(values)
    if not v:
        return float("nan")
    return v[max(0, min(len(v) - 1, math.ceil(q * len(v)) - 1))]


def stats(ns):
    return {"n": len(ns), "median": quantile(ns, 0.5) / 1e6, "p99": quantile(ns, 0.99) / 1e6,
            "p10": quantile(ns, 0.10) / 1e6,
            "max": max(ns) / 1e6 if ns else float("nan")}


def ms(x):
    if x != x:
        return "-"
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"


def verdict(ok):
    return "met" if ok else "**missed**"


def callgrind_totals(path):
    """The event total of a callgrind dump (instructions, Ir)."""
    with open(path) as f:
        for line in f:
            m = re.match(r"(summary|totals):\s+(\d+)", line)
            if m:
                return int(m.group(2))
    return None


def callgrind_top(path, n=30):
    """devnsd's own functions (and the event loop's idle work) with the most
    inclusive instructions, via callgrind_annotate: [(Ir, percent, name)]."""
    tool = shutil.which("callgrind_annotate")
    if not tool:
        return []
    r = subprocess.run([tool, "--inclusive=yes", "--threshold=100", path],
                       capture_output=True, text=True)
    rows = []
    skip = {"main", "broker_run", "(below main)"}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*([\d,]+)\s+\(\s*([\d.]+)%\)\s+\S*?:(.+?) \[(.*)\]\s*$", line)
        if not m:
            continue
        fn, obj = m.group(3), m.group(4)
        if (obj.endswith("/devnsd") and fn not in skip) or fn in ("sd_event_prepare", "sd_event_wait"):
            rows.append((int(m.group(1).replace(",", "")), float(m.group(2)), fn))
    return rows[:n]


def callgrind_runs(out):
    res = []
    for run in (1, 2):
        meta = os.path.join(out, "runs", f"callgrind-{run}.json")
        # "callgrind_control -d" after the timed switches writes the first
        # dump with ".1" appended to the file name.
        dump = os.path.join(out, f"callgrind.{run}.out.1")
        if not os.path.exists(meta) or not os.path.exists(dump):
            continue
        total = callgrind_totals(dump)
        n = len(load(meta)["switch_ns"])
        if total:
            res.append({"run": run, "switches": n, "total": total, "per_switch": total / n,
                        "dump": dump})
    return res


def write_plot(out, series, scale):
    """Cumulative distribution of each scenario (log time axis), and scale."""
    if not series:
        return None
    gp = shutil.which("gnuplot")
    if not gp:
        sys.stderr.write("report.py: no gnuplot; no plot\n")
        return None
    data_dir = os.path.join(out, "plot-data")
    os.makedirs(data_dir, exist_ok=True)
    plots = []
    for i, (label, ns) in enumerate(series):
        v = sorted(x / 1e6 for x in ns)
        path = os.path.join(data_dir, f"cdf-{i}.dat")
        with open(path, "w") as f:
            for k, x in enumerate(v):
                f.write(f"{x:.6f} {(k + 1) / len(v):.6f}\n")
        title = label.replace("\\", "").replace('"', "")
        plots.append(f"'{path}' using 1:2 with steps lw 2 title \"{title}\"")
    scale_path = os.path.join(data_dir, "scale.dat")
    with open(scale_path, "w") as f:
        for n, st, rss in scale:
            f.write(f"{n} {st['median']:.6f} {st['p99']:.6f} {rss / MIB:.3f} "
                    f"{(4 * MIB + 16 * n) / MIB:.3f}\n")
    png = os.path.join(out, "switch-latency.png")
    left = f"""
set title 'Switch latency, cumulative distribution'
set logscale x
set xlabel 'milliseconds, from the request to the new client holding every device (log scale)'
set ylabel 'fraction of switches'
set yrange [0:1]
set key outside below vertical maxrows 8 height 1.5
set grid
plot {', '.join(plots)}
"""
    right = f"""
unset logscale x
set title 'devnsd at scale, by the number of registered containers'
set logscale x 2
unset xlabel
set ylabel 'switch time, ms'
set y2label 'devnsd RSS, MiB'
set ytics nomirror
set y2tics
set yrange [0:*]
set y2range [0:*]
set key outside below vertical maxrows 2 height 1.5
plot '{scale_path}' using 1:2 with linespoints lw 2 title 'median', \\
     '{scale_path}' using 1:3 with linespoints lw 1 dt 2 title 'p99', \\
     '{scale_path}' using 1:4 axes x1y2 with linespoints lw 2 title 'RSS', \\
     '{scale_path}' using 1:5 axes x1y2 with lines dt 3 title 'RSS target (4 MiB + 16 KiB each)'
"""
    if scale:
        script = (f"set terminal {TERMINAL} size 1500,780 {FONT} noenhanced\n"
                  f"set output '{png}'\n"
                  f"set multiplot layout 1,2\n{left}{right}unset multiplot\n")
    else:
        script = (f"set terminal {TERMINAL} size 900,780 {FONT} noenhanced\n"
                  f"set output '{png}'\n{left}")
    gp_path = os.path.join(data_dir, "plot.gp")
    with open(gp_path, "w") as f:
        f.write(script)
    r = subprocess.run([gp, gp_path], capture_output=True, text=True)
    if r.returncode != 0:
        sys.stderr.write(f"report.py: gnuplot failed: {r.stderr}\n")
        return None
    return png


def parse_utc(text, day=None):
    """The UTC time of "2026-11-29T10:15:30Z", or of "10:15:30" on day."""
    text = text.strip()
    if "T" in text:
        return datetime.datetime.strptime(text.rstrip("Z"), "%Y-%m-%dT%H:%M:%S")
    if day is None:
        return None
    t = datetime.datetime.strptime(text, "%H:%M:%S").time()
    return datetime.datetime.combine(day, t)


def host_load_samples(out, host_date):
    """[(time, 1-minute load)] of OUTDIR/host-load.txt. Older runs wrote
    the time of day alone: their day is host-info.txt's date, moving on
    when the time goes back past midnight."""
    path = os.path.join(out, "host-load.txt")
    if not os.path.exists(path):
        return []
    day = None
    if host_date:
        try:
            day = datetime.datetime.strptime(host_date[:10], "%Y-%m-%d").date()
        except ValueError:
            pass
    res, last = [], None
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) < 2:
                continue
            try:
                t, load1 = parse_utc(parts[0], day), float(parts[1])
            except ValueError:
                continue
            if t is None:
                continue
            if last is not None and t < last and "T" not in parts[0]:
                day += datetime.timedelta(days=1)
                t += datetime.timedelta(days=1)
            last = t
            res.append((t, load1))
    return res


def round_times(out):
    """{round: [(scenario, start, end)] in the order run} of
    OUTDIR/rounds.txt (UTC, from the guest's clock)."""
    path = os.path.join(out, "rounds.txt")
    res = {}
    if not os.path.exists(path):
        return res
    with open(path) as f:
        for line in f:
            parts = line.split()
            if len(parts) != 4:
                continue
            try:
                res.setdefault(int(parts[0]), []).append(
                    (parts[1], parse_utc(parts[2]), parse_utc(parts[3])))
            except ValueError:
                continue
    return res


def load_during(samples, start, end):
    """The host's 1-minute loads sampled between start and end. When none
    was (a round shorter than the sampling interval), the first sample
    after the end, within a minute: the 1-minute average then covers the
    round. (loads, whether that sample was taken after the end)"""
    inside = [v for t, v in samples if start <= t <= end]
    if inside:
        return inside, False
    after = [v for t, v in samples if end < t <= end + datetime.timedelta(seconds=60)]
    return after[:1], True


def load_text(loads, after):
    if not loads:
        return "-"
    if len(loads) == 1:
        text = f"{loads[0]:.2f}"
    else:
        text = f"{statistics.median(loads):.2f} ({min(loads):.2f}-{max(loads):.2f})"
    return text + (" after" if after else "")


def daemon_of(scenario):
    return "seatd" if "seatd" in scenario and "devnsd" not in scenario else "devnsd"


def median_ms(v):
    return quantile(v, 0.5) / 1e6 if v else float("nan")


def ratio(a, b):
    return a / b if a == a and b == b and b > 0 else float("nan")


def x_text(r):
    return "-" if r != r else f"{r:.2f}"


def steps_table(title, steps, total_ns):
    if not steps:
        return []
    lines = ["", title, "", "| step | median ms |", "| --- | ---: |"]
    for k, v in steps.items():
        if v:
            lines.append(f"| {k} | {statistics.median(v) / 1e6:.3f} |")
    lines.append(f"| whole switch | {quantile(total_ns, 0.5) / 1e6:.3f} |")
    return lines


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--host-load", default="", help="host load averages during the run")
    a = p.parse_args()
    out = a.out

    floor_r, wake_r = runs(out, "floor"), runs(out, "wakeup")
    dev_r, seat_r = runs(out, "devnsd"), runs(out, "seatd")
    floor, wake, dev, seat = pooled(floor_r), pooled(wake_r), pooled(dev_r), pooled(seat_r)
    # seatd's protocol with the same libseat client on devnsd's seatd.sock,
    # and what a person sees on each daemon.
    lsd_r = runs(out, "libseat-devnsd")
    scr_seat_r, scr_dev_r = runs(out, "screen-seatd"), runs(out, "screen-devnsd")
    lsd, scr_seat, scr_dev = pooled(lsd_r), pooled(scr_seat_r), pooled(scr_dev_r)
    rounds_run = round_times(out)

    lines = ["# Switch benchmarks", ""]
    info = os.path.join(out, "guest-info.txt")
    gi = {}
    if os.path.exists(info):
        with open(info) as f:
            gi = dict(l.rstrip("\n").split(" ", 1) for l in f if " " in l)
        lines.append(f"QEMU guest under TCG, {gi.get('cpus', '?')} vCPUs, "
                     f"{int(gi.get('memory_kib', 0)) // 1024} MiB, Linux {gi.get('kernel', '?')}, "
                     f"bochs DRM, PS/2 and uinput keyboards; {gi.get('seatd', '')}; "
                     f"{gi.get('valgrind', '')}.")
    hinfo = os.path.join(out, "host-info.txt")
    hi = {}
    if os.path.exists(hinfo):
        with open(hinfo) as f:
            hi = dict(l.rstrip("\n").split(" ", 1) for l in f if " " in l)
        lines.append(f"Measured {hi.get('date', '?')}, source tree {hi.get('tree', '?')}, "
                     f"on a host with {hi.get('host_cpus', '?')} CPUs shared with other work.")
        if "devnsd_changes" in hi or "devnsd_sha256" in hi:
            ch = hi.get("devnsd_changes", "").strip()
            lines.append(f"devnsd's sources {'as committed' if not ch else 'with local changes to ' + ch}; "
                         f"devnsd binary sha256 {hi.get('devnsd_sha256', '?')}.")
    if a.host_load:
        lines.append(f"Host load average (1, 5, 15 min): {a.host_load}.")
    load_samples = host_load_samples(out, hi.get("date"))
    one = [v for _, v in load_samples]
    if one:
        lines.append(f"Host 1-minute load sampled every 30 s during the run: median "
                     f"{statistics.median(one):.2f}, min {min(one):.2f}, max {max(one):.2f} "
                     f"({len(one)} samples).")
    if "utc_start" in gi and "vm_start" in hi:
        # The rounds' times come from the guest's clock, the load samples'
        # from the host's; the guest's script starts a boot after the VM.
        try:
            d = (parse_utc(gi["utc_start"]) - parse_utc(hi["vm_start"])).total_seconds()
            ok = -5 <= d <= 900
            lines.append(f"The guest's clock read {gi['utc_start']} when its script started, "
                         f"{d:.0f} s after the host started the VM"
                         + ("." if ok else ": the guest's clock is not the host's, so the load "
                            "given to each round below is not to be trusted."))
        except (TypeError, ValueError):
            pass
    if dev and rounds_run:
        lines.append(f"{dev['rounds']} rounds, each running the floor, then the scenarios against "
                     "seatd and devnsd one after the other, each with a daemon started for it: "
                     "odd rounds in one order with seatd's first, even rounds in the reverse order "
                     "with devnsd's first (rounds.txt). Samples pooled, and compared within each "
                     "round.")
    elif dev:
        lines.append(f"{dev['rounds']} rounds, each running the floor, seatd and devnsd in turn; "
                     "samples pooled.")
    lines += ["", "Per switch, from the request to the moment the new client holds DRM master and "
              "a live fd for every device (the card and two keyboards):", "",
              "| scenario | switches | median ms | p10 ms | p99 ms | max ms | median / floor |",
              "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    series = []
    f_med = stats(floor["switch_ns"])["median"] if floor else float("nan")
    res = {}

    def row(key, label, ns, plot=True):
        st = stats(ns)
        ratio = st["median"] / f_med if f_med == f_med and f_med > 0 else float("nan")
        lines.append(f"| {label} | {st['n']} | {ms(st['median'])} | {ms(st['p10'])} | "
                     f"{ms(st['p99'])} | {ms(st['max'])} | {ratio:.1f} |")
        if plot:
            series.append((label, ns))
        res[key] = st

    if floor:
        row("floor", "floor: the system calls alone, one process", floor["switch_ns"])
    if wake:
        row("wake", "one cross-process wake-up (unix socket ping-pong / 2)", wake["unix_ns"], plot=False)
    if dev:
        row("devnsd", "devnsd, SwitchContainer on the system bus", dev["switch_ns"])
        if dev["activate_ns"]:
            row("activate", "devnsd, Activate() on the container's endpoint", dev["activate_ns"])
        if dev["hotkey_ns"]:
            row("hotkey", "devnsd, Ctrl+Alt+Right (from the uinput write)", dev["hotkey_ns"])
    if seat:
        row("seatd", "seatd 0.7, libseat_switch_session", seat["switch_ns"])
    if lsd and lsd["switch_ns"]:
        row("libseat-devnsd", "devnsd's seatd.sock, the same libseat client and call",
            lsd["switch_ns"])

    def cpu(rs, key):
        v = [d[key] for _, d in rs if key in d]
        return sum(v) / len(v) / 1000 if v else None

    cpu_rows = []
    if dev_r and cpu(dev_r, "broker_cpu_us_per_switch") is not None:
        cpu_rows.append(("devnsd, SwitchContainer", cpu(dev_r, "broker_cpu_us_per_switch"),
                         cpu(dev_r, "dbus_cpu_us_per_switch"), cpu(dev_r, "clients_cpu_us_per_switch")))
    if seat_r and cpu(seat_r, "broker_cpu_us_per_switch") is not None:
        cpu_rows.append(("seatd", cpu(seat_r, "broker_cpu_us_per_switch"), None,
                         cpu(seat_r, "clients_cpu_us_per_switch")))
    if lsd_r and cpu(lsd_r, "broker_cpu_us_per_switch") is not None:
        cpu_rows.append(("devnsd, seatd.sock (libseat)", cpu(lsd_r, "broker_cpu_us_per_switch"), None,
                         cpu(lsd_r, "clients_cpu_us_per_switch")))
    if cpu_rows:
        lines += ["", "CPU time per switch (user + system, from /proc, averaged over the rounds; the "
                  "clients' share includes the benchmark's status requests between switches). "
                  "The kernel charges CPU time by timer tick and cannot see the host taking a "
                  "vCPU away, so under TCG on a loaded host these are coarse; the instruction "
                  "counts below are the exact measure:", "",
                  "| scenario | daemon ms | dbus-daemon ms | both clients ms |",
                  "| --- | ---: | ---: | ---: |"]
        for name, d, b, c in cpu_rows:
            lines.append(f"| {name} | {d:.2f} | {'-' if b is None else f'{b:.2f}'} | "
                         f"{'-' if c is None else f'{c:.2f}'} |")

    # What a person sees.
    if scr_seat or scr_dev:
        lines += ["", "What a person sees: from the write(2) of the Right key press to the uinput "
                  "keyboard (Ctrl and Alt already held) to the new client's first completed page "
                  "flip after its resume, by the kernel's timestamp in the flip event. The client "
                  "shows its picture (drawn once beforehand) with drmModePageFlip once every device "
                  "is live again. devnsd switches on its own hotkey. seatd has none: the active "
                  "libseat client reads the chord from its evdev fd and calls "
                  "libseat_switch_session(), as a wlroots compositor does (without libinput's "
                  "processing). So seatd's path has a hop devnsd's has not (the key to the "
                  "client, the client to seatd), and devnsd's path runs libinput in devnsd; each "
                  "is how that daemon is used:", "",
                  "| scenario | switches | median ms | p10 ms | p99 ms | max ms | chord to the switch "
                  "asked for, median ms | chord to the new client live, median ms | live to the "
                  "flip, median ms | flip to its event read, median ms |",
                  "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for key, label, d in (("screen-seatd", "seatd 0.7, the chord read by the client", scr_seat),
                              ("screen-devnsd", "devnsd, its hotkey", scr_dev)):
            if not d or not d["screen_ns"]:
                continue
            st = stats(d["screen_ns"])
            res[key] = st
            req = d.get("screen_request_ns") or []
            live = d["screen_live_ns"]
            to_flip = [f - l for f, l in zip(d["screen_ns"], live)]
            to_read = [r - f for r, f in zip(d["screen_read_ns"], d["screen_ns"])]
            lines.append(f"| {label} | {st['n']} | {ms(st['median'])} | {ms(st['p10'])} | "
                         f"{ms(st['p99'])} | {ms(st['max'])} | {ms(median_ms(req)) if req else '-'} | "
                         f"{ms(median_ms(live))} | {ms(median_ms(to_flip))} | {ms(median_ms(to_read))} |")

    fails = sum(d["check_failures"] for d in (dev, seat, lsd, scr_seat, scr_dev) if d)
    if dev or seat:
        lines += ["", f"State checks that failed: {fails} (after every switch the new client must "
                  "answer as master with live evdev fds; every 25 switches the other one must be "
                  "neither)."]

    def round_load(r):
        if r not in rounds_run or not load_samples:
            return "-"
        sc = rounds_run[r]
        return load_text(*load_during(load_samples, min(x[1] for x in sc), max(x[2] for x in sc)))

    def round_first(r):
        daemons = [daemon_of(name) for name, *_ in rounds_run.get(r, []) if name != "floor"]
        return daemons[0] if daemons else "-"

    round_note = ("The host's 1-minute load sampled while the round ran: the median and the range "
                  "when more than one sample fell in it, \"after\" when none did and the first "
                  "sample after its end is given. \"First\" is the daemon whose scenario the "
                  "round ran first.")
    if dev_r and seat_r:
        lines += ["", "Medians per round (the host's load moves them all together). " + round_note,
                  "", "| round | host load | first | floor | seatd | devnsd SwitchContainer | Activate "
                  "| hotkey | devnsd / seatd | Activate / seatd | hotkey / seatd |",
                  "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        fl = dict(floor_r)
        sd = dict(seat_r)
        for r, d in dev_r:
            if r not in sd:
                continue
            sm = median_ms(sd[r]["switch_ns"])
            dm, am, hm = median_ms(d["switch_ns"]), median_ms(d["activate_ns"]), median_ms(d["hotkey_ns"])
            lines.append(f"| {r} | {round_load(r)} | {round_first(r)} | "
                         f"{ms(median_ms(fl[r]['switch_ns'])) if r in fl else '-'} | {ms(sm)} | "
                         f"{ms(dm)} | {ms(am)} | {ms(hm)} | {x_text(ratio(dm, sm))} | "
                         f"{x_text(ratio(am, sm))} | {x_text(ratio(hm, sm))} |")
    if lsd_r or scr_seat_r or scr_dev_r:
        sd, ls, ss, sv = dict(seat_r), dict(lsd_r), dict(scr_seat_r), dict(scr_dev_r)
        lines += ["", "Medians per round of seatd's protocol with the same libseat client on either "
                  "daemon, and of what a person sees (ms)." + ("" if dev_r and seat_r else " " + round_note),
                  "", "| round | host load | first | libseat on seatd | libseat on devnsd | devnsd / "
                  "seatd | screen, seatd | screen, devnsd | devnsd / seatd |",
                  "| ---: | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for r in sorted(set(ls) | set(ss) | set(sv)):
            a = median_ms(sd[r]["switch_ns"]) if r in sd else float("nan")
            b = median_ms(ls[r]["switch_ns"]) if r in ls else float("nan")
            c = median_ms(ss[r]["screen_ns"]) if r in ss else float("nan")
            e = median_ms(sv[r]["screen_ns"]) if r in sv else float("nan")
            lines.append(f"| {r} | {round_load(r)} | {round_first(r)} | {ms(a)} | {ms(b)} | "
                         f"{x_text(ratio(b, a))} | {ms(c)} | {ms(e)} | {x_text(ratio(e, c))} |")

    # devnsd against seatd: pooled, and round by round. (key, what, devnsd's
    # runs and samples, seatd's runs and samples, target or None)
    comparisons = [
        ("switch", "devnsd SwitchContainer / seatd", dev_r, "switch_ns", seat_r, "switch_ns", 0.7),
        ("activate", "devnsd Activate / seatd", dev_r, "activate_ns", seat_r, "switch_ns", 0.5),
        ("hotkey", "devnsd hotkey / seatd", dev_r, "hotkey_ns", seat_r, "switch_ns", 0.5),
        ("libseat", "seatd's protocol, the same libseat client: on devnsd / on seatd",
         lsd_r, "switch_ns", seat_r, "switch_ns", 1.0),
        ("screen", "what a person sees, chord to the page flip: devnsd / seatd",
         scr_dev_r, "screen_ns", scr_seat_r, "screen_ns", None),
    ]
    compared = {}
    for key, what, dr, dk, sr, sk, target in comparisons:
        sdict = dict(sr)
        pairs = [(d[dk], sdict[r][sk]) for r, d in dr if r in sdict and d.get(dk) and sdict[r].get(sk)]
        if not pairs:
            continue
        per_round = [median_ms(a) / median_ms(b) for a, b in pairs]
        pooled_r = median_ms([x for a, _ in pairs for x in a]) / median_ms([x for _, b in pairs for x in b])
        compared[key] = (what, len(pairs), pooled_r, statistics.median(per_round), min(per_round),
                         max(per_round), target)
    if compared:
        lines += ["", "devnsd against seatd, per scenario: pooled (the median of every sample of "
                  "the rounds both ran, one against the other) and the median of the per-round "
                  "ratios (each round's devnsd median over seatd's median of the same round), "
                  "which the targets are judged by, over at least "
                  f"{MIN_ROUNDS} rounds:", "",
                  "| scenario | rounds | pooled | median of the per-round ratios | per-round range "
                  "| target |", "| --- | ---: | ---: | ---: | --- | ---: |"]
        for what, n, pr, mr, lo, hi_, target in compared.values():
            lines.append(f"| {what} | {n} | {pr:.2f} x | {mr:.2f} x | {lo:.2f} to {hi_:.2f} | "
                         f"{'-' if target is None else f'{target:.1f} x'} |")

    # Coarse steps from the clients' own traces.
    for kind, title in (("switch", "devnsd SwitchContainer"), ("activate", "devnsd Activate"),
                        ("hotkey", "devnsd hotkey")):
        steps = {}
        for r, d in dev_r:
            tdir = os.path.join(out, "trace", f"round-{r}")
            try:
                for k, v in hops.client_breakdown(d, tdir, kind).items():
                    steps.setdefault(k, []).extend(v)
            except (OSError, ValueError):
                pass
        if any(steps.values()):
            lines += steps_table(f"{title}, from the clients' timestamps of each signal (every "
                                 "switch of every round):", steps, dev[f"{kind}_ns"])
    if seat_r:
        steps = {}
        for r, _ in seat_r:
            try:
                for k, v in hops.seatd_breakdown(os.path.join(out, "trace", f"round-{r}")).items():
                    steps.setdefault(k, []).extend(v)
            except (OSError, ValueError):
                pass
        lines += steps_table("seatd, from the libseat clients' timestamps:", steps, seat["switch_ns"])
    if lsd_r:
        steps = {}
        for r, _ in lsd_r:
            try:
                for k, v in hops.seatd_breakdown(os.path.join(out, "trace", f"round-{r}"),
                                                 ("libseat-a", "libseat-b")).items():
                    steps.setdefault(k, []).extend(v)
            except (OSError, ValueError):
                pass
        lines += steps_table("The same libseat clients on devnsd's seatd.sock, from their "
                             "timestamps:", steps, lsd["switch_ns"])

    # Hops, from the kernel traces: two containers, then many.
    for path in sorted(glob.glob(os.path.join(out, "runs", "trace*.json")),
                       key=lambda p: (len(p), p)):
        m = re.search(r"trace(-\d+)?\.json$", path)
        if not m:
            continue
        ftrace = os.path.join(out, f"ftrace{m.group(1) or ''}.txt")
        if not os.path.exists(ftrace):
            continue
        meta = load(path)
        try:
            table = hops.analyse(ftrace, meta)
        except Exception as e:  # the rest of the report stands without it
            table = None
            sys.stderr.write(f"report.py: hop analysis of {ftrace} failed: {e!r}\n")
        if table:
            lines += ["", f"devnsd SwitchContainer hop by hop with {meta.get('containers', 2)} "
                      f"containers registered, from a kernel trace (ftrace: scheduler events and "
                      f"every system call) of {table['switches']} switches. Tracing slows every "
                      "system call down, and the trace ran after the rounds at the host's load of "
                      "that moment: compare its total with the untraced medians only loosely:", ""]
            lines += table["markdown"]

    # Scale.
    sizes = {}
    for path in glob.glob(os.path.join(out, "runs", "scale-*-*.json")):
        m = re.search(r"scale-(\d+)-(\d+)\.json$", path)
        if m:
            sizes.setdefault(int(m.group(1)), []).append((int(m.group(2)), load(path)))
    scale = []
    for n in sorted(sizes):
        d = pooled(sorted(sizes[n], key=lambda x: x[0]))
        rss = max(x["rss_kib"] for _, x in sizes[n])
        anon = max(x["rss_anon_kib"] for _, x in sizes[n])
        pss = max(x.get("pss_kib", 0) for _, x in sizes[n])
        scale.append((n, stats(d["switch_ns"]), rss, anon, pss, d, sizes[n]))
    if scale:
        base = scale[0][1]["median"]
        lines += ["", "devnsd at scale: every container has a controller holding the card and two "
                  "keyboards; the two that switch are registered last. RSS is VmRSS after the "
                  "switches (the largest of the rounds). Odd rounds run the sizes ascending, even "
                  "ones descending; the last column gives each round's median with its round "
                  "number, as the host's load can change from one round to the next:", "",
                  "| containers | switches | median ms | p99 ms | median / smallest | devnsd CPU "
                  "ms per switch | RSS KiB | target KiB | RSS anon KiB | PSS KiB | "
                  "RegisterContainer + take, median ms | median of each round ms |",
                  "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
        for n, st, rss, anon, pss, d, rs in scale:
            reg = stats(d["register_ns"])["median"] if d["register_ns"] else float("nan")
            c = cpu(rs, "broker_cpu_us_per_switch")
            lines.append(f"| {n} | {st['n']} | {ms(st['median'])} | {ms(st['p99'])} | "
                         f"{st['median'] / base:.2f} | {'-' if c is None else f'{c:.2f}'} | {rss} | "
                         f"{4 * MIB + 16 * n} | {anon} | {pss} | {ms(reg)} | "
                         + ", ".join(f"{ms(quantile(x['switch_ns'], 0.5) / 1e6)} ({r})"
                                     for r, x in sorted(rs, key=lambda y: y[0])) + " |")
        if len(scale) > 1:
            (n0, _, r0, a0, *_), (n1, _, r1, a1, *_) = scale[0], scale[-1]
            lines.append(f"\nGrowth from {n0} to {n1} containers: {(r1 - r0) / (n1 - n0):.1f} KiB RSS "
                         f"({(a1 - a0) / (n1 - n0):.1f} KiB anonymous) per container.")
        last = scale[-1][6][-1][1]
        by_map = last.get("rss_by_mapping_kib")
        if by_map:
            top = list(by_map.items())[:14]
            lines += ["", f"RSS of devnsd by mapping at {scale[-1][0]} containers (KiB):", "",
                      "| mapping | KiB |", "| --- | ---: |"] + [f"| {k} | {v} |" for k, v in top]

    cg = callgrind_runs(out)
    if cg:
        lines += ["", "Instructions executed by devnsd per switch (valgrind --tool=callgrind; "
                  "counters zeroed after the set-up and warm-up, dumped after the timed "
                  "switches; everything devnsd ran in between):", "",
                  "| run | switches | instructions | per switch |", "| ---: | ---: | ---: | ---: |"]
        for r in cg:
            lines.append(f"| {r['run']} | {r['switches']} | {r['total']} | {r['per_switch']:.0f} |")
        if len(cg) == 2:
            d = abs(cg[0]["per_switch"] - cg[1]["per_switch"]) / cg[0]["per_switch"] * 100
            lines.append(f"\nThe two runs differ by {d:.2f}%.")
        for path in glob.glob(os.path.join(out, "runs", "callgrind-*.json")):
            m = re.search(r"callgrind-(\d+)\.json$", path)
            if not m or int(m.group(1)) in (1, 2):
                continue
            meta = load(path)
            dump = os.path.join(out, f"callgrind.{m.group(1)}.out.1")
            total = callgrind_totals(dump) if os.path.exists(dump) else None
            n = len(meta["switch_ns"])
            if total and n:
                per = total / n
                c = meta["containers"]
                slope = (per - cg[0]["per_switch"]) / (c - 2) if c > 2 else 0
                lines.append(f"\nWith {c} containers registered: {per:.0f} instructions per switch, "
                             f"{slope:.0f} more for each container beyond two.")
        seat_meta = os.path.join(out, "runs", "callgrind-seatd.json")
        seat_dump = os.path.join(out, "callgrind.seatd.out.1")
        if os.path.exists(seat_meta) and os.path.exists(seat_dump):
            total = callgrind_totals(seat_dump)
            n = len(load(seat_meta)["switch_ns"])
            if total and n:
                lines.append(f"\nseatd, counted the same way: {total} instructions for {n} switches, "
                             f"{total / n:.0f} per switch ({cg[0]['per_switch'] / (total / n):.0f} times "
                             "fewer than devnsd).")
        top = callgrind_top(cg[0]["dump"])
        if top:
            lines += ["", "Inclusive instructions of devnsd's own functions, and of the event "
                      "loop's preparing and waiting (run 1, per switch; libsystemd has no symbols "
                      "for its internal functions):", "",
                      "| function | per switch | share |", "| --- | ---: | ---: |"]
            for ir, pct, fn in top:
                lines.append(f"| `{fn}` | {ir / cg[0]['switches']:.0f} | {pct:.1f}% |")

    # Targets.
    lines += ["", "Targets:", "", "| target | value | |", "| --- | ---: | --- |"]
    for key, (what, n, pr, mr, _, _, target) in compared.items():
        if target is None:
            continue
        if key == "libseat":
            label = f"seatd's protocol: devnsd not slower than seatd ({what.split(': ')[1]} <= 1.0 x)"
        else:
            label = f"{what} <= {target:.1f} x, median of the per-round ratios"
        ok = verdict(mr <= target) if n >= MIN_ROUNDS else f"too few rounds ({n} < {MIN_ROUNDS})"
        lines.append(f"| {label} | {mr:.2f} x (pooled {pr:.2f} x) | {ok} |")
    if "devnsd" in res and "floor" in res:
        r = res["devnsd"]["median"] / res["floor"]["median"]
        lines.append(f"| devnsd median <= 5 x the floor | {r:.1f} x | {verdict(r <= 5)} |")
    if len(scale) > 1:
        r = scale[-1][1]["median"] / scale[0][1]["median"]
        lines.append(f"| median at {scale[-1][0]} containers <= 1.2 x at {scale[0][0]} | {r:.2f} x | "
                     f"{verdict(r <= 1.2)} |")
    for n, st, rss, *_ in scale:
        target = 4 * MIB + 16 * n
        lines.append(f"| RSS at {n} containers <= {target} KiB | {rss} KiB | {verdict(rss <= target)} |")

    png = write_plot(out, series, [(n, st, rss) for n, st, rss, *_ in scale])
    if png:
        lines += ["", f"Plot: `{os.path.basename(png)}`."]

    md = "\n".join(lines) + "\n"
    with open(os.path.join(out, "results.md"), "w") as f:
        f.write(md)
    sys.stdout.write(md)


if __name__ == "__main__":
    main()
