#!/usr/bin/env python3
"""Where the time of a switch goes, hop by hop.

From a kernel trace (ftrace: sched_switch, sched_wakeup, raw_syscalls, on
the mono clock, so its times are CLOCK_MONOTONIC like the benchmark's) and
the JSON of the devns-bench run that was traced, each SwitchContainer is cut
into milestones: the call written to the bus, dbus-daemon running, devnsd
running, its first EVIOCREVOKE, the PauseDevice written to the old client,
that client running and answering, devnsd running again, DROP_MASTER,
SET_MASTER, the two opens, the first ResumeDevice written, the new client
running, and the client's own "live" time. The table gives the median of
each step over the traced switches.

From the clients' own traces (devns-bench-client and seatd-bench-client
--trace) the same is done coarsely for every switch of the main runs.

usage: hops.py FTRACE TRACE_JSON        (prints the markdown table)
"""
import json
import os
import re
import statistics
import sys

LINE = re.compile(r"^\s*(?P<comm>.+?)-(?P<pid>\d+)\s+\[(?P<cpu>\d+)\]\s+\S+\s+"
                  r"(?P<ts>\d+\.\d+): (?P<ev>\w+): (?P<rest>.*)$")
NR_READ, NR_WRITE, NR_CLOSE, NR_IOCTL, NR_WRITEV = 0, 1, 3, 16, 20
NR_SENDMSG, NR_RECVMSG, NR_EPOLL_WAIT, NR_OPENAT, NR_EPOLL_PWAIT = 46, 47, 232, 257, 281
NR_PPOLL, NR_POLL = 271, 7
EVIOCREVOKE, DROP_MASTER, SET_MASTER = 0x40044591, 0x641F, 0x641E
# x86-64 numbers of the calls devnsd makes on a switch, for the tally.
NR_NAMES = {0: "read", 1: "write", 2: "open", 3: "close", 5: "fstat", 7: "poll", 8: "lseek",
            16: "ioctl", 20: "writev", 39: "getpid", 46: "sendmsg", 47: "recvmsg", 72: "fcntl",
            82: "rename", 87: "unlink", 186: "gettid", 202: "futex", 217: "getdents64",
            228: "clock_gettime", 232: "epoll_wait",
            233: "epoll_ctl", 257: "openat", 262: "newfstatat", 271: "ppoll", 281: "epoll_pwait",
            284: "eventfd", 286: "timerfd_settime", 291: "epoll_create1", 302: "prlimit64",
            318: "getrandom", 332: "statx", 424: "pidfd_send_signal", 434: "pidfd_open"}


def parse(path):
    """Events as tuples (t_ns, pid, comm, kind, data)."""
    evs = []
    with open(path, errors="replace") as f:
        for line in f:
            if line.startswith("#"):
                continue
            m = LINE.match(line)
            if not m:
                continue
            t = int(round(float(m.group("ts")) * 1e9))
            pid = int(m.group("pid"))
            ev, rest = m.group("ev"), m.group("rest")
            if ev == "sys_enter":
                mm = re.match(r"NR (\d+) \(([^)]*)\)", rest)
                if mm:
                    args = [int(a, 16) for a in mm.group(2).split(", ") if a]
                    evs.append((t, pid, m.group("comm"), "enter", (int(mm.group(1)), args)))
            elif ev == "sys_exit":
                mm = re.match(r"NR (\d+) = (-?\d+)", rest)
                if mm:
                    evs.append((t, pid, m.group("comm"), "exit", (int(mm.group(1)), int(mm.group(2)))))
            elif ev == "sched_switch":
                mm = re.search(r"prev_pid=(\d+) .*prev_state=(\S+) ==> next_comm=(.*) next_pid=(\d+)",
                               rest)
                if mm:
                    # (prev pid, next comm, next pid, prev still runnable)
                    evs.append((t, pid, m.group("comm"), "switch",
                                (int(mm.group(1)), mm.group(3), int(mm.group(4)),
                                 mm.group(2).startswith("R"))))
            elif ev == "sched_wakeup":
                mm = re.search(r"comm=(.*) pid=(\d+)", rest)
                if mm:
                    evs.append((t, pid, m.group("comm"), "wakeup", (mm.group(1), int(mm.group(2)))))
    evs.sort(key=lambda e: e[0])
    return evs


class Finder:
    def __init__(self, evs):
        self.evs = evs
        self.times = [e[0] for e in evs]

    def _from(self, t):
        import bisect
        return bisect.bisect_left(self.times, t)

    def first(self, t, pred, until=None):
        for e in self.evs[self._from(t):]:
            if until is not None and e[0] > until:
                return None
            if pred(e):
                return e
        return None


def runs(pid):
    """The moment pid is put on a CPU, or is already on one and makes a syscall."""
    return lambda e: (e[3] == "switch" and e[4][2] == pid)


def enter(pid, nr, arg1=None):
    return lambda e: (e[1] == pid and e[3] == "enter" and e[4][0] == nr and
                      (arg1 is None or (len(e[4][1]) > 1 and e[4][1][1] == arg1)))


def exit_(pid, nr):
    return lambda e: e[1] == pid and e[3] == "exit" and e[4][0] == nr


def sends(pid):
    return lambda e: (e[1] == pid and e[3] == "enter" and
                      e[4][0] in (NR_SENDMSG, NR_WRITE, NR_WRITEV))


def on_cpu(evs, pid, t0, t1):
    """Nanoseconds pid spent on a CPU between t0 and t1."""
    total, since = 0, None
    for e in evs:
        if e[0] < t0 or e[3] != "switch":
            if e[0] >= t1:
                break
            continue
        if e[0] > t1:
            break
        prev, nxt = e[4][0], e[4][2]
        if prev == pid and since is not None:
            total += e[0] - since
            since = None
        elif prev == pid and since is None:
            total += e[0] - t0
        if nxt == pid:
            since = e[0]
    if since is not None:
        total += t1 - since
    return total


STEPS = [
    ("the caller writes SwitchContainer to the system bus", "t0", "call_sent"),
    ("wake-up: dbus-daemon", "call_sent", "dbus_runs"),
    ("dbus-daemon routes the call to devnsd", "dbus_runs", "dbus_sent"),
    ("wake-up: devnsd", "dbus_sent", "broker_runs"),
    ("devnsd reads the call, asks dbus-daemon for the caller's uid", "broker_runs", "creds_sent"),
    ("that synchronous round trip to dbus-daemon", "creds_sent", "creds_back"),
    ("devnsd checks, looks up, first EVIOCREVOKE", "creds_back", "revoke"),
    ("devnsd revokes, writes PauseDevice x3 to the old client", "revoke", "pause_sent"),
    ("wake-up: old client (after the first PauseDevice)", "first_pause_sent", "old_runs"),
    ("old client reads the signals, writes PauseDeviceComplete", "old_runs", "complete_sent"),
    ("wake-up: devnsd", "complete_sent", "broker_runs2"),
    ("devnsd reads the answer, DROP_MASTER", "broker_runs2", "drop_master"),
    ("devnsd SET_MASTER and two evdev opens", "drop_master", "devices_done"),
    ("devnsd writes the first ResumeDevice", "devices_done", "resume_sent"),
    ("wake-up: new client", "resume_sent", "new_runs"),
    ("new client reads ResumeDevice x3 (more wake-ups)", "new_runs", "t1"),
]


def milestones(f, evs, t0, t1, driver, dbus, broker, old, new):
    m = {"t0": t0, "t1": t1}

    def at(name, ev):
        if ev is None:
            raise LookupError(name)
        m[name] = ev[0]
        return ev[0]

    t = at("call_sent", f.first(t0, exit_(driver, NR_SENDMSG), t1))
    t = at("dbus_runs", f.first(t, lambda e: runs(dbus)(e) or (e[1] == dbus and e[3] == "exit"), t1))
    t = at("dbus_sent", f.first(t, lambda e: e[1] == dbus and e[3] == "exit" and
                                e[4][0] in (NR_SENDMSG, NR_WRITEV), t1))
    t = at("broker_runs", f.first(t, lambda e: runs(broker)(e) or (e[1] == broker and e[3] == "exit"), t1))
    revoke = f.first(t, enter(broker, NR_IOCTL, EVIOCREVOKE), t1)
    if revoke is None:
        raise LookupError("revoke")
    # A method call devnsd itself makes before acting (sd-bus asking the
    # bus for the sender's credentials) and the wait for its reply.
    query = f.first(t, exit_(broker, NR_SENDMSG), revoke[0])
    if query:
        m["creds_sent"] = query[0]
        back = f.first(query[0], lambda e: e[1] == broker and e[3] == "exit" and
                       e[4][0] in (NR_PPOLL, NR_POLL, NR_EPOLL_WAIT, NR_EPOLL_PWAIT), revoke[0])
        m["creds_back"] = back[0] if back else query[0]
    else:
        m["creds_sent"] = m["creds_back"] = t
    t = at("revoke", revoke)
    # The last PauseDevice: the sendmsg before devnsd waits again.
    wait = f.first(t, lambda e: e[1] == broker and e[3] == "enter" and
                   e[4][0] in (NR_EPOLL_WAIT, NR_EPOLL_PWAIT), t1)
    sent = [e for e in evs if t <= e[0] <= (wait[0] if wait else t1) and e[1] == broker and
            e[3] == "exit" and e[4][0] == NR_SENDMSG]
    if not sent:
        raise LookupError("pause_sent")
    m["first_pause_sent"] = sent[0][0]
    m["pause_sent"] = sent[-1][0]
    m["pause_sends"] = len(sent)
    t = at("old_runs", f.first(sent[0][0], lambda e: runs(old)(e) or (e[1] == old and e[3] == "exit"), t1))
    t = at("complete_sent", f.first(m["pause_sent"], lambda e: e[1] == old and e[3] == "exit" and
                                    e[4][0] in (NR_SENDMSG, NR_WRITEV), t1))
    t = at("broker_runs2", f.first(t, lambda e: runs(broker)(e) or (e[1] == broker and e[3] == "exit"), t1))
    t = at("drop_master", f.first(t, enter(broker, NR_IOCTL, DROP_MASTER), t1))
    # SET_MASTER and the opens, in the order the client took its devices.
    setm = f.first(t, enter(broker, NR_IOCTL, SET_MASTER), t1)
    resume = f.first(t, exit_(broker, NR_SENDMSG), t1)
    if setm is None or resume is None:
        raise LookupError("devices_done")
    opens = [e for e in evs if t <= e[0] <= resume[0] and e[1] == broker and e[3] == "exit" and
             e[4][0] == NR_OPENAT]
    m["set_master"] = setm[0]
    m["opens"] = len(opens)
    last_open = opens[-1][0] if opens else t
    # The end of the last device operation: the exit of SET_MASTER or of
    # the last open, whichever is later.
    setm_exit = f.first(setm[0], exit_(broker, NR_IOCTL), resume[0])
    m["devices_done"] = max(last_open, setm_exit[0] if setm_exit else setm[0])
    m["resume_sent"] = resume[0]
    t = resume[0]
    at("new_runs", f.first(t, lambda e: runs(new)(e) or (e[1] == new and e[3] == "exit"), t1))
    return m


def analyse(ftrace_path, meta):
    evs = parse(ftrace_path)
    f = Finder(evs)
    driver, broker = meta["driver_pid"], meta["broker_pid"]
    clients = meta["client_pids"]
    dbus = next((e[1] for e in evs if e[2] == "dbus-daemon"), None)
    if dbus is None:
        return None
    per = []
    cpu = {"devnsd": [], "dbus-daemon": [], "old client": [], "new client": [], "caller": []}
    wakeups, broker_syscalls, broker_sendmsgs = [], [], []
    by_nr, tails = [], []
    preempt_lost, preempted_by = [], {}
    for t0, lat, to in zip(meta["switch_t0_ns"], meta["switch_ns"], meta["switch_to"]):
        t1 = t0 + lat
        new, old = clients[to], clients[1 - to]
        try:
            per.append(milestones(f, evs, t0, t1, driver, dbus, broker, old, new))
        except LookupError:
            continue
        cpu["devnsd"].append(on_cpu(evs, broker, t0, t1))
        cpu["dbus-daemon"].append(on_cpu(evs, dbus, t0, t1))
        cpu["old client"].append(on_cpu(evs, old, t0, t1))
        cpu["new client"].append(on_cpu(evs, new, t0, t1))
        cpu["caller"].append(on_cpu(evs, driver, t0, t1))
        # The new client taken off a CPU while it could still run, between
        # its first wake-up and live: by whom, and until it ran again.
        lost = 0
        for e in evs[f._from(per[-1]["new_runs"]):f._from(t1)]:
            if e[3] == "switch" and e[4][0] == new and e[4][3]:
                back = f.first(e[0], runs(new), t1)
                lost += (back[0] if back else t1) - e[0]
                who = ("old client" if e[4][2] == old else "devnsd" if e[4][2] == broker else
                       "dbus-daemon" if e[4][2] == dbus else e[4][1])
                preempted_by[who] = preempted_by.get(who, 0) + 1
        preempt_lost.append(lost)
        window = [e for e in evs if t0 <= e[0] <= t1]
        wakeups.append(sum(1 for e in window if e[3] == "wakeup" and
                           e[4][1] in (dbus, broker, old, new, driver)))
        broker_syscalls.append(sum(1 for e in window if e[1] == broker and e[3] == "enter"))
        broker_sendmsgs.append(sum(1 for e in window if e[1] == broker and e[3] == "enter" and
                                   e[4][0] == NR_SENDMSG))
        # Count and time in the kernel (enter to exit) of each call.
        tally, entered = {}, None
        for e in window:
            if e[1] != broker:
                continue
            if e[3] == "enter":
                n, ns = tally.get(e[4][0], (0, 0))
                tally[e[4][0]] = (n + 1, ns)
                entered = e
            elif e[3] == "exit" and entered and entered[4][0] == e[4][0]:
                n, ns = tally[e[4][0]]
                tally[e[4][0]] = (n, ns + e[0] - entered[0])
                entered = None
        by_nr.append(tally)
        # What devnsd still does after the new client is live (step 5,
        # and the state file) until it waits for work again.
        idle = f.first(t1, lambda e: e[1] == broker and e[3] == "enter" and
                       e[4][0] in (NR_EPOLL_WAIT, NR_EPOLL_PWAIT))
        if idle:
            after, entered = {}, None
            for e in evs[f._from(t1):f._from(idle[0])]:
                if e[1] != broker:
                    continue
                if e[3] == "enter":
                    n, ns = after.get(e[4][0], (0, 0))
                    after[e[4][0]] = (n + 1, ns)
                    entered = e
                elif e[3] == "exit" and entered and entered[4][0] == e[4][0]:
                    n, ns = after[e[4][0]]
                    after[e[4][0]] = (n, ns + e[0] - entered[0])
                    entered = None
            tails.append((idle[0] - t0, after))
    if not per:
        return None

    def med(v):
        return statistics.median(v) / 1e6

    md = ["| step | median ms | cumulative (medians) ms |", "| --- | ---: | ---: |"]
    cum = 0.0
    for label, a, b in STEPS:
        d = med([m[b] - m[a] for m in per])
        cum += d
        md.append(f"| {label} | {d:.3f} | {cum:.3f} |")
    md.append(f"| **total, t0 to the new client live** | **{med([m['t1'] - m['t0'] for m in per]):.3f}** | |")
    md += ["", "Per switch, inside that window (medians): " +
           ", ".join(f"{k} on a CPU {med(v):.3f} ms" for k, v in cpu.items()) +
           f"; {statistics.median(wakeups):.0f} wake-ups of these processes; devnsd made "
           f"{statistics.median(broker_syscalls):.0f} system calls, "
           f"{statistics.median(broker_sendmsgs):.0f} of them sendmsg; "
           f"{statistics.median([m['pause_sends'] for m in per]):.0f} sendmsg between the first "
           "revoke and devnsd's next wait."]
    def nr_med(nr, i):
        return statistics.median([t.get(nr, (0, 0))[i] for t in by_nr])

    nrs = sorted({nr for t in by_nr for nr in t}, key=lambda nr: -nr_med(nr, 0))
    md += ["", "devnsd's system calls per switch inside that window, count and time from entry "
           "to exit (medians; a blocking wait counts its sleep): " +
           ", ".join(f"{NR_NAMES.get(nr, f'nr {nr}')} {nr_med(nr, 0):.0f} ({nr_med(nr, 1) / 1e6:.3f} ms)"
                     for nr in nrs[:12]) + "."]
    hit = sum(1 for x in preempt_lost if x)
    md += ["", f"The new client was taken off its CPU while still runnable, between its first "
           f"wake-up and live, in {hit} of {len(per)} switches (" +
           (", ".join(f"{k} {v} times" for k, v in sorted(preempted_by.items(), key=lambda kv: -kv[1]))
            or "never") +
           f"); that cost {statistics.mean(preempt_lost) / 1e6:.3f} ms per switch on average."]
    if tails:
        t_idle = statistics.median([t for t, _ in tails]) / 1e6
        nrs = sorted({nr for _, a in tails for nr in a},
                     key=lambda nr: -statistics.median([a.get(nr, (0, 0))[0] for _, a in tails]))
        md += ["", f"After the new client is live devnsd goes on (signals PropertiesChanged, "
               f"writes its state file, replies) until {t_idle:.3f} ms after t0 (median), with "
               "these system calls: " +
               ", ".join(f"{NR_NAMES.get(nr, f'nr {nr}')} "
                         f"{statistics.median([a.get(nr, (0, 0))[0] for _, a in tails]):.0f} "
                         f"({statistics.median([a.get(nr, (0, 0))[1] for _, a in tails]) / 1e6:.3f} ms)"
                         for nr in nrs[:8]) + "."]
    return {"switches": len(per), "markdown": md, "milestones": per}


def client_trace(path):
    ev = []
    with open(path) as f:
        for line in f:
            t, k, a, b = line.split()
            ev.append((int(t), k, int(a), int(b)))
    return ev


FIRST_STEP = {
    "switch": "old client woken (caller, dbus-daemon, devnsd)",
    "activate": "old client woken (Activate to devnsd, devnsd)",
    "hotkey": "old client woken (evdev to devnsd's libinput, devnsd)",
}


def client_breakdown(meta, trace_dir, kind="switch", names=("bench-a", "bench-b")):
    """Coarse steps of every switch of one kind ("switch", "activate",
    "hotkey") from the clients' own traces: {step: [ns, ...]}."""
    tr = [client_trace(os.path.join(trace_dir, f"{n}.trace")) for n in names]
    first = FIRST_STEP[kind]
    steps = {first: [],
             "old client answers the pause": [],
             "devnsd finishes the switch, new client woken": [],
             "new client reads the ResumeDevice signals": []}
    for t0, lat, to in zip(meta.get(f"{kind}_t0_ns", []), meta.get(f"{kind}_ns", []),
                           meta.get(f"{kind}_to", [])):
        t1 = t0 + lat
        old, new = tr[1 - to], tr[to]
        o = [e for e in old if t0 <= e[0] <= t1]
        n = [e for e in new if t0 <= e[0] <= t1]
        wake = next((e[0] for e in o if e[1] == "wake"), None)
        done = next((e[0] for e in o if e[1] == "complete-sent"), None)
        nwake = next((e[0] for e in n if e[1] == "wake" and done and e[0] >= done), None)
        if None in (wake, done, nwake):
            continue
        steps[first].append(wake - t0)
        steps["old client answers the pause"].append(done - wake)
        steps["devnsd finishes the switch, new client woken"].append(nwake - done)
        steps["new client reads the ResumeDevice signals"].append(t1 - nwake)
    return steps


def seatd_breakdown(trace_dir, names=("seatd-a", "seatd-b")):
    """Coarse steps of every switch by seatd's protocol from the libseat
    clients' traces (on seatd, or on devnsd's seatd.sock with other names):
    {step: [ns, ...]}."""
    a = client_trace(os.path.join(trace_dir, f"{names[0]}.trace"))
    b = client_trace(os.path.join(trace_dir, f"{names[1]}.trace"))
    evs = sorted([(t, k, "a") for t, k, _, _ in a] + [(t, k, "b") for t, k, _, _ in b])
    steps = {"switch request to the disable event handled": [],
             "close two evdev devices, acknowledge": [],
             "to the new client's enable event": [],
             "new client opens two evdev devices": []}
    for i, (t, k, who) in enumerate(evs):
        if k != "switch-sent":
            continue
        other = "b" if who == "a" else "a"
        rest = evs[i + 1:]
        dis = next((e[0] for e in rest if e[2] == who and e[1] == "disable"), None)
        ack = next((e[0] for e in rest if e[2] == who and e[1] == "ack-sent"), None)
        en = next((e[0] for e in rest if e[2] == other and e[1] == "enable"), None)
        live = next((e[0] for e in rest if e[2] == other and e[1] == "live"), None)
        if None in (dis, ack, en, live) or not (t <= dis <= ack <= en <= live):
            continue
        steps["switch request to the disable event handled"].append(dis - t)
        steps["close two evdev devices, acknowledge"].append(ack - dis)
        steps["to the new client's enable event"].append(en - ack)
        steps["new client opens two evdev devices"].append(live - en)
    return steps


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[2]) as fh:
        res = analyse(sys.argv[1], json.load(fh))
    if not res:
        sys.exit("hops.py: no switch could be followed through the trace")
    print(f"{res['switches']} switches")
    print("\n".join(res["markdown"]))
