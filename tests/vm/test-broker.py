#!/usr/bin/env python3
"""The broker on real devices: the bochs card, the PS/2 keyboard, uinput
keyboards, a real dbus-daemon and udevd, containers in their own pid and
mount namespaces running the demo client through their endpoints.

Run by test-broker.sh in the guest. Each testcase checks its own results
and sets up what it needs: the demo clients alpha and beta are shared and
started again when a testcase before ended them (or devnsd).
"""
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devnstest import (  # noqa: E402
    BUILD, DRM_MAJOR, MANAGER, OUT, RUNTIME, SEAT, CONTAINER, Broker, Container, TestFailure,
    UinputKeyboard, check, dbus_error_name, deactivate, demo_client, devices_held,
    expect_screen, get_prop, in_container, log, make_active, manager, run_probe,
    run_with_broker, seat_devices, seat_path, switch_and_wait, system_bus,
    wait_unregistered, wait_until)

PROBE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "endpoint-probe.py")
SWITCHES = int(os.environ.get("DEVNS_SWITCHES", "50"))
COLOURS = {"alpha": "cc2222", "beta": "2255cc", "gamma": "22aa44"}

state = {}


def bus():
    return system_bus()


def active_of(seat="seat0"):
    return str(get_prop(bus(), seat_path(bus(), seat), SEAT, "ActiveContainer")[0])


def container_prop(name, prop):
    return get_prop(bus(), manager().GetContainer(name), CONTAINER, prop)


def clients():
    """alpha and beta, each holding the card and every keyboard (the PS/2
    one and a uinput one made for this test); one that a testcase before
    ended is started again."""
    if "keys" not in state:
        state["keys"] = UinputKeyboard("devns-test-keys")
        state.setdefault("devices", []).append(state["keys"])
    wait_until("uinput keyboard on seat0",
               lambda: any(d[0] == state["keys"].sysname for d in seat_devices(bus())))
    cs = state.setdefault("clients", {})
    for name in ("alpha", "beta"):
        if name not in cs:
            cs[name] = demo_client(name, COLOURS[name])
            cs[name].expect("ready", timeout=60)
    return cs


def restart_broker():
    """A new devnsd, without containers: the clients go with the old one."""
    for c in state.pop("clients", {}).values():
        c.stop()
    state["broker"].stop()
    state["broker"] = Broker()


def fresh_broker():
    """devnsd as it starts: started again if a testcase before registered
    a container with it (or stopped it)."""
    b = state["broker"]
    if not b.running() or "Registered container" in b.log_since():
        restart_broker()


def end(c):
    """Ends a container whose command runs until killed (sleep infinity)
    and waits until devnsd has let it go."""
    c.kill_leader()
    c.stop()
    wait_unregistered(c.name)


def devnsd_log_since(mark):
    return state["broker"].log_since(mark)


def switch(name, seat="seat0"):
    t0 = time.monotonic_ns()
    manager().SwitchContainer(seat, name)
    return t0


def check_invariant(active, others):
    """The active client is master with live input, the others are not."""
    st = active.status()
    check(st["drm_master"] == "1", f"{active.name} should be master: {st}")
    check(st["evdev"] == "live", f"{active.name} should have live input: {st}")
    for o in others:
        so = o.status()
        check(so["drm_master"] == "0", f"{o.name} must not be master: {so}")
        check(so["evdev"] == "revoked", f"{o.name} input must be revoked (ENODEV): {so}")


# ---------------------------------------------------------------- testcases

def testcase_objects():
    fresh_broker()
    b = bus()
    m = manager(b)
    props = b.get_object("org.devns.broker1", "/org/devns/broker1").GetAll(
        MANAGER, dbus_interface="org.freedesktop.DBus.Properties")
    check(props["RuntimeDirectory"] == RUNTIME, f"RuntimeDirectory {props['RuntimeDirectory']}")
    check(props["KernelDevns"] is not None and props["Version"], f"properties {props}")
    seats = [str(s) for s, _ in m.ListSeats()]
    check("seat0" in seats, f"seats {seats}")
    devs = seat_devices(b)
    check(("card0", DRM_MAJOR, 0, "drm") in devs, f"card0 missing from {devs}")
    check(any(t == "evdev" for *_, t in devs), f"no evdev device in {devs}")
    check(not any(n.startswith("renderD") for n, *_ in devs), "render nodes are not brokered")
    check(bool(get_prop(b, seat_path(b), SEAT, "CanGraphical")), "seat0 has a card")
    check(tuple(get_prop(b, seat_path(b), SEAT, "ActiveContainer")) == ("", "/"),
          "nothing is active at start")


def containers():
    return sorted(str(n) for n, *_ in manager().ListContainers())


def testcase_bad_input():
    m = manager()
    before = containers()
    for bad in ["", "bad/name", "-lead", ".hidden", "x" * 65, "sp ace", "ünï"]:
        e = dbus_error_name(lambda: m.RegisterContainer(bad, "", 1, {}))
        check(e == "org.freedesktop.DBus.Error.InvalidArgs", f"name {bad!r}: {e}")
    check(dbus_error_name(lambda: m.GetContainer("bad/name")) ==
          "org.freedesktop.DBus.Error.InvalidArgs", "GetContainer bad name")
    check(dbus_error_name(lambda: m.GetContainer("nope")) ==
          "org.devns.broker1.Error.NoSuchContainer", "GetContainer unknown")
    check(dbus_error_name(lambda: m.GetSeat("seat9")) ==
          "org.devns.broker1.Error.NoSuchSeat", "GetSeat unknown")
    check(dbus_error_name(lambda: m.RegisterContainer("x", "", 1, {"Bogus": True})) ==
          "org.freedesktop.DBus.Error.InvalidArgs", "unknown option")
    check(dbus_error_name(lambda: m.RegisterContainer("x", "", 999999, {})) ==
          "org.freedesktop.DBus.Error.InvalidArgs", "no such leader")
    check(dbus_error_name(lambda: m.SwitchContainer("seat0", "nope")) ==
          "org.devns.broker1.Error.NoSuchContainer", "switch to unknown")
    check(containers() == before, f"registered by bad calls: {before} -> {containers()}")


def testcase_non_root_is_denied():
    code = (
        "import dbus, json\n"
        "b = dbus.SystemBus()\n"
        "m = dbus.Interface(b.get_object('org.devns.broker1', '/org/devns/broker1'),"
        " 'org.devns.broker1.Manager')\n"
        "def e(f):\n"
        "    try:\n"
        "        f()\n"
        "    except dbus.exceptions.DBusException as x:\n"
        "        return x.get_dbus_name()\n"
        "print(json.dumps({'register': e(lambda: m.RegisterContainer('n', '', 1, {})),"
        " 'switch': e(lambda: m.SwitchContainer('seat0', '')),"
        " 'unregister': e(lambda: m.UnregisterContainer('n')),"
        " 'list': e(lambda: m.ListSeats())}))\n")
    # In /, not in the build directory, which may be out of its reach.
    r = subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                        sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       cwd="/")
    check(r.returncode == 0, f"non-root probe failed: {r.stderr}")
    res = json.loads(r.stdout)
    denied = "org.freedesktop.DBus.Error.AccessDenied"
    check(res == {"register": denied, "switch": denied, "unregister": denied, "list": None},
          f"non-root results {res}")


def testcase_switch_loop():
    cs = clients()
    names = ["alpha", "beta"]
    held = {n: devices_held(n) for n in names}
    check(all(h >= 3 for h in held.values()), f"card and two keyboards each: {held}")
    keys = state["keys"]
    deactivate()  # the first switch starts from none active
    latencies = []
    for i in range(SWITCHES + 1):
        name = names[i % 2]
        other = cs[names[(i + 1) % 2]]
        me = cs[name]
        ms = switch_and_wait(me)
        if i > 0:  # the first one starts from "none active"
            latencies.append(ms)
        check(active_of() == name, f"switch {i}: ActiveContainer is {active_of()}")
        check_invariant(me, [other])
        expect_screen(f"switch-{i:03d}-{name}.png", COLOURS[name])
        if i % 10 == 0:
            keys.press(30)  # KEY_A
            me.expect(f"key {keys.sysname} 30", timeout=30)
            other.status()  # a round trip: anything queued has been read
            check(not other.take_lines(f"key {keys.sysname}"),
                  f"background {other.name} received a key")
    latencies.sort()
    summary = {
        "switches": len(latencies),
        "median_ms": round(statistics.median(latencies), 3),
        "worst_ms": round(latencies[-1], 3),
        "best_ms": round(latencies[0], 3),
    }
    with open(os.path.join(OUT, "switch-latency.json"), "w") as f:
        json.dump(summary, f)
    log(f"switch latency seen by the clients: {summary}")


def devnsctl(*args, **kw):
    return subprocess.run([os.path.join(BUILD, "ctl", "devnsctl"), *args],
                          capture_output=True, text=True, timeout=120, **kw)


def testcase_devnsctl():
    cs = clients()
    # next and prev below go round alpha and beta alone: containers of
    # testcases before may still be on their way out.
    try:
        wait_until("alpha and beta the only containers",
                   lambda: containers() == ["alpha", "beta"], timeout=60)
    except TestFailure:
        raise TestFailure(f"containers besides alpha and beta: {containers()}")
    r = devnsctl("list")
    check(r.returncode == 0 and "alpha" in r.stdout and "beta" in r.stdout, f"list: {r}")
    r = devnsctl("switch", "beta")
    check(r.returncode == 0 and active_of() == "beta", f"switch beta: {r}")
    r = devnsctl("next")
    check(r.returncode == 0 and active_of() == "alpha", f"next: {r} active {active_of()}")
    r = devnsctl("prev", "--seat", "seat0")
    check(r.returncode == 0 and active_of() == "beta", f"prev: {r} active {active_of()}")
    r = devnsctl("status", "beta")
    check(r.returncode == 0 and "Active: yes" in r.stdout, f"status beta: {r.stdout}")
    r = devnsctl("devices")
    check(r.returncode == 0 and "card0" in r.stdout, f"devices: {r.stdout}")
    r = devnsctl("switch", "nope")
    check(r.returncode == 1 and "nope" in r.stderr, f"switch to unknown: {r}")
    r = devnsctl("frobnicate")
    check(r.returncode == 2, f"unknown command: {r}")
    r = devnsctl("register", "x/y", "--leader", "1")
    check(r.returncode == 1, f"bad name: {r}")
    # The same tool on a container's endpoint, from inside the container.
    r = in_container(cs["alpha"], [os.path.join(BUILD, "ctl", "devnsctl"),
                                   "--address", "unix:path=/run/devns/bus", "status", "alpha"])
    check(r.returncode == 0 and "alpha" in r.stdout, f"status on the endpoint: {r}")
    switch_and_wait(cs["alpha"])
    check_invariant(cs["alpha"], [cs["beta"]])


def testcase_endpoint_security():
    cs = clients()
    before = {n: (devices_held(n), c.status()["drm_master"]) for n, c in cs.items()}
    active_before = active_of()
    other = UinputKeyboard("devns-test-seat1")
    wait_until("seat1 with its keyboard",
               lambda: any(s == "seat1" for s, _ in manager().ListSeats()), timeout=60)
    ma, mi = other.devnum()
    sec = Container("sec", ["sleep", "infinity"])
    try:
        res = run_probe(sec, "security", f"{ma}:{mi}")
        expected = {
            "take_control": None,
            "take_control_again_same": None,
            "take_control_second": "org.devns.broker1.Error.AlreadyControlled",
            "take_device_not_controller": "org.devns.broker1.Error.NotInControl",
            "pause_complete_not_controller": "org.devns.broker1.Error.NotInControl",
            "take_mem": "org.devns.broker1.Error.NoSuchDevice",
            "take_loop": "org.devns.broker1.Error.NoSuchDevice",
            "take_null": "org.devns.broker1.Error.NoSuchDevice",
            "take_disk": "org.devns.broker1.Error.NoSuchDevice",
            "take_other_seat": "org.devns.broker1.Error.NoSuchDevice",
            "release_not_taken": "org.devns.broker1.Error.DeviceNotTaken",
            "activate": "org.freedesktop.DBus.Error.AccessDenied",
            "seat_switch": "org.freedesktop.DBus.Error.AccessDenied",
            "devices": [],
            "name_self": "sec",
            "controlled": True,
        }
        check(res == expected, f"endpoint refusals: {res}")
        # A process outside the container on its endpoint.
        r = subprocess.run(["busctl", f"--address=unix:path={RUNTIME}/containers/sec/bus",
                            "get-property", "org.devns.broker1",
                            "/org/devns/broker1/container/self",
                            "org.devns.broker1.Container", "Name"],
                           capture_output=True, text=True, timeout=60)
        # Hung up on at once: busctl fails before any call.
        check(r.returncode != 0 and not r.stdout,
              f"outsider on the endpoint: {r.returncode} {r.stdout} {r.stderr}")
        # Another container's endpoint is not reachable from sec either.
        r = in_container(sec, ["busctl", "--address=unix:path=/run/devns/bus",
                               "get-property", "org.devns.broker1",
                               "/org/devns/broker1/container/alpha",
                               "org.devns.broker1.Container", "Name"])
        check(r.returncode != 0, f"sec reached alpha's object: {r.stdout}")
    finally:
        end(sec)
        other.destroy()
    after = {n: (devices_held(n), c.status()["drm_master"]) for n, c in cs.items()}
    check(after == before and active_of() == active_before,
          f"state changed by refused calls: {before} -> {after}")


def testcase_endpoint_scoped_view():
    """Through its endpoint a container sees the seat with itself alone:
    whoever else is in front, no other name and no other state shows."""
    cs = clients()
    scope = Container("scope", ["sleep", "infinity"])
    seat_obj = "/org/devns/broker1/seat/seat0"

    def view():
        out = {}
        for prop in ("ActiveContainer", "Containers"):
            r = in_container(scope, ["busctl", "--address=unix:path=/run/devns/bus", "--json=short",
                                     "get-property", "org.devns.broker1", seat_obj,
                                     "org.devns.broker1.Seat", prop])
            check(r.returncode == 0, f"{prop} through scope's endpoint: {r.stderr}")
            out[prop] = json.loads(r.stdout)["data"]
        return out

    try:
        seen = []
        for front in ("beta", "alpha"):
            if active_of() != front:
                switch_and_wait(cs[front])
            v = view()
            seen.append(v)
            check(v["ActiveContainer"] == ["", "/"],
                  f"scope sees {v['ActiveContainer']} in front while {front} is")
            check(v["Containers"] == [["scope", "/org/devns/broker1/container/scope"]],
                  f"scope sees containers {v['Containers']}")
        manager().SwitchContainer("seat0", "scope")
        v = view()
        seen.append(v)
        check(v["ActiveContainer"] == ["scope", "/org/devns/broker1/container/scope"],
              f"scope in front sees {v['ActiveContainer']}")
        text = json.dumps(seen)
        check("alpha" not in text and "beta" not in text,
              f"another container's name through scope's endpoint: {text}")
        # The host's own view still has all three.
        names = [str(n) for n, _ in get_prop(bus(), seat_path(bus(), "seat0"), SEAT, "Containers")]
        check({"alpha", "beta", "scope"} <= set(names), f"the system bus shows {names}")
    finally:
        end(scope)
    switch_and_wait(cs["alpha"])


def testcase_silent_controller_is_forced():
    cs = clients()
    mark = state["broker"].log_mark()
    mute = Container("mute", [sys.executable, PROBE, "silent", f"{DRM_MAJOR}:0"])
    try:
        line = mute.expect("{", timeout=60)
        check(json.loads(line)["ready"], line)
        switch("mute")
        check(active_of() == "mute", "mute is active")
        cs["alpha"].take_lines("resume")
        t0 = time.monotonic()
        switch("alpha")
        took = time.monotonic() - t0
        check(0.45 <= took < 5.0, f"forced pause took {took:.3f}s (PauseTimeoutSec=0.5)")
        for _ in range(devices_held("alpha")):
            cs["alpha"].expect("resume ", timeout=30)
        check_invariant(cs["alpha"], [cs["beta"]])
        check("did not acknowledge" in devnsd_log_since(mark), "forced pause is logged")
    finally:
        mute.stop()


def testcase_seize_master():
    """Root in a background container makes itself master of the card it
    was handed while no container is active; the next switch still works
    and leaves master only with the new active container."""
    cs = clients()
    mark = state["broker"].log_mark()
    seizer = Container("seizer", [sys.executable, PROBE, "silent", f"{DRM_MAJOR}:0"])
    try:
        line = seizer.expect("{", timeout=60)
        check(json.loads(line)["ready"], line)
        manager().SwitchContainer("seat0", "")
        check(active_of() == "", "no container is active")
        seizer.send("seize")
        res = json.loads(seizer.expect("{", timeout=60))
        check(res == {"seize": [True]}, f"the attack itself failed: {res}")
        seizer.send("status")
        check(json.loads(seizer.expect("{", timeout=60)) == {"status": [True]},
              "the seizer is not master after seizing")
        cs["alpha"].take_lines("resume")
        manager().SwitchContainer("seat0", "alpha")
        for _ in range(devices_held("alpha")):
            cs["alpha"].expect("resume ", timeout=30)
        check(active_of() == "alpha", f"alpha is not active: {active_of()}")
        check_invariant(cs["alpha"], [cs["beta"]])
        seizer.send("status")
        st = json.loads(seizer.expect("{", timeout=60))
        check(st == {"status": [False]}, f"the seizer kept master: {st}")
        check("made itself master" in devnsd_log_since(mark), "taking master back is logged")
    finally:
        seizer.stop()


def testcase_grab_is_broken():
    """Root in the active container grabs a keyboard (EVIOCGRAB) to keep
    every key to itself: the seat's hotkeys still switch away from it."""
    clients()
    keys = state["keys"]
    ma, mi = keys.devnum()
    mark = state["broker"].log_mark()
    grabber = Container("grabber", [sys.executable, PROBE, "silent", "--late", f"{ma}:{mi}"])
    try:
        check(json.loads(grabber.expect("{", timeout=60))["controlling"], "grabber controls")
        switch("grabber")
        grabber.send("take")
        check(json.loads(grabber.expect("{", timeout=60))["ready"], "grabber ready")
        grabber.send("grab")
        res = json.loads(grabber.expect("{", timeout=60))
        check(res == {"grab": [True]}, f"the attack itself failed: {res}")
        # Ctrl+Alt+Right as a person types it, the modifiers held a moment:
        # devnsd sees keys held that never reached it, breaks the grab,
        # and the chord switches. Tried again should TCG delay it.
        switched = False
        for _ in range(10):
            for code in (29, 56):
                keys._emit(1, code, 1)
                keys._emit(0, 0, 0)
            time.sleep(1.0)
            for code, value in ((106, 1), (106, 0), (56, 0), (29, 0)):
                keys._emit(1, code, value)
                keys._emit(0, 0, 0)
            try:
                wait_until("a switch away from the grabber", lambda: active_of() != "grabber",
                           timeout=1.5)
                switched = True
                break
            except TestFailure:
                pass
        check(switched, "the hotkey never switched away from the grabbing container")
        check("grabbed" in devnsd_log_since(mark), "breaking the grab is logged")
    finally:
        grabber.stop()
    if active_of() != "alpha":
        switch_and_wait(clients()["alpha"])


def testcase_hotplug():
    cs = clients()
    make_active(cs["alpha"])
    kbd = UinputKeyboard("devns-test-hotplug")
    ma, mi = kbd.devnum()
    wait_until("hotplugged keyboard in Seat.Devices",
               lambda: any(d[0] == kbd.sysname for d in seat_devices(bus())))
    gamma = demo_client("gamma", COLOURS["gamma"])
    try:
        gamma.expect("ready", timeout=60)
        check(any((int(d[0]), int(d[1])) == (ma, mi) for d in container_prop("gamma", "Devices")),
              "gamma holds the hotplugged keyboard")
        kbd.destroy()
        gamma.expect(f"pause {ma}:{mi} gone", timeout=30)
        wait_until("keyboard withdrawn from Seat.Devices",
                   lambda: not any(d[0] == kbd.sysname for d in seat_devices(bus())))
        check(not any((int(d[0]), int(d[1])) == (ma, mi)
                      for d in container_prop("gamma", "Devices")), "withdrawn from gamma")
        check_invariant(cs["alpha"], [cs["beta"]])
    finally:
        kbd.destroy()
        gamma.stop()


def testcase_leader_exit_unregisters():
    short = Container("short", ["sleep", "infinity"])
    check(os.path.isdir(f"{RUNTIME}/containers/short"), "endpoint dir exists")
    os.kill(short.leader, 9)
    wait_until("short unregistered",
               lambda: not any(str(n) == "short" for n, *_ in manager().ListContainers()))
    check(not os.path.exists(f"{RUNTIME}/containers/short"), "endpoint dir removed")
    short.stop()


def testcase_unregister_active():
    cs = clients()
    switch("beta")
    manager().UnregisterContainer("beta")
    check(tuple(get_prop(bus(), seat_path(bus()), SEAT, "ActiveContainer")) == ("", "/"),
          "no container active after unregistering the active one")
    check(not os.path.exists(f"{RUNTIME}/containers/beta"), "beta's endpoint removed")
    st = cs["alpha"].status()
    check(st["drm_master"] == "0" and st["evdev"] == "revoked", f"alpha is background: {st}")
    # beta's client lost its connection and exits; master is free for alpha.
    cs["beta"].stop()
    del cs["beta"]
    switch_and_wait(cs["alpha"])
    check_invariant(cs["alpha"], [])


def testcase_sigterm_cleans_up():
    """A holder that outlives devnsd keeps neither master nor input."""
    clients()
    keys = state["keys"]
    ma, mi = keys.devnum()
    mark = state["broker"].log_mark()
    holder = Container("holder", [sys.executable, PROBE, "silent", "--late",
                                  f"{DRM_MAJOR}:0", f"{ma}:{mi}"])
    try:
        check(json.loads(holder.expect("{", timeout=60))["controlling"], "holder controls")
        switch("holder")
        holder.send("take")
        check(json.loads(holder.expect("{", timeout=60))["ready"], "holder ready")
        holder.send("status")
        check(json.loads(holder.expect("{", timeout=30))["status"] == [True, True],
              "the active holder is master with live input")
        rc = state["broker"].stop()
        check(rc == 0, f"devnsd exit status {rc}")
        holder.send("status")
        st = json.loads(holder.expect("{", timeout=30))["status"]
        check(st == [False, False], f"after devnsd stopped the holder keeps master/input: {st}")
        check(not os.listdir(f"{RUNTIME}/containers") if os.path.isdir(f"{RUNTIME}/containers")
              else True, "endpoint dirs removed")
        check("stopping" in devnsd_log_since(mark), "devnsd logged its stop")
    finally:
        holder.stop()
        # For the testcases after this one: devnsd, not its clients.
        restart_broker()


ORDER = [
    "testcase_objects",
    "testcase_bad_input",
    "testcase_non_root_is_denied",
    "testcase_switch_loop",
    "testcase_devnsctl",
    "testcase_endpoint_security",
    "testcase_endpoint_scoped_view",
    "testcase_silent_controller_is_forced",
    "testcase_seize_master",
    "testcase_grab_is_broken",
    "testcase_hotplug",
    "testcase_leader_exit_unregisters",
    "testcase_unregister_active",
    "testcase_sigterm_cleans_up",
]


def main():
    return run_with_broker(globals(), ORDER, state, modules=("bochs", "uinput", "loop"))


if __name__ == "__main__":
    sys.exit(main())
