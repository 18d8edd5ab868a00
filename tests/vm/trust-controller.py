#!/usr/bin/env python3
"""A compositor stand-in for the reliability tests: it controls its
container's session on the endpoint (/run/devns/bus) through trust-wire.py
and follows PauseDevice/ResumeDevice, answering pauses or not.

  trust-controller.py [--silent] [--address PATH] DEVICE...
      DEVICE is MAJ:MIN, or "auto" for every card and evdev device of the
      seat. Takes control and the devices, prints "ready", then serves
      stdin until it closes.
  trust-controller.py forker
      Serves "spawn [--silent] DEVICE..." (forks a controller as above,
      prints "spawned PID", PID as the container sees it), "to LINE"
      (a line for the last spawned controller's stdin) and "reap".

Events (one line each, flushed):
  ready
  pause MAJ:MIN TYPE     TYPE pause (answered unless --silent), force, gone
  resume MAJ:MIN
Commands:
  status        -> status drm_master=<0|1|-> evdev=<live|revoked|mixed|none>
                   held=N   (read after every queued signal was handled)
  take MAJ:MIN  -> took MAJ:MIN inactive=<0|1> | error take MAJ:MIN NAME
  release MAJ:MIN -> released MAJ:MIN | error release MAJ:MIN NAME
  ping          -> pong
  quit          ReleaseControl and exit
"""
import errno
import fcntl
import importlib.util
import os
import select
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("trust_wire", os.path.join(HERE, "trust-wire.py"))
wire = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wire)

SOCKET = "/run/devns/bus"
SELF = "/org/devns/broker1/container/self"
CONTAINER = "org.devns.broker1.Container"
SEAT = "org.devns.broker1.Seat"
PROPS = "org.freedesktop.DBus.Properties"
DRM_MAJOR = 226

DRM_IOCTL_AUTH_MAGIC = 0x40046411
EVIOCGVERSION = 0x80044501


def say(line):
    os.write(1, (line + "\n").encode())


def fd_live(fd, drm):
    """DRM: master (authenticating magic 0 needs it); evdev: not revoked."""
    try:
        if drm:
            fcntl.ioctl(fd, DRM_IOCTL_AUTH_MAGIC, struct.pack("I", 0))
        else:
            fcntl.ioctl(fd, EVIOCGVERSION, b"\0" * 4)
        return True
    except OSError as e:
        return drm and e.errno != errno.EACCES


def close_quietly(fd):
    try:
        os.close(fd)
    except OSError:
        pass


class Controller:
    def __init__(self, address, ack):
        self.conn = wire.Connection(address)
        self.ack = ack
        self.devs = {}  # (major, minor) -> fd

    def call(self, member, sig="", args=()):
        m = self.conn.call(None, SELF, CONTAINER, member, sig, args)
        self.dispatch()
        return m

    def get(self, path, iface, name):
        m = self.conn.call(None, path, PROPS, "Get", "ss", [iface, name])
        if m.type != wire.METHOD_RETURN:
            raise wire.WireError(f"Get {name}: {m.error_name}")
        return m.args()[0][1]

    def handle(self, m):
        if m.type != wire.SIGNAL or m.fields.get(wire.F_INTERFACE) != CONTAINER:
            m.close_fds()
            return
        if m.member == "PauseDevice":
            ma, mi, kind = m.args()
            key = (ma, mi)
            if kind == "gone":
                fd = self.devs.pop(key, None)
                if fd is not None:
                    close_quietly(fd)
            elif kind == "pause" and self.ack and key in self.devs:
                self.conn.send_call(None, SELF, CONTAINER, "PauseDeviceComplete", "uu",
                                    [ma, mi], flags=wire.NO_REPLY_EXPECTED)
            say(f"pause {ma}:{mi} {kind}")
        elif m.member == "ResumeDevice":
            ma, mi, fd = m.args()
            key = (ma, mi)
            old = self.devs.get(key)
            if key in self.devs and fd >= 0:
                self.devs[key] = fd
                if old is not None and old != fd:
                    close_quietly(old)
                m.fds = [x for x in m.fds if x != fd]
            m.close_fds()
            say(f"resume {ma}:{mi}")
        else:
            m.close_fds()

    def dispatch(self, block=False):
        """Handles every message that is there (at least one if block)."""
        while True:
            m = self.conn.recv(block)
            if m is None:
                return
            self.handle(m)
            block = False

    def take(self, ma, mi):
        m = self.call("TakeDevice", "uu", [ma, mi])
        if m.type != wire.METHOD_RETURN:
            return m.error_name
        fd, inactive = m.args()
        m.fds = [x for x in m.fds if x != fd]
        m.close_fds()
        self.devs[(ma, mi)] = fd
        return bool(inactive)

    def release(self, ma, mi):
        m = self.call("ReleaseDevice", "uu", [ma, mi])
        fd = self.devs.pop((ma, mi), None)
        if fd is not None:
            close_quietly(fd)
        return None if m.type == wire.METHOD_RETURN else m.error_name

    def seat_devices(self):
        seat_path = self.get(SELF, CONTAINER, "Seat")[1]
        return [(str(n), ma, mi, t) for n, ma, mi, t in self.get(seat_path, SEAT, "Devices")]

    def status(self):
        self.dispatch()
        master = "-"
        live = []
        for (ma, mi), fd in sorted(self.devs.items()):
            if ma == DRM_MAJOR:
                master = "1" if fd_live(fd, True) else "0"
            else:
                live.append(fd_live(fd, False))
        evdev = ("none" if not live else "live" if all(live) else
                 "revoked" if not any(live) else "mixed")
        return f"status drm_master={master} evdev={evdev} held={len(self.devs)}"


def parse_dev(s):
    ma, mi = s.split(":")
    return int(ma), int(mi)


def command(ctl, line):
    words = line.split()
    if not words:
        return True
    if words[0] == "status":
        say(ctl.status())
    elif words[0] == "ping":
        ctl.dispatch()
        say("pong")
    elif words[0] == "take":
        ma, mi = parse_dev(words[1])
        r = ctl.take(ma, mi)
        say(f"took {ma}:{mi} inactive={int(r)}" if isinstance(r, bool)
            else f"error take {ma}:{mi} {r}")
    elif words[0] == "release":
        ma, mi = parse_dev(words[1])
        r = ctl.release(ma, mi)
        say(f"released {ma}:{mi}" if r is None else f"error release {ma}:{mi} {r}")
    elif words[0] == "quit":
        return False
    else:
        say(f"error unknown command: {line}")
    return True


def controller_main(args):
    ack = True
    address = SOCKET
    while args and args[0].startswith("--"):
        opt = args.pop(0)
        if opt == "--silent":
            ack = False
        elif opt == "--address":
            address = args.pop(0)
    ctl = Controller(address, ack)
    m = ctl.call("TakeControl", "b", [False])
    if m.type != wire.METHOD_RETURN:
        say(f"error TakeControl {m.error_name}")
        return 1
    wanted = []
    for a in args:
        if a == "auto":
            wanted += [(ma, mi) for n, ma, mi, t in ctl.seat_devices()
                       if n.startswith("card") or t == "evdev"]
        else:
            wanted.append(parse_dev(a))
    for ma, mi in wanted:
        r = ctl.take(ma, mi)
        if not isinstance(r, bool):
            say(f"error take {ma}:{mi} {r}")
            return 1
    say("ready")
    buf = b""
    try:
        while True:
            ctl.dispatch()  # what a call left read but not handled
            r, _, _ = select.select([0, ctl.conn], [], [])
            if ctl.conn in r:
                ctl.dispatch(block=True)
            if 0 in r:
                data = os.read(0, 4096)
                if not data:
                    break
                buf += data
                while b"\n" in buf:
                    line, buf = buf.split(b"\n", 1)
                    if not command(ctl, line.decode()):
                        ctl.call("ReleaseControl")
                        return 0
    except wire.Closed:
        say("closed")
        return 1
    return 0


def forker_main():
    """Forks controllers on request, so that a test can kill one and start
    the next without paying for a new interpreter each time."""
    children = {}
    last = None
    buf = b""
    while True:
        data = os.read(0, 4096)
        if not data:
            break
        buf += data
        while b"\n" in buf:
            line, buf = buf.split(b"\n", 1)
            words = line.decode().split(" ", 1)
            while children:
                try:
                    pid, _ = os.waitpid(-1, os.WNOHANG)
                except ChildProcessError:
                    break
                if pid == 0:
                    break
                fd = children.pop(pid, None)
                if fd is not None:
                    close_quietly(fd)
            if words[0] == "spawn":
                r, w = os.pipe()
                pid = os.fork()
                if pid == 0:
                    os.dup2(r, 0)
                    os.close(r)
                    os.close(w)
                    for fd in children.values():
                        close_quietly(fd)
                    code = 1
                    try:
                        code = controller_main(words[1].split() if len(words) > 1 else [])
                    except Exception as e:  # reported, not raised: it is a child
                        say(f"error {type(e).__name__}: {e}")
                    os._exit(code)
                os.close(r)
                children[pid] = w
                last = pid
                say(f"spawned {pid}")
            elif words[0] == "to" and last in children:
                try:
                    os.write(children[last], (words[1] + "\n").encode())
                except BrokenPipeError:
                    pass
            elif words[0] == "reap":
                say("reaped")
    for fd in children.values():
        close_quietly(fd)
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["forker"]:
        sys.exit(forker_main())
    sys.exit(controller_main(sys.argv[1:]))
