#!/usr/bin/env python3
"""Look at a screendump: the most common colour and how much it covers.

usage: screen.py FILE.png [--expect RRGGBB] [--min-fraction F]
                          [--tolerance N] [--region x,y,w,h]

Prints `RRGGBB FRACTION` for the most common colour of the region (default:
the whole image). With --expect it exits 0 only if pixels within
--tolerance (default 8) per channel of that colour cover at least
--min-fraction (default 0.5) of the region, else 1; the verdict goes to
stderr. Exit 2 on an unreadable file.

As a module: load_png(path) -> Image, dominant(img, region) and
fraction(img, rgb, tolerance, region). Only the standard library is used,
so it runs in the test guest as well as on the host.
"""

import argparse
import collections
import struct
import sys
import zlib

PNG_MAGIC = b'\x89PNG\r\n\x1a\n'
# colour type -> samples per pixel (8-bit depth only)
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


class PNGError(Exception):
    pass


class Image:
    """width x height pixels as packed RGB bytes, row after row."""

    def __init__(self, width, height, rgb):
        self.width = width
        self.height = height
        self.rgb = rgb

    def row(self, y, x=0, w=None):
        w = self.width - x if w is None else w
        start = (y * self.width + x) * 3
        return self.rgb[start:start + w * 3]

    def pixel(self, x, y):
        return tuple(self.row(y, x, 1))


def _unfilter(raw, width, height, bpp):
    stride = width * bpp
    out = bytearray()
    prev = bytes(stride)
    zero = bytes(stride)
    pos = 0
    for _ in range(height):
        if pos + 1 + stride > len(raw):
            raise PNGError('truncated image data')
        ftype = raw[pos]
        line = raw[pos + 1:pos + 1 + stride]
        pos += 1 + stride
        if ftype == 0:
            cur = bytes(line)
        elif line == zero and ftype in (2, 4):
            # Up or Paeth over zero differences repeats the previous row:
            # the usual case for large flat areas, and much faster.
            cur = prev
        elif line == zero and ftype == 1:
            cur = zero
        else:
            cur = bytearray(line)
            if ftype == 1:
                for i in range(bpp, stride):
                    cur[i] = (cur[i] + cur[i - bpp]) & 0xff
            elif ftype == 2:
                for i in range(stride):
                    cur[i] = (cur[i] + prev[i]) & 0xff
            elif ftype == 3:
                for i in range(stride):
                    a = cur[i - bpp] if i >= bpp else 0
                    cur[i] = (cur[i] + ((a + prev[i]) >> 1)) & 0xff
            elif ftype == 4:
                for i in range(stride):
                    if i >= bpp:
                        a = cur[i - bpp]
                        c = prev[i - bpp]
                    else:
                        a = c = 0
                    b = prev[i]
                    p = a + b - c
                    pa = abs(p - a)
                    pb = abs(p - b)
                    pc = abs(p - c)
                    if pa <= pb and pa <= pc:
                        pred = a
                    elif pb <= pc:
                        pred = b
                    else:
                        pred = c
                    cur[i] = (cur[i] + pred) & 0xff
            else:
                raise PNGError('bad filter type %d' % ftype)
            cur = bytes(cur)
        out += cur
        prev = cur
    return bytes(out)


def load_png(path):
    with open(path, 'rb') as f:
        data = f.read()
    if data[:8] != PNG_MAGIC:
        raise PNGError('%s: not a PNG file' % path)
    pos = 8
    idat = []
    ihdr = None
    palette = None
    while pos + 8 <= len(data):
        length, ctype = struct.unpack('>I4s', data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        pos += 12 + length
        if ctype == b'IHDR':
            ihdr = struct.unpack('>IIBBBBB', body)
        elif ctype == b'PLTE':
            palette = body
        elif ctype == b'IDAT':
            idat.append(body)
        elif ctype == b'IEND':
            break
    if ihdr is None or not idat:
        raise PNGError('%s: no image header or data' % path)
    width, height, depth, ctype, _, _, interlace = ihdr
    if depth != 8 or ctype not in CHANNELS:
        raise PNGError('%s: unsupported PNG (depth %d, colour type %d)' % (path, depth, ctype))
    if interlace:
        raise PNGError('%s: interlaced PNGs are not supported' % path)
    try:
        raw = zlib.decompress(b''.join(idat))
    except zlib.error as e:
        raise PNGError('%s: %s' % (path, e))
    bpp = CHANNELS[ctype]
    px = _unfilter(raw, width, height, bpp)
    if ctype == 2:
        rgb = px
    elif ctype == 6:
        rgb = bytearray(width * height * 3)
        rgb[0::3] = px[0::4]
        rgb[1::3] = px[1::4]
        rgb[2::3] = px[2::4]
        rgb = bytes(rgb)
    elif ctype in (0, 4):
        grey = px[0::bpp]
        rgb = bytearray(len(grey) * 3)
        rgb[0::3] = grey
        rgb[1::3] = grey
        rgb[2::3] = grey
        rgb = bytes(rgb)
    else:
        if palette is None:
            raise PNGError('%s: palette image without PLTE' % path)
        rgb = b''.join(palette[i * 3:i * 3 + 3] for i in px)
    return Image(width, height, rgb)


def _region(img, region):
    if region is None:
        return 0, 0, img.width, img.height
    x, y, w, h = region
    if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > img.width or y + h > img.height:
        raise ValueError('region %d,%d,%d,%d outside the %dx%d image'
                         % (x, y, w, h, img.width, img.height))
    return x, y, w, h


def histogram(img, region=None):
    """Counter of (r, g, b) -> pixel count over the region."""
    x, y, w, h = _region(img, region)
    counts = collections.Counter()
    for yy in range(y, y + h):
        row = img.row(yy, x, w)
        if row == row[:3] * w:
            counts[tuple(row[:3])] += w  # flat row, the common case
        else:
            counts.update(zip(row[0::3], row[1::3], row[2::3]))
    return counts


def dominant(img, region=None):
    """((r, g, b), fraction) of the most common colour in the region."""
    counts = histogram(img, region)
    rgb, n = counts.most_common(1)[0]
    return rgb, n / sum(counts.values())


def fraction(img, rgb, tolerance=8, region=None):
    """Fraction of the region within tolerance (per channel) of rgb."""
    counts = histogram(img, region)
    near = sum(n for c, n in counts.items()
               if all(abs(c[i] - rgb[i]) <= tolerance for i in range(3)))
    return near / sum(counts.values())


def hexcolour(rgb):
    return '%02x%02x%02x' % tuple(rgb)


def parse_colour(s):
    s = s.lstrip('#')
    if len(s) != 6:
        raise argparse.ArgumentTypeError('colour must be RRGGBB')
    try:
        return tuple(int(s[i:i + 2], 16) for i in (0, 2, 4))
    except ValueError:
        raise argparse.ArgumentTypeError('colour must be RRGGBB')


def parse_region(s):
    try:
        v = tuple(int(p) for p in s.split(','))
    except ValueError:
        v = ()
    if len(v) != 4:
        raise argparse.ArgumentTypeError('region must be x,y,w,h')
    return v


def main(argv=None):
    p = argparse.ArgumentParser(prog='screen.py', description=__doc__.split('\n\n')[0])
    p.add_argument('file')
    p.add_argument('--expect', type=parse_colour, metavar='RRGGBB')
    p.add_argument('--min-fraction', type=float, default=0.5, metavar='F')
    p.add_argument('--tolerance', type=int, default=8, metavar='N')
    p.add_argument('--region', type=parse_region, metavar='x,y,w,h')
    a = p.parse_args(argv)
    try:
        img = load_png(a.file)
        rgb, frac = dominant(img, a.region)
    except (OSError, PNGError, ValueError) as e:
        sys.stderr.write('screen.py: %s\n' % e)
        return 2
    print('%s %.3f' % (hexcolour(rgb), frac))
    if a.expect is None:
        return 0
    got = fraction(img, a.expect, a.tolerance, a.region)
    ok = got >= a.min_fraction
    x, y, w, h = _region(img, a.region)
    sys.stderr.write('screen.py: %s covers %.3f of %dx%d+%d+%d (want >= %.3f): %s\n'
                     % (hexcolour(a.expect), got, w, h, x, y,
                        a.min_fraction, 'ok' if ok else 'FAIL'))
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
