#!/usr/bin/env python3
"""Speaks the seatd wire protocol by hand to a container's seatd.sock and
prints what happened as JSON; for what libseat cannot be made to send.

  seatd-probe.py open-seat [SOCKET]   open the seat; prints the reply:
                                      {"opcode": N, "errno": E or null};
                                      opcode null: hung up on
  seatd-probe.py abuse [SOCKET]       one connection per bad input; prints
                                      {case: "closed" | "pong" | "open" |
                                      "error:<errno>"} for each

SOCKET defaults to /run/devns/seatd.sock, as inside a container.
"""
import json
import os
import socket
import struct
import sys

SOCKET = "/run/devns/seatd.sock"
TIMEOUT = 30.0

OPEN_SEAT, CLOSE_SEAT, OPEN_DEVICE, CLOSE_DEVICE, DISABLE_SEAT, SWITCH, PING = range(1, 8)
PONG = 0x8007
ERROR = 0xFFFF


def msg(opcode, body=b""):
    return struct.pack("=HH", opcode, len(body)) + body


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(TIMEOUT)
    s.connect(path)
    return s


def read_exact(s, n):
    data = b""
    while len(data) < n:
        chunk = s.recv(n - len(data))
        if not chunk:
            return None
        data += chunk
    return data


def read_message(s):
    """(opcode, body), or None at end of file."""
    head = read_exact(s, 4)
    if head is None:
        return None
    opcode, size = struct.unpack("=HH", head)
    body = read_exact(s, size) if size else b""
    return opcode, body


def open_seat(path):
    s = connect(path)
    try:
        s.sendall(msg(OPEN_SEAT))
        m = read_message(s)
    except (BrokenPipeError, ConnectionResetError):
        m = None  # hung up on
    s.close()
    if m is None:
        return {"opcode": None, "errno": None}
    opcode, body = m
    err = struct.unpack("=i", body)[0] if opcode == ERROR and len(body) == 4 else None
    return {"opcode": opcode, "errno": err}


def outcome(s):
    """What the server does after a bad input: hang up, answer, or wait."""
    s.settimeout(5.0)
    try:
        m = read_message(s)
    except socket.timeout:
        return "open"
    except ConnectionResetError:
        return "closed"
    if m is None:
        return "closed"
    opcode, body = m
    if opcode == PONG:
        return "pong"
    if opcode == ERROR and len(body) == 4:
        return "error:%d" % struct.unpack("=i", body)[0]
    return "opcode:%#x" % opcode


def with_fd():
    """A ping that carries an fd, which the server must not keep."""
    def send(s):
        r, w = os.pipe()
        s.sendmsg([msg(PING)], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("i", w))])
        os.close(w)
        os.close(r)
    return send


def abuse(path):
    long_path = b"/" + b"a" * 298 + b"\0"
    cases = {
        "ping": lambda s: s.sendall(msg(PING)),
        "ping_with_fd": with_fd(),
        "unknown_opcode": lambda s: s.sendall(msg(42)),
        "server_opcode": lambda s: s.sendall(msg(PONG)),
        "oversized": lambda s: s.sendall(struct.pack("=HH", OPEN_DEVICE, 0xFFFF) + b"x" * 64),
        "path_too_long": lambda s: s.sendall(
            msg(OPEN_DEVICE, struct.pack("=H", len(long_path)) + long_path)),
        "path_not_terminated": lambda s: s.sendall(
            msg(OPEN_DEVICE, struct.pack("=H", 9) + b"/dev/null")),
        "path_len_mismatch": lambda s: s.sendall(
            msg(OPEN_DEVICE, struct.pack("=H", 40) + b"/dev/null\0")),
        "ping_with_body": lambda s: s.sendall(msg(PING, b"x")),
        "close_device_short": lambda s: s.sendall(msg(CLOSE_DEVICE, b"\1\0")),
        "no_seat_close_device": lambda s: s.sendall(msg(CLOSE_DEVICE, struct.pack("=i", 1))),
        "no_seat_open_device": lambda s: s.sendall(
            msg(OPEN_DEVICE, struct.pack("=H", 10) + b"/dev/null\0")),
        "truncated_then_eof": lambda s: (s.sendall(struct.pack("=HH", OPEN_DEVICE, 20) + b"\5\0/d"),
                                         s.shutdown(socket.SHUT_WR)),
        # Starts with opcode 0x100, size 0x302: no such message.
        "garbage": lambda s: s.sendall(bytes(range(256)) * 16),
    }
    out = {}
    for name, send in cases.items():
        s = connect(path)
        try:
            send(s)
            out[name] = outcome(s)
        except (BrokenPipeError, ConnectionResetError):
            out[name] = "closed"
        finally:
            s.close()
    return out


def main(argv):
    if len(argv) < 2 or argv[1] not in ("open-seat", "abuse"):
        sys.stderr.write(__doc__)
        return 2
    path = argv[2] if len(argv) > 2 else SOCKET
    res = open_seat(path) if argv[1] == "open-seat" else abuse(path)
    print(json.dumps(res), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
