#!/usr/bin/env python3
"""devnsctl run: a command started as a container, with its endpoint at
/run/devns, registered while it runs, and devnsctl's exit status its own;
in a cgroup of its own that keeps it from opening the DRM, input, loop and
binder devices the broker hands out; with --control-user, only that user
and root of the container take control.

Run by test-run.sh in the guest.
"""
import glob
import json
import os
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devnstest import (  # noqa: E402
    CLIENT, DEVNSCTL, RUNTIME, VM_DIR, Broker, RunContainer, _children,
    active_container, check, container_prop, deactivate, expect_screen,
    held_devices, in_container, log, manager, readable_copy, run_demo_client, run_probe,
    run_testcases, seat_devices, switch_and_wait, system_bus, wait_unregistered, wait_until)

COLOURS = {"alpha": "cc2222", "beta": "2255cc"}
# binder_linux makes these; the broker hands out binder1..3, one to each
# container, so /dev/binder stays the host's, the mount point in containers.
BINDER_MODULE_DEVICES = "binder,binder1,binder2,binder3"
BINDER_POOL = ["/dev/binder1", "/dev/binder2", "/dev/binder3"]
CONFIG = "[Binder]\nDevices=binder1 binder2 binder3\n"

# Run as the command of a container: what it can stat, open and mknod.
# argv: a scratch directory, then MODE:PATH with MODE r or rw.
DEVICE_PROBE = r"""
import errno, json, os, stat, sys

def attempt(fn):
    try:
        fn()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))

def mknod(path, major, minor):
    os.mknod(path, 0o600 | stat.S_IFCHR, os.makedev(major, minor))
    os.unlink(path)

out = {"cgroup": open("/proc/self/cgroup").read(), "nodes": {}}
scratch = sys.argv[1]
for arg in sys.argv[2:]:
    mode, path = arg.split(":", 1)
    flags = (os.O_RDWR if mode == "rw" else os.O_RDONLY) | os.O_CLOEXEC | os.O_NOCTTY
    node = {"stat": attempt(lambda: os.stat(path)),
            "open": attempt(lambda: os.close(os.open(path, flags)))}
    if node["stat"] == "ok":
        rdev = os.stat(path).st_rdev
        node["rdev"] = f"{os.major(rdev)}:{os.minor(rdev)}"
    out["nodes"][path] = node
out["mknod_card"] = attempt(lambda: mknod(os.path.join(scratch, "card"), 226, 0))
out["mknod_null"] = attempt(lambda: mknod(os.path.join(scratch, "null"), 1, 3))
print(json.dumps(out))
"""

# The control user of a container registered with --control-user, and
# another user of that container.
CONTROL_USER, OTHER_USER = 1000, 2000
ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied"
EPERM = 1
SEATD_SEAT_OPENED, SEATD_ERROR = 0x8001, 0xFFFF

state = {}


def devnsctl(*args, **kw):
    return subprocess.run([DEVNSCTL, *args], capture_output=True, text=True, timeout=120, **kw)


def listed():
    """{name: leader} from devnsctl list."""
    r = devnsctl("list", "--no-legend")
    check(r.returncode == 0, f"devnsctl list: {r.stderr}")
    rows = [line.split() for line in r.stdout.splitlines() if line.strip()]
    return {row[0]: row[3] for row in rows}


def cgroup_dir(name):
    """Where devnsctl run puts container name's cgroup: below its own,
    which is ours, in the cgroup2 hierarchy on /sys/fs/cgroup."""
    with open("/proc/self/cgroup") as f:
        own = next(line[3:].strip() for line in f if line.startswith("0::"))
    return os.path.join("/sys/fs/cgroup", own.lstrip("/"), f"devns-{name}")


def cgroup_line(name):
    """The "0::" line of /proc/PID/cgroup of a process in that cgroup."""
    return "0::" + cgroup_dir(name)[len("/sys/fs/cgroup"):]


def probe_devices(name, nodes, options=(), argv_pre=()):
    """Runs DEVICE_PROBE as the command of `devnsctl run name`; returns
    devnsctl's CompletedProcess and the probe's findings."""
    scratch = tempfile.mkdtemp(dir="/run")
    try:
        r = subprocess.run([*argv_pre, DEVNSCTL, "run", name, *options, "--",
                            sys.executable, "-S", "-c", DEVICE_PROBE, scratch, *nodes],
                           capture_output=True, text=True, timeout=120)
    finally:
        os.rmdir(scratch)
    return r, (json.loads(r.stdout) if r.returncode == 0 else None)


def clients():
    """alpha and beta, started with devnsctl run; those a testcase before
    ended are started again."""
    cs = state.setdefault("clients", {})
    for name, colour in COLOURS.items():
        if name not in cs:
            cs[name] = run_demo_client(name, colour)
            cs[name].expect("ready", timeout=60)
    return cs


def stop_clients():
    """None of clients() left, for a testcase that needs their names free
    or no container at all."""
    cs = state.pop("clients", {})
    for c in cs.values():
        c.stop()
    wait_until("the clients unregistered", lambda: not set(cs) & set(listed()), timeout=60)


def keyboard():
    """MAJ:MIN of QEMU's PS/2 keyboard on seat0."""
    def find():
        for name, ma, mi, kind in seat_devices(system_bus()):
            if kind != "evdev":
                continue
            try:
                with open(f"/sys/class/input/{name}/device/name") as f:
                    if "keyboard" in f.read().lower():
                        return f"{ma}:{mi}"
            except OSError:
                pass
        return None
    return wait_until("the PS/2 keyboard on seat0", find, timeout=60)


def open_seat_as(c, user):
    """seatd-probe.py open-seat inside c, as user; its JSON."""
    probe = readable_copy(os.path.join(VM_DIR, "seatd-probe.py"))[0]
    r = in_container(c, [sys.executable, probe, "open-seat"], user=user)
    check(r.returncode == 0, f"seatd-probe.py in {c.name} as uid {user}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def wait_uncontrolled(name):
    """Until the container's controller is gone (a probe's connection
    ends with the probe, and devnsd sees that asynchronously)."""
    wait_until(f"{name} without a controller", lambda: not container_prop(name, "Controlled"))


def testcase_client_works_through_its_endpoint():
    cs = clients()
    deactivate()  # each switch below changes the active container
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


def testcase_device_confinement():
    r = subprocess.run(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"], capture_output=True,
                       text=True)
    check(r.stdout.strip() == "cgroup2fs", f"/sys/fs/cgroup in the guest: {r.stdout} {r.stderr}")
    # The compositor path: the clients, confined, still take the card and
    # the input through their endpoints, and the active one is master.
    cs = clients()
    for c in cs.values():
        for pid in [c.leader] + _children(c.leader):
            with open(f"/proc/{pid}/cgroup") as f:
                got = f.read().strip()
            check(got == cgroup_line(c.name), f"{c.name}: pid {pid} is in {got}")
    st = cs["alpha"].status()
    if st["active"] != "1":
        switch_and_wait(cs["alpha"])
        st = cs["alpha"].status()
    check(st["drm_master"] == "1" and st["evdev"] == "live",
          f"alpha, confined and active: {st}")

    # Nodes exist (stat works) but the broker's devices do not open. alpha
    # and beta hold two of the binder devices; the third is zeta's.
    events = sorted(glob.glob("/dev/input/event*"))
    check(events, "no /dev/input/event* in the guest")
    refused = ["rw:/dev/dri/card0", f"r:{events[0]}", "rw:/dev/loop-control", "r:/dev/loop0"]
    allowed = ["rw:/dev/null", "r:/dev/zero", "r:/dev/urandom", "rw:/dev/ptmx", "rw:/dev/binder"]
    binders = [f"rw:{p}" for p in BINDER_POOL]
    r, got = probe_devices("zeta", refused + allowed + binders)
    check(r.returncode == 0, f"devnsctl run zeta -- probe: {r.returncode} {r.stderr}")
    log(f"zeta: {got}")
    nodes = got["nodes"]
    check(got["cgroup"].strip() == cgroup_line("zeta"), f"zeta's probe ran in {got['cgroup']}")
    for arg in refused:
        path = arg.split(":", 1)[1]
        check(nodes[path]["stat"] == "ok" and nodes[path]["open"] == "EPERM",
              f"{path} in zeta: {nodes[path]}")
    for arg in allowed:
        path = arg.split(":", 1)[1]
        check(nodes[path]["open"] == "ok", f"{path} in zeta: {nodes[path]}")
    # Its own binder device opens, at /dev/binder and at its host path;
    # those of alpha and beta do not.
    own = nodes["/dev/binder"]["rdev"]
    pool = {p: nodes[p] for p in BINDER_POOL}
    check(sum(n["rdev"] == own for n in pool.values()) == 1,
          f"zeta's /dev/binder is {own}, not one of the pool: {pool}")
    for p, n in pool.items():
        want = "ok" if n["rdev"] == own else "EPERM"
        check(n["open"] == want, f"{p} ({n['rdev']}) in zeta, whose binder is {own}: {n}")
    check(got["mknod_card"] == "EPERM" and got["mknod_null"] == "ok",
          f"mknod in zeta: card {got['mknod_card']}, null {got['mknod_null']}")
    check(not os.path.exists(cgroup_dir("zeta")), f"{cgroup_dir('zeta')} is left")

    # --no-device-confinement: no cgroup, and the nodes open. (Not the card:
    # whoever opens it while nobody is master becomes master.)
    r, got = probe_devices("eta", ["rw:/dev/loop-control"], options=["--no-device-confinement"])
    check(r.returncode == 0, f"devnsctl run --no-device-confinement: {r.returncode} {r.stderr}")
    with open("/proc/self/cgroup") as f:
        ours = next(line for line in f if line.startswith("0::")).strip()
    check(got["cgroup"].strip() == ours and got["nodes"]["/dev/loop-control"]["open"] == "ok",
          f"eta, not confined: {got}")

    # Without cgroup2 on /sys/fs/cgroup, run refuses, unless told.
    hide = ["unshare", "--mount", "sh", "-c",
            'mount -t tmpfs tmpfs /sys/fs/cgroup && exec "$@"', "sh"]
    r = subprocess.run(hide + [DEVNSCTL, "run", "theta", "--", "true"],
                       capture_output=True, text=True, timeout=120)
    log(f"without cgroup2: {r.returncode} {r.stderr.strip()}")
    check(r.returncode == 1 and "cgroup2" in r.stderr and "--no-device-confinement" in r.stderr,
          f"run without cgroup2: {r.returncode} {r.stderr}")
    r = subprocess.run(hide + [DEVNSCTL, "run", "theta", "--no-device-confinement", "--", "true"],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, f"run --no-device-confinement without cgroup2: {r.returncode} {r.stderr}")
    check(set(listed()) == set(cs), f"containers after the refused runs: {listed()}")


def testcase_control_user():
    """The attack: a second user of a container started with --control-user
    takes control, to get the container's live input and DRM master. Its
    TakeControl on the endpoint and its open seat on seatd.sock are
    refused, the control user's succeed and get the keyboard live; in a
    container started without --control-user, the same user is let in."""
    kbd = keyboard()
    probe = readable_copy(os.path.join(VM_DIR, "endpoint-probe.py"))[0]
    mark = state["broker"].log_mark()
    # The command of kappa is its control user's compositor, a controller
    # that takes the keyboard once told to go: after the attack, so the
    # attack meets a seat nobody controls.
    controller = ["sh", "-c", 'read go && exec "$@"', "sh", "setpriv",
                  f"--reuid={CONTROL_USER}", f"--regid={CONTROL_USER}", "--clear-groups",
                  sys.executable, probe, "silent", kbd]
    guarded = RunContainer("kappa", controller, control_user=CONTROL_USER)
    # Ends when its stdin is closed.
    unguarded = RunContainer("lambda", ["cat"])
    try:
        got = run_probe(guarded, "take-control", user=OTHER_USER)
        log(f"kappa, TakeControl as uid {OTHER_USER}: {got}")
        check(got == {"take_control": ACCESS_DENIED, "take_control_force": ACCESS_DENIED,
                      "controlled": False},
              f"uid {OTHER_USER} in kappa (--control-user {CONTROL_USER}), TakeControl: {got}")
        got = open_seat_as(guarded, OTHER_USER)
        log(f"kappa, open seat as uid {OTHER_USER}: {got}")
        check(got == {"opcode": SEATD_ERROR, "errno": EPERM},
              f"uid {OTHER_USER} in kappa (--control-user {CONTROL_USER}), open seat: {got}")
        check(not container_prop("kappa", "Controlled"), "kappa has a controller after the attack")
        check("not the container's control user or root" in state["broker"].log_since(mark),
              "the refused seatd client is logged")

        # Without --control-user, anyone in the container may, as before.
        got = run_probe(unguarded, "take-control", user=OTHER_USER)
        log(f"lambda, TakeControl as uid {OTHER_USER}: {got}")
        check(got["take_control"] is None and got["controlled"],
              f"uid {OTHER_USER} in lambda (no --control-user), TakeControl: {got}")
        wait_uncontrolled("lambda")
        got = open_seat_as(unguarded, OTHER_USER)
        log(f"lambda, open seat as uid {OTHER_USER}: {got}")
        check(got == {"opcode": SEATD_SEAT_OPENED, "errno": None},
              f"uid {OTHER_USER} in lambda (no --control-user), open seat: {got}")
        wait_uncontrolled("lambda")

        # The control user, in front: control, and the keyboard live.
        manager().SwitchContainer("seat0", "kappa")
        wait_until("kappa active", lambda: active_container() == "kappa")
        guarded.send("go")
        got = json.loads(guarded.expect("{", timeout=60))
        check(got == {"ready": True}, f"kappa's control user (uid {CONTROL_USER}): {got}")
        check(container_prop("kappa", "Controlled"), "kappa's control user is not in control")
        guarded.send("status")
        got = json.loads(guarded.expect("{", timeout=60))
        log(f"kappa's control user, its keyboard: {got}")
        check(got == {"status": [True]}, f"the keyboard of kappa's control user: {got}")
        ma, mi = (int(x) for x in kbd.split(":"))
        check(held_devices("kappa") == [(ma, mi, "evdev", False)],
              f"kappa holds {held_devices('kappa')}")
    finally:
        guarded.stop()
        unguarded.stop()
        wait_unregistered("kappa")
        wait_unregistered("lambda")


def testcase_exit_status_and_unregistered():
    cs = clients()  # each ended below, and left out of state["clients"]
    # quit: the client releases control and exits 0.
    c = cs.pop("alpha")
    c.send("quit")
    rc = c.stop()
    check(rc == 0, f"devnsctl run alpha: exit status {rc}")
    check("alpha" not in listed(), f"alpha still listed: {listed()}")
    check(not os.path.exists(cgroup_dir("alpha")), f"{cgroup_dir('alpha')} is left")
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
    check(not os.path.exists(cgroup_dir("delta")), f"{cgroup_dir('delta')} is left")
    check(listed() == {}, f"containers left: {listed()}")


def testcase_errors():
    stop_clients()  # alpha taken by this testcase alone, and nothing else left
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
    "testcase_device_confinement",
    "testcase_control_user",
    "testcase_exit_status_and_unregistered",
    "testcase_errors",
]


def main():
    subprocess.run(["modprobe", "bochs"], check=True)
    # Devices the container must not open: loop devices and binder devices
    # other than its own (and its own, which it must).
    subprocess.run(["modprobe", "loop"], check=True)
    subprocess.run(["modprobe", "binder_linux", f"devices={BINDER_MODULE_DEVICES}"], check=True)
    wait_until("/dev/dri/card0", lambda: os.path.exists("/dev/dri/card0"), timeout=60)
    subprocess.run(["udevadm", "settle", "--timeout=60"], check=False)
    state["broker"] = Broker(config=CONFIG)
    try:
        return run_testcases(globals(), ORDER)
    finally:
        for c in state.get("clients", {}).values():
            c.stop()
        state["broker"].stop()


if __name__ == "__main__":
    sys.exit(main())
