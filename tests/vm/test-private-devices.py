#!/usr/bin/env python3
"""Private devices of containers: a binder device each (its own context
manager, unreachable from other containers) and loop devices that only the
container that attached them may open or detach, detached when it goes.

Containers are started with `devnsctl run`, which bind-mounts the
container's binder device on /dev/binder. Run by test-private-devices.sh in
the guest.
"""
import json
import os
import select
import signal
import stat
import subprocess
import sys
import tempfile
import time

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devnstest import (  # noqa: E402
    BUILD, CONTAINER, DEVNSCTL, VM_DIR, Broker, RunContainer, TestFailure, check,
    dbus_error_name, get_prop, in_container, log, manager, run_testcases, system_bus,
    wait_until)

BINDER_PROBE = os.path.join(BUILD, "tests", "vm", "binder-probe")
LOOP_PROBE = os.path.join(VM_DIR, "loop-probe.py")
# binder_linux makes these; the broker hands out those of [Binder] Devices=,
# so /dev/binder itself stays the host's, the mount point in containers.
BINDER_MODULE_DEVICES = "binder,binder1,binder2,binder3"
POOL = ["/dev/binder1", "/dev/binder2", "/dev/binder3"]
LOOP_LIMIT = 3
CONFIG = f"[Binder]\nDevices=binder1 binder2 binder3\n[Loop]\nDevicesPerContainer={LOOP_LIMIT}\n"
NOT_OWNED = "org.devns.broker1.Error.DeviceNotOwned"
NO_SUCH_DEVICE = "org.devns.broker1.Error.NoSuchDevice"
LIMITS_EXCEEDED = "org.freedesktop.DBus.Error.LimitsExceeded"
IMAGE_TEXT = "hello from the image\n"
# binder's list of live contexts (test-private-devices.sh mounts debugfs).
BINDER_STATE = "/sys/kernel/debug/binder/state"

state = {}


def start(name):
    c = RunContainer(name, ["sleep", "100000"])
    state.setdefault("containers", {})[name] = c
    return c


def stop(c):
    """SIGTERM reaches the command; devnsctl unregisters the container."""
    if c.proc.poll() is None:
        c.proc.send_signal(signal.SIGTERM)
        c.proc.wait(timeout=60)
    state.get("containers", {}).pop(c.name, None)


def cleaned_up(testcase):
    """Stops the containers and managers a testcase left, failed or not, so
    the next one starts from a clean broker, once binder has let go of
    what they held."""
    def run():
        wait_released(POOL)
        try:
            testcase()
        finally:
            for m in state.pop("managers", []):
                m.stop()
            for c in list(state.get("containers", {}).values()):
                stop(c)
    run.__name__ = testcase.__name__
    return run


def binder_of(c):
    return str(get_prop(system_bus(), c.path, CONTAINER, "BinderDevice"))


def loops_of(c):
    return [str(x) for x in get_prop(system_bus(), c.path, CONTAINER, "LoopDevices")]


class Manager:
    """binder-probe manager on /dev/binder inside container c."""

    def __init__(self, c):
        self.name = c.name
        self.proc = subprocess.Popen(
            ["nsenter", "-t", str(c.leader), "-p", "-m", BINDER_PROBE, "manager", "/dev/binder",
             c.name],
            stdout=subprocess.PIPE, stderr=sys.stderr, bufsize=0)
        self.buf = b""
        self.lines = []
        state.setdefault("managers", []).append(self)

    def _fill(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], max(0.0, timeout))
        if not r:
            return
        data = os.read(self.proc.stdout.fileno(), 4096)
        if not data:
            raise TestFailure(f"binder manager in {self.name} exited: {self.proc.wait()} "
                              f"after {self.lines}")
        self.buf += data
        while b"\n" in self.buf:
            line, self.buf = self.buf.split(b"\n", 1)
            self.lines.append(line.decode())

    def expect(self, line, timeout=60.0):
        end = time.monotonic() + timeout
        while line not in self.lines:
            if time.monotonic() > end:
                raise TestFailure(f"manager in {self.name}: no '{line}' within {timeout:.0f}s; "
                                  f"have {self.lines}")
            self._fill(end - time.monotonic())
        self.lines.remove(line)

    def drain(self):
        """Whatever it printed so far."""
        while True:
            r, _, _ = select.select([self.proc.stdout], [], [], 0)
            if not r:
                return self.lines
            self._fill(0)

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


class Parker(Manager):
    """binder-probe park on /dev/binder of container c, in c's mount
    namespace but not in its pid namespace, so that it outlives c's leader:
    the context manager of c's device, its file in flight."""

    def __init__(self, c, label):
        self.name = label
        self.proc = subprocess.Popen(
            ["nsenter", "-t", str(c.leader), "-m", BINDER_PROBE, "park", "/dev/binder", label],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr, bufsize=0)
        self.buf = b""
        self.lines = []
        state.setdefault("managers", []).append(self)

    def take_back(self):
        """Receives the file back and serves as manager ("ready")."""
        self.proc.stdin.write(b"take\n")
        self.proc.stdin.flush()
        self.expect("ready")


def binder_contexts():
    """The binder devices that binder has a live context of, by name."""
    names, prev = set(), ""
    with open(BINDER_STATE) as f:
        for line in f:
            if prev.startswith("proc ") and line.startswith("context "):
                names.add(line.split()[1])
            prev = line
    return names


def wait_released(nodes):
    """Waits until binder has no context of nodes left. After the last
    close, binder drops a context in a work item, and devnsd hands out no
    device it still lists."""
    if os.path.exists(BINDER_STATE):
        wait_until(f"binder releases {nodes}",
                   lambda: not {f"/dev/{n}" for n in binder_contexts()} & set(nodes))


def proc_holders(node):
    """The pids that have node open or mapped, as /proc shows them."""
    rdev = os.stat(node).st_rdev
    pids = set()
    for pid in filter(str.isdigit, os.listdir("/proc")):
        for sub in ("fd", "map_files"):
            try:
                entries = os.listdir(f"/proc/{pid}/{sub}")
            except OSError:
                continue
            for e in entries:
                try:
                    st = os.stat(f"/proc/{pid}/{sub}/{e}")
                except OSError:
                    continue
                if stat.S_ISCHR(st.st_mode) and st.st_rdev == rdev:
                    pids.add(int(pid))
    return pids


def send(c, data):
    r = in_container(c, [BINDER_PROBE, "send", "/dev/binder", data])
    return r.returncode, r.stdout.strip()


def loop_probe(c, *args):
    r = in_container(c, [sys.executable, LOOP_PROBE, *args])
    if r.returncode != 0:
        raise TestFailure(f"loop-probe {args} in {c.name}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def backing_file(name):
    try:
        with open(f"/sys/block/{name}/loop/backing_file") as f:
            return f.read().strip()
    except OSError:
        return None


# ---------------------------------------------------------------- binder

@cleaned_up
def testcase_binder_context_manager_per_container():
    a, b, g = start("alpha"), start("beta"), start("gamma")
    devs = {c.name: binder_of(c) for c in (a, b, g)}
    log(f"binder devices: {devs}")
    check(sorted(devs.values()) == POOL, f"each container its own device of {POOL}: {devs}")
    for c in (a, b, g):
        # devnsctl run put the container's device on /dev/binder.
        r = in_container(c, ["stat", "-L", "-c", "%t:%T", "/dev/binder"])
        want = os.stat(devs[c.name]).st_rdev
        check(r.returncode == 0 and r.stdout.strip() == f"{os.major(want):x}:{os.minor(want):x}",
              f"/dev/binder in {c.name} is {r.stdout.strip()} {r.stderr.strip()}, want {devs[c.name]}")

    # Both are context manager at the same time, each on its device...
    ma, mb = Manager(a), Manager(b)
    ma.expect("ready")
    mb.expect("ready")
    # ...where a second one is refused: it is one context per device.
    r = in_container(a, [BINDER_PROBE, "manager", "/dev/binder", "alpha2"])
    check(r.returncode == 2 and "EBUSY" in r.stdout,
          f"a second manager in alpha: {r.returncode} {r.stdout} {r.stderr}")

    # A transaction to handle 0 reaches the manager of its own container,
    # which answers with its name: binder delivers a transaction to one
    # target, so neither reached the other's.
    got = send(a, "from-alpha")
    check(got == (0, "reply alpha:from-alpha"), f"send in alpha: {got}")
    ma.expect("transaction from-alpha")
    got = send(b, "from-beta")
    check(got == (0, "reply beta:from-beta"), f"send in beta: {got}")
    mb.expect("transaction from-beta")
    check(ma.drain() == [] and mb.drain() == [],
          f"a manager saw another container's transaction: alpha {ma.lines}, beta {mb.lines}")
    # gamma has no manager: its transaction finds none, on no device.
    got = send(g, "from-gamma")
    check(got == (1, "dead"), f"send in gamma, which has no manager: {got}")
    check(ma.drain() == [] and mb.drain() == [],
          f"gamma's transaction reached a manager: alpha {ma.lines}, beta {mb.lines}")
    ma.stop()
    mb.stop()
    for c in (a, b, g):
        stop(c)


@cleaned_up
def testcase_binder_pool_and_reuse():
    cs = [start(n) for n in ("p1", "p2", "p3")]
    devs = [binder_of(c) for c in cs]
    check(sorted(devs) == POOL, f"the pool handed out {devs}")
    # A fourth goes without and is registered all the same.
    extra = start("p4")
    check(binder_of(extra) == "", f"p4 got {binder_of(extra)} from an empty pool")
    stop(extra)

    # A device that a process still holds is not handed out again.
    held = devs[2]
    fd = os.open(held, os.O_RDWR)
    try:
        stop(cs[2])
        c = start("p5")
        check(binder_of(c) == "", f"p5 got {binder_of(c)}, held open by a process of the host")
        stop(c)
    finally:
        os.close(fd)
    wait_released([held])
    c = start("p6")
    check(binder_of(c) == held, f"p6 got '{binder_of(c)}', want the released {held}")
    for c in [c] + cs[:2]:
        stop(c)


@cleaned_up
def testcase_binder_in_flight_is_not_reused():
    """Attack: a binder device whose file is in flight is handed to the next
    container, and its old context manager answers that container.

    Root in alpha becomes context manager of alpha's device from a process
    that alpha's end does not kill: one outside alpha's pid namespace, as
    every process of a container is when its runtime shares the host's and
    leaves the other processes running when the leader goes (bwrap without
    --unshare-pid, for one); the kernel then has no pid namespace to tear
    down. Here it is made with nsenter into alpha's mount namespace only,
    and alpha is a `devnsctl run` container, whose own processes all end
    with it. The process never maps the device, sends its file to itself
    with SCM_RIGHTS and closes its fd: no process has the device open or
    mapped, yet binder keeps the context and its manager. alpha is
    unregistered; beta registers while alpha's device is the only one not
    taken. Had beta got it, the parker would take the file back, map it
    (binder lets the opener map it once) and answer beta's transactions to
    its context manager. devnsd reads binder's list of live contexts
    (debugfs) and hands the device to nobody while it is there; once the
    file is closed, it is handed out again."""
    check(os.path.exists(BINDER_STATE), f"no {BINDER_STATE}: debugfs is not mounted")
    a = start("alpha")
    others = [start("x1"), start("x2")]
    dev = binder_of(a)
    name = os.path.basename(dev)
    check(dev in POOL and sorted(binder_of(c) for c in [a] + others) == POOL,
          f"alpha has {dev}, x1 and x2 {[binder_of(c) for c in others]}")

    parker = Parker(a, "alpha-parked")
    parker.expect("parked")
    # What /proc shows is nothing: the file is in flight.
    check(proc_holders(dev) == set(), f"{dev} open or mapped in /proc: {proc_holders(dev)}")
    check(name in binder_contexts(), f"binder has no context of {name}: {binder_contexts()}")
    stop(a)
    check(parker.proc.poll() is None, "the parker ended with alpha")

    b = start("beta")
    got = binder_of(b)
    if got == dev:
        parker.take_back()
        raise TestFailure(f"beta got {dev}, alpha's device, while alpha's manager file was in "
                          f"flight; beta's transaction to its context manager: "
                          f"{send(b, 'from-beta')}")
    check(got == "", f"beta got {got}; the pool's others are taken")
    # The device is still alpha's context, with its manager: taken back,
    # the file answers a transaction on it.
    parker.take_back()
    r = subprocess.run([BINDER_PROBE, "send", dev, "from-host"], capture_output=True, text=True,
                       timeout=60)
    check(r.stdout.strip() == "reply alpha-parked:from-host",
          f"send on {dev} to the parker: {r.returncode} {r.stdout} {r.stderr}")
    parker.expect("transaction from-host")
    stop(b)

    # Closed, the context leaves binder's list (in a work item, a moment
    # later), and the device is handed out again, to a container that is
    # its own context manager.
    parker.stop()
    wait_released([dev])
    g = start("gamma")
    check(binder_of(g) == dev, f"gamma got '{binder_of(g)}', want the released {dev}")
    m = Manager(g)
    m.expect("ready")
    got = send(g, "from-gamma")
    check(got == (0, "reply gamma:from-gamma"), f"send in gamma: {got}")
    m.stop()
    for c in [g] + others:
        stop(c)


@cleaned_up
def testcase_binder_without_debugfs():
    """Without debugfs, devnsd says once that a file in flight goes unseen,
    and still keeps back a device that a process has open."""
    mark = state["broker"].log_mark()
    subprocess.run(["umount", "/sys/kernel/debug"], check=True)
    try:
        a = start("alpha")
        dev = binder_of(a)
        check(dev in POOL, f"alpha got '{dev}'")
        fd = os.open(dev, os.O_RDWR)
        try:
            stop(a)
            cs = [start("x1"), start("x2"), start("x3")]
            got = [binder_of(c) for c in cs]
            check(sorted(got) == sorted([p for p in POOL if p != dev] + [""]),
                  f"x1..x3 got {got} while {dev} is held open")
        finally:
            os.close(fd)
        warnings = state["broker"].log_since(mark).count(BINDER_STATE)
        check(warnings == 1, f"devnsd named {BINDER_STATE} {warnings} times, want once:\n"
              f"{state['broker'].log_since(mark)}")
        for c in cs:
            stop(c)
    finally:
        subprocess.run(["mount", "-t", "debugfs", "none", "/sys/kernel/debug"], check=True)


# ---------------------------------------------------------------- loop

def make_image():
    if "image" not in state:
        d = tempfile.mkdtemp(prefix="devns-loop-")
        os.makedirs(os.path.join(d, "root"))
        with open(os.path.join(d, "root", "hello.txt"), "w") as f:
            f.write(IMAGE_TEXT)
        image = os.path.join(d, "image.ext2")
        subprocess.run(["mke2fs", "-q", "-F", "-t", "ext2", "-d", os.path.join(d, "root"),
                        image, "2M"], check=True)
        state["image"] = image
    return state["image"]


@cleaned_up
def testcase_loop_attach_mount_read_and_refusals():
    image = make_image()
    a, b = start("alpha"), start("beta")
    got = loop_probe(a, "attach", image, "hello.txt")
    name = got["name"]
    log(f"alpha attached {name}")
    check(got["content"] == IMAGE_TEXT, f"read from {name} in alpha: {got}")
    check(backing_file(name) == image, f"{name} backs {backing_file(name)}")
    check(loops_of(a) == [name] and loops_of(b) == [], f"LoopDevices: {loops_of(a)} {loops_of(b)}")

    # beta may neither take nor detach it, nor anything unattached.
    check(loop_probe(b, "open", name)["result"] == NOT_OWNED, f"beta opens {name}")
    check(loop_probe(b, "detach", name)["result"] == NOT_OWNED, f"beta detaches {name}")
    check(loop_probe(b, "open", "loop999")["result"] == NO_SUCH_DEVICE, "beta opens loop999")
    check(backing_file(name) == image, f"{name} after beta's tries: {backing_file(name)}")
    # Neither may root on the system bus take it in beta's name.
    bpath = manager().GetContainer("beta")
    err = dbus_error_name(lambda: system_bus().get_object("org.devns.broker1", bpath)
                          .OpenLoopDevice(name, dbus_interface=CONTAINER))
    check(err == NOT_OWNED, f"OpenLoopDevice({name}) for beta on the bus: {err}")
    # The owner may open it again.
    check(loop_probe(a, "open", name)["result"] == "ok", f"alpha opens {name}")

    # Unregistration detaches it.
    stop(a)
    wait_until(f"{name} detached", lambda: backing_file(name) is None)
    stop(b)


@cleaned_up
def testcase_loop_detach_and_autoclear():
    image = make_image()
    a = start("alpha")
    # Detached by its owner while nothing uses it.
    name = loop_probe(a, "attach", image, "hello.txt")["name"]
    check(loop_probe(a, "detach", name)["result"] == "ok", f"alpha detaches {name}")
    # At once, or when udev's probe of the new device lets go.
    wait_until(f"{name} detached", lambda: backing_file(name) is None)
    check(loops_of(a) == [], f"LoopDevices after detach: {loops_of(a)}")
    check(loop_probe(a, "detach", name)["result"] == NO_SUCH_DEVICE, f"alpha detaches {name} twice")

    # Still mounted in the container when it is unregistered: the device
    # goes when the container's mount goes.
    name = loop_probe(a, "attach", image, "hello.txt")["name"]
    mnt = tempfile.mkdtemp(prefix="devns-mnt-")
    check(loop_probe(a, "mount", name, mnt)["result"] == "ok", f"alpha mounts {name}")
    r = in_container(a, ["cat", os.path.join(mnt, "hello.txt")])
    check(r.stdout == IMAGE_TEXT, f"the mount in alpha: {r.stdout!r} {r.stderr}")
    manager().UnregisterContainer("alpha")
    check(backing_file(name) == image, f"{name} was pulled from under alpha's mount")
    stop(a)  # its mount namespace ends with it
    wait_until(f"{name} detached after alpha ended", lambda: backing_file(name) is None)
    os.rmdir(mnt)


@cleaned_up
def testcase_loop_detached_while_held():
    """A container detaches a loop device it still holds open, and another
    container attaches one: the first container's file must never reach
    the second one's image (the kernel hands out the number of a device
    that was really cleared)."""
    d = tempfile.mkdtemp(prefix="devns-loop-held-")
    images = {}
    for name in ("alpha", "beta"):
        images[name] = os.path.join(d, f"{name}.img")
        with open(images[name], "wb") as f:
            f.write((f"{name}-secret ".encode() * 4096)[:1 << 20])
    a = start("alpha")
    b = start("beta")
    holder = subprocess.Popen(
        ["nsenter", "-t", str(a.leader), "-p", "-m", sys.executable, LOOP_PROBE, "hold",
         images["alpha"]],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr, text=True, bufsize=1)
    try:
        def ask(line):
            holder.stdin.write(line + "\n")
            holder.stdin.flush()
            return json.loads(holder.stdout.readline())

        held = json.loads(holder.stdout.readline())["name"]
        check(ask("read")["read"].startswith("alpha-secret"), "alpha reads its own image")
        check(ask("detach")["result"] == "ok", f"alpha detaches {held}")
        check(loops_of(a) == [], f"LoopDevices after detach: {loops_of(a)}")
        # beta attaches, maybe several times: none may be alpha's device
        # while alpha's file of it reads beta's data.
        for _ in range(3):
            r = in_container(b, [sys.executable, "-c", f"""
import dbus, os
c = dbus.Interface(dbus.bus.BusConnection("unix:path=/run/devns/bus").get_object(
    None, "/org/devns/broker1/container/self", introspect=False), "org.devns.broker1.Container")
fd = os.open({images["beta"]!r}, os.O_RDWR)
lfd, name = c.AttachLoopDevice(dbus.types.UnixFd(fd), False)
print(name)
"""])
            check(r.returncode == 0, f"beta attaches: {r.stderr}")
            log(f"beta got {r.stdout.strip()} while alpha holds {held}")
            got = ask("read")
            check("beta-secret" not in got.get("read", ""),
                  f"alpha's file of {held} reads beta's image: {got}")
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)


def attached_loops():
    return sorted(n for n in os.listdir("/sys/block") if n.startswith("loop") and backing_file(n))


@cleaned_up
def testcase_loop_devices_limited_per_container():
    """[Loop] DevicesPerContainer (CONFIG): a container that holds as many
    as it may is refused the next one, which attaches nothing; another
    container still gets its own, and a detach makes room again."""
    image = make_image()
    a, b = start("alpha"), start("beta")

    def container(c):
        return system_bus().get_object("org.devns.broker1", manager().GetContainer(c.name))

    def attach(c):
        with open(image, "rb") as f:
            fd, name = container(c).AttachLoopDevice(dbus.types.UnixFd(f.fileno()), True,
                                                     dbus_interface=CONTAINER)
        os.close(fd.take())
        return str(name)

    names = [attach(a) for _ in range(LOOP_LIMIT)]
    check(sorted(loops_of(a)) == sorted(names), f"alpha's LoopDevices: {loops_of(a)}, attached {names}")
    before = attached_loops()
    err = dbus_error_name(lambda: attach(a))
    check(err == LIMITS_EXCEEDED, f"alpha's attach number {LOOP_LIMIT + 1}: {err}")
    check(attached_loops() == before, f"loop devices after the refusal: {attached_loops()}, were {before}")
    check(sorted(loops_of(a)) == sorted(names), f"alpha's LoopDevices after the refusal: {loops_of(a)}")
    theirs = attach(b)
    check(loops_of(b) == [theirs], f"beta's LoopDevices: {loops_of(b)}")
    container(a).DetachLoopDevice(names[0], dbus_interface=CONTAINER)
    wait_until(f"{names[0]} detached", lambda: backing_file(names[0]) is None)
    names[0] = attach(a)
    check(len(loops_of(a)) == LOOP_LIMIT, f"alpha's LoopDevices after a detach and an attach: {loops_of(a)}")
    stop(a)
    stop(b)
    wait_until("every loop device detached",
               lambda: all(backing_file(n) is None for n in names + [theirs]))


@cleaned_up
def testcase_devnsctl_loop_commands():
    image = make_image()
    a = start("alpha")
    endpoint = ["--address", "unix:path=/run/devns/bus"]
    r = in_container(a, [DEVNSCTL, *endpoint, "attach-loop", "alpha", image, "--read-only"])
    check(r.returncode == 0 and r.stdout.strip().startswith("loop"),
          f"attach-loop on the endpoint: {r.returncode} {r.stdout} {r.stderr}")
    name = r.stdout.strip()
    check(backing_file(name) == image and loops_of(a) == [name], f"{name}: {backing_file(name)}")
    r = subprocess.run([DEVNSCTL, "status", "alpha"], capture_output=True, text=True, timeout=60)
    check(f"Loop: {name}" in r.stdout and "Binder: /dev/binder" in r.stdout,
          f"devnsctl status alpha: {r.stdout}")
    # Another container's name on this endpoint is refused.
    r = in_container(a, [DEVNSCTL, *endpoint, "detach-loop", "beta", name])
    check(r.returncode == 1, f"detach-loop beta on alpha's endpoint: {r.returncode} {r.stderr}")
    r = in_container(a, [DEVNSCTL, *endpoint, "detach-loop", "alpha", name])
    check(r.returncode == 0 and loops_of(a) == [],
          f"detach-loop on the endpoint: {r.returncode} {r.stderr} {loops_of(a)}")
    wait_until(f"{name} detached", lambda: backing_file(name) is None)
    # As root on the system bus.
    r = subprocess.run([DEVNSCTL, "attach-loop", "alpha", image], capture_output=True,
                       text=True, timeout=60)
    name = r.stdout.strip()
    check(r.returncode == 0 and backing_file(name) == image,
          f"attach-loop on the bus: {r.returncode} {r.stdout} {r.stderr}")
    r = subprocess.run([DEVNSCTL, "detach-loop", "alpha", "loop-x"], capture_output=True,
                       text=True, timeout=60)
    check(r.returncode == 1 and "loop-x" in r.stderr, f"detach-loop loop-x: {r.stderr}")
    stop(a)
    wait_until(f"{name} detached", lambda: backing_file(name) is None)


@cleaned_up
def testcase_restart_keeps_them():
    image = make_image()
    a = start("alpha")
    binder = binder_of(a)
    name = loop_probe(a, "attach", image, "hello.txt")["name"]
    state["broker"].crash()
    # Nothing is lost with the broker: the device stays attached...
    check(backing_file(name) == image, f"{name} after the crash: {backing_file(name)}")
    state["broker"] = Broker(config=CONFIG)
    # ...and the new one knows whose it is.
    check(binder_of(a) == binder, f"alpha's binder device after a restart: {binder_of(a)}, was {binder}")
    check(loops_of(a) == [name], f"alpha's loop devices after a restart: {loops_of(a)}")
    b = start("beta")
    check(binder_of(b) not in ("", binder), f"beta got {binder_of(b)}, alpha has {binder}")
    check(loop_probe(b, "open", name)["result"] == NOT_OWNED, f"beta opens {name} after a restart")
    check(loop_probe(a, "open", name)["result"] == "ok", f"alpha opens {name} after a restart")
    stop(a)
    wait_until(f"{name} detached", lambda: backing_file(name) is None)


ORDER = [
    "testcase_binder_context_manager_per_container",
    "testcase_binder_pool_and_reuse",
    "testcase_binder_in_flight_is_not_reused",
    "testcase_binder_without_debugfs",
    "testcase_loop_attach_mount_read_and_refusals",
    "testcase_loop_detach_and_autoclear",
    "testcase_loop_detached_while_held",
    "testcase_loop_devices_limited_per_container",
    "testcase_devnsctl_loop_commands",
    "testcase_restart_keeps_them",
]


def load_modules():
    release = os.uname().release
    found = False
    for root, _, files in os.walk(f"/lib/modules/{release}"):
        found = found or any(f.startswith("binder_linux.ko") for f in files)
    check(found, f"no binder_linux module for the running kernel {release}")
    subprocess.run(["modprobe", "binder_linux", f"devices={BINDER_MODULE_DEVICES}"], check=True)
    subprocess.run(["modprobe", "loop"], check=True)
    subprocess.run(["modprobe", "ext4"], check=False)  # ext2 is ext4's
    wait_until("binder and loop devices",
               lambda: all(os.path.exists(p) for p in POOL + ["/dev/binder", "/dev/loop-control"]),
               timeout=60)
    subprocess.run(["udevadm", "settle", "--timeout=60"], check=False)


def main():
    load_modules()
    state["broker"] = Broker(config=CONFIG)
    try:
        return run_testcases(globals(), ORDER)
    finally:
        for m in state.get("managers", []):
            m.stop()
        for c in list(state.get("containers", {}).values()):
            if c.proc.poll() is None:
                c.proc.kill()
                c.proc.wait()
        state["broker"].stop()


if __name__ == "__main__":
    sys.exit(main())
