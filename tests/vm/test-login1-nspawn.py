#!/usr/bin/env python3
"""A real OS container on the login1 facade: a Debian 12 root file system
(tests/vm/mkosroot.sh, built and cached on the host, here a second virtio
disk with QEMU's snapshot=on) booted by Debian's systemd-nspawn with
systemd as its init, its systemd-logind masked, and devnsd serving
org.freedesktop.login1 on the container's own dbus-daemon. weston is
started inside by a system unit (devns-weston.service, as user kiosk)
once the name is there; the demo client runs in a second container.

nspawn runs with --register=no --keep-unit (no systemd outside), /dev/dri
and /dev/input bound in, /run/udev read-only; its init (as the guest sees
it, a child of nspawn) is registered with Login1, Login1User (kiosk's uid)
and AllowActivate as soon as it exists.

Checked: the facade serves the container's bus and weston comes up on
screen through its logind launcher; inside, systemd's own loginctl shows
the session, seat and user; GetSessionByPID answers for pids of the
container and fails for pids that are not in it; weston's picture and the
demo client's take turns on screen for DEVNS_SWITCHES (default 3) switches
back and forth, weston still running at the end; the container powers off
cleanly and devnsd lets it go.

nspawn's console (the container's boot and weston's log), the container's
journal, devnsd.log and the screendumps land in the test's output
directory.

Run by test-login1-nspawn.sh in the guest.
"""
import os
import re
import signal
import subprocess
import sys
import time

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import devnstest  # noqa: E402
from devnstest import (  # noqa: E402
    Broker, CONTAINER, OUT, SEAT, TestFailure, check, demo_client, expect_screen, get_prop,
    load_bochs, log, manager, read_env_file, run_testcases, seat_path, switch_and_wait, system_bus,
    wait_unregistered, wait_until)

ROUNDS = int(os.environ.get("DEVNS_SWITCHES", "3"))
LABEL = os.environ.get("DEVNS_OSROOT_LABEL", "devns-osroot")
KIOSK_UID = int(os.environ.get("DEVNS_OSROOT_UID", "1000"))
COLOURS = {"demo": "2255cc", "weston": os.environ.get("DEVNS_OSROOT_COLOUR", "cc7722")}
ROOT = "/var/lib/machines/devns-os"
NAME = "os"                       # the container's name at devnsd
SESSION = "c1"                    # login1/login1.h: LOGIN1_SESSION_ID
SESSION_PATH = f"/org/freedesktop/login1/session/{SESSION}"
UNIT = "devns-weston.service"
CONSOLE = os.path.join(OUT, "nspawn-console.log")
INSIDE_PATH = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

state = {}


# ---------------------------------------------------------------- the container

def _status_field(pid, field):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field + ":"):
                    return line.split()[1:]
    except OSError:
        pass
    return None


def _descends_from(pid, ancestor):
    for _ in range(64):
        if pid == ancestor:
            return True
        ppid = _status_field(pid, "PPid")
        if not ppid or int(ppid[0]) <= 1:
            return False
        pid = int(ppid[0])
    return False


def find_init(nspawn_pid):
    """The container's init as the guest sees it: a process under nspawn
    that is pid 1 of a pid namespace below ours."""
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        pid = int(entry)
        nspid = _status_field(pid, "NSpid")
        if nspid and len(nspid) == 2 and nspid[1] == "1" and _descends_from(pid, nspawn_pid):
            return pid
    return None


class OSContainer:
    """Debian 12 booted by systemd-nspawn -b on the image's root."""

    def __init__(self, options):
        self.console = open(CONSOLE, "ab")
        # This boot's part of the console log, which earlier boots share.
        self.console_start = os.path.getsize(CONSOLE)
        self.t0 = time.monotonic()
        self.proc = subprocess.Popen(
            ["systemd-nspawn", "--keep-unit", "--register=no", "--console=read-only",
             "-M", "devns-os", "-D", ROOT, "-b",
             "--bind=/dev/dri", "--bind=/dev/input", "--bind-ro=/run/udev"],
            stdin=subprocess.DEVNULL, stdout=self.console, stderr=subprocess.STDOUT)
        self.leader = wait_until("the container's init under systemd-nspawn",
                                 lambda: self._check_running() and find_init(self.proc.pid),
                                 timeout=120)
        log(f"container init is pid {self.leader}, "
            f"{time.monotonic() - self.t0:.1f} s after nspawn started")
        opts = dbus.Dictionary(options, signature="sv")
        self.path = manager().RegisterContainer(NAME, "", dbus.UInt32(self.leader), opts)

    def _check_running(self):
        if self.proc.poll() is not None:
            raise TestFailure(f"systemd-nspawn exited with {self.proc.returncode}; "
                              f"its console:\n{console_tail()}")
        return True

    def alive(self):
        return self.proc.poll() is None

    def path_in_root(self, path):
        return f"/proc/{self.leader}/root{path}"

    def run(self, *argv, timeout=120):
        """argv inside the container, as its root, with a clean
        environment; returns the CompletedProcess."""
        return subprocess.run(
            ["nsenter", "-t", str(self.leader), "-a", "env", "-i", INSIDE_PATH,
             "SYSTEMD_PAGER=", "SYSTEMD_COLORS=0", *argv],
            capture_output=True, text=True, timeout=timeout, stdin=subprocess.DEVNULL)

    def save_logs(self):
        if not self.alive():
            return
        for name, argv in (("container-journal.txt",
                            ["journalctl", "-b", "--no-pager", "-o", "short-monotonic"]),
                           ("weston.log", ["journalctl", "-u", UNIT, "--no-pager", "-o", "cat"])):
            try:
                r = self.run(*argv, timeout=60)
                with open(os.path.join(OUT, name), "w") as f:
                    f.write(r.stdout + r.stderr)
            except (subprocess.TimeoutExpired, OSError) as e:
                log(f"cannot save {name}: {e}")

    def poweroff(self, timeout=120):
        """SIGTERM to nspawn: it asks the container's systemd for an
        orderly shutdown. Returns nspawn's exit status."""
        if self.alive():
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                log(f"systemd-nspawn did not end within {timeout} s of SIGTERM; killing it")
                self.proc.kill()
                self.proc.wait()
        self.console.close()
        remove_nspawn_cgroups()
        return self.proc.returncode


def remove_nspawn_cgroups():
    """nspawn --keep-unit leaves the cgroups it made below its own (ours),
    payload and supervisor, empty behind; the next nspawn fails to create
    payload on them (EBUSY), so a container that boots again needs them
    gone."""
    with open("/proc/self/cgroup") as f:
        own = next(line[3:].strip() for line in f if line.startswith("0::"))
    for sub in ("payload", "supervisor"):
        top = os.path.join("/sys/fs/cgroup", own.lstrip("/"), sub)
        for d, _, _ in sorted(os.walk(top), key=lambda w: -len(w[0])):
            try:
                os.rmdir(d)
            except OSError as e:
                log(f"cannot remove {d}: {e}")


def console_tail(n=40):
    try:
        with open(CONSOLE, errors="replace") as f:
            return "".join(f.readlines()[-n:])
    except OSError:
        return "(no console log)"


def bus():
    return system_bus()


def container_prop(prop):
    return get_prop(bus(), manager().GetContainer(NAME), CONTAINER, prop)


def held():
    """[(major, minor, type, paused)] of the container's devices."""
    return [(int(a), int(b), str(t), bool(p)) for a, b, t, p in container_prop("Devices")]


def active_container():
    return str(get_prop(bus(), seat_path(bus()), SEAT, "ActiveContainer")[0])


def weston_journal():
    """The weston unit's journal of this boot (the disk keeps earlier ones)."""
    r = state["os"].run("journalctl", "-b", "-u", UNIT, "--no-pager", "-o", "cat")
    return r.stdout


def weston_state():
    r = state["os"].run("systemctl", "show", "-p", "ActiveState", "-p", "SubState",
                        "-p", "MainPID", "-p", "Result", UNIT)
    return dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)


def check_weston_running(when):
    check(state["os"].alive(), f"systemd-nspawn exited {when}:\n{console_tail()}")
    st = weston_state()
    if st.get("ActiveState") != "active" or st.get("SubState") != "running":
        raise TestFailure(f"{UNIT} is not running {when}: {st}; its journal:\n"
                          f"{weston_journal()[-3000:]}")
    return int(st["MainPID"])


def check_weston_live():
    """weston holds the card with master and live input."""
    def ok():
        h = held()
        card = [d for d in h if d[2] == "drm"]
        evdev = [d for d in h if d[2] == "evdev"]
        return card and not card[0][3] and evdev and not any(d[3] for d in evdev) and h
    return wait_until("weston's card and input live", ok, timeout=60)


def check_weston_background():
    def ok():
        h = held()
        card = [d for d in h if d[2] == "drm"]
        return card and all(d[3] for d in h) and h
    return wait_until("weston keeps only paused devices", ok, timeout=60)


def check_sd_login_active(active):
    want = "1" if active else "0"
    path = state["os"].path_in_root(f"/run/systemd/sessions/{SESSION}")

    def ok():
        s = read_env_file(path)
        return s and s.get("ACTIVE") == want and s
    try:
        return wait_until(f"sessions/{SESSION} saying ACTIVE={want}", ok, timeout=30)
    except TestFailure:
        raise TestFailure(f"sessions/{SESSION} does not say ACTIVE={want}: {read_env_file(path)}")


def busctl_login1(*args):
    return state["os"].run("busctl", "call", "org.freedesktop.login1", "/org/freedesktop/login1",
                           "org.freedesktop.login1.Manager", *args)


# ---------------------------------------------------------------- set-up
# What the testcases start from, reached from whatever the testcases before
# left: the container booted (the facade serving it), weston up in it.

def mount_root():
    """The image's disk mounted on ROOT; returns the disk."""
    dev = wait_until(f"the disk labelled {LABEL}",
                     lambda: subprocess.run(["blkid", "-L", LABEL], capture_output=True,
                                            text=True).stdout.strip(), timeout=60)
    if not os.path.ismount(ROOT):
        os.makedirs(ROOT, exist_ok=True)
        subprocess.run(["mount", "-t", "ext4", dev, ROOT], check=True)
    return dev


def end_container():
    """Powers off the container a testcase before booted."""
    c = state.pop("os", None)
    if c is None:
        return
    log("powering off the container a testcase before booted")
    c.poweroff()
    state.pop("weston_pid", None)
    wait_unregistered(NAME)


def boot():
    """The demo client, and the container booted afresh; returns its
    Login1 once the facade serves it or failed. Until a testcase switches
    or powers it off, state["untouched"] says weston's start is still as
    the boot left it. state["os_mark"] marks devnsd's log where this boot
    begins."""
    end_container()
    mount_root()
    if "demo" not in state:
        state["demo"] = demo_client("demo", COLOURS["demo"])
        state["demo"].expect("ready", timeout=120)
    options = {"Login1": dbus.Boolean(True), "Login1User": dbus.UInt32(KIOSK_UID),
               "AllowActivate": dbus.Boolean(True)}
    state["os_mark"] = state["broker"].log_mark()
    c = state["os"] = OSContainer(options)
    state["untouched"] = True
    return wait_until("the facade serving login1 in the container",
                      lambda: c._check_running() and (lambda s: s if s == "serving" or
                                                      s.startswith("failed") else None)(
                          str(container_prop("Login1"))), timeout=180)


def wait_weston_on_screen():
    """Until weston's picture is on screen; returns its pid."""
    c = state["os"]
    try:
        expect_screen("weston-start.png", COLOURS["weston"], timeout=300)
    except TestFailure as e:
        raise TestFailure(f"{e}; {UNIT}: {weston_state()}; its journal:\n"
                          f"{weston_journal()[-3000:]}")
    log(f"weston on screen {time.monotonic() - c.t0:.1f} s after nspawn started")
    state["weston_pid"] = check_weston_running("after start-up")
    return state["weston_pid"]


def weston_in_front(replace_dead=True):
    """The container running weston (state["weston_pid"]), in front with
    its card and input live: booted if no testcase did, or (replace_dead)
    if it is gone. Without replace_dead a container or weston that ended
    is a failure."""
    c = state.get("os")
    if c is None or (replace_dead and not c.alive()):
        status = boot()
        check(status == "serving", f"Login1 of the container: {status}")
    if "weston_pid" not in state:
        wait_weston_on_screen()
    check_weston_running("before this testcase")
    if active_container() != NAME:
        state["untouched"] = False
        manager().SwitchContainer("seat0", NAME)
    check_weston_live()


def devnsd_log_of_boot():
    """devnsd's log since the container's current boot."""
    return state["broker"].log_since(state["os_mark"])


# ---------------------------------------------------------------- testcases

def testcase_container_boots_and_facade_serves():
    dev = mount_root()
    with open(os.path.join(ROOT, "etc/os-release")) as f:
        pretty = re.search(r'^PRETTY_NAME="?([^"\n]*)', f.read(), re.M).group(1)
    logind = os.path.join(ROOT, "etc/systemd/system/systemd-logind.service")
    check(os.path.islink(logind) and os.readlink(logind) == "/dev/null",
          "systemd-logind.service is masked in the image")
    r = subprocess.run(["systemd-nspawn", "--version"], capture_output=True, text=True)
    log(f"root: {pretty} on {dev}; {r.stdout.splitlines()[0] if r.stdout else r.stderr.strip()}")

    status = boot()
    c = state["os"]
    check(status == "serving", f"Login1 of the container: {status}")
    log(f"Login1 serving {time.monotonic() - c.t0:.1f} s after nspawn started")
    r = c.run("systemctl", "is-enabled", "systemd-logind.service")
    check(r.stdout.strip() == "masked", f"the container's systemd-logind: {r.stdout.strip()}")
    s = read_env_file(c.path_in_root(f"/run/systemd/sessions/{SESSION}"))
    u = read_env_file(c.path_in_root(f"/run/systemd/users/{KIOSK_UID}"))
    log(f"sd-login files: sessions/{SESSION} {s}, users/{KIOSK_UID} {u}")
    check(s and s.get("SEAT") == "seat0" and s.get("UID") == str(KIOSK_UID),
          f"sessions/{SESSION} names seat0 and uid {KIOSK_UID}")
    check(u and u.get("DISPLAY") == SESSION, f"users/{KIOSK_UID} names the display session")


def testcase_weston_unit_on_screen():
    # weston's own start, in a container nothing has switched since it
    # booted.
    if not (state.get("os") and state["os"].alive() and state.get("untouched")):
        status = boot()
        check(status == "serving", f"Login1 of the container: {status}")
    pid = state.get("weston_pid") or wait_weston_on_screen()
    journal = weston_journal()
    check("logind: session control granted" in journal,
          "weston took control through its logind launcher")
    check(active_container() == NAME, "weston's Activate made the container active")
    h = check_weston_live()
    log(f"weston (pid {pid} in the container) holds {h}")
    check_sd_login_active(True)
    check(f"Container {NAME}: login1 session taken over by" in devnsd_log_of_boot(),
          "devnsd saw weston take control through login1")


def loginctl(*argv):
    """systemd's loginctl inside the container; its output is logged and
    kept in loginctl.txt."""
    r = state["os"].run("loginctl", "--no-pager", *argv)
    text = (r.stdout + r.stderr).rstrip()
    log(f"loginctl {' '.join(argv)} (status {r.returncode}):\n"
        + "\n".join("#   " + l for l in text.splitlines()))
    with open(os.path.join(OUT, "loginctl.txt"), "a") as f:
        f.write(f"$ loginctl {' '.join(argv)}\n{text}\n(status {r.returncode})\n\n")
    return r


def properties(r):
    return dict(l.split("=", 1) for l in r.stdout.splitlines() if "=" in l)


def testcase_loginctl_inside():
    """The session, its seat and its user as systemd's own client shows
    them, talking to the facade."""
    weston_in_front()
    ls = loginctl("list-sessions")
    check(ls.returncode == 0, f"loginctl list-sessions: {ls.stderr.strip()}")
    rows = [l.split() for l in ls.stdout.splitlines() if l.split()[:1] == [SESSION]]
    check(rows and rows[0][:4] == [SESSION, str(KIOSK_UID), "kiosk", "seat0"],
          f"loginctl list-sessions shows {SESSION} of kiosk on seat0: {ls.stdout!r}")
    r = loginctl("list-seats")
    check(r.returncode == 0 and "seat0" in r.stdout.split(), f"loginctl list-seats: {r.stderr}")

    r = loginctl("show-session", SESSION)
    check(r.returncode == 0, f"loginctl show-session: {r.stderr.strip()}")
    want = {"Id": SESSION, "Name": "kiosk", "User": str(KIOSK_UID), "Seat": "seat0",
            "Active": "yes", "State": "active", "Remote": "no", "Type": "wayland"}
    got = {k: properties(r).get(k) for k in want}
    check(got == want, f"loginctl show-session {SESSION}: {got}, want {want}")
    r = loginctl("show-seat", "seat0")
    seat = properties(r)
    check(r.returncode == 0 and seat.get("ActiveSession") == SESSION and
          seat.get("Sessions") == SESSION and seat.get("CanTTY") == "no",
          f"loginctl show-seat seat0: {seat} {r.stderr.strip()}")
    r = loginctl("show-user", "kiosk")
    user = properties(r)
    check(r.returncode == 0 and user.get("UID") == str(KIOSK_UID) and
          user.get("Display") == SESSION,
          f"loginctl show-user kiosk: {user} {r.stderr.strip()}")
    r = loginctl("session-status", SESSION)
    check(r.returncode == 0 and r.stdout.startswith(f"{SESSION} - kiosk ({KIOSK_UID})") and
          "State: active" in r.stdout,
          f"loginctl session-status {SESSION}: {r.stdout!r} {r.stderr.strip()!r}")


def testcase_loginctl_users_and_status():
    """What else a person would type: the user listing and the status
    pages of the user and the seat."""
    weston_in_front()
    failed = []
    r = loginctl("list-users")
    if not (r.returncode == 0 and [str(KIOSK_UID), "kiosk"] in
            [l.split()[:2] for l in r.stdout.splitlines()]):
        failed.append(f"list-users: status {r.returncode}, {(r.stdout + r.stderr).strip()!r}")
    r = loginctl("user-status", "kiosk")
    if not (r.returncode == 0 and r.stdout.startswith(f"kiosk ({KIOSK_UID})") and
            SESSION in r.stdout):
        failed.append(f"user-status kiosk: status {r.returncode}, "
                      f"{(r.stdout + r.stderr).strip()!r}")
    r = loginctl("seat-status", "seat0")
    if not (r.returncode == 0 and r.stdout.startswith("seat0") and SESSION in r.stdout):
        failed.append(f"seat-status seat0: status {r.returncode}, "
                      f"{(r.stdout + r.stderr).strip()!r}")
    check(not failed, "loginctl inside the container: " + "; ".join(failed))


def testcase_session_by_pid_inside():
    weston_in_front()
    c = state["os"]
    # weston's pid as the container sees it, and the caller's own (0).
    for pid in (state["weston_pid"], 1, 0):
        r = busctl_login1("GetSessionByPID", "u", str(pid))
        check(r.returncode == 0 and r.stdout.split() == ["o", f'"{SESSION_PATH}"'],
              f"GetSessionByPID({pid}) inside: status {r.returncode}, {r.stdout!r} "
              f"{r.stderr.strip()!r}")
    # Pids of the guest that are not pids of the container: devnsd's, the
    # demo client's, nspawn's, and the container's init as the guest
    # numbers it.
    foreign = [state["broker"].proc.pid, state["demo"].leader, c.proc.pid, c.leader]
    for pid in foreign:
        if os.path.exists(c.path_in_root(f"/proc/{pid}")):
            log(f"pid {pid} happens to be a pid of the container too; not asked")
            continue
        r = busctl_login1("GetSessionByPID", "u", str(pid))
        log(f"GetSessionByPID({pid}) inside: status {r.returncode}, "
            f"{(r.stdout + r.stderr).strip()}")
        check(r.returncode != 0, f"GetSessionByPID of pid {pid}, not in the container, "
              f"answered {r.stdout.strip()!r}")
        check("does not belong to any known session" in r.stderr,
              f"GetSessionByPID({pid}) failed for another reason: {r.stderr.strip()!r}")
    # The same over the Python binding, for the error's name.
    cbus = dbus.bus.BusConnection(
        f"unix:path={c.path_in_root('/run/dbus/system_bus_socket')}")
    try:
        m = dbus.Interface(cbus.get_object("org.freedesktop.login1", "/org/freedesktop/login1"),
                           "org.freedesktop.login1.Manager")
        name = devnstest.dbus_error_name(lambda: m.GetSessionByPID(dbus.UInt32(foreign[0])))
        check(name == "org.freedesktop.login1.NoSessionForPID",
              f"GetSessionByPID({foreign[0]}) from the guest on the container's bus: {name}")
    finally:
        cbus.close()


def testcase_switch_back_and_forth():
    weston_in_front()
    state["untouched"] = False
    demo = state["demo"]
    times = []
    for i in range(ROUNDS):
        switch_and_wait(demo)
        check_weston_background()
        check_sd_login_active(False)
        expect_screen(f"round-{i:02d}-demo.png", COLOURS["demo"], timeout=120)
        st = demo.status()
        check(st["drm_master"] == "1" and st["evdev"] == "live", f"demo active: {st}")
        check(check_weston_running(f"after switch {2 * i + 1}") == state["weston_pid"],
              "the same weston")

        t0 = time.monotonic()
        manager().SwitchContainer("seat0", NAME)
        check_weston_live()
        expect_screen(f"round-{i:02d}-weston.png", COLOURS["weston"], timeout=120)
        times.append(time.monotonic() - t0)
        check_sd_login_active(True)
        st = demo.status()
        check(st["drm_master"] == "0" and st["evdev"] == "revoked", f"demo background: {st}")
        check(check_weston_running(f"after switch {2 * i + 2}") == state["weston_pid"],
              "the same weston")
    log(f"{ROUNDS} round trips; back on weston's screen after "
        f"{min(times):.2f} to {max(times):.2f} s (screendumps included)")


def testcase_still_running_and_on_screen():
    weston_in_front(replace_dead=False)
    check(check_weston_running("at the end") == state["weston_pid"], "the same weston")
    expect_screen("weston-end.png", COLOURS["weston"], timeout=120)
    check(str(container_prop("Login1")) == "serving", "the facade still serves the container")
    text = devnsd_log_of_boot()
    check("did not acknowledge" not in text, "weston acknowledged every pause in time")
    check(text.count(f"Container {NAME}: login1 session taken over by") == 1,
          "one login1 controller all along")
    check(weston_journal().count("logind: session control granted") == 1,
          "weston took control once")


def testcase_container_powers_off():
    weston_in_front()  # weston's unit is there to be stopped
    c = state["os"]
    c.save_logs()
    # Powered off on purpose: a testcase after this one boots another.
    del state["os"]
    state.pop("weston_pid", None)
    t0 = time.monotonic()
    rc = c.poweroff()
    log(f"systemd-nspawn exited with {rc} {time.monotonic() - t0:.1f} s after SIGTERM")
    check(rc == 0, f"systemd-nspawn exit status {rc}; console:\n{console_tail()}")
    with open(CONSOLE, "rb") as f:
        f.seek(c.console_start)
        console = re.sub(r"\x1b\[[0-9;]*m", "", f.read().decode(errors="replace"))
    # (The console shortens unit names: "Stopped devns-weston.servi…".)
    check(re.search(r"OK .*\] Stopped devns-weston", console),
          f"the container's systemd stopped {UNIT} cleanly")
    wait_until("devnsd letting the container go",
               lambda: NAME not in [str(n) for n, _ in get_prop(
                   bus(), seat_path(bus()), SEAT, "Containers")], timeout=60)
    check(active_container() != NAME, "the seat has another active container (or none)")


ORDER = [
    "testcase_container_boots_and_facade_serves",
    "testcase_weston_unit_on_screen",
    "testcase_loginctl_inside",
    "testcase_loginctl_users_and_status",
    "testcase_session_by_pid_inside",
    "testcase_switch_back_and_forth",
    "testcase_still_running_and_on_screen",
    "testcase_container_powers_off",
]

BROKER_CONFIG = "[Broker]\nPauseTimeoutSec=10\n"


def main():
    if not os.path.exists("/usr/bin/systemd-nspawn"):
        print("# systemd-nspawn is not installed (systemd-container)", flush=True)
        return 1
    if not os.environ.get("DEVNS_OSROOT_LABEL"):
        print("# no container image: run this test through tests/vm/mkosroot.sh", flush=True)
        return 1
    load_bochs()
    state["broker"] = Broker(config=BROKER_CONFIG)
    try:
        rc = run_testcases(globals(), ORDER)
    finally:
        if "os" in state:
            state["os"].save_logs()
            state["os"].poweroff(timeout=60)
        if "demo" in state:
            state["demo"].stop()
        state["broker"].stop()
        if os.path.ismount(ROOT):
            subprocess.run(["umount", ROOT], check=False)
    return rc


if __name__ == "__main__":
    sys.exit(main())
