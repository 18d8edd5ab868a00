#!/usr/bin/env python3
"""devns as a user installs it: the Debian packages built from the tree
(scripts/build-packages.sh), installed with apt into a whole Debian 12
system that boots with systemd as PID 1 (tests/vm/mksysroot.sh).

- DKMS built devns.ko for the running kernel, and it loads;
- devnsd.service, enabled by the package, was started at boot;
- the demo: two of the package's demo clients in containers started by the
  package's devnsctl, switched over D-Bus and by hotkey, each switch checked
  on the screen and keys typed reaching only the one in front;
- devnsd restarted by `systemctl restart`, by the package's postinst when
  the package is installed again (as on an upgrade), and killed with
  SIGKILL for systemd to start again: systemd's fd store keeps what the
  clients hold, so a libseat client and sway on seatd.sock and weston on
  the login1 facade see nothing and a demo client on the D-Bus endpoint
  reconnects; afterwards a tour of all four shows each on the screen and
  gives it keys, and devnsd's fds do not grow;
- podman, LXC and systemd-nspawn (machinectl start) each run a demo client
  in a container from a local root file system, registered by the
  package's hooks, switched to the front;
- the purge removes every file the packages installed or made.

Nothing of the build tree is used but this script's helpers and the
test's seatd client (tests/vm/libseat-client, linked with the system's
libseat). sway and weston are Debian's, installed in the base system. The
guest's card is virtio-gpu (vm.py --vga virtio): sway's wlroots cannot
import its buffers on bochs. Run by test-installed.sh in the guest."""
import errno
import fcntl
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compositors  # noqa: E402
import devnstest  # noqa: E402
from devnstest import (  # noqa: E402
    BUILD, OUT, RunContainer, TestFailure, check, expect_screen, fds_of, log, manager,
    pidfd_getfd, run_testcases, seat_devices, sendkey, switch_and_wait, system_bus, wait_until)

# The installed programs, not the build tree's.
devnstest.DEVNSCTL = "/usr/bin/devnsctl"
devnstest.CLIENT = "/usr/libexec/devns/devns-demo-client"
SEAT_CLIENT = os.path.join(BUILD, "tests", "vm", "libseat-client")
ROUNDS = int(os.environ.get("DEVNS_RESTART_ROUNDS", "3"))
COLOURS = {"alpha": "cc2222", "beta": "2255cc", "seat": "dd7711", "pod": "22aa44", "lessee": "bb2288",
           "lxcdemo": "8833bb", "desk": "22bbbb", "sway": "33aa77", "weston": "aaaa22"}
KEY_A = 30
# sway on seatd.sock as a bare uid; weston on its container's own system
# bus, whose dbus-daemon refuses a uid without a passwd entry: nobody.
SWAY_UID, WESTON_UID = 4711, 65534
SWAY_XDG, WESTON_XDG = "/tmp/devns-sway-xdg", "/tmp/devns-weston-xdg"
SWAY_KEYS = os.path.join(SWAY_XDG, "keys")
SWAY_CONF, SWAY_GO, WESTON_CONF = ("/tmp/devns-sway.conf", "/tmp/devns-sway-go",
                                   "/tmp/devns-weston.ini")
WESTON_SOCKET = "wayland-devns"
EVENTDEMO_LOG = os.path.join(OUT, "eventdemo.log")
state = {}


def sh(*argv, check_rc=True):
    r = subprocess.run(argv, capture_output=True, text=True, timeout=600)
    if check_rc and r.returncode != 0:
        raise TestFailure(f"{' '.join(argv)}: status {r.returncode}: {r.stderr.strip()[-2000:]}")
    return r.stdout


def unit_prop(prop):
    return sh("systemctl", "show", "-P", prop, "devnsd.service").strip()


def main_pid():
    return int(unit_prop("MainPID") or 0)


def devnsd_up(old_pid=None):
    """devnsd.service running (a new process if old_pid is given), on the
    bus, with seat0's card; returns its pid."""
    def up():
        pid = main_pid()
        if not pid or pid == old_pid or unit_prop("ActiveState") != "active":
            return None
        try:
            devs = seat_devices(system_bus())
        except Exception:
            return None
        return pid if any(d[3] == "drm" for d in devs) else None
    return wait_until("devnsd.service active with seat0's card", up, timeout=120, interval=0.2)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def keyboard():
    """The sysname of QEMU's PS/2 keyboard on seat0."""
    def find():
        for name, _, _, kind in seat_devices(system_bus()):
            if kind != "evdev":
                continue
            try:
                with open(f"/sys/class/input/{name}/device/name") as f:
                    if "keyboard" in f.read().lower():
                        return name
            except OSError:
                pass
        return None
    return wait_until("the PS/2 keyboard on seat0", find, timeout=60)


def demo_clients(names=("alpha", "beta"), extra=()):
    cs = {n: devnstest.run_demo_client(n, COLOURS[n], extra=extra) for n in names}
    for c in cs.values():
        c.expect("ready", timeout=60)
    return cs


def stop_all(cs):
    for c in cs.values():
        c.stop()
    for n in cs:
        devnstest.wait_unregistered(n)


# ---------------------------------------------------------------- testcases

def testcase_module_built_by_dkms():
    kver = os.uname().release
    status = sh("dkms", "status", "-m", "devns", "-k", kver)
    check("installed" in status, f"dkms status for {kver}: {status!r}")
    path = sh("modinfo", "-n", "devns").strip()
    check(path.startswith(f"/lib/modules/{kver}/updates/dkms/devns.ko"), f"devns.ko at {path}")
    version = sh("dpkg-query", "-W", "-f=${Version}", "devns-dkms").split("-")[0]
    check(sh("modinfo", "-F", "version", "devns").strip() == version,
          f"devns.ko is not version {version}")
    sh("modprobe", "devns")
    try:
        wait_until("/dev/devns", lambda: os.path.exists("/dev/devns"), timeout=30)
    finally:
        sh("modprobe", "-r", "devns")
    log(f"DKMS built devns.ko {version} for {kver}; it loads")


def testcase_started_at_boot():
    check(sh("systemctl", "is-enabled", "devnsd.service", check_rc=False).strip() == "enabled",
          "devnsd.service is not enabled")
    pid = devnsd_up()
    exe = os.readlink(f"/proc/{pid}/exe")
    check(exe == "/usr/sbin/devnsd", f"devnsd.service runs {exe}")
    # Started by systemd at boot, not by this test.
    check(int(unit_prop("NRestarts")) == 0 or state.get("restarted"),
          "devnsd.service was restarted before any test restarted it")
    log(f"devnsd.service active, pid {pid}")


def testcase_demo():
    devnsd_up()
    kbd = keyboard()
    cs = demo_clients()
    try:
        # (how, the hotkey, the container in front afterwards)
        steps = [("dbus", None, "alpha"), ("dbus", None, "beta"),
                 ("hotkey", "ctrl-alt-f1", "alpha"), ("hotkey", "ctrl-alt-right", "beta"),
                 ("hotkey", "ctrl-alt-left", "alpha"), ("dbus", None, "beta")]
        for step, (how, chord, name) in enumerate(steps):
            c = cs[name]
            if how == "dbus":
                switch_and_wait(c)
            else:
                c.take_lines("resume")
                sendkey(chord)
                c.expect("resume ", timeout=60)
            expect_screen(f"demo-{step:02d}-{name}.png", COLOURS[name], timeout=60)
            for other in cs.values():
                other.take_lines("key ")
            sendkey("a")
            c.expect(f"key {kbd} {KEY_A}", timeout=30)
            for other in cs.values():
                if other is not c:
                    check(not other.take_lines("key "), f"{other.name} got a key meant for {name}")
        log("demo: 6 switches, each on the screen, keys only to the one in front")
    finally:
        stop_all(cs)


def log_tail(name, n=30):
    try:
        with open(os.path.join(OUT, name), errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return f"(no {name})"


def check_running(c, when):
    """A compositor still running, or its log's last lines."""
    if not c.alive():
        raise TestFailure(f"{c.name} is not running {when}; last lines of {c.name}.log:\n"
                          f"{log_tail(c.name + '.log')}")


def start_sway(cs):
    """sway on seatd.sock (cs["sway"]), started by the package's devnsctl as a person
    would. seatd.sock, like seatd, gives a client in the background no
    device, and sway opens its card as it starts: its container is
    switched to the front first, and sway starts once it is."""
    compositors.write_sway_config(SWAY_CONF, COLOURS["sway"], SWAY_KEYS)
    if os.path.exists(SWAY_GO):
        os.unlink(SWAY_GO)
    wait_for_go = f'while [ ! -e {SWAY_GO} ]; do sleep 0.1; done; exec sh -c "$0" sh "$@"'
    c = cs["sway"] = compositors.CompositorRun(
        "sway", ["sh", "-c", wait_for_go, compositors.SWAY_SCRIPT, str(SWAY_UID), SWAY_XDG,
                 SWAY_CONF])
    manager().SwitchContainer("seat0", "sway")
    open(SWAY_GO, "w").close()
    try:
        expect_screen("sway-start.png", COLOURS["sway"], timeout=300)
    finally:
        check_running(c, "after start-up")


def start_weston(cs):
    """weston on the login1 facade (cs["weston"]): `devnsctl run --login1`, which starts
    the container's own system bus and waits until devnsd serves login1
    on it; weston's logind launcher takes control and activates the
    session itself (--allow-activate). weston-eventdemo, its client,
    logs the keys it gets."""
    compositors.write_weston_config(WESTON_CONF, COLOURS["weston"])
    c = cs["weston"] = compositors.CompositorRun(
        "weston", ["sh", "-c", compositors.WESTON_SCRIPT, "sh", str(WESTON_UID), WESTON_XDG,
                   WESTON_CONF, WESTON_SOCKET], allow_activate=True, login1_user=WESTON_UID)
    try:
        expect_screen("weston-start.png", COLOURS["weston"], timeout=300)
        wait_until("weston's Wayland socket",
                   lambda: os.path.exists(os.path.join(WESTON_XDG, WESTON_SOCKET)), timeout=60)
    finally:
        check_running(c, "after start-up")
    cs["eventdemo"] = compositors.start_eventdemo(c.leader, WESTON_UID, WESTON_XDG,
                                                  WESTON_SOCKET, EVENTDEMO_LOG)


def type_into_weston(n_before):
    """Super+Tab, desktop-shell's window switcher, gives eventdemo's
    window the focus (weston drops it when its keyboard is paused), then
    a: eventdemo must get it once."""
    sendkey("meta_l-tab")
    sendkey("a")
    keys = lambda: compositors.eventdemo_keys(EVENTDEMO_LOG).count(KEY_A)  # noqa: E731
    try:
        wait_until("weston-eventdemo's key", lambda: keys() > n_before, timeout=60)
    except TestFailure:
        raise TestFailure(f"weston's client did not get its key; weston.log:\n"
                          f"{log_tail('weston.log', 15)}")
    check(keys() == n_before + 1, f"weston's client got {keys() - n_before} keys for one")
    return keys()


def restart_rounds(how):
    """ROUNDS restarts of devnsd by how(pid), with a libseat client (seat)
    in front and behind it a demo client (alpha, on the D-Bus endpoint),
    sway (seatd.sock) and weston (the login1 facade). After each, a tour
    of all four, each on the screen and getting a key of its own."""
    pid = devnsd_up()
    kbd = keyboard()
    cs = demo_clients(("alpha",), extra=["--reconnect"])
    try:
        start_sway(cs)
        start_weston(cs)
        cs["seat"] = RunContainer("seat", [
            "env", "LIBSEAT_BACKEND=seatd", "SEATD_SOCK=/run/devns/seatd.sock", SEAT_CLIENT,
            "--card", "/dev/dri/card0", "--input", f"/dev/input/{kbd}",
            "--color", COLOURS["seat"], "--label", "seat"])
        seat, alpha, sway, weston = cs["seat"], cs["alpha"], cs["sway"], cs["weston"]
        seat.expect("seat ", timeout=60)
        manager().SwitchContainer("seat0", "seat")
        seat.expect("enable 1 ", timeout=60)
        expect_screen(f"{how.__name__}-start.png", COLOURS["seat"], timeout=60)
        enables = 1
        sway_keys = compositors.lines_in(SWAY_KEYS)
        weston_keys = compositors.eventdemo_keys(EVENTDEMO_LOG).count(KEY_A)
        fds = []
        for i in range(ROUNDS):
            stored = int(unit_prop("NFileDescriptorStore") or 0)
            check(stored > 0, f"round {i}: nothing in systemd's fd store")
            how(pid)
            state["restarted"] = True
            pid = devnsd_up(old_pid=pid)
            alpha.expect("reconnected", timeout=60)
            st = seat.status()
            check(st["master"] == "1" and st["evdev"] == "live" and st["enabled"] == "1",
                  f"round {i}: the seatd client lost its seat: {st}")
            expect_screen(f"{how.__name__}-{i:02d}-seat.png", COLOURS["seat"], timeout=60)
            for c in (sway, weston):
                check_running(c, f"after round {i}'s restart")
            # A tour away and back; keys to the one in front only.
            switch_and_wait(alpha)
            seat.expect(f"disable {enables} ", timeout=60)
            expect_screen(f"{how.__name__}-{i:02d}-alpha.png", COLOURS["alpha"], timeout=60)
            sendkey("a")
            alpha.expect(f"key {kbd} {KEY_A}", timeout=30)
            manager().SwitchContainer("seat0", "sway")
            devnstest.wait_compositor_live("sway")
            expect_screen(f"{how.__name__}-{i:02d}-sway.png", COLOURS["sway"], timeout=120)
            sendkey("f9")
            wait_until("sway's F9 binding", lambda: compositors.lines_in(SWAY_KEYS) > sway_keys,
                       timeout=60)
            sway_keys += 1
            check(compositors.lines_in(SWAY_KEYS) == sway_keys,
                  f"round {i}: sway ran its binding more than once for one F9")
            manager().SwitchContainer("seat0", "weston")
            devnstest.wait_compositor_live("weston")
            expect_screen(f"{how.__name__}-{i:02d}-weston.png", COLOURS["weston"], timeout=120)
            # Exactly one more: the a typed for alpha (and for seat last
            # round) never reached weston in the background.
            weston_keys = type_into_weston(weston_keys)
            manager().SwitchContainer("seat0", "seat")
            enables += 1
            seat.expect(f"enable {enables} ", timeout=60)
            expect_screen(f"{how.__name__}-{i:02d}-back.png", COLOURS["seat"], timeout=60)
            sendkey("a")
            seat.expect(f"key /dev/input/{kbd} {KEY_A}", timeout=30)
            check(seat.proc.poll() is None and alpha.proc.poll() is None,
                  f"round {i}: a client exited")
            for c in (sway, weston):
                check_running(c, f"at the end of round {i}")
            fds.append(fd_count(pid))
        check(len(set(fds[1:])) <= 1, f"devnsd's fds grew from round to round: {fds}")
        log(f"{how.__name__}: {ROUNDS} rounds, all four clients kept (sway and weston never "
            f"restarted); devnsd's fds {fds}, fd store {unit_prop('NFileDescriptorStore')}")
    finally:
        if "eventdemo" in cs:
            demo = cs.pop("eventdemo")
            demo.kill()
            demo.wait()
        stop_all(cs)
        # The purge's check finds anything named after devns.
        for path in (SWAY_XDG, WESTON_XDG):
            shutil.rmtree(path, ignore_errors=True)
        for path in (SWAY_CONF, SWAY_GO, WESTON_CONF):
            if os.path.exists(path):
                os.unlink(path)


def systemctl_restart(pid):
    sh("systemctl", "restart", "devnsd.service")


def kill_9(pid):
    restarts = int(unit_prop("NRestarts"))
    os.kill(pid, 9)
    wait_until("systemd to restart devnsd", lambda: int(unit_prop("NRestarts")) > restarts,
               timeout=60, interval=0.2)


def package_upgrade(pid):
    """The package installed again over itself: its postinst restarts a
    running devnsd, as an upgrade's does."""
    debs = glob.glob(os.path.join(os.environ["DEVNS_TEST_PACKAGES"], "devns_*.deb"))
    check(len(debs) == 1, f"one devns package to install again: {debs}")
    sh("dpkg", "-i", debs[0])


DRM_IOCTL_MODE_GETFB = 0xC01C64AD


def guard_refuses(fd):
    """Whether devnsd's framebuffer guard refuses a GETFB through fd (EACCES),
    rather than the kernel answering that there is no framebuffer 0."""
    try:
        fcntl.ioctl(fd, DRM_IOCTL_MODE_GETFB, bytearray(28))
        return False
    except OSError as e:
        return e.errno == errno.EACCES


def journal_since(since):
    """What devnsd.service logged since the time since."""
    return sh("journalctl", "-u", "devnsd.service", "--no-pager", "-o", "cat",
              f"--since=@{since:.6f}")


def journal_has(since, text):
    """Whether devnsd's journal since the time since has text; the journal
    may lag behind by a moment."""
    try:
        return wait_until(f"{text!r} in devnsd's journal", lambda: text in journal_since(since),
                          timeout=20, interval=0.5)
    except TestFailure:
        return False


def connected_outputs(card):
    outputs = []
    for path in sorted(glob.glob(f"/sys/class/drm/{card}-*")):
        with open(os.path.join(path, "status")) as f:
            if f.read().strip() == "connected":
                outputs.append(os.path.basename(path)[len(card) + 1:])
    return outputs


def container_files(c, node):
    """(pid, fd) of each open file of node in container c's processes."""
    ns = os.readlink(f"/proc/{c.leader}/ns/pid")
    files = []
    for pid in (int(p) for p in os.listdir("/proc") if p.isdigit()):
        try:
            if os.readlink(f"/proc/{pid}/ns/pid") == ns:
                files += [(pid, fd) for fd in fds_of(pid, node)]
        except OSError:
            pass
    return files


def testcase_lease_guarded_under_systemd():
    """A demo client leased the card's output (devnsctl run --output): the
    framebuffer guard comes with the lease, stays in systemd's fd store
    through systemctl restart and kill -9 (taken back, never loaded anew)
    and refuses GETFB through a copy of the lease throughout; it goes with
    the lease."""
    pid = devnsd_up()
    conns = connected_outputs("card0")
    check(len(conns) >= 1, "no connected output on card0")
    start = time.time()
    c = RunContainer("lessee", [devnstest.CLIENT, "--control", "--reconnect", "--color",
                                COLOURS["lessee"], "--label", "lessee"], outputs=[conns[0]])
    copy = None
    try:
        c.expect("ready", timeout=60)
        expect_screen("lease.png", COLOURS["lessee"], timeout=60)
        check(journal_has(start, "Loaded the framebuffer guard"), "no framebuffer guard with the lease")
        files = container_files(c, "/dev/dri/card0")
        check(len(files) == 1, f"the lessee's card files: {files}")
        copy = pidfd_getfd(*files[0])
        check(guard_refuses(copy), "the guard does not refuse GETFB through the lease")
        for how in (systemctl_restart, kill_9):
            since = time.time()
            how(pid)
            state["restarted"] = True
            pid = devnsd_up(old_pid=pid)
            c.expect("reconnected", timeout=60)
            check(journal_has(since, "Took back the framebuffer guard"),
                  f"{how.__name__}: the guard was not taken back from systemd's fd store")
            # A devnsd that took the guard back loads none.
            check("Loaded the framebuffer guard" not in journal_since(since),
                  f"{how.__name__}: a new guard was loaded")
            check(guard_refuses(copy), f"{how.__name__}: the guard does not refuse GETFB")
            expect_screen(f"lease-{how.__name__}.png", COLOURS["lessee"], timeout=60)
    finally:
        if copy is not None:
            os.close(copy)
        since = time.time()
        stop_all({"lessee": c})
    check(journal_has(since, "Unloaded the framebuffer guard"), "the guard stayed after the lease")


def testcase_survives_systemctl_restart():
    restart_rounds(systemctl_restart)


def testcase_survives_package_upgrade():
    restart_rounds(package_upgrade)


def testcase_survives_kill_9_under_systemd():
    restart_rounds(kill_9)


# ---------------------------------------------------------------- runtimes

class RuntimeContainer(devnstest.Container):
    """A demo client run by a container runtime (argv), whose devns hooks
    register it as name; the client's lines are read as Container's."""

    def __init__(self, name, argv, log_name):
        self.name = name
        self.log = open(os.path.join(OUT, log_name), "w")
        # The runtime's own messages go to a file: a pipe nobody reads
        # could stall it.
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     stderr=self.log, bufsize=0)
        self._buf = b""
        self.lines = []
        self.path = wait_until(f"{name} registered by its hook", self._registered, timeout=300,
                               interval=0.2)
        self.leader = int(devnstest.get_prop(system_bus(), self.path, devnstest.CONTAINER,
                                             "Leader"))

    def _registered(self):
        check(self.proc.poll() is None,
              f"the runtime of {self.name} exited with {self.proc.returncode}")
        try:
            return manager().GetContainer(self.name)
        except Exception:
            return None

    def stop(self):
        """End of input ends the client, and the runtime then stops the
        container (podman waits for conmon: slow under TCG)."""
        try:
            self.proc.stdin.close()
            self.proc.wait(timeout=300)
        except subprocess.TimeoutExpired:
            self.kill_leader()
            self.proc.kill()
            self.proc.wait()
            raise TestFailure(f"the runtime of {self.name} did not stop with its client")
        finally:
            self.log.close()


def client_root(path, programs=()):
    """A root file system holding only the demo client (and programs) and
    the libraries they load (ldd), at their own paths."""
    files = [devnstest.CLIENT, *programs]
    for prog in list(files):
        files += re.findall(r"(/\S+) \(0x", sh("ldd", prog))
    for f in dict.fromkeys(files):
        dest = path + f
        os.makedirs(os.path.dirname(dest), exist_ok=True)
        shutil.copy(f, dest)
    for d in ("dev", "proc", "sys", "run", "tmp", "etc"):
        os.makedirs(os.path.join(path, d), exist_ok=True)
    return path


def client_argv(name):
    return [devnstest.CLIENT, "--control", "--color", COLOURS[name], "--label", name]


def in_front_with_keys(c):
    """c switched to the front: on the screen, and the keys go to it."""
    kbd = keyboard()
    c.expect("ready", timeout=120)
    switch_and_wait(c)
    expect_screen(f"{c.name}.png", COLOURS[c.name], timeout=60)
    sendkey("a")
    c.expect(f"key {kbd} {KEY_A}", timeout=30)


def testcase_podman():
    """podman runs an image imported from a local root file system
    (nothing pulled); the package's OCI hooks register it by annotation."""
    devnsd_up()
    work = tempfile.mkdtemp(prefix="podman-", dir="/var/tmp")
    try:
        root = client_root(os.path.join(work, "root"))
        sh("tar", "-C", root, "-cf", os.path.join(work, "root.tar"), ".")
        sh("podman", "import", os.path.join(work, "root.tar"), "localhost/devns-client")
        run_podman()
    finally:
        shutil.rmtree(work)
        quietly("podman", "rmi", "--force", "localhost/devns-client")


def run_podman():
    c = RuntimeContainer("pod", [
        "podman", "run", "--rm", "-i", "--network", "none", "--name", "pod",
        "--annotation", "org.devns.container=pod",
        "-v", "/dev/dri:/dev/dri:ro", "-v", "/dev/input:/dev/input:ro",
        "localhost/devns-client", *client_argv("pod")], "podman.log")
    try:
        in_front_with_keys(c)
        check(str(manager().GetContainer("pod")) == str(c.path), "registered once")
    finally:
        c.stop()
    devnstest.wait_unregistered("pod", timeout=120)
    log("podman: the hook registered the container, which switched and got keys; "
        "poststop unregistered it")


def testcase_lxc():
    """lxc-execute of a container from a local root file system, with the
    package's example configuration lines and hooks."""
    devnsd_up()
    work = tempfile.mkdtemp(prefix="lxc-", dir="/var/tmp")
    try:
        run_lxc(client_root(os.path.join(work, "root")), os.path.join(work, "lxcdemo.conf"))
    finally:
        shutil.rmtree(work)


def run_lxc(root, conf):
    with open("/usr/share/doc/devns/examples/lxc/lxc-devns.conf") as f:
        devns_lines = f.read().replace("NAME", "lxcdemo")
    with open(conf, "w") as f:
        f.write("lxc.include = /usr/share/lxc/config/common.conf\n"
                f"lxc.rootfs.path = dir:{root}\n"
                "lxc.net.0.type = empty\n"
                "lxc.apparmor.profile = unconfined\n" + devns_lines)
    c = RuntimeContainer("lxcdemo", [
        "lxc-execute", "-n", "lxcdemo", "-f", conf, "--", *client_argv("lxcdemo")], "lxc.log")
    try:
        in_front_with_keys(c)
    finally:
        c.stop()
    devnstest.wait_unregistered("lxcdemo", timeout=120)
    log("LXC: the hooks registered the container, which switched and got keys; "
        "the stop hook unregistered it")


def testcase_nspawn():
    """machinectl start of a machine under systemd-nspawn@.service with the
    package's drop-in, its .nspawn file the package's example but for
    running the demo client instead of booting (nspawn's own stdio is the
    journal, so the client is checked on the screen and by its devices)."""
    devnsd_up()
    work = tempfile.mkdtemp(prefix="nspawn-", dir="/var/tmp")
    machine = "/var/lib/machines/desk"
    dropin = "/etc/systemd/system/systemd-nspawn@desk.service.d"
    settings = "/etc/systemd/nspawn/desk.nspawn"
    try:
        os.makedirs(os.path.dirname(machine), exist_ok=True)
        client_root(machine, ["/bin/sh", "/bin/sleep"])
        examples = "/usr/share/doc/devns/examples/nspawn"
        with open(os.path.join(examples, "desk.nspawn")) as f:
            text = f.read()
        check("Boot=yes" in text, "the example .nspawn file boots the machine")
        os.makedirs(os.path.dirname(settings), exist_ok=True)
        # The client waits for its endpoint, which the drop-in's
        # ExecStartPost= registers only once the machine runs
        # (docs/runtimes.md: a compositor started that early waits).
        client = " ".join([devnstest.CLIENT, "--color", COLOURS["desk"], "--label", "desk"])
        with open(settings, "w") as f:
            f.write(text.replace("Boot=yes", "Boot=no\nParameters=/bin/sh -c "
                                 "'until [ -S /run/devns/bus ]; do sleep 0.2; done; "
                                 f"exec {client}'"))
        os.makedirs(dropin, exist_ok=True)
        shutil.copy(os.path.join(examples, "nspawn-devns.conf"), os.path.join(dropin, "devns.conf"))
        sh("systemctl", "daemon-reload")
        sh("machinectl", "start", "desk")
        wait_until("desk registered", lambda: "desk" in [str(n) for n, *_ in
                                                          manager().ListContainers()],
                   timeout=180, interval=0.5)
        wait_until("desk's client in control",
                   lambda: bool(devnstest.container_prop("desk", "Controlled")), timeout=120,
                   interval=0.5)
        manager().SwitchContainer("seat0", "desk")
        devnstest.wait_compositor_live("desk")
        expect_screen("desk.png", COLOURS["desk"], timeout=60)
        # terminate, not stop: stop asks the machine's init to halt, and
        # this one is the client, which does not know that request.
        sh("machinectl", "terminate", "desk")
        devnstest.wait_unregistered("desk", timeout=180)
        # Its ExecStopPost= (the hook's unregister) runs before the unit is
        # down.
        wait_until("systemd-nspawn@desk.service down",
                   lambda: unit_state("systemd-nspawn@desk.service") in ("inactive", "failed"),
                   timeout=120, interval=0.2)
        log("systemd-nspawn: the drop-in's hooks registered the machine, its client "
            "was in front on the screen; unregistered when it stopped")
    finally:
        quietly("machinectl", "terminate", "desk")
        quietly("systemctl", "reset-failed", "systemd-nspawn@desk.service")
        for p in (dropin, machine, work):
            shutil.rmtree(p, ignore_errors=True)
        if os.path.exists(settings):
            os.unlink(settings)
        quietly("systemctl", "daemon-reload")


def quietly(*argv):
    """Cleaning up: whatever fails, the rest still runs."""
    try:
        subprocess.run(argv, capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired):
        pass


def unit_state(unit):
    return sh("systemctl", "show", "-P", "ActiveState", unit).strip()


LAST = "testcase_purge_leaves_nothing"


def testcase_purge_leaves_nothing():
    files = sh("dpkg-query", "-L", "devns", "devns-dkms").split("\n")
    kver = os.uname().release
    made = ["/etc/devns", "/usr/libexec/devns", "/var/lib/dkms/devns",
            f"/lib/modules/{kver}/updates/dkms/devns.ko", "/run/devns",
            "/etc/systemd/system/multi-user.target.wants/devnsd.service"]
    check(os.path.exists(made[3]), "devns.ko is not installed before the purge")
    sh("env", "DEBIAN_FRONTEND=noninteractive", "apt-get", "purge", "-y", "devns", "devns-dkms")
    left = [p for p in files + made
            if p and p not in ("/.", "/") and os.path.lexists(p) and not os.path.isdir(p)]
    left += [p for p in made if os.path.lexists(p)]
    # Directories of their own the packages had (shared ones like /usr/bin stay).
    left += [p for p in files if "devns" in os.path.basename(p) and os.path.lexists(p)]
    # Anything else named after devns on the root file system, but the test's
    # own directories bound from the host.
    with open(os.path.join(OUT, ".binds")) as f:
        binds = [l.strip() for l in f if l.strip()]
    found = sh("find", "/", "-xdev", "-name", "*devns*", "-not", "-path", "/proc/*").split("\n")
    left += [p for p in found if p and not any(b == p or b.startswith(p + "/") for b in binds)]
    check(not left, f"left after the purge: {sorted(set(left))}")
    check(subprocess.run(["pgrep", "-x", "devnsd"], capture_output=True).returncode == 1,
          "devnsd still runs after the purge")
    check(unit_prop("LoadState") == "not-found", "devnsd.service still known to systemd")
    check(subprocess.run(["modinfo", "devns"], capture_output=True).returncode != 0,
          "modinfo still finds devns.ko")
    log(f"purged: none of the {len([f for f in files if f])} paths of the packages left")


def main():
    # The purge ends the installed system, so it comes last in any order.
    names = devnstest.testcase_order(sorted(n for n in globals() if n.startswith("testcase_") and n != LAST))
    names.append(LAST)
    os.environ["DEVNS_TESTCASE_ORDER"] = "given"
    try:
        return run_testcases(globals(), names)
    finally:
        with open(os.path.join(OUT, "journal.txt"), "w") as f:
            subprocess.run(["journalctl", "-b", "--no-pager", "-o", "short-monotonic"],
                           stdout=f, stderr=subprocess.STDOUT)


if __name__ == "__main__":
    sys.exit(main())
