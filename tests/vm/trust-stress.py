#!/usr/bin/env python3
"""A hostile client: random calls at the broker, as many as asked, then a
JSON summary on stdout.

  trust-stress.py --target endpoint [--socket PATH] [--name NAME]
      the container's D-Bus endpoint (default /run/devns/bus), from inside
      the container: every member of every object it serves, with wrong
      types, wrong values, unknown members and interfaces, huge strings,
      bad object paths, headers that lie, fds where none belong, garbage;
      TakeControl/ReleaseControl storms over several connections; a
      connection that floods calls without reading a reply.
  trust-stress.py --target seatd [--socket PATH]
      the seatd socket (default /run/devns/seatd.sock): random and broken
      seatd messages, with and without fds.
  trust-stress.py --target system [--socket PATH] [--others NAME,...]
      the system bus: random calls at org.devns.broker1. As root only calls
      that cannot be authorised changes (invalid or unknown names, seats
      and pids); as any other user everything, on every object, the
      containers NAME,... included (they must all be refused).

  trust-stress.py --target invalid-fds | fds-after-begin [--socket PATH]
      N invalid messages carrying 100 fds each; N connections whose first
      message carries an fd and comes in one write with BEGIN.

  trust-stress.py --target flood --device MAJ:MIN [--socket PATH]
      N TakeDevice/ReleaseDevice pairs for one keyboard without reading a
      reply; prints {"sent": n} and stays connected until stdin closes.

  --calls N       messages to send (default 10000)
  --deadline SEC  stop after this long even if not done (default 600)
  --seed N        random seed (default 1)

Summary: {"target", "calls", "replies", "errors": {name: n}, "no_reply",
"disconnects", "connections", "kinds": {kind: n}, "seconds", "done"}.
"no_reply" counts calls that got no answer within 20 s on a connection that
stayed up: the broker never answers only when it hangs.
"""
import argparse
import importlib.util
import json
import os
import random
import signal
import socket
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
_spec = importlib.util.spec_from_file_location("trust_wire", os.path.join(HERE, "trust-wire.py"))
wire = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(wire)

BUS_NAME = "org.devns.broker1"
MANAGER_PATH = "/org/devns/broker1"
MANAGER = "org.devns.broker1.Manager"
SEAT = "org.devns.broker1.Seat"
CONTAINER = "org.devns.broker1.Container"
SELF = "/org/devns/broker1/container/self"
PROPS = "org.freedesktop.DBus.Properties"
INTRO = "org.freedesktop.DBus.Introspectable"
PEER = "org.freedesktop.DBus.Peer"
DRIVER = "org.freedesktop.DBus"
REPLY_TIMEOUT = float(os.environ.get("TRUST_REPLY_TIMEOUT", "20"))

R = random.Random()
STOP = []  # set by SIGTERM: finish the current batch, print the summary


# ---------------------------------------------------------------- values

def u32():
    return R.choice([0, 1, 2, 3, 64, 226, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                     R.getrandbits(8), R.getrandbits(16), R.getrandbits(32)])


def devnum():
    """A (major, minor) worth asking for: the seat's cards and keyboards,
    render nodes, memory devices, disks, consoles, uinput, nonsense."""
    return R.choice([
        (226, 0), (226, 1), (226, 128), (226, 255), (13, R.randrange(64, 96)),
        (13, R.randrange(0, 1024)), (1, 1), (1, 3), (1, 5), (1, 8), (1, 9), (4, 0), (4, 1),
        (5, 0), (5, 1), (5, 2), (7, 0), (10, 223), (10, 229), (29, 0), (254, 0), (253, 0),
        (0, 0), (u32(), u32()), (R.getrandbits(12), R.getrandbits(20)),
    ])


def name():
    return R.choice([
        "", "a", "self", "alpha", "beta", "hostile", "seat0", "web-1", "_x", ".x", "-x",
        "bad/name", "..", ".", "x" * 64, "x" * 65, "sp ace", "\u00fcn\u00ef", "a\nb",
        "trustnx-%d" % R.getrandbits(16), "%s", "%n%n%n", "../../etc/passwd",
        "".join(R.choice("abcXYZ019_.-/ \t") for _ in range(R.randrange(0, 80))),
    ])


def seat_id():
    return R.choice(["", "seat0", "seat1", "seat", "seat-", "seatX", "seat/0", "seat0 ",
                     "SEAT0", "x" * 300, "seat" + "0" * 70, name()])


def big_string():
    n = R.choice([256, 4096, 65536, 1 << 18, 1 << 20])
    return R.choice("ax/.\u00e9") * (n // 2)


def string():
    return R.choice([name(), seat_id(), big_string() if R.random() < 0.05 else "x"])


def valid_path():
    return R.choice([
        "/", SELF, MANAGER_PATH, "/org/devns/broker1/seat/seat0",
        "/org/devns/broker1/seat/seat1", "/org/devns/broker1/container/alpha",
        "/org/devns/broker1/container/beta", "/org/devns/broker1/container/hostile",
        "/org/devns/broker1/container/web_2d1", "/org/devns/broker1/container/_2e_2e",
        "/org/devns/broker1/container/self/x", "/org/devns/broker1/container",
        "/org/devns", "/org/freedesktop/DBus", "/org/devns/broker1/seat/_",
        "/a/b/c" * R.randrange(1, 4000), "/" + "_" * R.randrange(1, 9000),
    ])


def bad_path():
    return R.choice(["", "a", "/a/", "//", "/a//b", "/a-b", "/\u00e4", "/a.b", "/a b",
                     "org/devns", "/a\0b", "/" + "a/" * 50])


def variant():
    return R.choice([("s", string()), ("u", u32()), ("b", R.random() < 0.5),
                     ("i", -1), ("as", [name(), name()]), ("ay", [1, 2, 3]),
                     ("a{sv}", {"AllowActivate": ("b", True)}), ("o", valid_path()),
                     ("v", ("s", "nested")), ("(uu)", (226, 0)), ("d", 1.5),
                     ("h", None)])


def options():
    keys = ["AllowActivate", "allowactivate", "Bogus", "", "x" * 300]
    return {R.choice(keys): variant() for _ in range(R.randrange(0, 4))}


SIGS = ["", "s", "u", "uu", "uuu", "b", "sb", "ss", "ssua{sv}", "a{sv}", "h", "uh", "v",
        "as", "(uu)", "ay", "d", "x", "t", "o", "g", "ssu", "suu", "a(uu)", "uuh", "bb",
        "a{ss}", "aau", "(((((((((((((((((((((((((((((((u)))))))))))))))))))))))))))))))"]


def value_for(t):
    c = t[0]
    if c in "yqn":
        return R.getrandbits(8)
    if c in "iux":
        return u32() & 0x7FFFFFFF if c in "ix" else u32()
    if c == "t":
        return R.getrandbits(64)
    if c == "b":
        return R.choice([0, 1, 1, 0, 2, 0xFFFFFFFF])  # 2 and more are invalid booleans
    if c == "d":
        return R.choice([0.0, -1.0, 1e308, float("nan")])
    if c == "s":
        return string()
    if c == "o":
        return valid_path()
    if c == "g":
        return R.choice(["", "s", "a{sv}", "uu"])
    if c == "h":
        return None  # replaced by a real fd
    if c == "v":
        return variant()
    if c == "a":
        if t[1] == "{":
            kt, vt = wire.split_signature(t[2:-1])
            return {value_for(kt): value_for(vt) for _ in range(R.randrange(0, 3))}
        return [value_for(t[1:]) for _ in range(R.randrange(0, 4))]
    if c == "(":
        return tuple(value_for(x) for x in wire.split_signature(t[1:-1]))
    raise ValueError(t)


def args_for(sig):
    return [value_for(t) for t in wire.split_signature(sig)]


# ---------------------------------------------------------------- fds

class Fds:
    """fds to attach: /dev/null, a pipe end, an eventfd-like socket."""

    def __init__(self):
        self.opened = []

    def one(self):
        kind = R.random()
        if kind < 0.5:
            fd = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        elif kind < 0.8:
            r, w = os.pipe()
            os.close(w)
            fd = r
        else:
            a, b = socket.socketpair()
            fd = a.detach()
            b.close()
        self.opened.append(fd)
        return fd

    def close(self):
        for fd in self.opened:
            os.close(fd)
        self.opened = []


def fill_fds(sig, args, fds):
    """Real fds for the 'h' values (at any depth)."""
    def fix(t, v):
        c = t[0]
        if c == "h":
            return fds.one()
        if c == "v":
            vt, vv = v
            return (vt, fix(vt, vv))
        if c == "a":
            if t[1] == "{":
                kt, vt = wire.split_signature(t[2:-1])
                return {fix(kt, k): fix(vt, x) for k, x in v.items()}
            return [fix(t[1:], x) for x in v]
        if c == "(":
            return tuple(fix(x, y) for x, y in zip(wire.split_signature(t[1:-1]), v))
        return v
    return [fix(t, v) for t, v in zip(wire.split_signature(sig), args)]


# ---------------------------------------------------------------- messages

class Call:
    """One message to send. expect: a reply is due (unless the broker
    hangs up, which a protocol violation may cause)."""

    def __init__(self, kind, fields, sig="", args=(), flags=0, expect=True,
                 mtype=wire.METHOD_CALL, terminal=False, needs_fds=False, **kw):
        self.kind = kind
        self.mtype = mtype
        # After this message the stream cannot be trusted: nothing more
        # is sent on the connection, which is closed once earlier replies
        # are in.
        self.terminal = terminal
        self.needs_fds = needs_fds
        self.fields = fields
        self.sig = sig
        self.args = args
        self.flags = flags
        self.expect = expect and not flags & wire.NO_REPLY_EXPECTED
        self.kw = kw
        self.raw = None  # bytes sent as they are, after the handshake


def call(kind, path, iface, member, sig="", args=(), dest=None, **kw):
    fields = {wire.F_PATH: path, wire.F_MEMBER: member}
    if iface is not None:
        fields[wire.F_INTERFACE] = iface
    if dest is not None:
        fields[wire.F_DESTINATION] = dest
    if R.random() < 0.03:
        kw["flags"] = wire.NO_REPLY_EXPECTED
    if R.random() < 0.05:
        kw["big_endian"] = True
    return Call(kind, fields, sig, args, **kw)


CONTAINER_METHODS = [("TakeControl", "b"), ("ReleaseControl", ""), ("TakeDevice", "uu"),
                     ("ReleaseDevice", "uu"), ("PauseDeviceComplete", "uu"), ("Activate", "")]
SEAT_METHODS = [("SwitchContainer", "s"), ("SwitchToNext", ""), ("SwitchToPrevious", "")]
MANAGER_METHODS = [("RegisterContainer", "ssua{sv}"), ("UnregisterContainer", "s"),
                   ("GetContainer", "s"), ("GetSeat", "s"), ("ListContainers", ""),
                   ("ListSeats", ""), ("SwitchContainer", "ss")]
PROPERTIES = {CONTAINER: ["Name", "Seat", "Leader", "Active", "Controlled", "Devices"],
              SEAT: ["Id", "ActiveContainer", "Containers", "Devices", "CanGraphical"],
              MANAGER: ["Version", "KernelDevns", "RuntimeDirectory"]}


def container_args(member):
    if member == "TakeControl":
        return [R.choice([False, True, True, False, 7])]
    if member in ("TakeDevice", "ReleaseDevice", "PauseDeviceComplete"):
        return list(devnum())
    return []


def iface_name():
    return R.choice([CONTAINER, SEAT, MANAGER, PROPS, INTRO, PEER, DRIVER,
                     "org.devns.broker1", "org.devns.broker1.Nope", "org.x.Y",
                     "org.freedesktop.DBus.ObjectManager", "a.b" * 50, None])


def bad_iface_name():
    return R.choice(["noDot", ".a", "a..b", "1a.b", "a.1b", "a" * 300 + ".b", "a.b.", "ä.b"])


def member_name():
    return R.choice(["Frob", "takeControl", "TakeControl2", "Get", "Hello", "X" * 255,
                     "Introspect", "Ping", "_", "A0"])


def bad_member_name():
    return R.choice(["", "1a", "a.b", "a-b", "X" * 300, "ä"])


def properties_call(kind, path, dest=None, root_safe=False):
    iface = R.choice(list(PROPERTIES) + ["", "org.x.Y", "x" * 300])
    prop = R.choice(PROPERTIES.get(iface, ["Nope"]) + ["Nope", "", "x" * 1000])
    m = R.choice(["Get", "GetAll", "Set", "Set"])
    if m == "Get":
        return call(kind, path, PROPS, m, "ss", [iface, prop], dest)
    if m == "GetAll":
        return call(kind, path, PROPS, m, "s", [iface], dest)
    return call(kind, path, PROPS, m, "ssv", [iface, prop, variant()], dest)


def endpoint_call(own):
    """A random message for a container's endpoint."""
    k = R.random()
    own_path = "/org/devns/broker1/container/" + own
    path = R.choice([SELF, SELF, own_path, valid_path()])
    if k < 0.30:
        member, sig = R.choice(CONTAINER_METHODS)
        return call("container-method", path, CONTAINER, member, sig, container_args(member))
    if k < 0.40:
        member, sig = R.choice(CONTAINER_METHODS)
        wrong = R.choice(SIGS)
        return call("wrong-signature", path, R.choice([CONTAINER, None]), member, wrong,
                    args_for(wrong))
    if k < 0.46:
        member, sig = R.choice(SEAT_METHODS)
        return call("seat-method", R.choice(["/org/devns/broker1/seat/seat0", valid_path()]),
                    SEAT, member, sig, args_for(sig))
    if k < 0.54:
        return properties_call("properties", R.choice([SELF, own_path, valid_path()]))
    if k < 0.58:
        return call("introspect-peer", valid_path(), R.choice([INTRO, PEER]),
                    R.choice(["Introspect", "Ping", "GetMachineId", "Nope"]))
    if k < 0.64:
        member = R.choice(["Hello", "AddMatch", "RemoveMatch", "GetNameOwner",
                           "NameHasOwner", "ListNames", "RequestName", "Nope"])
        sig = R.choice(["", "s", "su", "u"])
        return call("driver", "/org/freedesktop/DBus", DRIVER, member, sig, args_for(sig),
                    dest=R.choice([None, DRIVER, "org.x"]))
    if k < 0.70:
        return call("unknown-member", path, iface_name(), member_name(),
                    R.choice(SIGS[:8]), [])
    if k < 0.74:
        sig = R.choice(["s", "ss", "sss"])
        return call("huge-string", path, CONTAINER, R.choice(["TakeControl", "Nope"]), sig,
                    [big_string() for _ in sig])
    if k < 0.78:
        wrong = R.choice(["h", "uh", "hh", "ah", "v", "a{sv}"])
        return call("fds", path, R.choice([CONTAINER, PROPS, None]),
                    R.choice(["TakeControl", "TakeDevice", "Get", "Nope"]), wrong,
                    args_for(wrong), needs_fds=True)
    if k < 0.82:
        # Not calls: signals, replies and errors nobody asked for.
        t = R.choice([wire.SIGNAL, wire.METHOD_RETURN, wire.ERROR])
        fields = {wire.F_REPLY_SERIAL: u32()} if t != wire.SIGNAL else {
            wire.F_PATH: path, wire.F_INTERFACE: CONTAINER, wire.F_MEMBER: "PauseDevice"}
        if t == wire.ERROR:
            fields[wire.F_ERROR_NAME] = "org.x.Error"
        return Call("unsolicited", fields, "uus", [226, 0, "pause"], expect=False, mtype=t)
    return protocol_violation(path)


def protocol_violation(path):
    """A message the peer must refuse: dbus-daemon hangs up, sd-bus (252)
    drops it and reads on, so no reply is due either way; the calls after
    it on the same connection must still be answered."""
    c = _protocol_violation(path)
    c.expect = c.kind == "bad-boolean"  # well-formed; the handler refuses it
    return c


def _protocol_violation(path):
    v = R.randrange(11)
    fields = {wire.F_PATH: path, wire.F_INTERFACE: CONTAINER, wire.F_MEMBER: "TakeControl"}
    if v == 0:
        fields[wire.F_PATH] = bad_path()
        return Call("bad-path", fields, "b", [False])
    if v == 1:
        fields[wire.F_INTERFACE] = bad_iface_name()
        return Call("bad-interface", fields, "b", [False])
    if v == 2:
        fields[wire.F_MEMBER] = bad_member_name()
        return Call("bad-member", fields)
    if v == 3:
        return Call("nul-in-string", {wire.F_PATH: SELF, wire.F_INTERFACE: PROPS,
                                      wire.F_MEMBER: "Get"}, "ss", [CONTAINER, "Na\0me"])
    if v == 4:
        return Call("bad-utf8", {wire.F_PATH: SELF, wire.F_INTERFACE: PROPS,
                                 wire.F_MEMBER: "Get"}, "ss", [CONTAINER, b"\xff\xfe"])
    if v == 5:
        fields[wire.F_SIGNATURE] = R.choice(["u", "a", "(", "uu", "z", "a{vs}", "s"])
        return Call("lying-signature", fields, "b", [True])
    if v == 6:
        # sd-bus drops such a message without closing the fds that came
        # with it; the endpoint closes them (dbus/endpoint-input.c).
        fields[wire.F_UNIX_FDS] = R.choice([1, 2, 7, 0xFFFFFFFF])
        return Call("lying-unix-fds", fields, "h", [None], needs_fds=True, terminal=True)
    if v == 7:
        fields[wire.F_PATH] = ("s", SELF)  # a path field typed as a string
        return Call("bad-field-type", fields, "b", [False])
    if v == 8:
        c = Call("garbage", {}, terminal=True)
        c.raw = bytes(R.getrandbits(8) for _ in range(R.randrange(1, 200)))
        return c
    if v == 9:
        return Call("bad-boolean", fields, "b", [R.choice([2, 0x100, 0xFFFFFFFF])])
    c = Call("huge-length", fields, "b", [False], terminal=True)
    c.kw["body_length"] = R.choice([0x8000001, 0xFFFFFFF0])
    return c


def system_call(others, root):
    """A random call at org.devns.broker1 on the system bus."""
    k = R.random()
    dest = BUS_NAME
    if root:
        # Nothing an authorised caller could mean: unknown names, invalid
        # names, seats that do not exist, pids no process has.
        nx = "trustnx-%d" % R.getrandbits(20)
        bad = R.choice(["", "bad/name", ".x", "-x", "x" * 65, "sp ace", "a\nb"])
        if k < 0.25:
            member = R.choice(["RegisterContainer", "UnregisterContainer", "SwitchContainer"])
            if member == "RegisterContainer":
                args = [R.choice([nx, bad]), R.choice(["", "seat0", "seatnx", "bad seat"]),
                        R.choice([0, 4194305, 0x7FFFFFFF, 0xFFFFFFFF]), options()]
                return call("manager-invalid", MANAGER_PATH, MANAGER, member, "ssua{sv}", args,
                            dest)
            if member == "UnregisterContainer":
                return call("manager-invalid", MANAGER_PATH, MANAGER, member, "s",
                            [R.choice([nx, bad])], dest)
            # ("seat0", "") is a valid request: no container active.
            return call("manager-invalid", MANAGER_PATH, MANAGER, member, "ss",
                        R.choice([["seat0", nx], ["seat0", bad or ".x"], ["seatnx", nx],
                                  [R.choice(["bad seat", "seat/x", ""]) + "q", nx]]), dest)
        if k < 0.45:
            member = R.choice(["GetContainer", "GetSeat", "ListContainers", "ListSeats"])
            sig = "" if member.startswith("List") else "s"
            return call("manager-read", MANAGER_PATH, MANAGER, member, sig,
                        [string()] if sig else [], dest)
        if k < 0.65:
            return properties_call("properties", valid_path(), dest)
        if k < 0.75:
            return call("introspect-peer", valid_path(), R.choice([INTRO, PEER]),
                        R.choice(["Introspect", "Ping", "GetMachineId", "Nope"]), dest=dest)
        if k < 0.85:
            # A wrong signature never reaches a handler.
            member, sig = R.choice(MANAGER_METHODS + SEAT_METHODS + CONTAINER_METHODS)
            wrong = R.choice([s for s in SIGS if s != sig])
            iface = MANAGER if (member, sig) in MANAGER_METHODS else \
                SEAT if (member, sig) in SEAT_METHODS else CONTAINER
            return call("wrong-signature", R.choice([MANAGER_PATH, valid_path()]), iface,
                        member, wrong, args_for(wrong), dest)
        return call("unknown-member", valid_path(), iface_name(), member_name(),
                    "", [], dest)
    # Not root: everything is fair, every container included.
    if k < 0.30:
        member, sig = R.choice(MANAGER_METHODS)
        args = args_for(sig)
        if member == "RegisterContainer":
            args[2] = R.choice([1, os.getpid(), u32()])
        elif member in ("SwitchContainer",):
            args = [R.choice(["seat0", seat_id()]), R.choice(others + [name()])]
        elif sig == "s":
            args = [R.choice(others + [name()])]
        return call("manager-method", MANAGER_PATH, MANAGER, member, sig, args, dest)
    if k < 0.50:
        member, sig = R.choice(CONTAINER_METHODS)
        path = "/org/devns/broker1/container/" + R.choice(others) if others else valid_path()
        return call("container-method", path, CONTAINER, member, sig, container_args(member),
                    dest)
    if k < 0.58:
        member, sig = R.choice(SEAT_METHODS)
        return call("seat-method", "/org/devns/broker1/seat/seat0", SEAT, member, sig,
                    [R.choice(others + [name()])] if sig else [], dest)
    if k < 0.72:
        return properties_call("properties", valid_path(), dest)
    if k < 0.80:
        return call("introspect-peer", valid_path(), R.choice([INTRO, PEER]),
                    R.choice(["Introspect", "Ping", "GetMachineId", "Nope"]), dest=dest)
    if k < 0.90:
        member, sig = R.choice(MANAGER_METHODS + SEAT_METHODS + CONTAINER_METHODS)
        wrong = R.choice(SIGS)
        return call("wrong-signature", valid_path(), iface_name(), member, wrong,
                    args_for(wrong), dest)
    if k < 0.95:
        return call("huge-string", MANAGER_PATH, MANAGER, "GetContainer", "s",
                    [big_string()], dest)
    return call("unknown-member", valid_path(), iface_name(), member_name(), "", [], dest)


# ---------------------------------------------------------------- runners

class Stats:
    def __init__(self, target):
        self.target = target
        self.calls = 0
        self.replies = 0
        self.errors = {}
        self.no_reply = 0
        self.no_reply_kinds = {}
        self.disconnects = 0
        self.connections = 0
        self.kinds = {}
        self.t0 = time.monotonic()

    def summary(self, done):
        return {"target": self.target, "calls": self.calls, "replies": self.replies,
                "errors": dict(sorted(self.errors.items(), key=lambda kv: -kv[1])),
                "no_reply": self.no_reply, "no_reply_kinds": self.no_reply_kinds,
                "disconnects": self.disconnects,
                "connections": self.connections, "kinds": dict(sorted(self.kinds.items())),
                "seconds": round(time.monotonic() - self.t0, 1), "done": done}


class DBusRunner:
    """Sends calls in batches over a few connections, reading every reply
    that is due; a connection the peer closed is replaced."""

    def __init__(self, path, stats, hello, pool=3):
        self.path = path
        self.stats = stats
        self.hello = hello
        self.conns = [None] * pool
        self.fds = Fds()

    def conn(self, i):
        if self.conns[i] is None:
            for attempt in range(200):
                try:
                    self.conns[i] = wire.Connection(self.path, hello=self.hello,
                                                    timeout=REPLY_TIMEOUT)
                    break
                except (wire.Closed, OSError, wire.WireError):
                    # The broker limits connections per container; a
                    # dropped one is freed on its next loop iteration.
                    time.sleep(0.05)
            else:
                raise RuntimeError(f"cannot connect to {self.path}")
            self.stats.connections += 1
        return self.conns[i]

    def drop(self, i):
        if self.conns[i] is not None:
            self.conns[i].close()
            self.conns[i] = None

    def send(self, c, msg):
        st = self.stats
        st.calls += 1
        st.kinds[msg.kind] = st.kinds.get(msg.kind, 0) + 1
        if msg.raw is not None:
            c.send_raw(msg.raw)
            return None
        source = self.fds if msg.needs_fds and c.fd_passing else _NoFds()
        args = fill_fds(msg.sig, msg.args, source)
        try:
            return c.send(msg.mtype, msg.fields, msg.sig, args, msg.flags, **msg.kw)
        finally:
            self.fds.close()

    def run_batch(self, i, msgs):
        st = self.stats
        try:
            c = self.conn(i)
        except RuntimeError:
            st.calls += len(msgs)
            return
        due = []
        terminal = False
        try:
            for msg in msgs:
                serial = self.send(c, msg)
                if msg.terminal:
                    terminal = True
                    break
                if msg.expect and serial is not None:
                    due.append((serial, msg.kind))
            for serial, _ in due:
                reply = c.wait_reply(serial)
                st.replies += 1
                if reply.type == wire.ERROR:
                    st.errors[reply.error_name] = st.errors.get(reply.error_name, 0) + 1
                reply.close_fds()
                due = due[1:]
            # Signals (PauseDevice, PropertiesChanged) and their fds.
            while True:
                m = c.recv(block=False)
                if m is None:
                    break
                m.close_fds()
            if terminal:
                self.drop(i)
        except wire.Timeout:
            st.no_reply += len(due)
            kind = due[0][1] if due else "?"
            st.no_reply_kinds[kind] = st.no_reply_kinds.get(kind, 0) + 1
            self.drop(i)
        except (wire.Closed, OSError):
            st.disconnects += 1
            self.drop(i)

    def close(self):
        for i in range(len(self.conns)):
            self.drop(i)


class _NoFds:
    """An 'h' without an fd: an index into the message's fds that has none."""

    def one(self):
        return wire.FdIndex(R.choice([0, 1, 5, 0xFFFFFFFF]))


def flood_without_reading(path, stats, n, own):
    """Calls that all get a reply (TakeDevice ones carry an fd), without
    reading any, then hanging up: the broker must not keep what it could
    not deliver."""
    try:
        c = wire.Connection(path, timeout=REPLY_TIMEOUT)
    except (wire.Closed, OSError, wire.WireError):
        return
    stats.connections += 1
    msgs = [("TakeControl", "b", [True])]
    for _ in range(n):
        ma, mi = devnum() if R.random() < 0.3 else (13, R.randrange(64, 72))
        msgs.append(R.choice([("TakeDevice", "uu", [ma, mi]), ("ReleaseDevice", "uu", [ma, mi]),
                              ("GetAll", "s", [CONTAINER])]))
    try:
        c.sock.setblocking(False)
        for member, sig, args in msgs:
            iface = PROPS if member == "GetAll" else CONTAINER
            data, fds = wire.encode_message(wire.METHOD_CALL, c.next_serial(),
                                            {wire.F_PATH: SELF, wire.F_INTERFACE: iface,
                                             wire.F_MEMBER: member}, sig, args)
            stats.calls += 1
            stats.kinds["flood-unread"] = stats.kinds.get("flood-unread", 0) + 1
            try:
                c.sock.send(data)
            except BlockingIOError:
                break  # the broker stopped reading: its queue is full
    except OSError:
        stats.disconnects += 1
    c.close()


def slow_connections(path, n):
    """Connections that start a message and never finish it."""
    out = []
    for _ in range(n):
        try:
            c = wire.Connection(path, timeout=REPLY_TIMEOUT)
            data, _ = wire.encode_message(wire.METHOD_CALL, 1, {wire.F_PATH: SELF,
                                                               wire.F_MEMBER: "Ping"})
            c.send_raw(data[:R.randrange(1, len(data))])
            out.append(c)
        except (wire.Closed, OSError, wire.WireError):
            pass
    return out


def run_dbus(a, stats, deadline):
    system = a.target == "system"
    root = system and os.geteuid() == 0
    others = [x for x in (a.others or "").split(",") if x]
    runner = DBusRunner(a.socket, stats, hello=system or R.random() < 0.5)
    slow = [] if system else slow_connections(a.socket, 2)
    storm = 0
    while stats.calls < a.calls and time.monotonic() < deadline and not STOP:
        left = a.calls - stats.calls
        i = R.randrange(len(runner.conns))
        if not system and storm == 0 and R.random() < 0.01:
            storm = R.randrange(20, 200)
        if storm:
            # TakeControl/ReleaseControl from every connection in turn,
            # forced or not, as fast as the broker answers.
            n = min(storm, left, 16)
            storm -= n
            msgs = [call("control-storm", SELF, CONTAINER,
                         *R.choice([("TakeControl", "b", [R.random() < 0.5]),
                                    ("ReleaseControl", "", []),
                                    ("TakeDevice", "uu", [226, 0])]))
                    for _ in range(n)]
            runner.run_batch(i, msgs)
            continue
        if not system and R.random() < 0.002:
            flood_without_reading(a.socket, stats, min(left, R.randrange(100, 2000)), a.name)
            continue
        n = min(left, R.randrange(1, 17))
        msgs = [system_call(others, root) if system else endpoint_call(a.name)
                for _ in range(n)]
        runner.run_batch(i, msgs)
    runner.close()
    for c in slow:
        c.close()


# ---------------------------------------------------------------- seatd

SEATD_OPS = list(range(0, 10)) + [0x8001, 0x8003, 0xFFFF, 0x7FFF]
SEATD_PATHS = [b"/dev/dri/card0", b"/dev/dri/card1", b"/dev/dri/renderD128",
               b"/dev/input/event0", b"/dev/input/event1", b"/dev/input/event2", b"/dev/null",
               b"/dev/mem", b"/dev/vda", b"/dev/uinput", b"/etc/passwd", b"/dev/tty0",
               b"../../../dev/dri/card0", b"/proc/self/fd/0", b"/dev/../dev/dri/card0",
               b"/dev/dri/../input/event0", b"/run/devns/seatd.sock", b"relative", b"",
               b"/" * 254, b"/dev/" + b"x" * 250]


def seatd_message(fresh):
    """One seatd request: mostly well formed (so the server gets past the
    framing into what the request means), some broken in every field."""
    if fresh and R.random() < 0.8:
        return struct.pack("=HH", 1, 0), "open-seat"
    if R.random() < 0.8:
        op = R.choice([1, 2, 3, 3, 3, 3, 4, 4, 4, 5, 5, 6, 7, 7])
        if op == 3:
            path = R.choice(SEATD_PATHS) + b"\0"
            return struct.pack("=HHH", op, 2 + len(path), len(path)) + path, "open-device"
        if op in (4, 6):
            v = R.choice([0, 1, 2, 3, -1, 0x7FFFFFFF, -0x80000000, R.getrandbits(31)])
            return struct.pack("=HHi", op, 4, v), ("close-device" if op == 4 else
                                                   "switch-session")
        return struct.pack("=HH", op, 0), {1: "open-seat", 2: "close-seat",
                                           5: "disable-ack", 7: "ping"}[op]
    op = R.choice(SEATD_OPS)
    body = b""
    if op == 3:
        path = R.choice(SEATD_PATHS + [b"x" * 300])
        if R.random() < 0.5:
            path += b"\0"
        n = R.choice([len(path), 0, 1, 255, 256, 257, 0xFFFF])
        body = struct.pack("=H", n & 0xFFFF) + path
    elif R.random() < 0.5:
        body = bytes(R.getrandbits(8) for _ in range(R.randrange(0, 300)))
    size = len(body) if R.random() < 0.5 else R.choice([0, 1, 2, 3, 5, 258, 259, 4096, 0xFFFF])
    return struct.pack("=HH", op & 0xFFFF, size & 0xFFFF) + body, "malformed"


def run_seatd(a, stats, deadline):
    fds = Fds()
    conns = []  # [socket, fresh]
    while stats.calls < a.calls and time.monotonic() < deadline and not STOP:
        while len(conns) < 3:
            s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            s.settimeout(REPLY_TIMEOUT)
            try:
                s.connect(a.socket)
            except OSError:
                s.close()
                time.sleep(0.05)
                continue
            stats.connections += 1
            conns.append([s, True])
        i = R.randrange(len(conns))
        s, fresh = conns[i]
        conns[i][1] = False
        data, kind = seatd_message(fresh)
        if R.random() < 0.03:
            data = data[:R.randrange(1, len(data) + 1)]  # cut short, then more
            kind = "cut"
        stats.calls += 1
        stats.kinds[kind] = stats.kinds.get(kind, 0) + 1
        closed = False
        try:
            if R.random() < 0.05:
                anc = [fds.one() for _ in range(R.randrange(1, 12))]
                s.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                    struct.pack(f"{len(anc)}i", *anc))])
                stats.kinds["with-fds"] = stats.kinds.get("with-fds", 0) + 1
            else:
                s.sendall(data)
            # Whatever came back (replies, device fds): counted and closed.
            s.setblocking(False)
            while True:
                try:
                    got, anc, _, _ = s.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
                except BlockingIOError:
                    break
                for level, typ, cdata in anc:
                    if level == socket.SOL_SOCKET and typ == socket.SCM_RIGHTS:
                        n = len(cdata) // 4
                        for fd in struct.unpack(f"{n}i", cdata[:n * 4]):
                            os.close(fd)
                if not got:
                    raise ConnectionResetError("closed")
                stats.replies += 1
            s.settimeout(REPLY_TIMEOUT)
        except OSError:
            stats.disconnects += 1
            closed = True
        finally:
            fds.close()
        if closed or R.random() < 0.01:
            s.close()
            conns.pop(i)
    for s, _ in conns:
        s.close()


# ---------------------------------------------------------------- the endpoint's fds

def run_invalid_fds(a, stats):
    """Invalid messages (the header counts one fd more than sent), each
    with 100 fds, each on a new connection, which the endpoint hangs up
    on; then a Ping on a fresh one to see the endpoint still serves."""
    for _ in range(a.calls):
        c = wire.Connection(a.socket, timeout=REPLY_TIMEOUT)
        stats.connections += 1
        c.call(None, SELF, PEER, "Ping")
        fds = [os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC) for _ in range(100)]
        c.send(wire.METHOD_CALL, {wire.F_PATH: SELF, wire.F_INTERFACE: CONTAINER,
                                  wire.F_MEMBER: "TakeControl", wire.F_UNIX_FDS: len(fds) + 1},
               "h", [wire.FdIndex(0)], fds=fds)
        for fd in fds:
            os.close(fd)
        stats.calls += 1
        stats.kinds["invalid-with-fds"] = stats.kinds.get("invalid-with-fds", 0) + 1
        try:
            reply = c.call(None, SELF, PEER, "Ping")
            stats.replies += 1
            if reply.type == wire.ERROR:
                stats.errors[reply.error_name] = stats.errors.get(reply.error_name, 0) + 1
        except (wire.Closed, OSError):
            stats.disconnects += 1
        except wire.Timeout:
            stats.no_reply += 1
        c.close()
    c = wire.Connection(a.socket, timeout=REPLY_TIMEOUT)
    stats.connections += 1
    c.call(None, SELF, PEER, "Ping")
    stats.replies += 1
    c.close()


def run_fds_after_begin(a, stats):
    """Connections whose first message carries an fd and arrives in the
    same write as BEGIN. Each must be answered or hung up on; one that is
    neither within the timeout counts in no_reply."""
    for _ in range(a.calls):
        c = wire.Connection(a.socket, timeout=REPLY_TIMEOUT, begin=False)
        stats.connections += 1
        fd = os.open("/dev/null", os.O_RDWR | os.O_CLOEXEC)
        data, fds = wire.encode_message(wire.METHOD_CALL, 1, {
            wire.F_PATH: SELF, wire.F_INTERFACE: PEER, wire.F_MEMBER: "Ping"}, "h", [fd])
        c.send_raw(b"BEGIN\r\n" + data, fds)
        os.close(fd)
        stats.calls += 1
        stats.kinds["fd-with-begin"] = stats.kinds.get("fd-with-begin", 0) + 1
        try:
            c.wait_reply(1)
            stats.replies += 1
        except wire.Closed:
            stats.disconnects += 1
        except wire.Timeout:
            stats.no_reply += 1
        c.close()


def run_flood(a, stats):
    """One controller that asks for a keyboard and gives it back, again
    and again, reading none of the replies (each TakeDevice reply carries
    an fd); it stays connected until stdin closes, so the broker's fds can
    be counted meanwhile. --calls pairs; the keyboard is --device."""
    ma, mi = (int(x) for x in a.device.split(":"))
    c = wire.Connection(a.socket, timeout=REPLY_TIMEOUT)
    stats.connections += 1
    c.call(None, SELF, CONTAINER, "TakeControl", "b", [True])
    c.sock.setblocking(False)
    for _ in range(a.calls):
        ok = True
        for member in ("TakeDevice", "ReleaseDevice"):
            data, _ = wire.encode_message(wire.METHOD_CALL, c.next_serial(), {
                wire.F_PATH: SELF, wire.F_INTERFACE: CONTAINER, wire.F_MEMBER: member},
                "uu", [ma, mi])
            try:
                c.sock.send(data)
            except BlockingIOError:
                ok = False  # the broker stopped reading us
                break
        if not ok:
            break
        stats.calls += 2
        stats.kinds["take-release-unread"] = stats.kinds.get("take-release-unread", 0) + 2
    print(json.dumps({"sent": stats.calls}), flush=True)
    sys.stdin.read()
    c.close()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--target", required=True,
                   choices=("endpoint", "seatd", "system", "invalid-fds", "fds-after-begin",
                            "flood"))
    p.add_argument("--device", default="13:64", help="MAJ:MIN (flood)")
    p.add_argument("--socket")
    p.add_argument("--name", default="self", help="the container's name (endpoint)")
    p.add_argument("--others", help="containers to aim at on the system bus")
    p.add_argument("--calls", type=int, default=10000)
    p.add_argument("--deadline", type=float, default=600)
    p.add_argument("--seed", type=int, default=1)
    a = p.parse_args()
    a.socket = a.socket or {"seatd": "/run/devns/seatd.sock",
                            "system": "/run/dbus/system_bus_socket"}.get(a.target,
                                                                        "/run/devns/bus")
    R.seed(a.seed)
    signal.signal(signal.SIGTERM, lambda *_: STOP.append(True))
    stats = Stats(a.target)
    deadline = time.monotonic() + a.deadline
    if a.target == "seatd":
        run_seatd(a, stats, deadline)
    elif a.target == "invalid-fds":
        run_invalid_fds(a, stats)
    elif a.target == "fds-after-begin":
        run_fds_after_begin(a, stats)
    elif a.target == "flood":
        run_flood(a, stats)
    else:
        run_dbus(a, stats, deadline)
    print(json.dumps(stats.summary(stats.calls >= a.calls)), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
