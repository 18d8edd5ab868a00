#!/usr/bin/env python3
"""Loop devices through the container's endpoint, from inside the
container, as a container's program would use them; prints JSON.

  loop-probe.py attach IMAGE FILE  AttachLoopDevice(IMAGE, read-only), mounts
                                   the returned device in a directory of its
                                   own, reads FILE there and unmounts:
                                   {"name": "loopN", "content": "..."}
  loop-probe.py mount NAME DIR     OpenLoopDevice(NAME) and mounts it on DIR,
                                   where it stays (in the container's mount
                                   namespace): {"result": "ok"}
  loop-probe.py open NAME          OpenLoopDevice: {"result": "ok"} or the
                                   D-Bus error name
  loop-probe.py detach NAME        DetachLoopDevice, the same way
  loop-probe.py hold IMAGE         AttachLoopDevice(IMAGE, read-write) and
                                   keeps the device open: {"name": "loopN"};
                                   then on "detach" DetachLoopDevice, on
                                   "read" the device's first bytes through
                                   the kept file ({"read": "...", or
                                   {"error": errno}); exits on end of input
"""
import ctypes
import json
import os
import sys
import tempfile

import dbus

ADDRESS = "unix:path=/run/devns/bus"
SELF = "/org/devns/broker1/container/self"
CONTAINER = "org.devns.broker1.Container"
MS_RDONLY = 1

libc = ctypes.CDLL(None, use_errno=True)


def container():
    # A bus connection: its Hello completes the authentication, before
    # which libdbus refuses to send a file descriptor.
    conn = dbus.bus.BusConnection(ADDRESS)
    return dbus.Interface(conn.get_object(None, SELF, introspect=False), CONTAINER)


def mount_fd(fd, target):
    """Mounts the block device open as fd: the kernel follows the
    /proc/self/fd link to the device itself."""
    src = f"/proc/self/fd/{fd}".encode()
    if libc.mount(src, target.encode(), b"ext2", MS_RDONLY, None) != 0:
        err = ctypes.get_errno()
        raise OSError(err, f"mount {src.decode()} on {target}: {os.strerror(err)}")


def attach(image, name):
    fd = os.open(image, os.O_RDONLY)
    loop_fd, loop = container().AttachLoopDevice(dbus.types.UnixFd(fd), True)
    os.close(fd)
    loop_fd = loop_fd.take()
    mnt = tempfile.mkdtemp(prefix="loop-probe-")
    mount_fd(loop_fd, mnt)
    try:
        with open(os.path.join(mnt, name)) as f:
            content = f.read()
    finally:
        libc.umount2(mnt.encode(), 0)
        os.rmdir(mnt)
        os.close(loop_fd)
    print(json.dumps({"name": str(loop), "content": content}))


def call(fn):
    try:
        return fn(), "ok"
    except dbus.exceptions.DBusException as e:
        return None, e.get_dbus_name()


def mount(loop, target):
    fd, result = call(lambda: container().OpenLoopDevice(loop))
    if fd is not None:
        fd = fd.take()
        mount_fd(fd, target)
        os.close(fd)
    print(json.dumps({"result": result}))


def open_(loop):
    fd, result = call(lambda: container().OpenLoopDevice(loop))
    if fd is not None:
        os.close(fd.take())
    print(json.dumps({"result": result}))


def detach(loop):
    _, result = call(lambda: container().DetachLoopDevice(loop))
    print(json.dumps({"result": result}))


def hold(image):
    fd = os.open(image, os.O_RDWR)
    loop_fd, loop = container().AttachLoopDevice(dbus.types.UnixFd(fd), False)
    os.close(fd)
    loop_fd = loop_fd.take()
    print(json.dumps({"name": str(loop)}), flush=True)
    for line in sys.stdin:
        if line.strip() == "detach":
            _, result = call(lambda: container().DetachLoopDevice(loop))
            print(json.dumps({"result": result}), flush=True)
        elif line.strip() == "read":
            try:
                data = os.pread(loop_fd, 64, 0)
                print(json.dumps({"read": data.decode(errors="replace")}), flush=True)
            except OSError as e:
                print(json.dumps({"error": e.errno}), flush=True)


if __name__ == "__main__":
    {"attach": attach, "mount": mount, "open": open_, "detach": detach,
     "hold": hold}[sys.argv[1]](*sys.argv[2:])
