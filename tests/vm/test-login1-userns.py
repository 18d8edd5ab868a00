#!/usr/bin/env python3
"""The login1 facade for a container in a user namespace of its own, as
LXC, podman and systemd-nspawn -U make them: root inside is uid 100000
outside.

devnsd connects to such a container's bus as the container's root (a
child process with the ids the container's uid_map and gid_map give 0),
so the bus daemon sees root and lets it own org.freedesktop.login1;
connected as devnsd's own root it would be the overflow user, refused at
authentication. Checked from inside the container: the facade serves,
ListSessions on its bus shows the session, sd-login (libsystemd, as
weston's launcher calls it) finds the session in files the container's
root owns, and the container's root takes control of it.
A container whose user namespace maps no root says so in Login1.

Run by test-login1-userns.sh in the guest.
"""
import os
import subprocess
import sys

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import devnstest  # noqa: E402
from devnstest import (  # noqa: E402
    CONTAINER, Broker, Container, check, get_prop, log, manager, run_testcases, wait_until)

OUTER_ROOT = 100000

# Inside the new user namespace (once its maps are written and "go" has
# come): pid and mount namespaces owned by it, its own /run/dbus and
# /run/systemd, then its own system bus, run as the container's root.
INNER = r'''
set -e
for d in /run/dbus /run/systemd; do
	mkdir -p "$d"
	mount -t tmpfs -o mode=0755 tmpfs "$d"
done
echo "mounted"
read -r go
dbus-daemon --system --nofork --nopidfile </dev/null >/run/dbus/daemon.log 2>&1 &  # the output dir is not writable for this root
echo "bus $!"
read -r x
'''

state = {}


# Makes the new user namespace, waits until its maps are written (a line
# on stdin), becomes its root (before exec: an unmapped uid would lose the
# capabilities there) and goes on with pid and mount namespaces of its own.
ENTER = r'''
import ctypes, os, sys
CLONE_NEWUSER = 0x10000000
libc = ctypes.CDLL(None, use_errno=True)
if libc.unshare(CLONE_NEWUSER) != 0:
    sys.exit(f"unshare: {os.strerror(ctypes.get_errno())}")
print("userns", flush=True)
sys.stdin.readline()
if sys.argv[2] == "no-root":  # nobody to become: stays as it is
    os.execvp("sh", ["sh", "-c", "echo mounted; read -r x"])
os.setgroups([])
os.setresgid(0, 0, 0)
os.setresuid(0, 0, 0)
os.execvp("unshare", ["unshare", "--pid", "--mount", "--fork", "--propagation", "private",
                      "--mount-proc", "sh", "-c", sys.argv[1]])
'''


# What a compositor's launcher asks sd-login before it calls logind.
SD_LOGIN_READER = r'''
import ctypes
sd = ctypes.CDLL("libsystemd.so.0")
out = ctypes.c_char_p()
r = sd.sd_uid_get_display(0, ctypes.byref(out))
display = out.value.decode() if r >= 0 else f"error{r}"
r = sd.sd_session_get_seat(display.encode(), ctypes.byref(out))
seat = out.value.decode() if r >= 0 else f"error{r}"
print(f"display={display} seat={seat} active={sd.sd_session_is_active(display.encode())}")
'''


class UsernsContainer(Container):
    """A container in its own user namespace, whose uid_map and gid_map
    map `maps` (inner outer count), written from outside as a runtime
    does before the container goes on."""

    def __init__(self, name, maps, options, root=True):
        self.name = name
        self.proc = subprocess.Popen(
            [sys.executable, "-c", ENTER, INNER, "root" if root else "no-root"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=sys.stderr, bufsize=0)
        self._buf = b""
        self.lines = []
        self.expect("userns", timeout=60)
        for f in ("uid_map", "gid_map"):
            with open(f"/proc/{self.proc.pid}/{f}", "w") as m:
                m.write(maps)
        self.send("go")
        if root:
            self.leader = wait_until(f"leader of {name}",
                                     lambda: (devnstest._children(self.proc.pid) or [None])[0])
        else:
            self.leader = self.proc.pid
        self.expect("mounted", timeout=60)
        self.register(options)

    def start_bus(self):
        self.send("go")
        self.expect("bus ", timeout=60)

    def inside(self, argv):
        """argv as the container's root, in all its namespaces."""
        return subprocess.run(["nsenter", "-t", str(self.leader), "-U", "-p", "-m"] + argv,
                              capture_output=True, text=True, timeout=120)


def login1_status(name):
    return str(get_prop(devnstest.system_bus(), manager().GetContainer(name), CONTAINER,
                        "Login1"))


def testcase_served_as_the_containers_root():
    c = state["c"] = UsernsContainer(
        "userns", f"0 {OUTER_ROOT} 65536",
        {"Login1": dbus.Boolean(True), "Login1User": dbus.UInt32(0)})
    with open(f"/proc/{c.leader}/uid_map") as f:
        log(f"the container's uid_map: {f.read().strip()}")
    st = os.stat(f"/proc/{c.leader}")
    check(st.st_uid == OUTER_ROOT, f"the leader runs as {st.st_uid} outside")
    c.start_bus()
    wait_until("the facade serving or failing", lambda: login1_status("userns") != "waiting",
               timeout=60)
    status = login1_status("userns")
    check(status == "serving", f"Login1 of a container in a user namespace: {status}")

    r = c.inside(["busctl", "--system", "call", "org.freedesktop.login1",
                  "/org/freedesktop/login1", "org.freedesktop.login1.Manager", "ListSessions"])
    log(f"ListSessions inside: {r.stdout.strip()} {r.stderr.strip()}")
    check(r.returncode == 0 and r.stdout.split()[:4] == ["a(susso)", "1", '"c1"', "0"],
          f"the container's bus lists session c1 of uid 0: {r.stdout} {r.stderr}")
    # sd-login's files are the container root's own: made by the host's
    # root, the kernel refuses them on the container's tmpfs (EOVERFLOW).
    r = c.inside(["stat", "-c", "%u:%g %a", "/run/systemd/sessions/c1",
                  "/run/systemd/seats/seat0", "/run/systemd/users/0"])
    log(f"sd-login's files inside: {r.stdout.split()} {r.stderr.strip()}")
    check(r.returncode == 0 and r.stdout.split() == ["0:0", "644"] * 3,
          f"sd-login's files, owned by the container's root: {r.stdout} {r.stderr}")
    st = os.stat(f"/proc/{c.leader}/root/run/systemd/sessions/c1")
    check((st.st_uid, st.st_gid) == (OUTER_ROOT, OUTER_ROOT),
          f"seen from outside, the session file belongs to {st.st_uid}:{st.st_gid}")
    manager().SwitchContainer("seat0", "userns")
    wait_until("the session file saying active",
               lambda: "ACTIVE=1" in open(f"/proc/{c.leader}/root/run/systemd/sessions/c1").read())
    r = c.inside([sys.executable, "-c", SD_LOGIN_READER])
    log(f"sd-login inside: {r.stdout.strip()} {r.stderr.strip()}")
    check(r.returncode == 0 and r.stdout.split() == ["display=c1", "seat=seat0", "active=1"],
          f"sd-login in the container: {r.stdout} {r.stderr}")
    # The container's root may take control: the facade hears uid 0 from
    # the container's bus, as the container sees it.
    r = c.inside(["busctl", "--system", "call", "org.freedesktop.login1",
                  "/org/freedesktop/login1/session/c1", "org.freedesktop.login1.Session",
                  "TakeControl", "b", "false"])
    check(r.returncode == 0, f"TakeControl as the container's root: {r.stderr}")


def testcase_no_root_in_the_namespace():
    c = UsernsContainer("noroot", f"1000 {OUTER_ROOT + 1000} 1",
                        {"Login1": dbus.Boolean(True), "Login1User": dbus.UInt32(1000)},
                        root=False)
    try:
        want = "failed: the container's user namespace maps no root user"
        wait_until("Login1 saying why", lambda: login1_status("noroot") == want, timeout=60)
    finally:
        c.stop()


ORDER = [
    "testcase_served_as_the_containers_root",
    "testcase_no_root_in_the_namespace",
]


def main():
    state["broker"] = Broker()
    try:
        rc = run_testcases(globals(), ORDER)
    finally:
        if "c" in state:
            state["c"].stop()
        state["broker"].stop()
    return rc


if __name__ == "__main__":
    sys.exit(main())
