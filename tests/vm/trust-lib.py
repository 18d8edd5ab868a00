"""Shared by the reliability tests (test-trust-*.py): the broker under the
sanitizers, its fd count and memory, the invariant, results as JSON.

Loaded with importlib (the file name has a dash):
    lib = trust_load("trust-lib")

Environment (passed into the guest by vm.py):
  DEVNS_DEVNSD          the devnsd to run (trust-lib.sh picks an ASan/UBSan
                        build when there is a fresh one)
  DEVNS_TRUST_REQUIRE_SANITIZER=1
                        fail when that devnsd is not built with ASan/UBSan
  DEVNS_TRUST_*         counts; each test lists its own
"""
import faulthandler
import glob
import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import devnstest as dt  # noqa: E402

CONTROLLER = os.path.join(HERE, "trust-controller.py")
STRESS = os.path.join(HERE, "trust-stress.py")

# Where a test hangs, its stacks are on the console before vm.py gives up
# on the guest (its default timeout is 900 s).
faulthandler.dump_traceback_later(int(os.environ.get("DEVNS_TRUST_WATCHDOG", "840")),
                                  repeat=True)
SANITIZER_PREFIXES = ("asan", "ubsan")


def load(name):
    spec = importlib.util.spec_from_file_location(name.replace("-", "_"),
                                                  os.path.join(HERE, name + ".py"))
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def env_int(name, default):
    return int(os.environ.get(name, default))


class Skip(Exception):
    pass




# ---------------------------------------------------------------- the broker

def sanitizer_env(quarantine_mb=16):
    """ASan and UBSan stop devnsd at the first report and write it to
    /mnt/out/{asan,ubsan}.<pid>; LeakSanitizer reports at exit. The
    quarantine is kept small so memory growth stays measurable."""
    out = dt.OUT
    return {
        "ASAN_OPTIONS": ":".join([
            f"log_path={out}/asan", "halt_on_error=1", "detect_leaks=1",
            f"quarantine_size_mb={quarantine_mb}", "malloc_context_size=20",
            "detect_stack_use_after_return=0", "handle_abort=1"]),
        "UBSAN_OPTIONS": ":".join([
            f"log_path={out}/ubsan", "halt_on_error=1", "print_stacktrace=1"]),
        "LSAN_OPTIONS": f"log_path={out}/asan",
    }


def sanitizer_reports():
    """Every report the sanitizers wrote, as (file, first lines)."""
    found = []
    for prefix in SANITIZER_PREFIXES:
        for path in sorted(glob.glob(os.path.join(dt.OUT, prefix + ".*"))):
            with open(path, errors="replace") as f:
                found.append((os.path.basename(path), f.read(2000)))
    return found


def sanitizers_of(pid):
    """"address,undefined" (or part of it) from the libraries mapped into
    pid; "none" without."""
    try:
        with open(f"/proc/{pid}/maps") as f:
            maps = f.read()
    except OSError:
        return "unknown"
    kinds = [k for k, lib in (("address", "libasan"), ("undefined", "libubsan"))
             if lib in maps]
    return ",".join(kinds) or "none"


class Broker(dt.Broker):
    """devnstest's Broker with the sanitizer options in its environment,
    its sanitizers known and its resources measurable."""

    def __init__(self, config=None, quarantine_mb=16):
        for k, v in sanitizer_env(quarantine_mb).items():
            os.environ[k] = v
        super().__init__(config)
        self.binary = os.environ.get("DEVNS_DEVNSD", dt.DEVNSD)
        self.sanitizers = sanitizers_of(self.proc.pid)
        dt.log(f"devnsd {self.binary} (sanitizers: {self.sanitizers}), pid {self.proc.pid}")
        if os.environ.get("DEVNS_TRUST_REQUIRE_SANITIZER") == "1":
            dt.check("address" in self.sanitizers,
                     f"devnsd {self.binary} is not built with ASan/UBSan")

    def alive(self):
        if self.proc.poll() is not None:
            return False
        return bool(dt.system_bus().name_has_owner(dt.BUS_NAME))

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def fd_count(self):
        return len(os.listdir(f"/proc/{self.proc.pid}/fd"))

    def settled_fds(self, at_most, timeout=60):
        """The fd count once it is at most at_most (closes happen off the
        switch path, in the reaper thread), or the last count seen."""
        seen = []

        def ok():
            seen.append(self.fd_count())
            return seen[-1] <= at_most
        try:
            dt.wait_until(f"devnsd fds <= {at_most}", ok, timeout=timeout)
        except dt.TestFailure:
            pass
        return seen[-1]

    def fd_listing(self):
        out = []
        for fd in sorted(os.listdir(f"/proc/{self.proc.pid}/fd"), key=int):
            try:
                out.append(f"{fd} -> {os.readlink(f'/proc/{self.proc.pid}/fd/{fd}')}")
            except OSError:
                pass
        return out


# ---------------------------------------------------------------- containers

def controller(name, *args, options=None):
    """A container whose leader is trust-controller.py with args."""
    return dt.Container(name, [sys.executable, CONTROLLER, *args], options=options)


def expect_ready(c, timeout=60):
    """Waits for "ready"; an "error" line first fails."""
    end = time.monotonic() + timeout
    while True:
        for i, line in enumerate(c.lines):
            if line == "ready":
                del c.lines[i]
                return
            if line.startswith("error"):
                raise dt.TestFailure(f"{c.name}: {line}")
        left = end - time.monotonic()
        if left <= 0:
            raise dt.TestFailure(f"{c.name}: not ready within {timeout}s: {c.lines[-5:]}")
        c._fill(left)


def status(c, via_forker=False):
    """The client's status line as a dict (demo client and trust-controller
    speak the same one)."""
    c.send("to status" if via_forker else "status")
    line = c.expect("status ")
    return dict(kv.split("=", 1) for kv in line.split()[1:])


def check_invariant(active, others, active_via_forker=False):
    """Exactly one master with live input: the active client; every other
    one neither (a dead client cannot be asked: leave it out)."""
    if active is not None:
        st = status(active, active_via_forker)
        dt.check(st["drm_master"] == "1", f"{active.name} should be master: {st}")
        dt.check(st["evdev"] in ("live", "none"), f"{active.name} should have live input: {st}")
    for o in others:
        via = isinstance(o, tuple)
        c = o[0] if via else o
        so = status(c, via)
        dt.check(so["drm_master"] in ("0", "-"), f"{c.name} must not be master: {so}")
        dt.check(so["evdev"] in ("revoked", "none"), f"{c.name} input must be revoked: {so}")


def active_of(seat="seat0"):
    b = dt.system_bus()
    return str(dt.get_prop(b, dt.seat_path(b, seat), dt.SEAT, "ActiveContainer")[0])


def container_prop(name, prop):
    b = dt.system_bus()
    return dt.get_prop(b, dt.manager(b).GetContainer(name), dt.CONTAINER, prop)


def registered(name):
    return any(str(n) == name for n, *_ in dt.manager().ListContainers())


def child_pids(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def host_pid(parent, ns_pid):
    """The host pid of parent's child whose innermost pid is ns_pid."""
    for pid in child_pids(parent):
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("NSpid:") and int(line.split()[-1]) == ns_pid:
                        return pid
        except OSError:
            pass
    return None


def stress_copy():
    """trust-stress.py for a client that runs as another user: a copy, with
    trust-wire.py that it loads from its own directory, where that user can
    read them (dt.readable_copy())."""
    return dt.readable_copy(STRESS, os.path.join(HERE, "trust-wire.py"))[0]


def devnsctl_async(*args):
    return subprocess.Popen([dt.DEVNSCTL, *args], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def stats(values):
    v = sorted(values)
    if not v:
        return {}
    return {"n": len(v), "median": round(v[len(v) // 2], 3), "max": round(v[-1], 3),
            "min": round(v[0], 3)}


# ---------------------------------------------------------------- results

class Results:
    """What a test tried and what happened, for docs/reliability.md:
    /mnt/out/results.json, rewritten after every testcase."""

    def __init__(self, test):
        self.data = {"test": test, "devnsd": None, "sanitizers": None,
                     "cases": [], "sanitizer_reports": [], "devnsd_exit": None}
        self.path = os.path.join(dt.OUT, "results.json")

    def broker(self, b):
        self.data["devnsd"] = os.path.relpath(b.binary, dt.SRC) if b.binary.startswith(dt.SRC) \
            else b.binary
        self.data["sanitizers"] = b.sanitizers
        self.write()

    def case(self, name, tried, result, observed, **numbers):
        self.data["cases"].append({"name": name, "tried": tried, "result": result,
                                   "observed": observed, **numbers})
        self.write()

    def write(self):
        with open(self.path + ".tmp", "w") as f:
            json.dump(self.data, f, indent=1, sort_keys=True)
        os.replace(self.path + ".tmp", self.path)


def run_cases(module_globals, order, results):
    """Runs the testcases in order like devnstest.run_testcases; each one
    returns (tried, observed, numbers) for the results. Skip ends a case as
    skipped."""
    names = dt.testcase_order(order)
    passed = failed = 0
    for i, name in enumerate(names, 1):
        t0 = time.monotonic()
        short = name[len("testcase_"):]
        doc = (module_globals[name].__doc__ or "").strip().split("\n")[0]
        try:
            tried, observed, numbers = module_globals[name]()
            results.case(short, tried, "pass", observed,
                         seconds=round(time.monotonic() - t0, 1), **numbers)
            passed += 1
            print(f"ok {i} {name} ({time.monotonic() - t0:.1f}s)", flush=True)
        except Skip as e:
            results.case(short, doc, "skip", str(e))
            passed += 1
            print(f"ok {i} {name} # SKIP {e}", flush=True)
        except Exception as e:
            traceback.print_exc()
            results.case(short, doc, "fail", f"{type(e).__name__}: {e}",
                         seconds=round(time.monotonic() - t0, 1))
            failed += 1
            print(f"not ok {i} {name}", flush=True)
    print(f"{passed} passed, {failed} failed", flush=True)
    return failed


def finish(broker, results, failed):
    """Stops devnsd (LeakSanitizer reports at exit) and fails the test on
    any sanitizer report or an unclean exit."""
    rc = broker.stop()
    results.data["devnsd_exit"] = rc
    reports = sanitizer_reports()
    with open(broker.log_path, errors="replace") as f:
        log = f.read()
    for marker in ("runtime error:", "AddressSanitizer", "LeakSanitizer"):
        if marker in log:
            reports.append(("devnsd.log", log[log.index(marker) - 200:][:2000]))
    results.data["sanitizer_reports"] = [name for name, _ in reports]
    results.write()
    for name, text in reports:
        print(f"# sanitizer report {name}:\n{text}", flush=True)
    if reports:
        print("not ok - sanitizer reports (see above)", flush=True)
        failed += 1
    if rc != 0:
        print(f"not ok - devnsd exited with {rc}", flush=True)
        failed += 1
    return 1 if failed else 0


def setup_devices():
    for mod in ("bochs", "uinput"):
        subprocess.run(["modprobe", mod], check=True)
    dt.wait_until("/dev/dri/card0", lambda: os.path.exists("/dev/dri/card0"), timeout=60)
    subprocess.run(["udevadm", "settle", "--timeout=60"], check=False)


def keyboard(name):
    k = dt.UinputKeyboard(name)
    dt.wait_until(f"{name} on seat0",
                  lambda: any(d[0] == k.sysname for d in dt.seat_devices(dt.system_bus())))
    return k


COLOURS = {"alpha": "cc2222", "beta": "2255cc"}


def start_clients(state):
    """A uinput keyboard (state["keys"]) and the demo clients alpha and
    beta (state["clients"]), each in a container of its own."""
    state["keys"] = keyboard("trust-keys")
    state["clients"] = {}
    for name in ("alpha", "beta"):
        c = dt.demo_client(name, COLOURS[name])
        c.expect("ready", timeout=60)
        state["clients"][name] = c


def stop_clients(state):
    """Undoes start_clients(), however far it got."""
    for c in state.get("clients", {}).values():
        c.stop()
    if "keys" in state:
        state["keys"].destroy()


def kill(pid):
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
