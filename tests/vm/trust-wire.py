"""The D-Bus wire protocol, written out with the standard library only.

The reliability tests need clients that a binding would not let them write:
calls with wrong signatures, invalid object paths, lying headers, fds where
none belong, garbage after the handshake. They also need a controller that
reads PauseDevice signals without a main loop. Both use this: a marshaller
that encodes whatever it is given, and a connection that sends bytes and
reads messages (with their fds) as they come.

Loaded with importlib (the file name has a dash):
    wire = trust_load("trust-wire")
"""
import os
import select
import socket
import struct

METHOD_CALL, METHOD_RETURN, ERROR, SIGNAL = 1, 2, 3, 4
NO_REPLY_EXPECTED = 0x1

# Header field codes and the type of each.
F_PATH, F_INTERFACE, F_MEMBER, F_ERROR_NAME, F_REPLY_SERIAL = 1, 2, 3, 4, 5
F_DESTINATION, F_SENDER, F_SIGNATURE, F_UNIX_FDS = 6, 7, 8, 9
FIELD_TYPES = {F_PATH: "o", F_INTERFACE: "s", F_MEMBER: "s", F_ERROR_NAME: "s",
               F_REPLY_SERIAL: "u", F_DESTINATION: "s", F_SENDER: "s",
               F_SIGNATURE: "g", F_UNIX_FDS: "u"}

ALIGN = {"y": 1, "b": 4, "n": 2, "q": 2, "i": 4, "u": 4, "x": 8, "t": 8, "d": 8,
         "s": 4, "o": 4, "g": 1, "h": 4, "a": 4, "(": 8, "{": 8, "v": 1}
FIXED = {"y": "B", "b": "I", "n": "h", "q": "H", "i": "i", "u": "I", "x": "q",
         "t": "Q", "d": "d", "h": "I"}


class WireError(Exception):
    pass


class FdIndex(int):
    """An 'h' value written as this index, with no fd sent along."""


def type_end(sig, i):
    """Index just past the single complete type that starts at sig[i]."""
    c = sig[i]
    if c == "a":
        return type_end(sig, i + 1)
    if c in "({":
        close = ")" if c == "(" else "}"
        j = i + 1
        while sig[j] != close:
            j = type_end(sig, j)
        return j + 1
    return i + 1


def split_signature(sig):
    out, i = [], 0
    while i < len(sig):
        j = type_end(sig, i)
        out.append(sig[i:j])
        i = j
    return out


def _b(v):
    return v if isinstance(v, bytes) else str(v).encode("utf-8", "surrogateescape")


class Writer:
    """Encodes values by signature. It trusts its input: a bool may be 7,
    a path may be anything, a string may hold a NUL. The fds of 'h'
    values are collected in .fds and the index written."""

    def __init__(self, big_endian=False):
        self.buf = bytearray()
        self.fds = []
        self.e = ">" if big_endian else "<"

    def pad(self, n):
        self.buf += b"\0" * (-len(self.buf) % n)

    def put_many(self, sig, values):
        for t, v in zip(split_signature(sig), values):
            self.put(t, v)

    def put(self, t, v):
        c = t[0]
        self.pad(ALIGN[c])
        if c in FIXED:
            if c == "h" and not isinstance(v, FdIndex):
                self.fds.append(v)
                v = len(self.fds) - 1
            elif c == "b":
                v = int(v)
            self.buf += struct.pack(self.e + FIXED[c], v)
        elif c in "so":
            s = _b(v)
            self.buf += struct.pack(self.e + "I", len(s)) + s + b"\0"
        elif c == "g":
            s = _b(v)
            self.buf += struct.pack("B", len(s) & 0xFF) + s + b"\0"
        elif c == "v":
            vsig, val = v
            self.put("g", vsig)
            self.put(vsig, val)
        elif c == "a":
            at = len(self.buf)
            self.buf += b"\0\0\0\0"
            elem = t[1:]
            self.pad(ALIGN[elem[0]])
            start = len(self.buf)
            items = v.items() if isinstance(v, dict) else v
            for item in items:
                self.put(elem, item)
            struct.pack_into(self.e + "I", self.buf, at, len(self.buf) - start)
        elif c == "(":
            self.put_many(t[1:-1], v)
        elif c == "{":
            k, val = v
            kt, vt = split_signature(t[1:-1])
            self.put(kt, k)
            self.put(vt, val)
        else:
            raise WireError(f"cannot encode type {t!r}")


class Reader:
    def __init__(self, buf, pos=0, big_endian=False, fds=()):
        self.buf = buf
        self.pos = pos
        self.e = ">" if big_endian else "<"
        self.fds = fds

    def pad(self, n):
        self.pos += -self.pos % n

    def get_many(self, sig):
        return [self.get(t) for t in split_signature(sig)]

    def _unpack(self, fmt):
        v = struct.unpack_from(self.e + fmt, self.buf, self.pos)[0]
        self.pos += struct.calcsize(fmt)
        return v

    def get(self, t):
        c = t[0]
        self.pad(ALIGN[c])
        if c in FIXED:
            v = self._unpack(FIXED[c])
            if c == "h":
                return self.fds[v] if v < len(self.fds) else -1
            return bool(v) if c == "b" else v
        if c in "so":
            n = self._unpack("I")
            s = bytes(self.buf[self.pos:self.pos + n])
            self.pos += n + 1
            return s.decode("utf-8", "replace")
        if c == "g":
            n = self._unpack("B")
            s = bytes(self.buf[self.pos:self.pos + n])
            self.pos += n + 1
            return s.decode("ascii", "replace")
        if c == "v":
            vsig = self.get("g")
            return (vsig, self.get(vsig))
        if c == "a":
            n = self._unpack("I")
            elem = t[1:]
            self.pad(ALIGN[elem[0]])
            end = self.pos + n
            out = []
            while self.pos < end:
                out.append(self.get(elem))
            return dict(out) if elem[0] == "{" else out
        if c == "(":
            return tuple(self.get_many(t[1:-1]))
        if c == "{":
            kt, vt = split_signature(t[1:-1])
            return (self.get(kt), self.get(vt))
        raise WireError(f"cannot decode type {t!r}")


def encode_message(mtype, serial, fields, sig="", args=(), flags=0, big_endian=False,
                   body=None, fds=None, body_length=None):
    """One message as (bytes, fds). fields: {code: value}; each value is
    encoded with the field's proper type unless given as (sig, value).
    body overrides the encoded args; body_length lies about its length."""
    e = ">" if big_endian else "<"
    bw = Writer(big_endian)
    if body is None:
        bw.put_many(sig, args)
        body = bytes(bw.buf)
    all_fds = list(fds) if fds is not None else bw.fds
    fl = dict(fields)
    if sig and F_SIGNATURE not in fl:
        fl[F_SIGNATURE] = sig
    if all_fds and F_UNIX_FDS not in fl:
        fl[F_UNIX_FDS] = len(all_fds)
    hw = Writer(big_endian)
    hw.buf += struct.pack(e + "cBBBII", b"B" if big_endian else b"l", mtype, flags, 1,
                          len(body) if body_length is None else body_length, serial)
    entries = []
    for code, val in fl.items():
        if isinstance(val, tuple):
            entries.append((code, val))
        else:
            entries.append((code, (FIELD_TYPES.get(code, "s"), val)))
    hw.put("a(yv)", entries)
    hw.pad(8)
    return bytes(hw.buf) + body, all_fds


class Message:
    def __init__(self, mtype, flags, serial, fields, body, big_endian, fds):
        self.type = mtype
        self.flags = flags
        self.serial = serial
        self.fields = fields
        self.body = body
        self.big_endian = big_endian
        self.fds = fds

    @property
    def member(self):
        return self.fields.get(F_MEMBER)

    @property
    def error_name(self):
        return self.fields.get(F_ERROR_NAME)

    @property
    def reply_serial(self):
        return self.fields.get(F_REPLY_SERIAL)

    @property
    def signature(self):
        return self.fields.get(F_SIGNATURE, "")

    def args(self):
        return Reader(self.body, 0, self.big_endian, self.fds).get_many(self.signature)

    def close_fds(self):
        for fd in self.fds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.fds = []


class Closed(Exception):
    """The peer hung up (or the connection was found broken)."""


class Timeout(Exception):
    """Nothing came within the connection's timeout."""


class Connection:
    """A D-Bus connection on a unix socket: the EXTERNAL handshake with
    fd passing, then messages in and out. recv() returns the next message
    of any kind; call() waits for its reply and keeps what came before."""

    def __init__(self, path, hello=False, timeout=30.0, negotiate_fds=True, begin=True):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(timeout)
        self.sock.connect(path)
        self.inbuf = bytearray()
        self.infds = []
        self.serial = 0
        self.queue = []
        self.unique_name = None
        self._auth(negotiate_fds, begin)
        if hello:
            reply = self.call("org.freedesktop.DBus", "/org/freedesktop/DBus",
                              "org.freedesktop.DBus", "Hello")
            if reply.type != METHOD_RETURN:
                raise WireError(f"Hello refused: {reply.error_name}")
            self.unique_name = reply.args()[0]

    def fileno(self):
        return self.sock.fileno()

    def _line(self):
        while b"\r\n" not in self.inbuf:
            data = self.sock.recv(4096)
            if not data:
                raise Closed("closed during authentication")
            self.inbuf += data
        line, _, rest = bytes(self.inbuf).partition(b"\r\n")
        self.inbuf = bytearray(rest)
        return line

    def _auth(self, negotiate_fds, begin):
        uid = str(os.geteuid()).encode().hex().encode()
        self.sock.sendall(b"\0AUTH EXTERNAL " + uid + b"\r\n")
        line = self._line()
        if not line.startswith(b"OK "):
            raise WireError(f"authentication refused: {line!r}")
        self.fd_passing = False
        if negotiate_fds:
            self.sock.sendall(b"NEGOTIATE_UNIX_FD\r\n")
            self.fd_passing = self._line() == b"AGREE_UNIX_FD"
        if begin:
            # Otherwise the caller sends it, e.g. in one write with a message.
            self.sock.sendall(b"BEGIN\r\n")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
        for fd in self.infds:
            try:
                os.close(fd)
            except OSError:
                pass
        self.infds = []
        for m in self.queue:
            m.close_fds()
        self.queue = []

    def next_serial(self):
        self.serial = self.serial % 0xFFFFFFF0 + 1
        return self.serial

    def send_raw(self, data, fds=()):
        try:
            if fds:
                self.sock.sendmsg([data], [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                                            struct.pack(f"{len(fds)}i", *fds))])
            else:
                self.sock.sendall(data)
        except (BrokenPipeError, ConnectionResetError) as e:
            raise Closed(str(e))
        except socket.timeout:
            raise Timeout("send timed out")

    def send(self, mtype, fields, sig="", args=(), flags=0, big_endian=False, **kw):
        serial = kw.pop("serial", None) or self.next_serial()
        data, fds = encode_message(mtype, serial, fields, sig, args, flags, big_endian, **kw)
        self.send_raw(data, fds)
        return serial

    def send_call(self, dest, path, iface, member, sig="", args=(), flags=0, **kw):
        fields = {F_PATH: path, F_MEMBER: member}
        if iface is not None:
            fields[F_INTERFACE] = iface
        if dest is not None:
            fields[F_DESTINATION] = dest
        return self.send(METHOD_CALL, fields, sig, args, flags, **kw)

    def _fill(self, block=True):
        """Reads what is there; waits for something (up to the timeout)
        if block, else returns False when nothing is."""
        if not block:
            r, _, _ = select.select([self.sock], [], [], 0)
            if not r:
                return False
        try:
            data, anc, _, _ = self.sock.recvmsg(1 << 16, socket.CMSG_SPACE(64 * 4),
                                                socket.MSG_CMSG_CLOEXEC)
        except socket.timeout:
            raise Timeout("no message within the timeout")
        except OSError as e:
            raise Closed(str(e))
        for level, kind, cdata in anc:
            if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
                n = len(cdata) // 4
                self.infds.extend(struct.unpack(f"{n}i", cdata[:n * 4]))
        if not data:
            raise Closed("end of file")
        self.inbuf += data
        return True

    def _parse(self):
        if len(self.inbuf) < 16:
            return None
        big = self.inbuf[0:1] == b"B"
        if self.inbuf[0:1] not in (b"l", b"B"):
            raise Closed("bad endianness byte from the peer")
        e = ">" if big else "<"
        mtype, flags, _ver, blen, serial, flen = struct.unpack_from(e + "BBBIII", self.inbuf, 1)
        hlen = 16 + flen
        total = hlen + (-hlen % 8) + blen
        if len(self.inbuf) < total:
            return None
        r = Reader(self.inbuf, 12, big)
        fields = {}
        for code, (vsig, val) in r.get("a(yv)"):
            fields[code] = val
        body = bytes(self.inbuf[total - blen:total])
        del self.inbuf[:total]
        nfds = fields.get(F_UNIX_FDS, 0)
        fds, self.infds = self.infds[:nfds], self.infds[nfds:]
        return Message(mtype, flags, serial, fields, body, big, fds)

    def recv(self, block=True):
        """The next message; None if block is false and none is complete."""
        if self.queue:
            return self.queue.pop(0)
        while True:
            m = self._parse()
            if m:
                return m
            if not self._fill(block):
                return None

    def wait_reply(self, serial):
        """The reply to serial; messages before it stay queued for recv()."""
        for i, m in enumerate(self.queue):
            if m.type in (METHOD_RETURN, ERROR) and m.reply_serial == serial:
                return self.queue.pop(i)
        while True:
            m = self._parse()
            if m is None:
                self._fill(True)
                continue
            if m.type in (METHOD_RETURN, ERROR) and m.reply_serial == serial:
                return m
            self.queue.append(m)

    def call(self, dest, path, iface, member, sig="", args=(), **kw):
        return self.wait_reply(self.send_call(dest, path, iface, member, sig, args, **kw))
