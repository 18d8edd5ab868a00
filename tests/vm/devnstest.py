"""Helpers for the broker's tests in the guest: the broker, containers
running the demo client, uinput devices, the screen, and a testcase runner.

Everything waits for a condition with a deadline; nothing sleeps for a fixed
time to be correct.
"""
import ctypes
import errno
import fcntl
import importlib.machinery
import importlib.util
import json
import os
import random
import select
import shutil
import signal
import struct
import subprocess
import sys
import time
import traceback

import dbus

SRC = os.environ["DEVNS_SRC"]
BUILD = os.environ["DEVNS_BUILD"]
OUT = os.environ.get("DEVNS_OUT", "/mnt/out")
VM_DIR = os.path.join(SRC, "tests", "vm")
DEVNSD = os.path.join(BUILD, "devnsd")
DEVNSCTL = os.path.join(BUILD, "ctl", "devnsctl")
CLIENT = os.path.join(BUILD, "examples", "devns-demo-client")
RUNTIME = "/run/devns"
# Copies of what runs as another user (see readable_copy()).
SHARED = "/run/devns-tests"

BUS_NAME = "org.devns.broker1"
MANAGER_PATH = "/org/devns/broker1"
MANAGER = "org.devns.broker1.Manager"
SEAT = "org.devns.broker1.Seat"
CONTAINER = "org.devns.broker1.Container"
PROPS = "org.freedesktop.DBus.Properties"

DRM_MAJOR = 226


class TestFailure(Exception):
    pass


class Skip(Exception):
    """Ends a testcase as skipped, with the reason: raise Skip("no card")."""


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def wait_until(what, fn, timeout=30.0, interval=0.01):
    """Calls fn until it returns a true value, which is returned."""
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise TestFailure(f"timed out after {timeout:.0f}s waiting for {what}")
        time.sleep(interval)
        interval = min(interval * 2, 0.2)


def log(msg):
    print(f"# {msg}", flush=True)


# ---------------------------------------------------------------- D-Bus

def system_bus():
    return dbus.SystemBus()


def manager(bus=None):
    bus = bus or system_bus()
    return dbus.Interface(bus.get_object(BUS_NAME, MANAGER_PATH), MANAGER)


def get_prop(bus, path, iface, name):
    return bus.get_object(BUS_NAME, path).Get(iface, name, dbus_interface=PROPS)


def seat_path(bus, seat="seat0"):
    return manager(bus).GetSeat(seat)


def seat_devices(bus, seat="seat0"):
    return [(str(n), int(ma), int(mi), str(t))
            for n, ma, mi, t in get_prop(bus, seat_path(bus, seat), SEAT, "Devices")]


def container_prop(name, prop):
    """A property of the container called name."""
    return get_prop(system_bus(), manager().GetContainer(name), CONTAINER, prop)


def active_container(seat="seat0"):
    """The name of the seat's active container ("" for none)."""
    bus = system_bus()
    return str(get_prop(bus, seat_path(bus, seat), SEAT, "ActiveContainer")[0])


def devices_held(name):
    return len(container_prop(name, "Devices"))


def held_devices(name):
    """[(major, minor, type, paused)] of the container's devices."""
    return [(int(a), int(b), str(t), bool(p)) for a, b, t, p in container_prop(name, "Devices")]


def wait_compositor_live(name):
    """The container's compositor holds its card with master and live
    input (it has (re)taken it after a resume); returns its devices."""
    def ok():
        h = held_devices(name)
        card = [d for d in h if d[2] == "drm"]
        evdev = [d for d in h if d[2] == "evdev"]
        return card and not card[0][3] and evdev and not any(d[3] for d in evdev) and h
    return wait_until(f"{name}'s card and input live", ok, timeout=60)


def switch_and_wait(client, seat="seat0"):
    """Makes client's container active; returns the milliseconds from the
    call to the last ResumeDevice the client handled (its clock and ours
    are both CLOCK_MONOTONIC)."""
    n = devices_held(client.name)
    client.take_lines("resume")
    t0 = time.monotonic_ns()
    manager().SwitchContainer(seat, client.name)
    resumes = [client.expect("resume ") for _ in range(n)]
    return (max(int(r.split()[2]) for r in resumes) - t0) / 1e6


def make_active(client, seat="seat0"):
    """Makes client's container the seat's active one unless it is
    already: a testcase's starting point, whatever the one before left."""
    if active_container(seat) != client.name:
        switch_and_wait(client, seat)


def deactivate(seat="seat0"):
    """No container of the seat active."""
    manager().SwitchContainer(seat, "")


def wait_unregistered(name, timeout=60):
    """Until container name is gone from the broker (its leader's end is
    seen asynchronously), so the name can be registered again."""
    def gone():
        try:
            manager().GetContainer(name)
        except dbus.exceptions.DBusException:
            return True
        return False
    wait_until(f"{name} unregistered", gone, timeout=timeout)


def dbus_error_name(fn):
    """Runs fn and returns the D-Bus error name it raised, or None."""
    try:
        fn()
    except dbus.exceptions.DBusException as e:
        return e.get_dbus_name()
    return None


# ---------------------------------------------------------------- the broker

class Broker:
    def __init__(self, config=None, log_name="devnsd.log", wrapper=()):
        self.log_path = os.path.join(OUT, log_name)
        args = [*wrapper, os.environ.get("DEVNS_DEVNSD", DEVNSD)] + \
            os.environ.get("DEVNS_DEVNSD_ARGS", "").split()
        if config:
            os.makedirs("/etc/devns", exist_ok=True)
            with open("/etc/devns/test.conf", "w") as f:
                f.write(config)
            args += ["--config", "/etc/devns/test.conf"]
        self.logf = open(self.log_path, "a")
        # Where this devnsd's lines start: the log is shared with any devnsd
        # the test started before.
        self.log_start = os.path.getsize(self.log_path)
        self.proc = subprocess.Popen(args, stdout=self.logf, stderr=subprocess.STDOUT)
        bus = system_bus()
        wait_until("devnsd on the bus",
                   lambda: self.proc.poll() is not None or bus.name_has_owner(BUS_NAME))
        check(self.proc.poll() is None, f"devnsd exited with {self.proc.returncode}")

    def running(self):
        return self.proc.poll() is None

    def log_mark(self):
        """A mark for log_since(): the end of the log now."""
        return os.path.getsize(self.log_path)

    def log_since(self, mark=None):
        """What devnsd logged after mark (a log_mark()), by default
        since this devnsd started."""
        with open(self.log_path, errors="replace") as f:
            f.seek(self.log_start if mark is None else mark)
            return f.read()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.logf.close()
        return self.proc.returncode

    def crash(self):
        """kill -9: nothing is cleaned up, as after a crash."""
        self.proc.kill()
        self.proc.wait()
        self.logf.close()

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))


KEEPER = os.path.join(BUILD, "keeper", "devns-keeper")


class KeptBroker(Broker):
    """devnsd under devns-keeper, which keeps devnsd's fd store and starts
    it again when it dies, as systemd does for the unit
    (FileDescriptorStoreMax=, Restart=)."""

    def __init__(self, config=None, log_name="devnsd.log"):
        super().__init__(config, log_name, wrapper=[KEEPER, "--start-limit-interval", "0", "--"])
        self.pid = self.wait_devnsd()

    def devnsd_pid(self):
        """The devnsd the keeper runs now, or None."""
        kids = _children(self.proc.pid)
        return kids[0] if len(kids) == 1 else None

    def wait_devnsd(self, old=None, timeout=60):
        """Until a devnsd other than old owns the bus name; its pid."""
        bus = system_bus()
        dbus_iface = dbus.Interface(bus.get_object("org.freedesktop.DBus", "/org/freedesktop/DBus"),
                                    "org.freedesktop.DBus")

        def serving():
            check(self.proc.poll() is None, f"devns-keeper exited with {self.proc.returncode}")
            pid = self.devnsd_pid()
            if pid is None or pid == old:
                return None
            try:
                owner = int(dbus_iface.GetConnectionUnixProcessID(BUS_NAME))
            except dbus.exceptions.DBusException:
                return None
            return pid if owner == pid else None
        return wait_until("a new devnsd serving on the bus", serving, timeout=timeout)

    def kill_devnsd(self, sig=signal.SIGKILL):
        """Kills devnsd (by default as a crash would); returns once the
        keeper has started the next one and it serves."""
        old = self.devnsd_pid()
        check(old is not None, "devnsd is running under the keeper")
        os.kill(old, sig)
        self.pid = self.wait_devnsd(old)
        return self.pid

    def restart(self):
        """A clean restart, as `systemctl restart`: SIGHUP to the keeper
        stops devnsd with SIGTERM and starts it again."""
        old = self.devnsd_pid()
        os.kill(self.proc.pid, signal.SIGHUP)
        self.pid = self.wait_devnsd(old)
        return self.pid

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.pid}/fd"))

    def keeper_fd_count(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))


# ---------------------------------------------------------------- containers

def _children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


class Container:
    """A container: its own pid and mount namespaces, the endpoint dir
    bind-mounted at /run/devns as a runtime would, running cmd.

    The leader waits for a line on stdin before it mounts the endpoint, so
    the broker has registered it (and made the dir) by then."""

    def __init__(self, name, cmd, register=True, options=None, seat=""):
        self.name = name
        script = (f'read go; mount --bind {RUNTIME}/containers/{name} /run/devns && '
                  f'exec "$@"')
        # When a test kills the leader with SIGKILL, unshare prints
        # "unshare: sigprocmask unblock failed: Invalid argument" and exits
        # with 1. It passes a child's fatal signal on to itself, and before
        # util-linux 2.40 (Debian 12 has 2.38) it first resets that signal's
        # disposition: signal(SIGKILL, SIG_DFL) fails with EINVAL (util-linux
        # commit 2ee2f2821, issue #2614). Harmless: the leader is gone
        # either way, and nothing reads unshare's exit status.
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--mount", "--fork", "--propagation", "private",
             "--mount-proc", "sh", "-c", script, "sh"] + cmd,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr,
            bufsize=0)
        self.leader = wait_until(f"leader of {name}", lambda: (_children(self.proc.pid) or [None])[0])
        self._buf = b""
        self.lines = []
        self.path = None
        if register:
            self.register(options or {}, seat)
        self.proc.stdin.write(b"go\n")

    def register(self, options, seat=""):
        opts = dbus.Dictionary({k: v for k, v in options.items()}, signature="sv")
        self.path = manager().RegisterContainer(self.name, seat, dbus.UInt32(self.leader), opts)

    # line protocol of the demo client
    def _fill(self, timeout):
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        if not r:
            return False
        data = os.read(self.proc.stdout.fileno(), 65536)
        if not data:
            raise TestFailure(f"{self.name}: client exited ({self.proc.poll()})")
        self._buf += data
        while b"\n" in self._buf:
            line, self._buf = self._buf.split(b"\n", 1)
            self.lines.append(line.decode(errors="replace"))
        return True

    def expect(self, prefix, timeout=30.0):
        """Returns (and consumes) the first line starting with prefix."""
        end = time.monotonic() + timeout
        while True:
            for i, line in enumerate(self.lines):
                if line.startswith(prefix):
                    del self.lines[i]
                    return line
            left = end - time.monotonic()
            if left <= 0:
                raise TestFailure(f"{self.name}: no '{prefix}' line within {timeout:.0f}s; "
                                  f"have {self.lines[-10:]}")
            self._fill(left)

    def take_lines(self, prefix):
        got = [l for l in self.lines if l.startswith(prefix)]
        self.lines = [l for l in self.lines if not l.startswith(prefix)]
        return got

    def send(self, line):
        self.proc.stdin.write(line.encode() + b"\n")

    def status(self):
        self.send("status")
        line = self.expect("status ")
        return dict(kv.split("=", 1) for kv in line.split()[1:])

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                # The leader too: killing unshare alone leaves it running,
                # and the container registered.
                self.kill_leader()
                self.proc.kill()
                self.proc.wait()

    def kill_leader(self):
        """SIGKILL to the leader, pid 1 of the container: its pid namespace
        ends, and devnsd unregisters the container."""
        try:
            os.kill(self.leader, signal.SIGKILL)
        except ProcessLookupError:
            pass


class ScriptContainer(Container):
    """A container set up by hand, as a runtime would: its leader runs
    script (sh -c, with args) in its own pid and mount namespaces, is
    registered with options once the script prints "mounted", and goes on
    a step for each line sent. The leader ends as the program the script
    execs (a compositor), which ends on SIGTERM; the namespace's other
    processes go with it."""

    def __init__(self, name, script, args, options):
        self.name = name
        self.proc = subprocess.Popen(
            ["unshare", "--pid", "--mount", "--fork", "--propagation", "private",
             "--mount-proc", "sh", "-c", script, "sh", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr, bufsize=0)
        self.leader = wait_until(f"leader of {name}",
                                 lambda: (_children(self.proc.pid) or [None])[0])
        self._buf = b""
        self.lines = []
        self.expect("mounted", timeout=60)
        self.register(options)

    def path_in_root(self, path):
        """A path inside the container, as the host reaches it."""
        return f"/proc/{self.leader}/root{path}"

    def alive(self):
        try:
            os.kill(self.leader, 0)
        except ProcessLookupError:
            return False
        return self.proc.poll() is None

    def stop(self):
        try:
            self.proc.stdin.close()
        except OSError:
            pass
        if self.alive():
            try:
                os.kill(self.leader, signal.SIGTERM)
            except ProcessLookupError:
                pass
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            try:
                os.kill(self.leader, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.kill()
            self.proc.wait()


def load_bochs(*modules, timeout=120):
    """bochs (QEMU's -vga std) and any other modules; waits for its card
    and for udev to have seen it."""
    for mod in ("bochs", *modules):
        subprocess.run(["modprobe", mod], check=True)
    wait_until("/dev/dri/card0", lambda: os.path.exists("/dev/dri/card0"), timeout=timeout)
    subprocess.run(["udevadm", "settle", "--timeout=60"], check=False)


def demo_client(name, color, extra=()):
    return Container(name, [CLIENT, "--control", "--color", color, "--label", name, *extra])


class RunContainer(Container):
    """A container started the way a person would: `devnsctl run NAME --
    cmd`, which makes the namespaces, registers the container and mounts
    its endpoint at /run/devns. proc is devnsctl; its exit status is the
    command's. With login1_user, the container gets a system bus of its
    own where devnsd serves login1 for that user (--login1); with
    control_user, only that user and root may take control; outputs are
    connector names leased to it (--output)."""

    def __init__(self, name, cmd, seat=None, allow_activate=False, login1_user=None,
                 control_user=None, outputs=()):
        self.name = name
        args = [DEVNSCTL, "run", name]
        if seat:
            args += ["--seat", seat]
        if allow_activate:
            args.append("--allow-activate")
        if login1_user is not None:
            args += ["--login1", "--login1-user", str(login1_user)]
        if control_user is not None:
            args += ["--control-user", str(control_user)]
        for output in outputs:
            args += ["--output", output]
        self.proc = subprocess.Popen(args + ["--"] + cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=sys.stderr, bufsize=0)
        self._buf = b""
        self.lines = []
        self.path = wait_until(f"{name} registered", self._registered, timeout=60)
        self.leader = int(get_prop(system_bus(), self.path, CONTAINER, "Leader"))

    def _registered(self):
        check(self.proc.poll() is None, f"devnsctl run {self.name} exited with {self.proc.returncode}")
        try:
            return manager().GetContainer(self.name)
        except dbus.exceptions.DBusException:
            return None

    def stop(self):
        super().stop()
        return self.proc.returncode


def run_demo_client(name, color, seat=None, extra=()):
    return RunContainer(name, [CLIENT, "--control", "--color", color, "--label", name, *extra],
                        seat=seat)


def in_container(c, argv, user=None, **kw):
    """Runs argv inside container c's pid and mount namespaces. As another
    user, argv must not name files of the source or build tree: see
    readable_copy()."""
    pre = ["nsenter", "-t", str(c.leader), "-p", "-m"]
    if user:
        pre += ["setpriv", f"--reuid={user}", f"--regid={user}", "--clear-groups"]
    return subprocess.run(pre + argv, capture_output=True, text=True, timeout=120, **kw)


def readable_copy(*paths):
    """Copies of files, side by side in SHARED on the guest's /run (a tmpfs,
    so seen from every container too), that any user may read; returns
    their paths. What runs as another user runs from there: the source and
    build trees are readable only to users that may enter every directory
    above them, and a checkout in /root or in a mktemp -d is not."""
    os.makedirs(SHARED, exist_ok=True)
    os.chmod(SHARED, 0o755)
    copies = []
    for path in paths:
        dst = os.path.join(SHARED, os.path.basename(path))
        # Written aside and renamed, so a process started from an earlier
        # copy never reads a half-written file.
        shutil.copyfile(path, dst + ".tmp")
        os.chmod(dst + ".tmp", 0o755 if os.access(path, os.X_OK) else 0o644)
        os.replace(dst + ".tmp", dst)
        copies.append(dst)
    return copies


def run_probe(c, *args, user=None):
    """Runs tests/vm/endpoint-probe.py inside c; returns its JSON."""
    probe = os.path.join(VM_DIR, "endpoint-probe.py")
    if user:
        probe = readable_copy(probe)[0]
    r = in_container(c, [sys.executable, probe, *args], user=user)
    if r.returncode != 0:
        raise TestFailure(f"probe {args} failed: {r.stderr.strip()}")
    return json.loads(r.stdout)


# ---------------------------------------------------------------- uinput

UI_SET_EVBIT = 0x40045564
UI_SET_KEYBIT = 0x40045565
UI_DEV_SETUP = 0x405C5503
UI_DEV_CREATE = 0x5501
UI_DEV_DESTROY = 0x5502
EV_SYN, EV_KEY = 0, 1


class UinputKeyboard:
    """A real keyboard made with uinput, named after the test."""

    def __init__(self, name):
        self.name = name
        self.fd = os.open("/dev/uinput", os.O_WRONLY | os.O_NONBLOCK)
        fcntl.ioctl(self.fd, UI_SET_EVBIT, EV_KEY)
        for key in range(1, 128):
            fcntl.ioctl(self.fd, UI_SET_KEYBIT, key)
        setup = struct.pack("HHHH80sI", 0x03, 0x1D6B, 0x0104, 1, name.encode(), 0)
        fcntl.ioctl(self.fd, UI_DEV_SETUP, setup)
        fcntl.ioctl(self.fd, UI_DEV_CREATE)
        self.sysname = wait_until(f"event node of {name}", self._find_event)

    def _find_event(self):
        for ev in os.listdir("/sys/class/input"):
            if not ev.startswith("event"):
                continue
            try:
                with open(f"/sys/class/input/{ev}/device/name") as f:
                    if f.read().strip() == self.name:
                        return ev
            except OSError:
                pass
        return None

    def devnum(self):
        with open(f"/sys/class/input/{self.sysname}/dev") as f:
            ma, mi = f.read().strip().split(":")
        return int(ma), int(mi)

    def _emit(self, type_, code, value):
        os.write(self.fd, struct.pack("llHHi", 0, 0, type_, code, value))

    def press(self, code):
        self._emit(EV_KEY, code, 1)
        self._emit(EV_SYN, 0, 0)
        self._emit(EV_KEY, code, 0)
        self._emit(EV_SYN, 0, 0)

    def destroy(self):
        if self.fd >= 0:
            fcntl.ioctl(self.fd, UI_DEV_DESTROY)
            os.close(self.fd)
            self.fd = -1


# ---------------------------------------------------------------- screen

def _load_script(name, filename):
    """tests/vm/hostctl and screen.py as modules: a request costs no
    interpreter start-up, which is slow under TCG."""
    if name not in sys.modules:
        loader = importlib.machinery.SourceFileLoader(name, os.path.join(VM_DIR, filename))
        module = importlib.util.module_from_spec(importlib.util.spec_from_loader(name, loader))
        loader.exec_module(module)
        sys.modules[name] = module
    return sys.modules[name]


def hostctl(*argv, timeout=60.0):
    """A tests/vm/hostctl request made from this process, the same protocol
    without starting an interpreter; returns the host's answer."""
    port = _load_script("devns_hostctl", "hostctl").find_port()
    check(port, "no hostctl port (not in the test VM?)")
    end = time.monotonic() + timeout
    while True:  # one opener at a time: wait for our turn
        try:
            fd = os.open(port, os.O_RDWR | os.O_NONBLOCK | os.O_CLOEXEC)
            break
        except OSError as e:
            if e.errno != errno.EBUSY or time.monotonic() > end:
                raise TestFailure(f"hostctl {argv[0]}: cannot open {port}: {e}")
            time.sleep(0.02)
    rid = f"{os.getpid()}-{time.monotonic_ns()}"
    try:
        data = json.dumps({"id": rid, "argv": list(argv)}).encode() + b"\n"
        while data:
            _, w, _ = select.select([], [fd], [], max(0.0, end - time.monotonic()))
            check(w, f"hostctl {argv[0]}: cannot send to the host within {timeout:.0f}s")
            try:
                data = data[os.write(fd, data):]
            except BlockingIOError:
                pass
        buf = b""
        while True:
            r, _, _ = select.select([fd], [], [], max(0.0, end - time.monotonic()))
            check(r, f"hostctl {' '.join(argv)}: no answer within {timeout:.0f}s")
            try:
                chunk = os.read(fd, 65536)
            except BlockingIOError:
                continue
            if not chunk:  # the host end is not connected yet
                check(time.monotonic() < end, f"hostctl {argv[0]}: the host is not connected")
                time.sleep(0.05)
                continue
            buf += chunk
            while b"\n" in buf:
                line, buf = buf.split(b"\n", 1)
                try:
                    reply = json.loads(line)
                except ValueError:
                    continue
                if reply.get("id") == rid:
                    check(reply.get("ok"), f"hostctl {' '.join(argv)}: {reply.get('message')}")
                    return reply.get("message", "")
    finally:
        os.close(fd)


def screendump(name, device=None):
    """A PNG of the first display, or of the display device with QOM id
    device (-device virtio-gpu-pci,id=video1)."""
    rel = os.path.relpath(name, OUT) if os.path.isabs(name) else name
    hostctl("screendump", rel, *(["--device", device] if device else []))
    return os.path.join(OUT, rel)


def sendkey(*keys, device=None):
    """Types keys (QEMU names: ctrl-alt-right, a) on the keyboard QEMU
    routes to, or on the one bound to display device."""
    hostctl("sendkey", *keys, *(["--device", device] if device else []))


def screen_colour(path):
    """(RRGGBB, fraction) of the most common colour of a PNG."""
    screen = _load_script("devns_screen", "screen.py")
    try:
        rgb, fraction = screen.dominant(screen.load_png(path))
    except (OSError, screen.PNGError) as e:
        raise TestFailure(f"screen {path}: {e}")
    return screen.hexcolour(rgb), fraction


SYS_PIDFD_GETFD = 438  # x86_64, as the guest


def pidfd_getfd(pid, fd):
    """A copy of process pid's file fd, as a debugger would take one."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        copy = libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if copy < 0:
            raise OSError(ctypes.get_errno(), f"pidfd_getfd {pid} {fd}")
        return copy
    finally:
        os.close(pidfd)


def fds_of(pid, node):
    """The fd numbers of process pid that are open files of node."""
    fds = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            if os.readlink(f"/proc/{pid}/fd/{fd}") == node:
                fds.append(int(fd))
        except OSError:
            pass
    return fds


def colours_close(a, b, tolerance=8):
    return all(abs(int(a[i:i + 2], 16) - int(b[i:i + 2], 16)) <= tolerance for i in (0, 2, 4))


def expect_screen(name, colour, min_fraction=0.8, timeout=30.0, device=None):
    """Takes screendumps (of display device, if given) until the dominant
    colour is colour."""
    seen = []

    def look():
        got, frac = screen_colour(screendump(name, device))
        seen.append((got, frac))
        return colours_close(got, colour) and frac >= min_fraction

    try:
        wait_until(f"screen {colour}", look, timeout=timeout, interval=0.2)
    except TestFailure:
        raise TestFailure(f"screen {name}: expected {colour}, saw {seen[-3:]}")


# ---------------------------------------------------------------- runner

def run_with_broker(module_globals, order, state, modules=("bochs", "uinput"), broker=None):
    """The usual test program: loads modules, waits for the card, starts
    devnsd as state["broker"] (broker(), by default Broker()), runs the
    testcases, and stops what the testcases left in state (clients in
    state["clients"], anything with a destroy() in state["devices"]) and
    devnsd."""
    for mod in modules:
        subprocess.run(["modprobe", mod], check=True)
    wait_until("/dev/dri/card0", lambda: os.path.exists("/dev/dri/card0"), timeout=60)
    subprocess.run(["udevadm", "settle", "--timeout=60"], check=False)
    state["broker"] = (broker or Broker)()
    try:
        return run_testcases(module_globals, order)
    finally:
        for c in state.get("clients", {}).values():
            c.stop()
        state["broker"].stop()
        for d in state.get("devices", []):
            d.destroy()


def testcase_order(names):
    """names, filtered by DEVNS_TESTCASES ("a b": only those, with or
    without the testcase_ prefix) and ordered by DEVNS_TESTCASE_ORDER:
    unset or "given" keeps names' order, "reverse" reverses it,
    "shuffle[:SEED]" shuffles it with SEED (a random one if none). The
    seed used is printed, so a failing order can be run again."""
    only = os.environ.get("DEVNS_TESTCASES")
    if only:
        names = [n for n in names if n in only.split() or n[len("testcase_"):] in only.split()]
    names = list(names)
    how = os.environ.get("DEVNS_TESTCASE_ORDER", "") or "given"
    if how == "reverse":
        names.reverse()
    elif how == "shuffle" or how.startswith("shuffle:"):
        seed = how[len("shuffle:"):] or str(random.randrange(1 << 32))
        try:
            random.Random(int(seed)).shuffle(names)
        except ValueError:
            raise SystemExit(f"DEVNS_TESTCASE_ORDER={how}: the seed is not a number")
        log(f"DEVNS_TESTCASE_ORDER=shuffle:{seed}")
    elif how != "given":
        raise SystemExit(f"DEVNS_TESTCASE_ORDER={how}: want given, reverse or shuffle[:SEED]")
    if how != "given":
        log(f"testcase order: {' '.join(n[len('testcase_'):] for n in names)}")
    return names


def run_testcases(module_globals, order=None):
    names = testcase_order(order or sorted(n for n in module_globals if n.startswith("testcase_")))
    passed = failed = skipped = 0
    for i, name in enumerate(names, 1):
        t0 = time.monotonic()
        try:
            module_globals[name]()
            passed += 1
            print(f"ok {i} {name} ({time.monotonic() - t0:.1f}s)", flush=True)
        except Skip as e:
            # Counted apart (scripts/count-tests.py): never as passed.
            skipped += 1
            print(f"ok {i} {name} # SKIP {e}", flush=True)
        except Exception:
            failed += 1
            traceback.print_exc()
            print(f"not ok {i} {name}", flush=True)
    print(f"{passed} passed, {failed} failed, {skipped} skipped", flush=True)
    return 1 if failed else 0


def press_chord(kbd, *codes):
    """Presses codes on UinputKeyboard kbd as a chord: holds them down in
    order, then releases them in reverse (press_chord(kbd, KEY_LEFTCTRL,
    KEY_LEFTALT, KEY_F1) for Ctrl+Alt+F1)."""
    for code in codes:
        kbd._emit(EV_KEY, code, 1)
        kbd._emit(EV_SYN, 0, 0)
    for code in reversed(codes):
        kbd._emit(EV_KEY, code, 0)
        kbd._emit(EV_SYN, 0, 0)


def read_env_file(path):
    """KEY=VALUE lines of a file (sd-login's /run/systemd files) as a dict;
    None when the file is missing."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except FileNotFoundError:
        return None
    return dict(l.split("=", 1) for l in lines if "=" in l and not l.startswith("#"))
