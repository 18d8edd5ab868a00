#!/usr/bin/env python3
"""The devns kernel module in the guest (started by test-kernel.sh).

Loads the devns.ko of the build tree and the test-only modules of
tests/kernel/, then runs testcases against the control node, the
framebuffer multiplexer (checked with QEMU screendumps), the LED and
backlight shadows, the notifier API, unloading, and finally checks that
the kernel log holds no warning. Containers are processes in their own
pid namespace (unshare --pid --fork) running test-kernel-agent.py.
Everything waits for a condition with a deadline; nothing sleeps for a
fixed time to be correct.
"""
import ctypes
import errno
import fcntl
import glob
import os
import random
import re
import select
import statistics
import struct
import subprocess
import sys
import time
import traceback

VM_DIR = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, VM_DIR)
import screen  # noqa: E402  (tests/vm/screen.py)
from devnstest import testcase_order  # noqa: E402

BUILD = os.environ["DEVNS_BUILD"]
OUT = os.environ.get("DEVNS_OUT", "/mnt/out")
DEVNS_KO = os.path.join(BUILD, "kernel", "devns", "devns.ko")
NOTIFIER_KO = os.path.join(BUILD, "kernel", "devns-notifier-test.ko")
BACKLIGHT_KO = os.path.join(BUILD, "kernel", "devns-fake-backlight.ko")
AGENT = os.path.join(VM_DIR, "test-kernel-agent.py")
DEBUGFS = "/sys/kernel/debug"
KBD_NAME = "AT Translated Set 2 keyboard"

# ---------------------------------------------------------------- the ABI
# Mirrors kernel/devns/uapi/devns.h.

MAGIC = 0xD7


def _ioc(d, nr, size):
    return (d << 30) | (size << 16) | (MAGIC << 8) | nr


IOC_VERSION = _ioc(0, 0, 0)
IOC_CREATE = _ioc(3, 1, 120)
IOC_DESTROY = _ioc(1, 2, 16)
IOC_ACTIVATE = _ioc(1, 3, 48)
IOC_QUERY = _ioc(3, 4, 128)
CREATE_PIDFD = 1
QUERY_NEXT = 1
QUERY_ACTIVE = 2
CREATE_FMT = "<IIiI72s32s"
DESTROY_FMT = "<IIII"
ACTIVATE_FMT = "<IIII32s"
QUERY_FMT = "<IIIIiI72s32s"


class TestFailure(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise TestFailure(msg)


def log(msg):
    print("# %s" % msg, flush=True)


def wait_until(what, fn, timeout=60.0, interval=0.01):
    end = time.monotonic() + timeout
    while True:
        v = fn()
        if v:
            return v
        if time.monotonic() > end:
            raise TestFailure("timed out after %.0fs waiting for %s" % (timeout, what))
        time.sleep(interval)
        interval = min(interval * 2, 0.2)


def expect_errno(err, fn, *args):
    try:
        fn(*args)
    except OSError as e:
        check(e.errno == err, "%s: expected %s, got %s" % (
            getattr(fn, "__name__", fn), errno.errorcode[err], errno.errorcode.get(e.errno, e.errno)))
        return
    raise TestFailure("%s: expected %s, it succeeded" % (getattr(fn, "__name__", fn),
                                                         errno.errorcode[err]))


_libc = ctypes.CDLL(None, use_errno=True)
_libc.ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)


def ioctl_ptr(fd, cmd, ptr):
    """ioctl(2) with a raw pointer argument (fcntl.ioctl takes only an int)."""
    if _libc.ioctl(fd, cmd, ptr & ((1 << 64) - 1)) < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def run(*argv, check_rc=True):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300)
    if check_rc and r.returncode != 0:
        raise TestFailure("%s failed (%d): %s" % (" ".join(argv), r.returncode, r.stderr.strip()))
    return r


def read(path):
    with open(path) as f:
        return f.read().strip()


def write(path, value):
    with open(path, "w") as f:
        f.write(str(value))


class Ctl:
    """/dev/devns."""

    def __init__(self):
        self.fd = os.open("/dev/devns", os.O_RDWR)

    def close(self):
        os.close(self.fd)

    def version(self):
        return fcntl.ioctl(self.fd, IOC_VERSION)

    def raw(self, cmd, buf):
        buf = bytearray(buf)
        fcntl.ioctl(self.fd, cmd, buf, True)
        return buf

    def create(self, name, pid, seat="seat0", flags=0, size=None, tail=b""):
        buf = struct.pack(CREATE_FMT, size if size is not None else 120, flags, pid, 0,
                          name.encode(), seat.encode()) + tail
        out = self.raw(IOC_CREATE, buf)
        return struct.unpack_from("<I", out, 12)[0]

    def destroy(self, nsid, flags=0, reserved=0):
        self.raw(IOC_DESTROY, struct.pack(DESTROY_FMT, 16, flags, nsid, reserved))

    def activate(self, nsid, seat="seat0", flags=0):
        self.raw(IOC_ACTIVATE, struct.pack(ACTIVATE_FMT, 48, flags, nsid, 0, seat.encode()))

    def query(self, nsid=0, flags=0, seat=""):
        out = self.raw(IOC_QUERY, struct.pack(QUERY_FMT, 128, flags, nsid, 0, 0, 0, b"",
                                              seat.encode()))
        _, _, i, active, leader, ino, name, seat = struct.unpack(QUERY_FMT, out)
        return {"id": i, "active": active, "leader": leader, "pidns": ino,
                "name": name.rstrip(b"\0").decode(), "seat": seat.rstrip(b"\0").decode()}

    def list(self):
        res, last = [], 0
        while True:
            try:
                q = self.query(last, QUERY_NEXT)
            except OSError as e:
                if e.errno == errno.ENOENT:
                    return res
                raise
            res.append(q)
            last = q["id"]

    def destroy_all(self):
        for q in self.list():
            try:
                self.destroy(q["id"])
            except OSError as e:
                if e.errno != errno.ENOENT:
                    raise


class Container:
    """unshare --pid --fork running the agent as pid 1 of a new pid namespace."""

    def __init__(self, name):
        self.name = name
        # unshare's own complaints about a child killed by a signal go
        # to a log file, not into the test output.
        with open(os.path.join(OUT, "containers.log"), "a") as err:
            self.proc = subprocess.Popen(
                ["unshare", "--pid", "--fork", "--kill-child", "python3", "-S", AGENT],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
        self.pid = wait_until("the container's init", self._child, timeout=30)
        check(self.cmd("ping") == "pong", "the agent does not answer")
        self.id = None

    def _child(self):
        try:
            with open("/proc/%d/task/%d/children" % (self.proc.pid, self.proc.pid)) as f:
                kids = f.read().split()
        except OSError:
            return None
        return int(kids[0]) if kids else None

    def cmd(self, line, timeout=120):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        r, _, _ = select.select([self.proc.stdout], [], [], timeout)
        check(r, "%s: no answer to %r within %ds" % (self.name, line, timeout))
        reply = self.proc.stdout.readline().strip()
        check(reply.startswith("ok"), "%s: %r failed: %s" % (self.name, line, reply))
        return reply[3:]

    def try_cmd(self, line):
        """The errno of a failing command, 0 on success."""
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        reply = self.proc.stdout.readline().strip()
        if reply.startswith("ok"):
            return 0
        return int(reply.split()[1])

    def register(self, ctl, seat="seat0"):
        self.id = ctl.create(self.name, self.pid, seat)
        return self.id

    def stop(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.pid, 9)
            except OSError:
                pass
            self.proc.stdin.close()
            self.proc.wait(timeout=60)


def containers(*names):
    return [Container(n) for n in names]


def stop_all(cs):
    for c in cs:
        c.stop()


def notifier_param(name):
    return read("/sys/module/devns_notifier_test/parameters/" + name)


def debugfs_namespaces():
    lines = read(DEBUGFS + "/devns/namespaces").splitlines()
    return [line.split() for line in lines if not line.startswith("#")]


# ---------------------------------------------------------------- screen

def screendump(name):
    r = subprocess.run([sys.executable, "-S", os.path.join(VM_DIR, "hostctl"), "screendump", name],
                       capture_output=True, text=True, timeout=120)
    check(r.returncode == 0, "screendump %s: %s" % (name, r.stderr.strip()))
    return os.path.join(OUT, name)


def screen_fraction(path, colour):
    img = screen.load_png(path)
    rgb = tuple(int(colour[i:i + 2], 16) for i in (0, 2, 4))
    return screen.fraction(img, rgb), screen.hexcolour(screen.dominant(img)[0])


def expect_screen(name, colour, min_fraction=0.9, timeout=90):
    seen = []

    def look():
        frac, dom = screen_fraction(screendump(name), colour)
        seen.append((dom, round(frac, 3)))
        return frac >= min_fraction

    try:
        wait_until("the screen to show %s" % colour, look, timeout=timeout, interval=0.2)
    except TestFailure:
        raise TestFailure("screen %s: expected %s, saw %s" % (name, colour, seen[-3:]))
    log("%s: %s covers %.3f" % (name, colour, seen[-1][1]))


def screen_is(name, colour, min_fraction=0.9):
    frac, dom = screen_fraction(screendump(name), colour)
    check(frac >= min_fraction, "screen %s: expected %s, dominant %s (%s covers %.3f)"
          % (name, colour, dom, colour, frac))


# ---------------------------------------------------------------- setup

def insmod(path, *params):
    run("insmod", path, *params)


def loaded(mod):
    return os.path.isdir("/sys/module/" + mod)


def setup():
    for p in (DEVNS_KO, NOTIFIER_KO, BACKLIGHT_KO):
        if not os.path.exists(p):
            log("%s not built (no kernel headers?); skipping" % p)
            sys.exit(77)
    # A module built against other headers than the guest's kernel cannot load.
    vermagic = run("modinfo", "-F", "vermagic", DEVNS_KO).stdout.split()
    if not vermagic or vermagic[0] != os.uname().release:
        log("devns.ko is for %s, the guest runs %s; skipping"
            % (vermagic[0] if vermagic else "?", os.uname().release))
        sys.exit(77)
    if not os.path.ismount(DEBUGFS):
        run("mount", "-t", "debugfs", "debugfs", DEBUGFS)
    run("modprobe", "bochs")
    wait_until("/dev/fb0", lambda: os.path.exists("/dev/fb0"))
    run("modprobe", "uinput")
    # The kernel log of this run only: what devns does starts here.
    run("dmesg", "--clear")
    insmod(DEVNS_KO)
    insmod(NOTIFIER_KO)


# ---------------------------------------------------------------- testcases

def testcase_module_loaded():
    st = os.stat("/dev/devns")
    check(st.st_mode & 0o777 == 0o600, "/dev/devns mode %o" % (st.st_mode & 0o777))
    check(os.path.exists("/dev/devns-fb0"), "no /dev/devns-fb0 over /dev/fb0")
    for f in ("namespaces", "stats", "fb", "leds", "backlights"):
        check(os.path.exists(DEBUGFS + "/devns/" + f), "no debugfs devns/" + f)
    ctl = Ctl()
    check(ctl.version() == 1, "ABI version %d" % ctl.version())
    ctl.close()
    log(read(DEBUGFS + "/devns/fb"))


def testcase_ctl_create_query_destroy():
    ctl = Ctl()
    a, b = containers("cq-a", "cq-b")
    try:
        ida = a.register(ctl)
        idb = b.register(ctl, "seat1")
        check(ida and idb and ida != idb, "ids %d %d" % (ida, idb))
        q = ctl.query(ida)
        check(q["name"] == "cq-a" and q["seat"] == "seat0" and q["active"] == 0,
              "query: %r" % q)
        check(q["leader"] == a.pid, "leader %d, expected %d" % (q["leader"], a.pid))
        ino = os.stat("/proc/%d/ns/pid" % a.pid).st_ino
        check(q["pidns"] == ino, "pidns %d, expected %d" % (q["pidns"], ino))
        names = [q["name"] for q in ctl.list()]
        check(names == ["cq-a", "cq-b"], "list: %r" % names)
        rows = {r[1]: r for r in debugfs_namespaces()}
        check(rows["cq-a"][2:4] == ["seat0", "0"] and rows["cq-b"][2] == "seat1",
              "debugfs: %r" % rows)

        ctl.activate(ida)
        check(ctl.query(ida)["active"] == 1, "not active after activate")
        check(ctl.query(0, QUERY_ACTIVE, "seat0")["id"] == ida, "QUERY_ACTIVE seat0")
        expect_errno(errno.ENOENT, ctl.query, 0, QUERY_ACTIVE, "seat1")
        check({r[1]: r[3] for r in debugfs_namespaces()}["cq-a"] == "1", "debugfs active flag")
        # One active namespace per seat; seats are independent.
        ctl.activate(idb, "seat1")
        check(ctl.query(ida)["active"] == 1 and ctl.query(idb)["active"] == 1, "two seats")
        ctl.activate(0)
        check(ctl.query(ida)["active"] == 0, "activate 0 left it active")
        expect_errno(errno.ENOENT, ctl.query, 0, QUERY_ACTIVE, "seat0")

        ctl.destroy(ida)
        expect_errno(errno.ENOENT, ctl.query, ida)
        expect_errno(errno.ENOENT, ctl.destroy, ida)
        # The same pid namespace can be bound again, under a new id.
        again = ctl.create("cq-a", a.pid)
        check(again not in (ida, idb), "id reused: %d" % again)
        ctl.destroy_all()
        check(ctl.list() == [], "left: %r" % ctl.list())
    finally:
        stop_all([a, b])
        ctl.close()


def testcase_ctl_errors():
    ctl = Ctl()
    a, b = containers("err-a", "err-b")
    try:
        ida = a.register(ctl)
        # Sizes: below version 1, above a page, a longer struct with a
        # non-zero tail, a longer one with a zero tail (accepted).
        expect_errno(errno.EINVAL, ctl.create, "e1", a.pid, "seat0", 0, 119)
        expect_errno(errno.EINVAL, ctl.create, "e1", a.pid, "seat0", 0, 0)
        expect_errno(errno.E2BIG, ctl.create, "e1", a.pid, "seat0", 0, 8192)
        expect_errno(errno.E2BIG, ctl.create, "e1", a.pid, "seat0", 0, 128, b"\0" * 4 + b"\1" + b"\0" * 3)
        expect_errno(errno.EEXIST, ctl.create, "e1", a.pid, "seat0", 0, 128, b"\0" * 8)
        expect_errno(errno.EINVAL, ctl.raw, IOC_DESTROY, struct.pack(DESTROY_FMT, 15, 0, ida, 0))
        expect_errno(errno.E2BIG, ctl.raw, IOC_DESTROY,
                     struct.pack(DESTROY_FMT, 20, 0, ida, 0) + b"\1\0\0\0")
        expect_errno(errno.EINVAL, ctl.raw, IOC_ACTIVATE, struct.pack(ACTIVATE_FMT, 47, 0, ida, 0, b"seat0"))
        expect_errno(errno.EINVAL, ctl.raw, IOC_QUERY, struct.pack(QUERY_FMT, 127, 0, ida, 0, 0, 0, b"", b""))
        # Flags, reserved fields, names, seats.
        expect_errno(errno.EINVAL, ctl.create, "e1", a.pid, "seat0", 4)
        for bad in ("", ".x", "-x", "a/b", "a b", "x" * 65):
            expect_errno(errno.EINVAL, ctl.create, bad, a.pid)
        for bad in ("", "seat 0", "seat.0", "s" * 32):
            expect_errno(errno.EINVAL, ctl.create, "e1", a.pid, bad)
        unterminated = struct.pack("<IIiI", 120, 0, a.pid, 0) + b"n" * 72 + b"seat0".ljust(32, b"\0")
        expect_errno(errno.EINVAL, ctl.raw, IOC_CREATE, unterminated)
        expect_errno(errno.EINVAL, ctl.destroy, ida, 1)
        expect_errno(errno.EINVAL, ctl.destroy, ida, 0, 1)
        expect_errno(errno.EINVAL, ctl.destroy, 0)
        expect_errno(errno.EINVAL, ctl.activate, ida, "seat0", 1)
        expect_errno(errno.EINVAL, ctl.activate, ida, "")
        expect_errno(errno.EINVAL, ctl.activate, ida, "seat1")  # not its seat
        expect_errno(errno.EINVAL, ctl.query, ida, 3)
        expect_errno(errno.EINVAL, ctl.query, 0)
        # Unknown ids, processes and pid namespaces.
        expect_errno(errno.ENOENT, ctl.destroy, 99999)
        expect_errno(errno.ENOENT, ctl.activate, 99999)
        expect_errno(errno.ENOENT, ctl.query, 99999)
        expect_errno(errno.EINVAL, ctl.create, "e1", 0)
        expect_errno(errno.EINVAL, ctl.create, "e1", -5)
        expect_errno(errno.ESRCH, ctl.create, "e1", 4000000)
        expect_errno(errno.EINVAL, ctl.create, "e1", os.getpid())  # the initial pid namespace
        expect_errno(errno.EEXIST, ctl.create, "err-a", b.pid)   # name taken
        expect_errno(errno.EEXIST, ctl.create, "other", a.pid)  # pid namespace taken
        expect_errno(errno.EBADF, ctl.create, "e1", 999, "seat0", CREATE_PIDFD)
        expect_errno(errno.EBADF, ctl.create, "e1", ctl.fd, "seat0", CREATE_PIDFD)
        # Bad pointers and unknown commands.
        for ptr in (0, 1, 0xdeadbeef000, 0xffff888000000000):
            for cmd in (IOC_CREATE, IOC_DESTROY, IOC_ACTIVATE, IOC_QUERY):
                expect_errno(errno.EFAULT, ioctl_ptr, ctl.fd, cmd, ptr)
        expect_errno(errno.ENOTTY, fcntl.ioctl, ctl.fd, _ioc(3, 9, 16), 0)
        expect_errno(errno.ENOTTY, fcntl.ioctl, ctl.fd, _ioc(3, 1, 64), 0)
        check([q["name"] for q in ctl.list()] == ["err-a"], "left: %r" % ctl.list())
        ctl.destroy(ida)
    finally:
        stop_all([a, b])
        ctl.close()


def testcase_ctl_pidfd():
    ctl = Ctl()
    (a,) = containers("pidfd-a")
    try:
        pfd = os.pidfd_open(a.pid)
        nsid = ctl.create("pidfd-a", pfd, "seat0", CREATE_PIDFD)
        os.close(pfd)
        check(ctl.query(nsid)["leader"] == a.pid, "bound the wrong pid namespace")
        ctl.destroy(nsid)
    finally:
        a.stop()
        ctl.close()


def testcase_ctl_non_root():
    ctl = Ctl()
    (a,) = containers("nonroot-a")
    try:
        nsid = a.register(ctl)
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                os.setgroups([])
                os.setgid(65534)
                os.setuid(65534)   # drops every capability
                try:
                    os.open("/dev/devns", os.O_RDWR)
                    os._exit(10)
                except OSError as e:
                    if e.errno not in (errno.EACCES, errno.EPERM):
                        os._exit(11)
                # An open file handed over is no help either.
                for cmd, buf in ((IOC_ACTIVATE, struct.pack(ACTIVATE_FMT, 48, 0, nsid, 0, b"seat0")),
                                 (IOC_DESTROY, struct.pack(DESTROY_FMT, 16, 0, nsid, 0)),
                                 (IOC_QUERY, struct.pack(QUERY_FMT, 128, 0, nsid, 0, 0, 0, b"", b"")),
                                 (IOC_CREATE, struct.pack(CREATE_FMT, 120, 0, a.pid, 0, b"x", b"seat0"))):
                    try:
                        fcntl.ioctl(ctl.fd, cmd, bytearray(buf), True)
                        os._exit(12)
                    except OSError as e:
                        if e.errno != errno.EPERM:
                            os._exit(13)
                try:
                    fcntl.ioctl(ctl.fd, IOC_VERSION)
                    os._exit(14)
                except OSError as e:
                    if e.errno != errno.EPERM:
                        os._exit(15)
                code = 0
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        check(os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0,
              "non-root child: status %d" % status)
        check(ctl.query(nsid)["active"] == 0, "a non-root caller changed state")
        ctl.destroy(nsid)
    finally:
        a.stop()
        ctl.close()


def testcase_pidns_exit_destroys():
    ctl = Ctl()
    (a,) = containers("exit-a")
    before = int(notifier_param("destructions"))
    nsid = a.register(ctl)
    ctl.activate(nsid)
    os.kill(a.pid, 9)
    a.proc.wait(timeout=60)

    def gone():
        try:
            ctl.query(nsid)
            return False
        except OSError as e:
            return e.errno == errno.ENOENT
    wait_until("the namespace of an ended pid namespace to go", gone, timeout=30)
    check(int(notifier_param("destructions")) == before + 1, "no destroy event")
    check(all(r[1] != "exit-a" for r in debugfs_namespaces()), "still in debugfs")
    expect_errno(errno.ENOENT, ctl.query, 0, QUERY_ACTIVE, "seat0")
    # A pid namespace whose init is already gone cannot be bound.
    b = Container("exit-b")
    pid = b.pid
    os.kill(pid, 9)
    b.proc.wait(timeout=60)
    expect_errno(errno.ESRCH, ctl.create, "exit-b", pid)
    ctl.close()


def testcase_notifier_events():
    ctl = Ctl()
    a, b = containers("nt-a", "nt-b")
    try:
        c0 = int(notifier_param("creations"))
        ida, idb = a.register(ctl), b.register(ctl)
        check(int(notifier_param("creations")) == c0 + 2, "creations")
        act0, deact0 = int(notifier_param("activations")), int(notifier_param("deactivations"))
        ctl.activate(ida)
        ctl.activate(ida)   # already active: no event
        ctl.activate(idb)
        check(int(notifier_param("activations")) == act0 + 2, "activations %s" % notifier_param("activations"))
        check(int(notifier_param("deactivations")) == deact0 + 1, "deactivations")
        check(notifier_param("last_activated") == "nt-b", "last activated")
        check(notifier_param("last_deactivated") == "nt-a", "last deactivated")
        # devns_get_current() and devns_is_active() as the namespaces see them.
        path = DEBUGFS + "/devns-notifier-test/current"
        check(a.cmd("cat " + path) == "nt-a seat0 %d 0" % ida, "current in a: " + a.cmd("cat " + path))
        check(b.cmd("cat " + path) == "nt-b seat0 %d 1" % idb, "current in b")
        check(read(path) == "none", "current on the host: " + read(path))
        d0 = int(notifier_param("destructions"))
        ctl.destroy(idb)   # active: deactivate, then destroy
        check(int(notifier_param("deactivations")) == deact0 + 2, "no deactivate on destroy")
        check(int(notifier_param("destructions")) == d0 + 1, "destructions")
        ctl.destroy(ida)
    finally:
        stop_all([a, b])
        ctl.close()


def testcase_nested_pid_namespace():
    """A process in a pid namespace below a registered one belongs to it."""
    ctl = Ctl()
    (a,) = containers("nest-a")
    try:
        nsid = a.register(ctl)
        path = DEBUGFS + "/devns-notifier-test/current"
        out = run("nsenter", "-t", str(a.pid), "-p", "--", "unshare", "--pid", "--fork",
                  "cat", path).stdout.strip()
        check(out == "nest-a seat0 %d 0" % nsid, "nested: %r" % out)
        ctl.destroy(nsid)
    finally:
        a.stop()
        ctl.close()


def fb_info(c):
    xres, yres, bpp, line, smem, ro, go, bo, yv = (int(x) for x in c.cmd("info").split())
    return {"xres": xres, "yres": yres, "bpp": bpp, "line": line, "smem": smem, "yres_virtual": yv}


def testcase_fb_refuses_outsiders():
    try:
        os.open("/dev/devns-fb0", os.O_RDWR)
    except OSError as e:
        check(e.errno == errno.EPERM, "open from the host: %s" % errno.errorcode[e.errno])
        return
    raise TestFailure("a process in no namespace opened /dev/devns-fb0")


def testcase_fb_switch_screen():
    ctl = Ctl()
    a, b = containers("fb-a", "fb-b")
    try:
        ida, idb = a.register(ctl), b.register(ctl)
        ctl.activate(ida)
        a.cmd("open")
        info = fb_info(a)
        log("devns-fb0: %r" % info)
        check(info["bpp"] == 32 and info["xres"] > 0, "fb geometry %r" % info)
        check(info["smem"] >= info["line"] * info["yres"], "buffer smaller than the screen")
        # a draws by write() while active.
        a.cmd("write c03020")
        expect_screen("fb-1-a-write.png", "c03020")
        # b draws through a mapping while in the background: not shown.
        b.cmd("open")
        b.cmd("mmap")
        b.cmd("fill 20a040")
        check(b.cmd("peek") == "20a040 20a040", "b's buffer")
        screen_is("fb-2-b-background.png", "c03020")
        # Switch: b's picture, drawn in the background, is shown.
        ctl.activate(idb)
        expect_screen("fb-3-switch-to-b.png", "20a040")
        # b's mapping keeps working while active (periodic flush).
        b.cmd("fill 3050d0")
        expect_screen("fb-4-b-mapped-draw.png", "3050d0")
        # a writes in the background: its buffer only.
        a.cmd("write e0c020")
        check(a.cmd("peek") == "e0c020", "a's buffer")
        screen_is("fb-5-a-background.png", "3050d0")
        ctl.activate(ida)
        expect_screen("fb-6-switch-to-a.png", "e0c020")
        # b's old mapping still reaches b's buffer after two switches.
        b.cmd("fill 9020b0")
        check(b.cmd("peek") == "9020b0 9020b0", "b's mapping after switches")
        screen_is("fb-7-b-background-again.png", "e0c020")
        ctl.activate(idb)
        expect_screen("fb-8-back-to-b.png", "9020b0")
        # Panning a buffer with one screen only: refused.
        check(a.try_cmd("pan 1") == errno.EINVAL, "pan past the virtual screen")
        check(a.try_cmd("ioctl 4605") == errno.ENOTTY, "unknown fb ioctl")  # FBIOPUTCMAP
        log(read(DEBUGFS + "/devns/fb"))
        ctl.destroy(idb)
        # The buffer outlives the namespace while mapped; the file is dead.
        check(b.try_cmd("info") == errno.ENODEV, "file of a destroyed namespace")
        ctl.destroy(ida)
    finally:
        stop_all([a, b])
        ctl.close()


def kbd_capslock():
    for led in sorted(glob.glob("/sys/class/leds/input*::capslock")):
        try:
            if read(led + "/device/name") == KBD_NAME:
                return os.path.basename(led)
        except OSError:
            pass
    return None


def testcase_led_capslock():
    real = wait_until("the PS/2 keyboard's capslock LED", kbd_capslock, timeout=30)
    log("real LED: %s" % real)
    rpath = "/sys/class/leds/%s/" % real
    write(rpath + "trigger", "none")   # no keyboard state changes it behind our back
    write(rpath + "brightness", 0)
    ctl = Ctl()
    a, b = containers("la", "lb")
    try:
        ida, idb = a.register(ctl), b.register(ctl)
        sa = "/sys/class/leds/devns-la-%s/" % real
        sb = "/sys/class/leds/devns-lb-%s/" % real
        check(os.path.isdir(sa) and os.path.isdir(sb), "no shadows: %r" %
              sorted(os.listdir("/sys/class/leds")))
        check(read(sa + "max_brightness") == read(rpath + "max_brightness"), "max_brightness")
        ctl.activate(ida)
        # b is in the background: its write is kept, the real LED untouched.
        write(sb + "brightness", 1)
        check(read(sb + "brightness") == "1", "shadow value")
        check(read(rpath + "brightness") == "0", "a background write reached the real LED")
        check("shadow devns-lb-%s of %s kept 1 written 1" % (real, real) in
              read(DEBUGFS + "/devns/leds"), "kept value: " + read(DEBUGFS + "/devns/leds"))
        ctl.activate(idb)
        check(read(rpath + "brightness") == "1", "the kept value was not applied on switch")
        # The active namespace writes through.
        write(sb + "brightness", 0)
        check(read(rpath + "brightness") == "0", "an active write did not reach the real LED")
        write(sa + "brightness", 1)
        check(read(rpath + "brightness") == "0", "background write of a")
        ctl.activate(ida)
        check(read(rpath + "brightness") == "1", "a's kept value not applied")
        ctl.destroy(ida)
        ctl.destroy(idb)
        check(not os.path.exists(sa) and not os.path.exists(sb), "shadows outlived namespaces")
        check(read(rpath + "brightness") == "1", "unregistering a shadow changed the real LED")
        write(rpath + "brightness", 0)
    finally:
        stop_all([a, b])
        ctl.close()


UI_SET_EVBIT = 0x40045564
UI_SET_LEDBIT = 0x40045569
UI_SET_KEYBIT = 0x40045565
UI_DEV_CREATE = 0x5501
UI_DEV_DESTROY = 0x5502
UI_DEV_SETUP = 0x405c5503


def uinput_led_device(name):
    fd = os.open("/dev/uinput", os.O_RDWR | os.O_NONBLOCK)
    fcntl.ioctl(fd, UI_SET_EVBIT, 0x01)   # EV_KEY
    fcntl.ioctl(fd, UI_SET_KEYBIT, 30)    # KEY_A
    fcntl.ioctl(fd, UI_SET_EVBIT, 0x11)   # EV_LED
    fcntl.ioctl(fd, UI_SET_LEDBIT, 1)     # LED_CAPSL
    setup = struct.pack("<HHHH80sI", 0x03, 0x1234, 0x5678, 1, name.encode(), 0)
    fcntl.ioctl(fd, UI_DEV_SETUP, setup)
    fcntl.ioctl(fd, UI_DEV_CREATE)
    return fd


def testcase_led_hotplug():
    ctl = Ctl()
    (a,) = containers("hp")
    fd = -1
    try:
        nsid = a.register(ctl)
        fd = uinput_led_device("devns-test-leds")

        def real_led():
            for led in glob.glob("/sys/class/leds/input*::capslock"):
                try:
                    if read(led + "/device/name") == "devns-test-leds":
                        return os.path.basename(led)
                except OSError:
                    pass
            return None
        real = wait_until("the uinput device's LED", real_led, timeout=30)
        shadow = "/sys/class/leds/devns-hp-" + real
        wait_until("a shadow of a LED that appeared later", lambda: os.path.isdir(shadow), timeout=30)
        fcntl.ioctl(fd, UI_DEV_DESTROY)
        os.close(fd)
        fd = -1
        wait_until("the shadow of a vanished LED to go", lambda: not os.path.exists(shadow), timeout=30)
        check(real not in read(DEBUGFS + "/devns/leds"), "the real LED is still followed")
        ctl.destroy(nsid)
    finally:
        if fd >= 0:
            os.close(fd)
        a.stop()
        ctl.close()


def fake_param(name):
    return int(read("/sys/module/devns_fake_backlight/parameters/" + name))


def testcase_backlight_fake():
    ctl = Ctl()
    a, b = containers("ba", "bb")
    try:
        ida, idb = a.register(ctl), b.register(ctl)
        ctl.activate(ida)
        # The real device appears after the namespaces: followed.
        insmod(BACKLIGHT_KO)
        real = "/sys/class/backlight/devns-fake/"
        sa = "/sys/class/backlight/devns-ba-devns-fake/"
        sb = "/sys/class/backlight/devns-bb-devns-fake/"
        wait_until("backlight shadows", lambda: os.path.isdir(sa) and os.path.isdir(sb), timeout=30)
        check(read(sb + "max_brightness") == "100", "max_brightness of the shadow")
        updates = fake_param("updates")
        write(sb + "brightness", 80)
        check(read(sb + "brightness") == "80", "shadow value")
        check(fake_param("updates") == updates and read(real + "brightness") == "50",
              "a background write reached the real backlight")
        ctl.activate(idb)
        check(fake_param("value") == 80 and read(real + "brightness") == "80",
              "kept value not applied on switch: value %d" % fake_param("value"))
        write(sb + "brightness", 30)
        check(fake_param("value") == 30, "active write did not reach the real backlight")
        write(sa + "brightness", 70)
        check(fake_param("value") == 30, "background write of a")
        ctl.activate(ida)
        check(fake_param("value") == 70, "a's kept value not applied")
        # The real device goes away: so do its shadows.
        run("rmmod", "devns_fake_backlight")
        wait_until("shadows of a vanished backlight to go",
                   lambda: not os.path.exists(sa) and not os.path.exists(sb), timeout=30)
        ctl.destroy(ida)
        ctl.destroy(idb)
    finally:
        stop_all([a, b])
        ctl.close()


def module_stats():
    return {k: int(v) for k, v in (line.split() for line in read(DEBUGFS + "/devns/stats").splitlines())}


def measure_switches(ctl, ids, n=200):
    """n activations alternating between ids: (user-space times, module avg)."""
    before = module_stats()
    times = []
    for i in range(n):
        t0 = time.perf_counter_ns()
        ctl.activate(ids[i % 2])
        times.append(time.perf_counter_ns() - t0)
    after = module_stats()
    times.sort()
    inner = (after["total_ns"] - before["total_ns"]) / max(after["switches"] - before["switches"], 1)
    return ("median %.3f ms, p90 %.3f ms, max %.3f ms from user space; %.3f ms on average "
            "in the module" % (statistics.median(times) / 1e6, times[int(n * 0.9)] / 1e6,
                               times[-1] / 1e6, inner / 1e6))


def testcase_switch_cost():
    """What a switch costs: the activate ioctl, from call to return."""
    ctl = Ctl()
    a, b = containers("cost-a", "cost-b")
    try:
        ida, idb = a.register(ctl), b.register(ctl)
        lines = ["switch without framebuffer users (notifiers, LED and backlight shadows): "
                 + measure_switches(ctl, (ida, idb))]
        for c, colour in ((a, "404040"), (b, "808080")):
            c.cmd("open")
            c.cmd("mmap")
            c.cmd("fill " + colour)
        lines.append("switch with both namespaces drawing on /dev/devns-fb0 (full picture copied): "
                     + measure_switches(ctl, (ida, idb)))
        fb = read(DEBUGFS + "/devns/fb").splitlines()[0]
        buf = int(re.search(r"buffer_bytes (\d+)", fb).group(1))
        geo = re.search(r"(\d+x\d+) (\d+)bpp", fb)
        lines.append("framebuffer memory per namespace: %d bytes (%.2f MiB) for %s at %s bpp, "
                     "plus one copy of the screen per real framebuffer"
                     % (buf, buf / 2**20, geo.group(1), geo.group(2)))
        for line in lines:
            log(line)
        with open(os.path.join(OUT, "switch-cost.txt"), "w") as f:
            f.write("\n".join(lines) + "\n")
        ctl.activate(0)
        ctl.destroy(ida)
        ctl.destroy(idb)
    finally:
        stop_all([a, b])
        ctl.close()


def testcase_fuzz_ioctls():
    """10,000 random ioctls on /dev/devns, then 3,000 random requests on
    /dev/devns-fb0: errors, never an oops."""
    ctl = Ctl()
    cs = containers("fz-a", "fz-b")
    try:
        for c in cs:
            c.register(ctl)
        rng = random.Random(int(os.environ.get("DEVNS_FUZZ_SEED", "1")))
        valid = (IOC_VERSION, IOC_CREATE, IOC_DESTROY, IOC_ACTIVATE, IOC_QUERY)
        pids = [c.pid for c in cs] + [os.getpid(), 1, 0, -1, 4000000]
        sizes = [0, 1, 4, 15, 16, 47, 48, 119, 120, 127, 128, 200, 4096, 4097, 0xffffffff]
        results = {}
        for i in range(10000):
            r = rng.random()
            if r < 0.6:
                cmd = rng.choice(valid)
            else:
                cmd = _ioc(rng.randrange(4), rng.randrange(16), rng.randrange(1 << 14))
            kind = rng.random()
            if kind < 0.15:
                arg = rng.choice((0, 1, 0xdeadbeef000, 0xffff888000000000, (1 << 64) - 1,
                                  rng.getrandbits(64)))
            else:
                size = rng.choice(sizes) if rng.random() < 0.8 else rng.randrange(1 << 32)
                body = bytearray(rng.getrandbits(8) for _ in range(rng.choice((8, 16, 48, 120, 128, 300))))
                if rng.random() < 0.7:
                    body = bytearray(len(body))   # mostly zero: gets further
                    if len(body) >= 16:
                        struct.pack_into("<IIiI", body, 0, 0, rng.choice((0, 0, 1, 2, 3)),
                                         rng.choice(pids), rng.randrange(6))
                    if len(body) >= 48 and rng.random() < 0.8:
                        body[16:22] = rng.choice((b"seat0\0", b"seat1\0", b"fz-c\0\0", b"\xff" * 6))
                    if len(body) >= 120 and rng.random() < 0.8:
                        body[88:94] = b"seat0\0"
                struct.pack_into("<I", body, 0, size)
                arg = body
            try:
                if isinstance(arg, int):
                    ioctl_ptr(ctl.fd, cmd, arg)
                else:
                    fcntl.ioctl(ctl.fd, cmd, arg, True)
                e = 0
            except OSError as ex:
                e = ex.errno
            results[e] = results.get(e, 0) + 1
        log("fuzz results by errno: %s" % ", ".join(
            "%s %d" % (errno.errorcode.get(k, k), v) for k, v in sorted(results.items())))
        # And random requests on /dev/devns-fb0 of the active namespace.
        a = cs[0]
        ctl.destroy_all()
        a.register(ctl)
        ctl.activate(a.id)
        a.cmd("open")
        a.cmd("mmap")
        log("fb fuzz results by errno: %s" % a.cmd("fuzz 3000 %d" % rng.randrange(1000)))
        a.cmd("close")
        ctl.destroy_all()
        check(ctl.list() == [], "namespaces left after cleanup")
    finally:
        stop_all(cs)
        ctl.close()


def testcase_unload():
    ctl = Ctl()
    (a,) = containers("un-a")
    try:
        a.register(ctl)
        ctl.close()
        # Another module uses devns's symbols: refused.
        r = run("rmmod", "devns", check_rc=False)
        check(r.returncode != 0 and loaded("devns"), "rmmod with a user of the API")
        run("rmmod", "devns_notifier_test")
        # An open /dev/devns-fb0 (mapped) holds the module: refused.
        a.cmd("open")
        a.cmd("mmap")
        r = run("rmmod", "devns", check_rc=False)
        check(r.returncode != 0 and loaded("devns"), "rmmod with an open framebuffer")
        a.cmd("close")
        # With a namespace still registered: unloaded, cleaned up.
        run("rmmod", "devns")
        check(not os.path.exists("/dev/devns") and not os.path.exists("/dev/devns-fb0"),
              "nodes left after unload")
        check(not glob.glob("/sys/class/leds/devns-*") and not glob.glob("/sys/class/backlight/devns-*"),
              "shadows left after unload")
        # Load again, with a backlight that exists before the module.
        insmod(BACKLIGHT_KO)
        insmod(DEVNS_KO)
        insmod(NOTIFIER_KO)
        ctl = Ctl()
        nsid = a.register(ctl)
        wait_until("a shadow of a backlight present at load",
                   lambda: os.path.isdir("/sys/class/backlight/devns-un-a-devns-fake"), timeout=30)
        ctl.destroy(nsid)
        run("rmmod", "devns_fake_backlight")
    finally:
        a.stop()
        try:
            ctl.close()
        except OSError:
            pass


WARN_RE = re.compile(r"WARNING:|BUG:|Oops|Call Trace|general protection|RIP:|"
                     r"refcount_t|list_(add|del) corruption|UBSAN|KASAN|"
                     r"blocked for more than|circular locking|scheduling while atomic|"
                     r"sleeping function called|bad page|leak", re.I)


def testcase_dmesg_clean():
    log_text = run("dmesg").stdout
    with open(os.path.join(OUT, "dmesg.txt"), "w") as f:
        f.write(log_text)
    bad = [line for line in log_text.splitlines() if WARN_RE.search(line)]
    check(not bad, "kernel log has warnings:\n" + "\n".join(bad[:20]))


ORDER = [
    "testcase_module_loaded",
    "testcase_ctl_create_query_destroy",
    "testcase_ctl_errors",
    "testcase_ctl_pidfd",
    "testcase_ctl_non_root",
    "testcase_pidns_exit_destroys",
    "testcase_notifier_events",
    "testcase_nested_pid_namespace",
    "testcase_fb_refuses_outsiders",
    "testcase_fb_switch_screen",
    "testcase_led_capslock",
    "testcase_led_hotplug",
    "testcase_backlight_fake",
    "testcase_switch_cost",
    "testcase_fuzz_ioctls",
    "testcase_unload",
    "testcase_dmesg_clean",
]


def main():
    setup()
    # The kernel log of whatever ran is always checked, last.
    names = testcase_order([n for n in ORDER if n != "testcase_dmesg_clean"])
    names.append("testcase_dmesg_clean")
    passed = failed = 0
    for i, name in enumerate(names, 1):
        t0 = time.monotonic()
        try:
            globals()[name]()
            passed += 1
            print("ok %d %s (%.1fs)" % (i, name[len("testcase_"):], time.monotonic() - t0), flush=True)
        except Exception:
            failed += 1
            traceback.print_exc()
            print("not ok %d %s" % (i, name[len("testcase_"):]), flush=True)
    print("%d passed, %d failed" % (passed, failed), flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
