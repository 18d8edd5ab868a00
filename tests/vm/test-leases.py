#!/usr/bin/env python3
"""Outputs by DRM lease: one virtio-gpu card with two heads (QEMU
max_outputs=2, QOM id video0, no other display), each head leased to a
container registered with Outputs. Both pictures stay on screen while the
keyboard moves between the two; a lease lists only its own outputs; a
container without outputs gets no master beside the leases, and gets it
back when they end. devnsd runs under devns-keeper, so a lease outlives a
crash and a restart of devnsd.

Run by test-leases.sh in the guest.
"""
import errno
import glob
import json
import os
import signal
import subprocess
import sys

import dbus

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import compositors  # noqa: E402
from devnstest import (  # noqa: E402
    BUILD, CLIENT, DEVNSCTL, OUT, Container, KeptBroker, RunContainer, TestFailure, _load_script, active_container, check, colours_close,
    dbus_error_name, fds_of, get_prop, hostctl, log, manager, pidfd_getfd, run_with_broker, screen_colour,
    sendkey, seat_path, system_bus, wait_unregistered, wait_until)

DISPLAY = "video0"  # meson.build
PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "endpoint-probe.py")
SPY = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fb-spy.py")
# A process of a container at its weakest: nobody, no capabilities.
NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
          "--bounding-set=-all"]
COLOURS = {"left": "cc2222", "right": "2255cc"}
INVALID_ARGS = "org.freedesktop.DBus.Error.InvalidArgs"
WESTON_COLOUR = "aaaa22"
# The container's own bus daemon refuses a uid without a passwd entry.
WESTON_UID = 65534
WESTON_CONF = "/tmp/devns-weston.ini"
WESTON_XDG = "/tmp/devns-weston-xdg"
SEAT_COLOUR = "33aa77"
LIBSEAT_CLIENT = os.path.join(BUILD, "tests", "vm", "libseat-client")

# What devnsd logs when a lease can read the other outputs.
UNGUARDED = "can read what the card's other outputs show"
state = {}


def card():
    cards = sorted(glob.glob("/sys/class/drm/card[0-9]"))
    check(len(cards) == 1, f"one card: {cards}")
    return os.path.basename(cards[0])


def connectors():
    """The card's connectors in head order (QEMU's heads are the
    connectors in the order virtio-gpu made them)."""
    c = card()
    names = [os.path.basename(p)[len(c) + 1:] for p in glob.glob(f"/sys/class/drm/{c}-*")]
    names.sort(key=lambda n: int(n.rsplit("-", 1)[1]))
    check(len(names) == 2, f"two connectors on {c}: {names}")
    return names


def devnum():
    with open(f"/sys/class/drm/{card()}/dev") as f:
        return f.read().strip()


def outputs_prop():
    bus = system_bus()
    return {str(c): str(o) for c, o in get_prop(bus, seat_path(bus), "org.devns.broker1.Seat",
                                                 "Outputs")}


def options(*outputs):
    return {"Outputs": dbus.Array(outputs, signature="s")}


def head_colour(head, tag):
    rel = f"{tag}-head{head}.png"
    hostctl("screendump", rel, "--device", DISPLAY, "--head", str(head))
    return screen_colour(os.path.join(OUT, rel))


def expect_heads(tag, want=(COLOURS["left"], COLOURS["right"]), timeout=30.0):
    """Head 0 shows the colour want[0], head 1 want[1]."""
    seen = []

    def look():
        got = [head_colour(i, tag) for i in (0, 1)]
        seen.append(got)
        return all(colours_close(got[i][0], want[i]) and got[i][1] >= 0.8 for i in (0, 1))
    try:
        wait_until(f"{tag}: both heads", look, timeout=timeout, interval=0.2)
    except TestFailure:
        raise TestFailure(f"{tag}: heads show {seen[-2:]}, want {want}")


def clients():
    if "clients" not in state:
        conns = connectors()
        cs = {}
        for name, conn in zip(("left", "right"), conns):
            cs[name] = Container(name, [CLIENT, "--control", "--reconnect", "--color",
                                        COLOURS[name], "--label", name], options=options(conn))
            cs[name].expect("ready", timeout=60)
        state["clients"] = cs
    return state["clients"]


def testcase_lease_lists_only_its_outputs():
    """A container's card file is a lease of its connector: live and master
    while in the background, listing one connector and one CRTC, and
    unable to read the other CRTC."""
    conns = connectors()
    with open(f"/dev/dri/{card()}", "rb", buffering=0) as f:
        probe = _load_script("devns_endpoint_probe", "endpoint-probe.py")
        whole = probe.drm_resources(f.fileno())
    log(f"card: {whole}")
    check(len(whole["crtcs"]) == 2 and len(whole["connectors"]) == 2, f"the card: {whole}")
    c = Container("lp", [sys.executable, PROBE, "lease", devnum(),
                         *map(str, whole["crtcs"])], options=options(conns[1]))
    try:
        res = json.loads(c.expect("{", timeout=60))
        log(f"lease: {res}")
        check(active_container() != "lp", "lp is in the background")
        check(res["inactive"] is False and res["master"] is True, f"not a live lease: {res}")
        check(len(res["connectors"]) == 1 and res["connectors"][0] in whole["connectors"],
              f"the lease lists connectors {res['connectors']}")
        check(len(res["crtcs"]) == 1, f"the lease lists CRTCs {res['crtcs']}")
        mine = str(res["crtcs"][0])
        others = {k: v for k, v in res["getcrtc"].items() if k != mine}
        check(res["getcrtc"][mine] == 0 and others and all(v != 0 for v in others.values()),
              f"GETCRTC through the lease: {res['getcrtc']}")
        check(outputs_prop() == {conns[0]: "", conns[1]: "lp"}, f"Outputs: {outputs_prop()}")
    finally:
        c.stop()
    wait_unregistered("lp")
    check(outputs_prop() == {conns[0]: "", conns[1]: ""}, f"Outputs after: {outputs_prop()}")


def testcase_outputs_refused_with_a_reason():
    conns = connectors()
    m = manager()
    c = Container("holder", ["sleep", "600"], options=options(conns[0]))
    try:
        for outputs, what in (([conns[0]], "holder"), (["Nope-9"], "Nope-9"),
                              ([conns[1], conns[1]], "twice"), (["bad name"], "Invalid"),
                              ([], "empty")):
            err = None
            try:
                path = m.RegisterContainer("refused", "", dbus.UInt32(os.getpid()),
                                           options(*outputs))
                m.UnregisterContainer("refused")
                err = f"registered at {path}"
            except dbus.exceptions.DBusException as e:
                check(e.get_dbus_name() == INVALID_ARGS, f"{outputs}: {e.get_dbus_name()}")
                check(what in e.get_dbus_message(), f"{outputs}: '{e.get_dbus_message()}'")
            check(err is None, f"Outputs={outputs}: {err}")
        check(dbus_error_name(lambda: m.GetContainer("refused")) is not None, "nothing registered")
    finally:
        c.stop()
    wait_unregistered("holder")


def keys_of(c):
    return int(c.status()["keys"])


def testcase_two_heads_and_the_keyboard_moves():
    """Each head shows its container, before and after ten switches by
    hotkey; only the active one gets the keys; neither is ever paused
    for its card."""
    cs = clients()
    conns = connectors()
    check(outputs_prop() == {conns[0]: "left", conns[1]: "right"}, f"Outputs: {outputs_prop()}")
    r = subprocess.run([DEVNSCTL, "--no-legend", "outputs"], capture_output=True, text=True,
                       timeout=60)
    rows = sorted(tuple(line.split()) for line in r.stdout.splitlines() if line.strip())
    check(r.returncode == 0 and rows == sorted([(conns[0], "left"), (conns[1], "right")]),
          f"devnsctl outputs: {r}")
    r = subprocess.run([DEVNSCTL, "status", "right"], capture_output=True, text=True, timeout=60)
    check(f"Outputs: {conns[1]}" in r.stdout, f"devnsctl status right: {r.stdout}")
    manager().SwitchContainer("seat0", "left")
    expect_heads("start")
    for c in cs.values():
        c.take_lines("pause")
        c.take_lines("key ")
    for i in range(10):
        switch_by_hotkey(cs, f"switch {i}")
        for n, c in cs.items():
            st = c.status()
            check(st["drm_master"] == "1", f"switch {i}: {n} lost its lease's master: {st}")
    expect_heads("after-10-switches")
    for n, c in cs.items():
        card_pauses = [line for line in c.take_lines("pause") if line.split()[1].startswith("226:")]
        check(not card_pauses, f"{n} was paused for its card: {card_pauses}")


def switch_by_hotkey(cs, tag):
    """Ctrl+Alt+Right to the other one; a key typed then reaches it only."""
    want = "right" if active_container() == "left" else "left"
    other = "left" if want == "right" else "right"
    for c in cs.values():
        c.take_lines("resume")
    sendkey("ctrl-alt-right")
    wait_until(f"{tag}: {want} active", lambda: active_container() == want, timeout=30)
    cs[want].expect("resume ", timeout=30)
    before = {n: keys_of(c) for n, c in cs.items()}
    sendkey("a")
    wait_until(f"{tag}: the key reaches {want}",
               lambda: keys_of(cs[want]) > before[want], timeout=30)
    check(keys_of(cs[other]) == before[other], f"{tag}: {other} got a key")


def testcase_lease_outlives_devnsd():
    """kill -9 and a clean restart of devnsd: both pictures stay on their
    heads throughout, the clients take the same leases back, and the
    keyboard still moves between them."""
    cs = clients()
    conns = connectors()
    broker = state["broker"]
    for how in ("kill", "restart"):
        mark = broker.log_mark()
        if how == "kill":
            broker.kill_devnsd()
        else:
            broker.restart()
        expect_heads(f"{how}-at-once")
        for c in cs.values():
            c.expect("reconnected", timeout=60)
        log_text = broker.log_since(mark)
        for n in cs:
            check(f"Took back the lease of {card()} of {n}" in log_text,
                  f"{how}: {n}'s lease not taken back:\n{log_text}")
        check(outputs_prop() == {conns[0]: "left", conns[1]: "right"},
              f"{how}: Outputs {outputs_prop()}")
        for n, c in cs.items():
            st = c.status()
            check(st["drm_master"] == "1", f"{how}: {n} lost its lease's master: {st}")
        expect_heads(f"{how}-reconnected")
        for i in range(2):
            switch_by_hotkey(cs, f"{how} switch {i}")
        expect_heads(f"{how}-switched")


def lease_copy(c):
    """A copy of container c's lease file, as a process it passed the file
    to would hold it."""
    probe = _load_script("devns_endpoint_probe", "endpoint-probe.py")
    for fd in fds_of(c.leader, f"/dev/dri/{card()}"):
        copy = pidfd_getfd(c.leader, fd)
        if len(probe.drm_resources(copy)["connectors"]) == 1:
            return copy
        os.close(copy)
    raise TestFailure(f"no lease among {c.name}'s card files")


def spy(fd, fb_id, how, as_nobody=True):
    """fb-spy.py on file fd (in / and from standard input: the build
    directory may be out of nobody's reach)."""
    with open(SPY) as f:
        code = f.read()
    r = subprocess.run((NOBODY if as_nobody else []) + [sys.executable, "-", str(fd), str(fb_id), how],
                       input=code, pass_fds=(fd,), capture_output=True, text=True, timeout=60,
                       cwd="/")
    check(r.returncode == 0, f"fb-spy {how}: {r.stderr}")
    return json.loads(r.stdout)


def other_heads_fb(lease, whole):
    """The framebuffer on the CRTC that lease does not hold, read through
    whole, a file of the whole card."""
    probe = _load_script("devns_endpoint_probe", "endpoint-probe.py")
    own = probe.drm_resources(lease)["crtcs"]
    fbs = [probe.crtc_fb(whole, crtc) for crtc in probe.drm_resources(whole)["crtcs"]
           if crtc not in own]
    fbs = [fb for fb in fbs if fb]
    check(len(fbs) == 1, f"the other head's framebuffers: {fbs}")
    return fbs[0]


def testcase_lessee_cannot_read_other_heads():
    """A process holding left's lease, as nobody without capabilities,
    asks for right's framebuffer (GETFB, GETFB2, and GETFB with a size that
    hides the handle) and opens it by a global name (GEM_OPEN): refused
    with EACCES by the framebuffer guard. The same program as root on a
    file of the whole card reads right's colour: the spy can read, and
    files that are not leases are left alone. After a crash of devnsd the
    guard is the one taken back from the fd store, never a gap with none."""
    cs = clients()
    broker = state["broker"]
    expect_heads("spy")
    lease = lease_copy(cs["left"])
    whole = os.open(f"/dev/dri/{card()}", os.O_RDWR | os.O_CLOEXEC)
    try:
        for when in ("before", "after-crash"):
            right_fb = other_heads_fb(lease, whole)
            got = spy(whole, right_fb, "getfb", as_nobody=False)
            check("colour" in got and colours_close(got["colour"], COLOURS["right"]),
                  f"{when}: root on the whole card cannot read right's head: {got}")
            for how in ("getfb", "getfb2", "getfb-short"):
                got = spy(lease, right_fb, how)
                check(got == {"errno": errno.EACCES},
                      f"{when}: {how} of right's framebuffer {right_fb} through left's lease: {got}")
            # A buffer with a global name (GEM_FLINK, as DRI2 gives its
            # clients), opened by that name.
            name = spy(whole, right_fb, "flink", as_nobody=False)["name"]
            got = spy(whole, name, "gem-open", as_nobody=False)
            check("colour" in got and colours_close(got["colour"], COLOURS["right"]),
                  f"{when}: root cannot open right's buffer by its name {name}: {got}")
            got = spy(lease, name, "gem-open")
            check(got == {"errno": errno.EACCES},
                  f"{when}: left's lease opened right's buffer by its name {name}: {got}")
            if when == "before":
                mark = broker.log_mark()
                broker.kill_devnsd()
                for c in cs.values():
                    c.expect("reconnected", timeout=60)
                log_text = broker.log_since(mark)
                check("Took back the framebuffer guard" in log_text and
                      "Loaded the framebuffer guard" not in log_text,
                      f"the guard was not taken back:\n{log_text}")
                expect_heads("spy-after-crash")
        log_text = broker.log_since(0)
        check(UNGUARDED not in log_text, f"devnsd says the guard does not work:\n{log_text}")
    finally:
        os.close(lease)
        os.close(whole)


def testcase_unguarded_leases_say_so():
    """A kernel whose active LSMs leave out bpf (lsm= on its command line)
    attaches the guard but never runs it: devnsd sees that with the first
    lease and says so, and leases all the same. Both heads show their
    clients, and a lease reads the other head, as the warning says."""
    cs = clients()
    expect_heads("unguarded")
    log_text = state["broker"].log_since(0)
    check(UNGUARDED in log_text, f"devnsd does not say the leases are unguarded:\n{log_text}")
    lease = lease_copy(cs["left"])
    whole = os.open(f"/dev/dri/{card()}", os.O_RDWR | os.O_CLOEXEC)
    try:
        got = spy(lease, other_heads_fb(lease, whole), "getfb")
        check(colours_close(got.get("colour", "000000"), COLOURS["right"]),
              f"left's lease did not read right's head: {got}")
    finally:
        os.close(lease)
        os.close(whole)


def testcase_stray_lease_revoked():
    """A lease whose container died while devnsd was down, its file kept
    open elsewhere (a copy taken here, as a process the container passed it
    to would hold it): the next devnsd revokes it, and the outputs go to
    the next container that asks for them."""
    cs = clients()
    conns = connectors()
    broker = state["broker"]
    probe = _load_script("devns_endpoint_probe", "endpoint-probe.py")
    held = lease_copy(cs["right"])
    try:
        mark = broker.log_mark()
        # devnsd stopped does not see right end: the next one finds it gone.
        os.kill(broker.devnsd_pid(), signal.SIGSTOP)
        try:
            cs["right"].kill_leader()
            cs["right"].proc.wait(timeout=60)
        finally:
            broker.kill_devnsd()
        cs["left"].expect("reconnected", timeout=60)
        wait_unregistered("right")
        got = probe.drm_resources(held)
        check(got["connectors"] == [] and got["crtcs"] == [], f"the copy still leases {got}")
        log_text = broker.log_since(mark)
        check("Revoked lease " in log_text and "which no container took back" in log_text,
              f"the stray lease was not revoked:\n{log_text}")
        check(f"Took back the lease of {card()} of left" in log_text,
              f"left's lease not taken back:\n{log_text}")
        # right's head is free for the next container.
        cs["right"] = Container("right", [CLIENT, "--control", "--reconnect", "--color",
                                          COLOURS["right"], "--label", "right"],
                                options=options(conns[1]))
        cs["right"].expect("ready", timeout=60)
        check(outputs_prop() == {conns[0]: "left", conns[1]: "right"},
              f"Outputs: {outputs_prop()}")
        expect_heads("after-stray")
    finally:
        if held is not None:
            os.close(held)


def set_status(conn, status):
    with open(f"/sys/class/drm/{card()}-{conn}/status", "w") as f:
        f.write(status + "\n")


def testcase_hotplug_keeps_the_leases():
    """A monitor unplugged and plugged again (the second head forced off
    and on) and a change event of the card, which devnsd checks the leases
    on: every connector is still there, so both leases stay, as a
    compositor on a whole card keeps it across an unplug."""
    cs = clients()
    conns = connectors()
    broker = state["broker"]
    mark = broker.log_mark()
    for c in cs.values():
        c.take_lines("pause ")
    for status in ("off", "on"):
        set_status(conns[1], status)
        subprocess.run(["udevadm", "settle"], check=True)
    subprocess.run(["udevadm", "trigger", "--action=change", "--settle",
                    f"/sys/class/drm/{card()}"], check=True)
    # devnsd takes its events in order: once it answers this, it has had
    # the uevents udev passed on before.
    outputs_prop()
    expect_heads("after-hotplug")
    for n, c in cs.items():
        check(c.status()["drm_master"] == "1", f"{n} lost its lease: {c.status()}")
        told = c.take_lines(f"pause {devnum()} ")
        check(not told, f"{n} was told {told}")
    log_text = broker.log_since(mark)
    check("lease ends" not in log_text, f"a lease ended:\n{log_text}")
    check(outputs_prop() == {conns[0]: "left", conns[1]: "right"}, f"Outputs: {outputs_prop()}")
    for i in range(2):
        switch_by_hotkey(cs, f"after hotplug {i}")


def testcase_no_master_beside_leases():
    """A container without outputs, active, holds the card but not its
    master, and cannot take it (SET_MASTER); the heads keep their pictures.
    When the leases end, it is master."""
    cs = clients()
    c = Container("plain", [sys.executable, PROBE, "silent", devnum()])
    try:
        check(json.loads(c.expect("{", timeout=60))["ready"], "plain ready")
        manager().SwitchContainer("seat0", "plain")
        c.send("seize")
        res = json.loads(c.expect("{", timeout=60))
        check(res["seize"] != [True], f"plain made itself master: {res}")
        c.send("status")
        st = json.loads(c.expect("{", timeout=60))
        check(st == {"status": [False]}, f"plain is master beside the leases: {st}")
        expect_heads("beside-plain")
        for n in list(cs):
            cs.pop(n).stop()
            wait_unregistered(n)
        del state["clients"]

        def master():
            c.send("status")
            return json.loads(c.expect("{", timeout=60)) == {"status": [True]}
        wait_until("plain master once the leases are gone", master, timeout=30)
    finally:
        c.stop()


def start_weston(conn):
    """Debian's weston on the login1 facade, leased conn; its launcher
    activates its own session (AllowActivate)."""
    compositors.write_weston_config(WESTON_CONF, WESTON_COLOUR)
    return compositors.CompositorRun(
        "weston", ["sh", "-c", compositors.WESTON_SCRIPT, "sh", str(WESTON_UID), WESTON_XDG,
                   WESTON_CONF, "wayland-devns"],
        allow_activate=True, login1_user=WESTON_UID, outputs=(conn,))


def testcase_weston_on_a_lease():
    """Debian's weston, unmodified, on the login1 facade (`devnsctl run
    --login1 --output`) on head 0 beside the demo client on head 1: both on
    screen at once, and weston's picture stays while the other container
    has the keyboard."""
    conns = connectors()
    right = Container("right", [CLIENT, "--control", "--color", COLOURS["right"], "--label",
                                "right"], options=options(conns[1]))
    weston = None
    try:
        right.expect("ready", timeout=60)
        weston = start_weston(conns[0])
        expect_heads("weston", (WESTON_COLOUR, COLOURS["right"]), timeout=300)
        check(outputs_prop() == {conns[0]: "weston", conns[1]: "right"},
              f"Outputs: {outputs_prop()}")
        for i in range(2):
            manager().SwitchContainer("seat0", "right")
            expect_heads(f"weston-behind-{i}", (WESTON_COLOUR, COLOURS["right"]))
            manager().SwitchContainer("seat0", "weston")
            expect_heads(f"weston-in-front-{i}", (WESTON_COLOUR, COLOURS["right"]))
            check(weston.alive(), f"weston ended; see weston.log in {OUT}")
    finally:
        if weston:
            weston.stop()
        right.stop()
    wait_unregistered("weston")
    wait_unregistered("right")


def ps2_keyboard():
    """The evdev node of QEMU's PS/2 keyboard, which sendkey types on."""
    for name_file in glob.glob("/sys/class/input/event*/device/name"):
        with open(name_file) as f:
            if "AT Translated Set 2 keyboard" in f.read():
                return "/dev/input/" + name_file.split("/")[4]
    raise TestFailure("no PS/2 keyboard")


def testcase_libseat_beside_weston():
    """Debian's libseat (tests/vm/libseat-client, seatd protocol) on head
    0 and Debian's weston (login1 facade) on head 1, each asking for the
    whole card and given a lease: both pictures at once through switches
    either way; the libseat client's keyboard file is live only while it
    is in front, and its card file is master throughout."""
    conns = connectors()
    kbd = ps2_keyboard()
    seat = weston = None
    try:
        # weston first, as it activates itself.
        weston = start_weston(conns[1])
        wait_until("weston on its head",
                   lambda: colours_close(head_colour(1, "weston")[0], WESTON_COLOUR),
                   timeout=300, interval=0.5)
        seat = RunContainer(
            "seat", ["env", "LIBSEAT_BACKEND=seatd", "SEATD_SOCK=/run/devns/seatd.sock",
                     LIBSEAT_CLIENT, "--card", "/dev/dri/card0", "--input", kbd,
                     "--color", SEAT_COLOUR, "--label", "seat"], outputs=(conns[0],))
        seat.expect("seat seat0", timeout=60)
        manager().SwitchContainer("seat0", "seat")
        seat.expect("ready", timeout=60)
        seat.expect("enable 1 ")
        expect_heads("libseat-weston", (SEAT_COLOUR, WESTON_COLOUR), timeout=60)
        check(outputs_prop() == {conns[0]: "seat", conns[1]: "weston"},
              f"Outputs: {outputs_prop()}")
        for i in range(2):
            st = seat.status()
            check(st["master"] == "1" and st["evdev"] == "live", f"seat in front ({i}): {st}")
            sendkey("a")
            seat.expect(f"key {kbd} 30", timeout=30)
            manager().SwitchContainer("seat0", "weston")
            line = seat.expect("disable ", timeout=30)
            # Its input was revoked before it was told; its lease kept master.
            check("evdev=revoked" in line and "master=1" in line, f"disable ({i}): {line}")
            expect_heads(f"weston-in-front-{i}", (SEAT_COLOUR, WESTON_COLOUR))
            st = seat.status()
            check(st["master"] == "1" and st["enabled"] == "0", f"seat behind ({i}): {st}")
            keys = int(st["keys"])
            sendkey("a")
            # weston has the keyboard now; the seat client has no evdev
            # file at all, and its count stays.
            manager().SwitchContainer("seat0", "seat")
            seat.expect(f"enable {i + 2} ", timeout=30)
            check(int(seat.status()["keys"]) == keys, f"seat got a key while behind ({i})")
            expect_heads(f"seat-in-front-{i}", (SEAT_COLOUR, WESTON_COLOUR))
            check(weston.alive(), f"weston ended; see weston.log in {OUT}")
    finally:
        if seat:
            seat.send("quit")
            seat.stop()
        if weston:
            weston.stop()
    wait_unregistered("weston")
    wait_unregistered("seat")


ORDER = [
    "testcase_lease_lists_only_its_outputs",
    "testcase_outputs_refused_with_a_reason",
    "testcase_two_heads_and_the_keyboard_moves",
    "testcase_lease_outlives_devnsd",
    "testcase_lessee_cannot_read_other_heads",
    "testcase_stray_lease_revoked",
    "testcase_hotplug_keeps_the_leases",
    "testcase_no_master_beside_leases",
    "testcase_weston_on_a_lease",
    "testcase_libseat_beside_weston",
]


# A guest booted without bpf among its LSMs (test leases-without-bpf-lsm).
ORDER_WITHOUT_BPF_LSM = [
    "testcase_unguarded_leases_say_so",
]


def bpf_lsm_active():
    if not os.path.exists("/sys/kernel/security/lsm"):
        subprocess.run(["mount", "-t", "securityfs", "securityfs", "/sys/kernel/security"],
                       check=True)
    with open("/sys/kernel/security/lsm") as f:
        return "bpf" in f.read().strip().split(",")


def main():
    # Which the test's meson entry booted: a kernel without the BPF LSM
    # must not pass for one with it.
    want_bpf = os.environ.get("DEVNS_LEASES_LSM", "bpf") == "bpf"
    if bpf_lsm_active() != want_bpf:
        raise TestFailure(f"the guest's LSMs {'lack' if want_bpf else 'have'} bpf")
    subprocess.run(["modprobe", "virtio_gpu"], check=True)
    wait_until("/dev/dri/card0", lambda: os.path.exists("/dev/dri/card0"), timeout=60)
    # QEMU 7.2 reports only the first head connected; the second is
    # forced on, with its modes, as a person would with a monitor that
    # does not answer.
    conns = connectors()
    with open(f"/sys/class/drm/{card()}-{conns[1]}/status", "w") as f:
        f.write("on\n")
    return run_with_broker(globals(), ORDER if want_bpf else ORDER_WITHOUT_BPF_LSM, state,
                           modules=(), broker=KeptBroker)


if __name__ == "__main__":
    sys.exit(main())
