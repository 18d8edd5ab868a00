#!/usr/bin/env python3
"""devnsd with the devns kernel module loaded: a registered container gets a
kernel device namespace, switch step 3 makes it the seat's active one, and
unregistering destroys it. Run by test-broker-kernel.sh in the guest."""
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from devnstest import (  # noqa: E402
    BUILD, MANAGER, MANAGER_PATH, Broker, check, deactivate, demo_client, manager,
    run_testcases, switch_and_wait, system_bus, wait_unregistered, wait_until)

DEVNS_KO = os.path.join(BUILD, "kernel", "devns", "devns.ko")
NAMESPACES = "/sys/kernel/debug/devns/namespaces"
state = {}


def kernel_namespaces():
    """name -> (seat, active) from the module's debugfs listing."""
    with open(NAMESPACES) as f:
        rows = [line.split() for line in f if not line.startswith("#")]
    return {r[1]: (r[2], r[3] == "1") for r in rows}


COLOURS = {"alpha": "cc2222", "beta": "2255cc"}


def start_client(name):
    c = state.setdefault("clients", {})[name] = demo_client(name, COLOURS[name])
    c.expect("ready", timeout=60)


def clients():
    """alpha and beta; one that a testcase before ended is started again."""
    for name in COLOURS:
        if name not in state.get("clients", {}):
            start_client(name)
    return state["clients"]


def stop_clients():
    for name, c in state.pop("clients", {}).items():
        c.stop()
        wait_unregistered(name)
        wait_until(f"{name}'s kernel namespace gone", lambda: name not in kernel_namespaces())


def testcase_kernel_devns_property():
    v = system_bus().get_object("org.devns.broker1", MANAGER_PATH).Get(
        MANAGER, "KernelDevns", dbus_interface="org.freedesktop.DBus.Properties")
    check(bool(v), "KernelDevns is true with /dev/devns present")


def testcase_register_creates():
    stop_clients()  # registered afresh below
    clients()
    ns = kernel_namespaces()
    check(ns.get("alpha") == ("seat0", False) and ns.get("beta") == ("seat0", False),
          f"kernel namespaces after registration: {ns}")


def testcase_switch_activates():
    cs = clients()
    deactivate()  # the first switch below changes the active one
    for name, other in (("alpha", "beta"), ("beta", "alpha"), ("alpha", "beta")):
        switch_and_wait(cs[name])
        ns = kernel_namespaces()
        check(ns[name][1] and not ns[other][1], f"after switching to {name}: {ns}")
    manager().SwitchContainer("seat0", "")
    ns = kernel_namespaces()
    check(not ns["alpha"][1] and not ns["beta"][1], f"after switching to none: {ns}")


def testcase_unregister_destroys():
    clients()
    manager().UnregisterContainer("beta")
    state["clients"].pop("beta").stop()
    wait_until("beta's kernel namespace gone", lambda: "beta" not in kernel_namespaces())
    check("alpha" in kernel_namespaces(), "alpha's namespace stays")


ORDER = [
    "testcase_kernel_devns_property",
    "testcase_register_creates",
    "testcase_switch_activates",
    "testcase_unregister_destroys",
]


def main():
    subprocess.run(["modprobe", "bochs"], check=True)
    if not os.path.ismount("/sys/kernel/debug"):
        subprocess.run(["mount", "-t", "debugfs", "debugfs", "/sys/kernel/debug"], check=True)
    subprocess.run(["insmod", DEVNS_KO], check=True)
    wait_until("/dev/devns", lambda: os.path.exists("/dev/devns"))
    wait_until("/dev/dri/card0", lambda: os.path.exists("/dev/dri/card0"), timeout=60)
    state["broker"] = Broker()
    try:
        return run_testcases(globals(), ORDER)
    finally:
        for c in state.get("clients", {}).values():
            c.stop()
        state["broker"].stop()


if __name__ == "__main__":
    sys.exit(main())
