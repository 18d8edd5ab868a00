#!/usr/bin/env python3
"""A process inside a test container (its own pid namespace) for
test-kernel.py: reads one command a line on stdin, answers one line
("ok ..." or "err ERRNO message") on stdout.

  ping                     ok pong
  open [PATH]              open /dev/devns-fb0 (or PATH) read-write
  info                     ok xres yres bpp line_length smem_len roff goff boff yres_virtual
  write RRGGBB [ROWS]      write() the colour over the first ROWS rows
                           (default: the visible screen) from offset 0
  mmap                     map the whole buffer
  fill RRGGBB              fill the visible screen through the mapping
  peek [OFFSET]            ok RRGGBB of the pixel at OFFSET, read through
                           read() and, if mapped, through the mapping
  pan Y                    FBIOPAN_DISPLAY to y offset Y
  ioctl CMD                a raw ioctl with a zeroed 4 KiB buffer (hex CMD)
  cat PATH                 ok <first line of PATH>
  fuzz N SEED              N random ioctls, reads and writes on the open
                           file; ok <count by errno>
  close                    unmap and close
"""
import ctypes
import errno
import fcntl
import mmap
import os
import random
import struct
import sys

FBIOGET_VSCREENINFO = 0x4600
FBIOGET_FSCREENINFO = 0x4602
FBIOPAN_DISPLAY = 0x4606
VAR_SIZE = 160
FIX_SIZE = 80

_libc = ctypes.CDLL(None, use_errno=True)
_libc.ioctl.argtypes = (ctypes.c_int, ctypes.c_ulong, ctypes.c_void_p)


def ioctl_ptr(fd, cmd, ptr):
    if _libc.ioctl(fd, cmd, ptr) < 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


state = {'fd': -1, 'map': None, 'var': None, 'fix': None}


def get_var(fd):
    buf = bytearray(VAR_SIZE)
    fcntl.ioctl(fd, FBIOGET_VSCREENINFO, buf, True)
    return buf


def info():
    fd = state['fd']
    var = get_var(fd)
    fix = bytearray(FIX_SIZE)
    fcntl.ioctl(fd, FBIOGET_FSCREENINFO, fix, True)
    v = struct.unpack('<40I', var)
    f = struct.unpack('@16sLIIIIHHHILIIHHH', fix[:78])
    d = {
        'xres': v[0], 'yres': v[1], 'yres_virtual': v[3], 'bpp': v[6],
        'roff': v[8], 'goff': v[11], 'boff': v[14],
        'smem_len': f[2], 'line_length': f[9],
    }
    state['info'] = d
    return d


def pixel(colour, d):
    r, g, b = (int(colour[i:i + 2], 16) for i in (0, 2, 4))
    value = (r << d['roff']) | (g << d['goff']) | (b << d['boff'])
    return struct.pack('<I', value)[:d['bpp'] // 8]


def rows_of(colour, rows):
    d = state['info']
    px = pixel(colour, d)
    line = px * d['xres']
    line += b'\0' * (d['line_length'] - len(line))
    return line * rows


def fuzz(n, seed):
    rng = random.Random(seed)
    fd = state['fd']
    size = (state.get('info') or info())['smem_len']
    counts = {}
    for _ in range(n):
        op = rng.random()
        try:
            if op < 0.7:
                cmd = rng.choice((0x4600, 0x4601, 0x4602, 0x4604, 0x4605, 0x4606,
                                  0x4611, 0x4613, 0x4618, 0x4619, 0x4620,
                                  0x4600 | rng.randrange(256),
                                  rng.getrandbits(32)))
                if cmd in (0x5421, 0x5450, 0x5451, 0x5452, 0x5460, 0x541B):
                    continue   # FIONBIO, FIONCLEX, FIOCLEX, FIOASYNC, FIOQSIZE, FIONREAD
                if (cmd >> 8) & 0xff in (0x58, 0x66, 0x94, 0x12):
                    continue   # generic file and file system ioctls
                if rng.random() < 0.2:
                    ioctl_ptr(fd, cmd, rng.choice((0, 1, 0xdeadbeef000, 0xffff888000000000)))
                else:
                    buf = bytearray(rng.getrandbits(8) for _ in range(160))
                    if rng.random() < 0.5:
                        buf = get_var(fd) if rng.random() < 0.5 else bytearray(160)
                        struct.pack_into('<I', buf, rng.choice((16, 20)), rng.choice((0, 1, 799, 1 << 31)))
                    fcntl.ioctl(fd, cmd, buf, True)
            elif op < 0.85:
                os.pread(fd, rng.randrange(8192), rng.choice((0, size - 1, size, size + 4096,
                                                              rng.randrange(size))))
            else:
                os.pwrite(fd, bytes(rng.randrange(256)) * rng.randrange(1, 64),
                          rng.choice((0, size - 1, size, rng.randrange(size))))
            e = 0
        except OSError as ex:
            e = ex.errno
        counts[e] = counts.get(e, 0) + 1
    return ' '.join('%s:%d' % (errno.errorcode.get(k, k), v) for k, v in sorted(counts.items()))


def handle(words):
    cmd = words[0]
    if cmd == 'ping':
        return 'pong'
    if cmd == 'open':
        path = words[1] if len(words) > 1 else '/dev/devns-fb0'
        state['fd'] = os.open(path, os.O_RDWR)
        return ''
    if cmd == 'info':
        d = info()
        return '%d %d %d %d %d %d %d %d %d' % (
            d['xres'], d['yres'], d['bpp'], d['line_length'], d['smem_len'],
            d['roff'], d['goff'], d['boff'], d['yres_virtual'])
    if cmd == 'write':
        d = state.get('info') or info()
        rows = int(words[2]) if len(words) > 2 else d['yres']
        data = rows_of(words[1], rows)
        off = 0
        while off < len(data):
            off += os.pwrite(state['fd'], data[off:], off)
        return str(off)
    if cmd == 'mmap':
        d = state.get('info') or info()
        state['map'] = mmap.mmap(state['fd'], d['smem_len'], mmap.MAP_SHARED,
                                 mmap.PROT_READ | mmap.PROT_WRITE)
        return ''
    if cmd == 'fill':
        d = state['info']
        data = rows_of(words[1], d['yres'])
        state['map'][0:len(data)] = data
        return ''
    if cmd == 'peek':
        d = state.get('info') or info()
        off = int(words[1]) if len(words) > 1 else 0
        raw = os.pread(state['fd'], 4, off)
        out = []
        for b in [raw] + ([state['map'][off:off + 4]] if state['map'] else []):
            v = struct.unpack('<I', b)[0]
            out.append('%02x%02x%02x' % ((v >> d['roff']) & 255, (v >> d['goff']) & 255,
                                         (v >> d['boff']) & 255))
        return ' '.join(out)
    if cmd == 'pan':
        var = get_var(state['fd'])
        struct.pack_into('<I', var, 20, int(words[1]))   # yoffset
        fcntl.ioctl(state['fd'], FBIOPAN_DISPLAY, var, True)
        return ''
    if cmd == 'ioctl':
        buf = bytearray(4096)
        fcntl.ioctl(state['fd'], int(words[1], 16), buf, True)
        return ''
    if cmd == 'cat':
        with open(words[1]) as f:
            return f.readline().strip()
    if cmd == 'fuzz':
        return fuzz(int(words[1]), int(words[2]))
    if cmd == 'close':
        if state['map'] is not None:
            state['map'].close()
            state['map'] = None
        if state['fd'] >= 0:
            os.close(state['fd'])
            state['fd'] = -1
        return ''
    raise ValueError('unknown command %r' % cmd)


def main():
    for line in sys.stdin:
        words = line.split()
        if not words:
            continue
        try:
            reply = 'ok ' + handle(words)
        except OSError as e:
            reply = 'err %d %s' % (e.errno or 0, errno.errorcode.get(e.errno, '?'))
        except Exception as e:  # keep serving; the test sees the error
            reply = 'err 0 %s: %s' % (type(e).__name__, e)
        sys.stdout.write(reply.rstrip() + '\n')
        sys.stdout.flush()


if __name__ == '__main__':
    main()
