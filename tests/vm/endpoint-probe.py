#!/usr/bin/env python3
"""Talks to a container's endpoint from inside the container, as a client
would, and prints what happened as JSON.

  endpoint-probe.py security MAJ:MIN   every refusal a controller can cause;
                                       MAJ:MIN is a device of another seat
  endpoint-probe.py silent [--late] MAJ:MIN...
                                       takes control and the devices (with
                                       --late: after a line on stdin), prints
                                       {"ready": true}, never acknowledges a
                                       pause; on "status" prints whether each
                                       fd is master (DRM) or live (evdev);
                                       on "seize" calls DRM_IOCTL_SET_MASTER
                                       on each card fd, on "grab" EVIOCGRAB
                                       on each evdev fd; on "park" sends each
                                       evdev fd over a socketpair to itself
                                       and closes its own copy (the file is
                                       then only in flight), on "unpark"
                                       receives them back and reads what
                                       they hold; exits when stdin closes
  endpoint-probe.py whoami             the Name property through /self
  endpoint-probe.py take-control       TakeControl without and with force,
                                       and Controlled after them
  endpoint-probe.py lease MAJ:MIN [CRTC...]
                                       takes control and the card, prints
                                       what its file shows: inactive,
                                       master, the connector and CRTC ids
                                       it lists, and the errno of GETCRTC
                                       on each CRTC id given (0: readable);
                                       then holds it until stdin closes
"""
import ctypes
import errno
import fcntl
import json
import os
import socket
import struct
import sys

import dbus

ADDRESS = "unix:path=/run/devns/bus"
SELF = "/org/devns/broker1/container/self"
CONTAINER = "org.devns.broker1.Container"
SEAT = "org.devns.broker1.Seat"
PROPS = "org.freedesktop.DBus.Properties"


def err(fn):
    try:
        fn()
    except dbus.exceptions.DBusException as e:
        return e.get_dbus_name()
    return None


def obj(conn, path):
    # No introspection: without a main loop it would wait for its timeout.
    return conn.get_object(None, path, introspect=False)


def container(conn, path=SELF):
    return dbus.Interface(obj(conn, path), CONTAINER)


def prop(conn, path, iface, name):
    return obj(conn, path).Get(iface, name, dbus_interface=PROPS)


def u32(*v):
    return [dbus.UInt32(x) for x in v]


def security(other_seat_dev):
    res = {}
    # A client that never sends Hello, and one that does (busctl-style).
    raw = dbus.connection.Connection(ADDRESS)
    hello = dbus.bus.BusConnection(ADDRESS)
    c = container(raw)
    res["take_control"] = err(lambda: c.TakeControl(False))
    res["take_control_again_same"] = err(lambda: c.TakeControl(False))
    res["take_control_second"] = err(lambda: container(hello).TakeControl(False))
    res["take_device_not_controller"] = err(lambda: container(hello).TakeDevice(*u32(226, 0)))
    res["pause_complete_not_controller"] = err(lambda: container(hello).PauseDeviceComplete(*u32(226, 0)))
    res["take_mem"] = err(lambda: c.TakeDevice(*u32(1, 1)))
    res["take_loop"] = err(lambda: c.TakeDevice(*u32(7, 0)))
    res["take_null"] = err(lambda: c.TakeDevice(*u32(1, 3)))
    with open("/sys/block/vda/dev") as f:
        dma, dmi = (int(x) for x in f.read().split(":"))
    res["take_disk"] = err(lambda: c.TakeDevice(*u32(dma, dmi)))
    ma, mi = (int(x) for x in other_seat_dev.split(":"))
    res["take_other_seat"] = err(lambda: c.TakeDevice(*u32(ma, mi)))
    res["release_not_taken"] = err(lambda: c.ReleaseDevice(*u32(226, 0)))
    res["activate"] = err(lambda: c.Activate())
    seat_path = prop(raw, SELF, CONTAINER, "Seat")[1]
    seat = dbus.Interface(obj(raw, seat_path), SEAT)
    res["seat_switch"] = err(lambda: seat.SwitchToNext())
    res["devices"] = [list(map(str, d)) for d in prop(raw, SELF, CONTAINER, "Devices")]
    res["name_self"] = str(prop(hello, SELF, CONTAINER, "Name"))
    res["controlled"] = bool(prop(raw, SELF, CONTAINER, "Controlled"))
    print(json.dumps(res))


DRM_IOCTL_AUTH_MAGIC = 0x40046411
DRM_IOCTL_SET_MASTER = 0x641e
EVIOCGRAB = 0x40044590
EVIOCGVERSION = 0x80044501


def fd_state(fd, drm):
    """drm: master or not, as libdrm's drmIsMaster decides (authenticating
    magic 0 needs master); evdev: live unless the file is revoked."""
    try:
        if drm:
            fcntl.ioctl(fd, DRM_IOCTL_AUTH_MAGIC, struct.pack("I", 0))
        else:
            fcntl.ioctl(fd, EVIOCGVERSION, b"\0" * 4)
        return True
    except OSError as e:
        if drm:
            return e.errno != errno.EACCES
        return False


DRM_IOCTL_MODE_GETRESOURCES = 0xC04064A0
DRM_IOCTL_MODE_GETCRTC = 0xC06864A1
CARD_RES = struct.Struct("QQQQIIIIIIII")  # struct drm_mode_card_res
MODE_CRTC = struct.Struct("QIIIIIII68s")   # struct drm_mode_crtc


def drm_resources(fd):
    """The connector and CRTC ids a DRM file lists (a lease lists its own
    objects only)."""
    counts = bytearray(CARD_RES.size)
    fcntl.ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, counts)
    _, _, _, _, _, n_crtcs, n_conns, _, *_ = CARD_RES.unpack(counts)
    crtcs = (ctypes.c_uint32 * max(n_crtcs, 1))()
    conns = (ctypes.c_uint32 * max(n_conns, 1))()
    req = bytearray(CARD_RES.pack(0, ctypes.addressof(crtcs), ctypes.addressof(conns), 0,
                                  0, n_crtcs, n_conns, 0, 0, 0, 0, 0))
    fcntl.ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, req)
    _, _, _, _, _, n_crtcs, n_conns, _, *_ = CARD_RES.unpack(req)
    return {"connectors": list(conns)[:n_conns], "crtcs": list(crtcs)[:n_crtcs]}


def crtc_fb(fd, crtc_id):
    """The framebuffer id a CRTC shows, 0 for none."""
    req = bytearray(MODE_CRTC.pack(0, 0, crtc_id, 0, 0, 0, 0, 0, b""))
    fcntl.ioctl(fd, DRM_IOCTL_MODE_GETCRTC, req)
    return MODE_CRTC.unpack(req)[3]


def getcrtc_errno(fd, crtc_id):
    try:
        crtc_fb(fd, crtc_id)
        return 0
    except OSError as e:
        return e.errno


EV_KEY = 1
INPUT_EVENT = struct.Struct("llHHi")  # struct input_event on 64-bit


def drain_events(fd):
    """Reads what the file holds, without waiting: the number of key
    presses and releases, or the errno a read ended with (ENODEV when the
    file was revoked)."""
    os.set_blocking(fd, False)
    keys = 0
    while True:
        try:
            data = os.read(fd, INPUT_EVENT.size * 64)
        except OSError as e:
            if e.errno == errno.EAGAIN:
                return {"keys": keys}
            return {"keys": keys, "errno": errno.errorcode.get(e.errno, e.errno)}
        if not data:
            return {"keys": keys}
        for i in range(0, len(data) - INPUT_EVENT.size + 1, INPUT_EVENT.size):
            _, _, type_, _, value = INPUT_EVENT.unpack_from(data, i)
            keys += type_ == EV_KEY and value in (0, 1)


def silent(*devs):
    raw = dbus.connection.Connection(ADDRESS)
    c = container(raw)
    c.TakeControl(False)
    late = devs and devs[0] == "--late"
    if late:
        # Take the devices once told to: taken while the container is
        # active, they are live at once (no ResumeDevice is read here).
        devs = devs[1:]
        print(json.dumps({"controlling": True}), flush=True)
        sys.stdin.readline()
    held = []
    for dev in devs:
        ma, mi = (int(x) for x in dev.split(":"))
        fd, inactive = c.TakeDevice(*u32(ma, mi))
        held.append((ma == 226, fd.take()))
    print(json.dumps({"ready": True}), flush=True)
    parked = []
    # Keep the devices and answer no pause; report the fds on request.
    for line in sys.stdin:
        if line.strip() == "status":
            print(json.dumps({"status": [fd_state(fd, drm) for drm, fd in held]}), flush=True)
        elif line.strip() == "seize":
            # The attack: make itself master behind the broker's back.
            res = []
            for drm, fd in held:
                if drm:
                    try:
                        fcntl.ioctl(fd, DRM_IOCTL_SET_MASTER)
                        res.append(True)
                    except OSError as e:
                        res.append(e.errno)
            print(json.dumps({"seize": res}), flush=True)
        elif line.strip() == "grab":
            # The attack: keep every key, the seat's hotkeys too.
            res = []
            for drm, fd in held:
                if not drm:
                    try:
                        fcntl.ioctl(fd, EVIOCGRAB, 1)
                        res.append(True)
                    except OSError as e:
                        res.append(e.errno)
            print(json.dumps({"grab": res}), flush=True)
        elif line.strip() == "park":
            # The attack: a live file that no process holds, only a socket
            # nobody reads, out of sight of /proc/PID/fd.
            for drm, fd in [h for h in held if not h[0]]:
                a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
                socket.send_fds(a, [b"x"], [fd])
                os.close(fd)
                a.close()
                parked.append(b)
            held = [h for h in held if h[0]]
            print(json.dumps({"park": len(parked)}), flush=True)
        elif line.strip() == "unpark":
            res = []
            for b in parked:
                _, fds, _, _ = socket.recv_fds(b, 1, 1)
                res.append(drain_events(fds[0]))
                os.close(fds[0])
                b.close()
            parked = []
            print(json.dumps({"unpark": res}), flush=True)


def take_control():
    raw = dbus.connection.Connection(ADDRESS)
    c = container(raw)
    res = {"take_control": err(lambda: c.TakeControl(False)),
           "take_control_force": err(lambda: c.TakeControl(True)),
           "controlled": bool(prop(raw, SELF, CONTAINER, "Controlled"))}
    print(json.dumps(res))


def whoami():
    raw = dbus.connection.Connection(ADDRESS)
    print(json.dumps({"name": str(prop(raw, SELF, CONTAINER, "Name"))}))


def lease(dev, *crtcs):
    raw = dbus.connection.Connection(ADDRESS)
    c = container(raw)
    c.TakeControl(False)
    ma, mi = (int(x) for x in dev.split(":"))
    fd, inactive = c.TakeDevice(*u32(ma, mi))
    fd = fd.take()
    res = drm_resources(fd)
    res.update(inactive=bool(inactive), master=fd_state(fd, True),
               getcrtc={str(x): getcrtc_errno(fd, int(x)) for x in crtcs})
    print(json.dumps(res), flush=True)
    sys.stdin.read()


if __name__ == "__main__":
    {"security": security, "silent": silent, "whoami": whoami,
     "take-control": take_control, "lease": lease}[sys.argv[1]](*sys.argv[2:])
