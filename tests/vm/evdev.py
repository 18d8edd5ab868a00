#!/usr/bin/env python3
"""Small evdev helpers for guest tests (standard library only).

usage:
  evdev.py node NAME
      print the /dev/input/eventN node of the input device named NAME
  evdev.py wait-key DEVICE [--code KEY] [--value V] [--timeout SEC] [--ready FILE]
      read DEVICE (a node, or a device name) until an EV_KEY event with that
      code (KEY_A, A, 30; default: any key) and value (1 press, 0 release,
      2 repeat; default: any) arrives; print `EV_KEY CODE VALUE` and exit 0,
      or exit 1 at the deadline (default 30 s). --ready FILE is created once
      the device is open, so a caller knows when to send the key.

As a module: find_node(name), read_events(path_or_fd, deadline), key_code(s).
"""

import argparse
import os
import select
import struct
import sys
import time

EV_KEY = 1
# struct input_event on 64-bit: struct timeval, __u16 type, __u16 code, __s32 value
EVENT = struct.Struct('llHHi')

_KEYS = {'ESC': 1, 'MINUS': 12, 'EQUAL': 13, 'BACKSPACE': 14, 'TAB': 15,
         'ENTER': 28, 'LEFTCTRL': 29, 'LEFTSHIFT': 42, 'RIGHTSHIFT': 54,
         'LEFTALT': 56, 'SPACE': 57, 'RIGHTCTRL': 97, 'RIGHTALT': 100,
         'LEFTMETA': 125, 'F11': 87, 'F12': 88}
for _row, _first in (('1234567890', 2), ('QWERTYUIOP', 16), ('ASDFGHJKL', 30),
                     ('ZXCVBNM', 44)):
    for _i, _c in enumerate(_row):
        _KEYS[_c] = _first + _i
for _i in range(10):
    _KEYS['F%d' % (_i + 1)] = 59 + _i


def key_code(s):
    """30, 'KEY_A', 'a' -> 30."""
    if s.isdigit():
        return int(s)
    name = s.upper()
    if name.startswith('KEY_'):
        name = name[4:]
    if name in _KEYS:
        return _KEYS[name]
    # Anything else: ask the kernel headers when they are around.
    try:
        with open('/usr/include/linux/input-event-codes.h') as f:
            for line in f:
                p = line.split()
                if len(p) >= 3 and p[0] == '#define' and p[1] == 'KEY_' + name:
                    return int(p[2], 0)
    except (OSError, ValueError):
        pass
    raise ValueError('unknown key %r' % s)


def find_node(name):
    """/dev/input/eventN of the device called name, or None."""
    current = None
    with open('/proc/bus/input/devices') as f:
        for line in f:
            line = line.strip()
            if line.startswith('N: Name='):
                current = line[len('N: Name='):].strip('"')
            elif line.startswith('H: Handlers=') and current == name:
                for h in line[len('H: Handlers='):].split():
                    if h.startswith('event'):
                        return '/dev/input/' + h
            elif not line:
                current = None
    return None


def read_events(fd, deadline):
    """Yield (type, code, value) from an open evdev fd until the deadline."""
    buf = b''
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            return
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            return
        try:
            buf += os.read(fd, EVENT.size * 64)
        except BlockingIOError:
            continue
        while len(buf) >= EVENT.size:
            _, _, etype, code, value = EVENT.unpack_from(buf)
            buf = buf[EVENT.size:]
            yield etype, code, value


def main(argv=None):
    p = argparse.ArgumentParser(prog='evdev.py')
    sub = p.add_subparsers(dest='cmd', required=True)
    n = sub.add_parser('node')
    n.add_argument('name')
    w = sub.add_parser('wait-key')
    w.add_argument('device')
    w.add_argument('--code')
    w.add_argument('--value', type=int)
    w.add_argument('--timeout', type=float, default=30)
    w.add_argument('--ready')
    a = p.parse_args(argv)

    if a.cmd == 'node':
        node = find_node(a.name)
        if not node:
            sys.stderr.write('evdev.py: no event node for %r\n' % a.name)
            return 1
        print(node)
        return 0

    path = a.device if a.device.startswith('/') else find_node(a.device)
    if not path:
        sys.stderr.write('evdev.py: no event node for %r\n' % a.device)
        return 1
    code = key_code(a.code) if a.code else None
    deadline = time.monotonic() + a.timeout
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    if a.ready:
        with open(a.ready, 'w'):
            pass
    for etype, ecode, value in read_events(fd, deadline):
        if etype != EV_KEY:
            continue
        if code is not None and ecode != code:
            continue
        if a.value is not None and value != a.value:
            continue
        print('EV_KEY %d %d' % (ecode, value))
        return 0
    sys.stderr.write('evdev.py: no matching EV_KEY event on %s within %g s\n'
                     % (path, a.timeout))
    return 1


if __name__ == '__main__':
    sys.exit(main())
