#!/usr/bin/env bash
# The reliability runs of devns in one command, and docs/reliability.md
# written from their results.
#
#   scripts/reliability.sh              the counts CI runs (fuzzers as in the
#                                       unit suite; 100 kills, 10,000 hostile
#                                       calls, 300 switches)
#   scripts/reliability.sh --full       the full counts: fuzzers 10x longer,
#                                       100,000 hostile calls, 10,000 switches
#   scripts/reliability.sh --soak       only the soak, 10,000 switches
#   scripts/reliability.sh --report     only rewrite docs/reliability.md from
#                                       the results already there
#   --no-report                         leave docs/reliability.md alone
#
# The vm tests run against devnsd built with ASan and UBSan (build-asan/,
# set up as scripts/test.sh does) and fail on any sanitizer report. Their
# results are the JSON files they write to their output share,
# build/tests/vm/out/trust-*/results.json; the fuzzers' are written to
# build/reliability/. Exit status: 0 when everything passed.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

mode=ci
report=1
for arg in "$@"; do
	case $arg in
	--full) mode=full ;;
	--soak) mode=soak ;;
	--report) mode=report ;;
	--no-report) report=0 ;;
	-h | --help)
		sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'
		exit 0
		;;
	*)
		echo "reliability.sh: unknown argument $arg (try --help)" >&2
		exit 2
		;;
	esac
done

fuzz_out=$src/build/reliability
vm_out=$src/build/tests/vm/out
status=0

setup() {
	local dir=$1
	shift
	if [ -d "$dir/meson-private" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

# What the runs use, and nothing else: the plain tools for the guest, the
# fuzzers, and devnsd with ASan and UBSan.
build() {
	echo "== build (build/, and build-asan/ with ASan and UBSan)"
	setup build --werror
	ninja -C build devnsd ctl/devnsctl examples/devns-demo-client \
		tests/unit/fuzz-config tests/unit/fuzz-names tests/unit/fuzz-seatd-proto
	setup build-asan --werror -Db_sanitize=address,undefined -Db_lundef=false -Dvm_tests=false
	ninja -C build-asan devnsd
}

# fuzz NAME RUNS MAX_LEN: one seeded libFuzzer run, its numbers as JSON.
fuzz() {
	local name=$1 runs=$2 max_len=$3 bin=$src/build/tests/unit/$1 log rc
	log=$fuzz_out/$name.log
	if [ ! -x "$bin" ]; then
		echo "reliability.sh: $bin missing (clang and its fuzzer runtime are needed)" >&2
		status=1
		return
	fi
	echo "== $name: $runs runs"
	rc=0
	(cd "$fuzz_out" && "$bin" -runs="$runs" -seed=1 \
		-max_len="$max_len" -print_final_stats=1 >"$log" 2>&1) || rc=$?
	[ "$rc" -eq 0 ] || status=1
	python3 - "$name" "$runs" "$max_len" "$rc" "$log" "$fuzz_out/$name.json" <<'EOF'
import json, re, sys
name, runs, max_len, rc, log, out = sys.argv[1:]
text = open(log, errors="replace").read()
def num(pattern):
    m = re.findall(pattern, text)
    return int(m[-1]) if m else None
done = re.findall(r"Done (\d+) runs in (\d+) second", text)
crash = re.findall(r"(?:ERROR|SUMMARY): (.*)", text)
json.dump({"name": name, "runs": int(runs), "max_len": int(max_len), "exit": int(rc),
           "executed": num(r"stat::number_of_executed_units: (\d+)"),
           "seconds": int(done[-1][1]) if done else None,
           "coverage": num(r"cov: (\d+)"), "features": num(r"ft: (\d+)"),
           "corpus": num(r"corp: (\d+)"),
           "problem": crash[0][:300] if int(rc) else None}, open(out, "w"), indent=1)
EOF
}

# vm NAME TIMEOUT VAR=VALUE...: one vm test with these counts.
vm() {
	local name=$1 timeout=$2
	shift 2
	echo "== vm test $name ($*)"
	rm -f "$vm_out/$name/results.json"
	env DEVNS_DEVNSD="$src/build-asan/devnsd" DEVNS_TRUST_REQUIRE_SANITIZER=1 \
		DEVNS_TRUST_WATCHDOG=$((timeout - 60)) "$@" \
		python3 "$src/tests/vm/vm.py" --out "$vm_out/$name" --build-dir "$src/build" \
		--cache-dir "$src/build/tests/vm" --timeout "$timeout" \
		-- /bin/sh "$src/tests/vm/test-$name.sh" || status=1
}

if [ "$mode" != report ]; then
	"$src/scripts/install-deps.sh"
	build
	mkdir -p "$fuzz_out"
	printf '{"mode": "%s", "date": "%s"}\n' "$mode" "$(date -u +%Y-%m-%d)" \
		>"$fuzz_out/run.json"
	case $mode in
	ci)
		fuzz fuzz-config 300000 512
		fuzz fuzz-names 500000 256
		fuzz fuzz-seatd-proto 500000 1024
		vm trust-faults 900
		vm trust-stress 900 DEVNS_TRUST_CALLS=10000
		vm trust-soak 900 DEVNS_TRUST_SWITCHES=300
		;;
	full)
		fuzz fuzz-config 3000000 512
		fuzz fuzz-names 5000000 256
		fuzz fuzz-seatd-proto 5000000 1024
		vm trust-faults 3600 DEVNS_TRUST_KILL_ROUNDS=100 DEVNS_TRUST_LEADER_ROUNDS=20 \
			DEVNS_TRUST_UNPLUG_ROUNDS=100 DEVNS_TRUST_FORCED_ROUNDS=20
		vm trust-stress 7200 DEVNS_TRUST_CALLS=100000 DEVNS_TRUST_DEADLINE=5400
		vm trust-soak 14400 DEVNS_TRUST_SWITCHES=10000
		;;
	soak)
		vm trust-soak 14400 DEVNS_TRUST_SWITCHES=10000
		;;
	esac
fi

[ "$report" -eq 1 ] || exit $status

echo "== docs/reliability.md"
python3 - "$src" "$mode" <<'EOF'
import glob, json, os, subprocess, sys, time

src, mode = sys.argv[1:]
vm_out = os.path.join(src, "build", "tests", "vm", "out")
fuzz_out = os.path.join(src, "build", "reliability")

def git(*args):
    try:
        return subprocess.run(["git", "-C", src, *args], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""

def cell(text):
    return str(text).replace("|", "\\|").replace("\n", " ")

def fmt_s(d):
    return f"median {d['median']} s, worst {d['max']} s" if d else ""

fuzz = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(fuzz_out, "fuzz-*.json")))]
vm = []
for name in ("trust-faults", "trust-stress", "trust-soak"):
    p = os.path.join(vm_out, name, "results.json")
    if os.path.exists(p):
        d = json.load(open(p))
        d["_when"] = time.strftime("%Y-%m-%d", time.gmtime(os.path.getmtime(p)))
        vm.append(d)

commit = git("rev-parse", "--short", "HEAD")
dirty = " with local changes" if git("status", "--porcelain", "--untracked-files=no") else ""
try:
    run = json.load(open(os.path.join(fuzz_out, "run.json")))
except (OSError, ValueError):
    run = {"mode": "ci", "date": "unknown"}
lines = []
w = lines.append
w("# Reliability")
w("")
w("What devnsd was put through, and what happened. This page is written by")
w("`scripts/reliability.sh` from the results the tests themselves record (the")
w("vm tests' `results.json` in their output share, the fuzzers' statistics);")
w("do not edit it by hand, run the script again.")
w("")
w(f"Last run: `scripts/reliability.sh{'' if run['mode'] == 'ci' else ' --' + run['mode']}"
  f"` on {run['date']}, commit "
  f"{commit or 'unknown'}{dirty}.")
w("")
w("## How to run")
w("")
w("| command | what |")
w("| --- | --- |")
w("| `scripts/reliability.sh` | the counts CI runs: the fuzzers as in the unit suite, 100 kills in a pause handshake, 10,000 hostile calls, 300 switches |")
w("| `scripts/reliability.sh --full` | the full counts: 10x the fuzzing, 100,000 hostile calls, 10,000 switches (hours under TCG) |")
w("| `scripts/reliability.sh --soak` | only the soak: 10,000 switches |")
w("| `meson test -C build --suite vm trust-faults trust-stress trust-soak` | the same vm tests with the CI counts; `DEVNS_TRUST_CALLS`, `DEVNS_TRUST_SWITCHES`, `DEVNS_TRUST_KILL_ROUNDS`, `DEVNS_TRUST_LEADER_ROUNDS`, `DEVNS_TRUST_UNPLUG_ROUNDS`, `DEVNS_TRUST_FORCED_ROUNDS` change them |")
w("| `meson test -C build --suite vm restart seatd-sway login1-weston login1-sway installed` | the crash and restart rounds of each transport (`DEVNS_RESTART_ROUNDS`: by default 20 in `restart`, 3 in the others; 20 for the full count). `installed` does them under systemd, with the packages installed |")
w("| `meson test -C build fuzz-config fuzz-names fuzz-seatd-proto` | the seeded fuzzer runs of the unit suite |")
w("")
w("The vm tests use `build-asan/devnsd` (ASan and UBSan) when it is up to date")
w("with the sources, or whatever `DEVNS_DEVNSD` names; the script builds it and")
w("insists on it (`DEVNS_TRUST_REQUIRE_SANITIZER=1`). A sanitizer report, a")
w("LeakSanitizer report at exit or an unclean exit of devnsd fails the test.")
w("Every fault is followed by the invariant: exactly one client is DRM master")
w("with live input, the active one; the others are neither (a killed client")
w("is not asked), and the next switch to a survivor works.")
w("")
w("## What was tried")
w("")
if not vm and not fuzz:
    w("No results yet: run `scripts/reliability.sh`.")
w("| test | case | tried | result | what happened |")
w("| --- | --- | --- | --- | --- |")
for f in fuzz:
    res = "pass" if f["exit"] == 0 else "FAIL"
    happened = (f"{f['executed'] or f['runs']} inputs in {f['seconds']} s, coverage {f['coverage']} "
                f"edges, {f['features']} features, no crash, leak or broken invariant"
                if f["exit"] == 0 else f"stopped: {f['problem']}")
    w(f"| fuzzer | {f['name']} | {f['runs']} seeded libFuzzer runs (-seed=1, inputs up to "
      f"{f['max_len']} bytes) with ASan and UBSan | {res} | {cell(happened)} |")
for d in vm:
    for c in d["cases"]:
        res = {"pass": "pass", "fail": "FAIL", "skip": "skipped"}[c["result"]]
        extra = []
        for key, label in (("switch_s", "switch"), ("kill_to_done_s", "kill to switch done"),
                           ("forced_switch_s", "forced switch"),
                           ("mid_pause_switch_s", "switch with the leader killed")):
            if c.get(key):
                extra.append(f"{label}: {fmt_s(c[key])}")
        happened = c["observed"] + ("; " + "; ".join(extra) if extra else "")
        w(f"| {d['test']} | {c['name']} | {cell(c['tried'])} | {res} | {cell(happened)} |")
w("")
if vm:
    w("## devnsd in each vm test")
    w("")
    w("| test | devnsd | sanitizers | sanitizer reports | exit | run |")
    w("| --- | --- | --- | --- | --- | --- |")
    for d in vm:
        w(f"| {d['test']} | `{d['devnsd']}` | {d['sanitizers']} | "
          f"{len(d['sanitizer_reports']) or 'none'} | {d['devnsd_exit']} | {d['_when']} |")
    w("")
w("## Crashes and restarts of devnsd")
w("")
w("What a client of each transport sees when devnsd is killed (`kill -9`, a")
w("crash) and when it is restarted cleanly (`SIGTERM`, `systemctl restart`,")
w("`SIGHUP` to `devns-keeper`). \"With a store\" means devnsd runs under")
w("systemd with `FileDescriptorStoreMax=` (as the shipped unit does) or under")
w("`devns-keeper`.")
w("")
w("| what | across a crash | across a restart | checked by |")
w("| --- | --- | --- | --- |")
survival = [
    ("`seatd.sock` with a store",
     "nothing: the connection and its state wait in the store, the next devnsd "
     "carries the conversation on (a request half sent is read whole); a switch "
     "made meanwhile arrives as disable-seat or enable-seat",
     "the same: with a store, `SIGTERM` hands over as a crash would",
     "seatd-sway `survives_devnsd_killed`, `survives_devnsd_restarted` (sway 1.7); "
     "test-seatd-server `a_restart_loses_nothing`, "
     "`a_switch_while_devnsd_was_away_is_told_after_the_restart`, "
     "`a_damaged_stored_state_drops_the_connection`"),
    ("`seatd.sock` without a store",
     "the connection ends: libseat reports an error and sway exits",
     "the same", "(by design of the protocol; not a test)"),
    ("the D-Bus endpoint (`bus`)",
     "the connection ends; the client connects again and calls `TakeControl()` and "
     "`TakeDevice()`, getting the same open files back",
     "the same", "restart `restart_rounds` (demo client with `--reconnect`)"),
    ("the login1 facade with a store",
     "the compositor keeps its session and devices: devnsd connects to the "
     "container's bus again, owns `org.freedesktop.login1` again (same session id "
     "and paths), finds the controller still there and sends what it missed "
     "(`PauseDevice`, `ResumeDevice`); calls waiting for an answer get `NoReply` "
     "from the bus daemon. While the name has no owner weston and libseat notice "
     "nothing; mutter releases its input (the release cannot arrive) and takes it "
     "again when the name is back, which devnsd allows once per device",
     "the same: with a store, `SIGTERM` hands over as a crash would",
     "login1-weston, login1-sway, login1-mutter, login1-kwin "
     "(`survives_devnsd_*`); test-login1 `a_stored_session_is_checked_before_use`"),
    ("the login1 facade without a store",
     "devnsd owns the name again, but the controller is forgotten: the compositor "
     "must call `TakeControl()` again (none of the four does)",
     "the same", "(not a test)"),
    ("listening sockets (`bus`, `seatd.sock`) with a store",
     "kept in the store: a client that connects while devnsd is away waits in the "
     "backlog, and the next devnsd serves it",
     "the same",
     "test-seatd-server `a_client_connecting_during_a_restart_is_served_by_the_next_devnsd`; "
     "seatd-sway, login1-weston (devnsd's fds stay flat: the sockets are taken back)"),
    ("a switch in flight",
     "devnsd killed at each ioctl on the card in a switch in turn (the master check, "
     "`DROP_MASTER`, `SET_MASTER`), then at the 1st to 16th ioctl of any kind (each "
     "`EVIOCREVOKE`, and the hotkeys' key-state reads between them): the next devnsd "
     "undoes it (the state file names the container in front only once a switch "
     "is done), with master and live input only there; the next switch works",
     "the same: `SIGTERM` hands over between two steps of the switch, as a kill there would",
     "restart `killed_mid_switch` (strace's fault injection)"),
    ("device files (DRM master, evdev)",
     "taken back from the store and from the container's processes (`pidfd_getfd`); "
     "master and live input only for the active container; a stored file that no "
     "container picks up is revoked",
     "the same",
     "restart `files_taken_back_without_the_client`, seatd-sway (above)"),
    ("devnsd under systemd, installed from the packages",
     "systemd starts it again (`Restart=on-failure`) and keeps the unit's fd store "
     "meanwhile: the seatd client sees nothing, the D-Bus endpoint's client "
     "reconnects, the picture stays",
     "the same for `systemctl restart` and for the package's postinst on an "
     "upgrade (`try-restart`, nothing stopped before): the store is kept across "
     "the restart",
     "installed `survives_kill_9_under_systemd`, `survives_systemctl_restart`, "
     "`survives_package_upgrade` (a libseat client on seatd.sock, the demo client "
     "with `--reconnect`)"),
]
for what, crash, restart, test in survival:
    w(f"| {cell(what)} | {cell(crash)} | {cell(restart)} | {test} |")
w("")
w("## Found by these tests and fixed")
w("")
w("| bug | fix | checked by |")
w("| --- | --- | --- |")
fixed = [
    ("An upgrade of the `devns` package stopped devnsd before unpacking (the preinst "
     "that `dh_installsystemd --no-start` makes) and never started it again (the "
     "postinst's `try-restart` starts nothing): the stop dropped the fd store, so every "
     "client lost its devices, and the seat had no broker until the next boot.",
     "`dh_installsystemd --no-start --no-stop-on-upgrade` (debian/rules): nothing stops "
     "devnsd before an upgrade; the postinst restarts it, and the store is kept.",
     "installed `survives_package_upgrade`"),
    ("An invalid D-Bus message that carries fds on a container's endpoint (one whose "
     "header counts one fd more than it brings, say): sd-bus (libsystemd 252) drops the "
     "message and forgets the fds that came with it, so any process of any container "
     "could fill devnsd's fd table. The system bus was not affected (dbus-daemon refuses "
     "such messages).",
     "devnsd reads the endpoint socket itself and hands sd-bus one message at a time "
     "(dbus/endpoint-input.c); a message with fds goes alone, and when sd-bus did not "
     "dispatch it, the copies it received are found (kcmp) and closed and the client is "
     "hung up on. sd-bus still forgets the array that listed those fds (4 bytes an fd), "
     "once per connection.",
     "trust-stress `invalid_message_fds`, test-dbus-wire `endpoint_message_fds_not_kept`"),
    ("A keyboard unplugged between the pause and the resume of a switch made the switch "
     "fail (its node could not be reopened): the seat was left with no active container.",
     "A device that is gone does not fail the switch (seat/seat.c): it stays paused, "
     "and udev's remove event withdraws it.",
     "trust-faults `unplug`, test-seat `switch_resumes_without_device_gone_meanwhile`"),
    ("A client whose first message carries an fd and arrives in the same read as `BEGIN` "
     "made sd-bus fail the handshake; the endpoint neither answered nor hung up, so the "
     "client waited for its timeout.",
     "`conn_process_auth()` (dbus/endpoint.c) drops the connection when the handshake fails.",
     "trust-stress `fds_with_begin`"),
    ("`config_parse_seconds()` took whatever `strtod()` takes (`1e1`, `0x1p-1`, `+5`, "
     "`\" 5\"`); devnsd.conf(5) says a decimal number.",
     "Only digits with at most one `.` reach `strtod()`.",
     "fuzz-config, test-config `seconds_not_a_number`"),
    ("`config_format_chord()` wrote one byte into a buffer of size 0.",
     "It checks the size first and never forms a pointer past the buffer.",
     "fuzz-config (buffer sizes from 0)"),
]
for bug, fix, test in fixed:
    w(f"| {cell(bug)} | {cell(fix)} | {test} |")
w("")
with open(os.path.join(src, "docs", "reliability.md"), "w") as f:
    f.write("\n".join(lines))
print("wrote docs/reliability.md")
EOF
exit $status
