#!/bin/sh
# The switch benchmarks, run as root in the test guest by scripts/bench.sh
# (through tests/vm/vm.py). Writes JSON files into $DEVNS_OUT/runs;
# bench/report.py makes the tables and the plot from them.
#
# The guest shares the machine's CPUs with whatever else runs there, and
# under TCG a guest's timing follows the host's load closely. So the
# comparison is made in rounds: each round runs the floor, then the seatd and
# devnsd scenarios one after the other, and bench/report.py compares them
# within each round as well as pooled. Odd rounds run the scenarios in the
# order below, even rounds in the reverse order, so that a load that drifts
# within a round favours neither daemon: seatd runs first in odd rounds,
# devnsd first in even ones. Every round's scenarios write their UTC start
# and end into $DEVNS_OUT/rounds.txt; the guest's clock is the host's, and
# report.py matches them with the host's load, which scripts/bench.sh
# samples on the host (the guest cannot see it). The scale runs alternate
# sizes the same way.
#
# Parts (DEVNS_BENCH_PARTS selects some; default all):
#   compare    rounds of: wakeup (one cross-process wake-up), floor (the
#              kernel work of a switch, one process), then the scenarios
#              (DEVNS_BENCH_COMPARE selects some; default all, in this order):
#                seatd           Debian's seatd, SEATD_VTBOUND=0, two
#                                libseat clients (seatd-bench-client)
#                devnsd          SwitchContainer, Activate on the endpoint,
#                                the Ctrl+Alt+Right hotkey
#                libseat-devnsd  the same libseat clients and switches as
#                                seatd, on devnsd's seatd.sock of their
#                                containers: seatd's protocol, like with like
#                screen-seatd    what a person sees, on seatd: from the chord
#                                on the uinput keyboard to the new client's
#                                completed page flip; the active client reads
#                                the chord and calls libseat_switch_session
#                screen-devnsd   the same on devnsd, switched by its hotkey
#   scale      devnsd with 2, 16, 64 and 256 registered containers
#   trace      kernel traces (ftrace) of switches through devnsd, with 2
#              and with TRACE_SCALE containers
#   callgrind  devnsd under callgrind: two runs with 2 containers, one with
#              CALLGRIND_SCALE; seatd the same way
#
# Knobs (DEVNS_* variables reach the guest): DEVNS_BENCH_ROUNDS (10),
# DEVNS_BENCH_SWITCHES (1000, over all rounds: SwitchContainer, seatd and
# libseat-devnsd each; Activate half of it, the hotkey and both screen
# scenarios three tenths), DEVNS_BENCH_COMPARE (the scenarios above),
# DEVNS_BENCH_SIZES ("2 16 64 256"), DEVNS_BENCH_SCALE_ROUNDS (2),
# DEVNS_BENCH_SCALE_SWITCHES (300 per size, over all rounds),
# DEVNS_BENCH_CALLGRIND_SWITCHES (100), DEVNS_BENCH_CALLGRIND_SCALE (64
# containers for a third callgrind run), DEVNS_BENCH_CALLGRIND_SCALE_SWITCHES (30),
# DEVNS_BENCH_TRACE_SCALE (64 containers for a second kernel trace),
# DEVNS_BENCH_BROKER_WRAPPER (a command that runs devnsd in the compare
# scenarios, for a look inside: "strace -f -tt -o /run/bench-logs/strace";
# what it writes there is copied out with the logs; not for figures).
. "$DEVNS_SRC/tests/vm/lib.sh"

B=$DEVNS_BUILD
OUT=$DEVNS_OUT
RUNS=$OUT/runs
BENCH=$B/bench/devns-bench
PARTS=${DEVNS_BENCH_PARTS:-compare scale trace callgrind}
ROUNDS=${DEVNS_BENCH_ROUNDS:-10}
SWITCHES=${DEVNS_BENCH_SWITCHES:-1000}
COMPARE=${DEVNS_BENCH_COMPARE:-seatd devnsd libseat-devnsd screen-seatd screen-devnsd}
SIZES=${DEVNS_BENCH_SIZES:-2 16 64 256}
SCALE_ROUNDS=${DEVNS_BENCH_SCALE_ROUNDS:-2}
SCALE_SWITCHES=${DEVNS_BENCH_SCALE_SWITCHES:-300}
CG_SWITCHES=${DEVNS_BENCH_CALLGRIND_SWITCHES:-100}
CG_SCALE=${DEVNS_BENCH_CALLGRIND_SCALE:-64}
CG_SCALE_SWITCHES=${DEVNS_BENCH_CALLGRIND_SCALE_SWITCHES:-30}
TRACE_SCALE=${DEVNS_BENCH_TRACE_SCALE:-64}
# Logs live on a tmpfs and are copied out at the end: a write to $DEVNS_OUT
# (9p to the host) takes milliseconds, and devnsd logs every switch.
LOGS=/run/bench-logs
FAILED=""

part() {
	case " $PARTS " in *" $1 "*) return 0 ;; esac
	return 1
}

# Wall-clock time in UTC, for matching the rounds with the host's load.
utc() {
	date -u +%Y-%m-%dT%H:%M:%SZ
}

fail() {
	echo "bench: FAILED: $*" >&2
	FAILED="$FAILED $1"
}

broker_on_bus() {
	busctl --system call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus \
		NameHasOwner s org.devns.broker1 2>/dev/null | grep -q true
}

broker_off_bus() {
	! broker_on_bus
}

gone() {
	! kill -0 "$1" 2>/dev/null
}

# start_broker LOG [WRAPPER...]: devnsd, optionally under a wrapper that
# execs it (valgrind); sets BROKER_PID.
start_broker() {
	_log=$1
	shift
	# Every container costs devnsd about seven fds; 256 of them need more
	# than the usual soft limit of 1024 (see docs/performance.md).
	ulimit -n 65536
	"$@" "$B/devnsd" --config "$BROKER_CONF" >>"$LOGS/$_log" 2>&1 &
	BROKER_PID=$!
	wait_for 600 broker_on_bus || { cat "$LOGS/$_log" >&2; return 1; }
}

stop_broker() {
	[ -n "${BROKER_PID:-}" ] || return 0
	kill -TERM "$BROKER_PID" 2>/dev/null
	if ! wait_for 300 gone "$BROKER_PID"; then
		echo "bench: devnsd did not stop in 300 s; killing it" >&2
		kill -KILL "$BROKER_PID" 2>/dev/null
	fi
	wait "$BROKER_PID" 2>/dev/null
	BROKER_PID=
	wait_for 60 broker_off_bus
}

start_seatd() {
	SEATD_VTBOUND=0 seatd -l error >>"$LOGS/seatd.log" 2>&1 &
	SEATD_PID=$!
	wait_for 60 test -S /run/seatd.sock
}

stop_seatd() {
	kill -TERM "$SEATD_PID" 2>/dev/null
	wait_for 60 gone "$SEATD_PID" || kill -KILL "$SEATD_PID"
	wait "$SEATD_PID" 2>/dev/null
	rm -f /run/seatd.sock
}

# --------------------------------------------------------------- set-up

modprobe bochs || die "modprobe bochs"
modprobe uinput || die "modprobe uinput"
mkdir -p /etc/dbus-1/system.d /etc/devns "$RUNS" "$LOGS"
cp "$DEVNS_SRC/data/org.devns.broker1.conf" /etc/dbus-1/system.d/
# devnsd completes its bus authentication only once it has set up; under
# valgrind on a busy host that takes longer than dbus-daemon's default 30 s.
cat >/etc/dbus-1/system.d/bench-limits.conf <<'EOF'
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <limit name="auth_timeout">600000</limit>
</busconfig>
EOF
# The defaults of devnsd.conf(5), written out: what is measured.
BROKER_CONF=/etc/devns/bench.conf
printf '[Broker]\nPauseTimeoutSec=0.5\nVT=auto\n' >"$BROKER_CONF"
start_udev
start_system_bus
wait_for 60 test -c /dev/dri/card0 || die "no /dev/dri/card0"
wait_for 60 test -c /dev/uinput || die "no /dev/uinput"
settle

{
	echo "kernel $(uname -r)"
	echo "cpus $(nproc)"
	echo "memory_kib $(sed -n 's/^MemTotal: *\([0-9]*\).*/\1/p' /proc/meminfo)"
	echo "seatd $(seatd -v 2>&1)"
	echo "valgrind $(valgrind --version 2>&1)"
	# The guest's clock against the host's (host-info.txt, vm_start):
	# the rounds' times are matched with the host's load samples.
	echo "utc_start $(utc)"
} >"$OUT/guest-info.txt"

# --------------------------------------------------------------- parts

# compare_scenario NAME ROUND: one scenario of a round, against a daemon
# started for it alone, so that no scenario meets another's containers,
# sessions or files still being closed; its UTC start and end go into
# rounds.txt.
compare_scenario() {
	_s=$1
	_r=$2
	_start=$(utc)
	case $_s in
	seatd | screen-seatd)
		if start_seatd; then
			if [ "$_s" = seatd ]; then
				"$BENCH" seatd --switches "$per" --warmup 5 --trace-dir "$OUT/trace/round-$_r" \
					--daemon-pid "$SEATD_PID" --json "$RUNS/seatd-$_r.json" || fail "seatd-$_r"
			else
				"$BENCH" seatd --switches 0 --screen "$screen" --warmup 5 \
					--json "$RUNS/screen-seatd-$_r.json" || fail "screen-seatd-$_r"
			fi
		else
			fail "$_s-$_r" "seatd did not create /run/seatd.sock"
		fi
		stop_seatd
		;;
	devnsd | libseat-devnsd | screen-devnsd)
		# shellcheck disable=SC2086 # a command and its words
		if start_broker devnsd.log ${DEVNS_BENCH_BROKER_WRAPPER:-}; then
			case $_s in
			devnsd)
				"$BENCH" devnsd --switches "$per" --warmup 5 --activate "$act" --hotkey "$hot" \
					--trace-dir "$OUT/trace/round-$_r" --json "$RUNS/devnsd-$_r.json" ||
					fail "devnsd-$_r"
				;;
			libseat-devnsd)
				"$BENCH" seatd --devnsd --switches "$per" --warmup 5 \
					--trace-dir "$OUT/trace/round-$_r" \
					--json "$RUNS/libseat-devnsd-$_r.json" || fail "libseat-devnsd-$_r"
				;;
			screen-devnsd)
				"$BENCH" devnsd --switches 0 --screen "$screen" --warmup 5 \
					--json "$RUNS/screen-devnsd-$_r.json" || fail "screen-devnsd-$_r"
				;;
			esac
		else
			fail "$_s-$_r" "devnsd did not start"
		fi
		stop_broker
		;;
	*)
		fail "$_s" "no such scenario (DEVNS_BENCH_COMPARE)"
		;;
	esac
	echo "$_r $_s $_start $(utc)" >>"$OUT/rounds.txt"
}

if part compare; then
	per=$(((SWITCHES + ROUNDS - 1) / ROUNDS))
	act=$(((SWITCHES / 2 + ROUNDS - 1) / ROUNDS))
	hot=$(((SWITCHES * 3 / 10 + ROUNDS - 1) / ROUNDS))
	screen=$hot
	reversed=$(echo "$COMPARE" | tr ' ' '\n' | sed '/^$/d' | tac | tr '\n' ' ')
	: >"$OUT/rounds.txt"
	r=1
	while [ "$r" -le "$ROUNDS" ]; do
		order=$COMPARE
		[ $((r % 2)) -eq 0 ] && order=$reversed
		info "round $r of $ROUNDS: wake-up, floor, then $order"
		mkdir -p "$OUT/trace/round-$r"
		_start=$(utc)
		"$BENCH" wakeup --switches 500 --warmup 20 --json "$RUNS/wakeup-$r.json" || fail "wakeup-$r"
		"$BENCH" floor --switches 200 --warmup 10 --json "$RUNS/floor-$r.json" || fail "floor-$r"
		echo "$r floor $_start $(utc)" >>"$OUT/rounds.txt"
		for s in $order; do
			compare_scenario "$s" "$r"
		done
		r=$((r + 1))
	done
fi

if part scale; then
	per=$(((SCALE_SWITCHES + SCALE_ROUNDS - 1) / SCALE_ROUNDS))
	r=1
	while [ "$r" -le "$SCALE_ROUNDS" ]; do
		# Ascending in odd rounds, descending in even ones.
		order=$SIZES
		[ $((r % 2)) -eq 0 ] && order=$(echo "$SIZES" | tr ' ' '\n' | sort -rn | tr '\n' ' ')
		for n in $order; do
			info "scale round $r: $n containers, $per switches"
			if start_broker "devnsd-scale-$n.log"; then
				"$BENCH" devnsd --extra $((n - 2)) --switches "$per" --warmup 10 \
					--json "$RUNS/scale-$n-$r.json" || fail "scale-$n-$r"
			else
				fail "scale-$n-$r" "devnsd did not start"
			fi
			stop_broker
		done
		r=$((r + 1))
	done
fi

if part trace; then
	T=/sys/kernel/tracing
	[ -d "$T/events" ] || mount -t tracefs nodev "$T" 2>/dev/null
	EVENTS="sched/sched_switch sched/sched_wakeup raw_syscalls/sys_enter raw_syscalls/sys_exit"
	# The two that switch alone, then with TRACE_SCALE containers
	# registered: the same hops, and what each extra container adds.
	for n in 2 $TRACE_SCALE; do
		info "trace: ftrace of 40 switches through devnsd, $n containers"
		suffix=
		[ "$n" = 2 ] || suffix=-$n
		if [ -d "$T/events" ] && start_broker "devnsd-trace$suffix.log"; then
			echo 0 >"$T/tracing_on"
			echo mono >"$T/trace_clock"
			echo 16384 >"$T/buffer_size_kb"
			: >"$T/trace"
			for e in $EVENTS; do echo 1 >"$T/events/$e/enable"; done
			mkdir -p "$OUT/trace/ftrace$suffix"
			"$BENCH" devnsd --switches 40 --warmup 10 --check-every 0 --extra $((n - 2)) \
				--before "echo 1 >$T/tracing_on" --after "echo 0 >$T/tracing_on" \
				--trace-dir "$OUT/trace/ftrace$suffix" --json "$RUNS/trace$suffix.json" ||
				fail "trace$suffix"
			cat "$T/trace" >"$OUT/ftrace$suffix.txt"
			for e in $EVENTS; do echo 0 >"$T/events/$e/enable"; done
			: >"$T/trace"
			stop_broker
		else
			fail "trace$suffix" "no tracefs, or devnsd did not start"
		fi
	done
fi

if part callgrind; then
	# Valgrind 3.19 fails pidfd_open (ENOSYS); bench/pidfd-shim.c.
	"$B/bench/bench-pidfd-helper" /run/bench-pidfd.sock &
	HELPER_PID=$!
	wait_for 30 test -S /run/bench-pidfd.sock
	# A longer pause timeout only because valgrind slows devnsd down; the
	# log is checked for forced pauses afterwards.
	sed 's/^PauseTimeoutSec=.*/PauseTimeoutSec=10/' /etc/devns/bench.conf >/etc/devns/bench-cg.conf
	# Runs 1 and 2 with the two containers that switch, then a run with
	# CG_SCALE containers registered (64; it must be above 2): the
	# difference is the cost of each extra container.
	for run in 1 2 $CG_SCALE; do
		extra=0
		switches=$CG_SWITCHES
		if [ "$run" = "$CG_SCALE" ]; then
			extra=$((CG_SCALE - 2))
			switches=$CG_SCALE_SWITCHES
		fi
		info "callgrind: run $run, $((extra + 2)) containers, $switches switches"
		CG=$OUT/callgrind.$run.out
		rm -f "$CG" "$CG".*
		BROKER_CONF=/etc/devns/bench-cg.conf
		if start_broker "devnsd-callgrind-$run.log" env \
			LD_PRELOAD="$B/bench/libbench-pidfd-shim.so" BENCH_PIDFD_SOCKET=/run/bench-pidfd.sock \
			valgrind --tool=callgrind --callgrind-out-file="$CG" --dump-instr=no; then
			# Counters are zeroed after the set-up and the warm-up and
			# dumped after the timed switches: the dump holds exactly
			# the work of the timed switches.
			"$BENCH" devnsd --switches "$switches" --warmup 10 --check-every 0 --extra "$extra" \
				--before "callgrind_control -z $BROKER_PID >/dev/null 2>&1" \
				--after "callgrind_control -d $BROKER_PID >/dev/null 2>&1" \
				--json "$RUNS/callgrind-$run.json" || fail "callgrind-$run"
		else
			fail "callgrind-$run" "devnsd did not start under valgrind"
		fi
		stop_broker
		BROKER_CONF=/etc/devns/bench.conf
		if grep -q "did not acknowledge" "$LOGS/devnsd-callgrind-$run.log"; then
			fail "callgrind-$run" "a pause was forced under valgrind"
		fi
	done
	kill "$HELPER_PID" 2>/dev/null
	wait "$HELPER_PID" 2>/dev/null

	# seatd for comparison, counted the same way.
	info "callgrind: seatd, $CG_SWITCHES switches"
	CG=$OUT/callgrind.seatd.out
	rm -f "$CG" "$CG".*
	SEATD_VTBOUND=0 valgrind --tool=callgrind --callgrind-out-file="$CG" --dump-instr=no \
		seatd -l error >>"$LOGS/seatd-callgrind.log" 2>&1 &
	SEATD_PID=$!
	if wait_for 300 test -S /run/seatd.sock; then
		"$BENCH" seatd --switches "$CG_SWITCHES" --warmup 10 --check-every 0 \
			--before "callgrind_control -z $SEATD_PID >/dev/null 2>&1" \
			--after "callgrind_control -d $SEATD_PID >/dev/null 2>&1" \
			--json "$RUNS/callgrind-seatd.json" || fail callgrind-seatd
	else
		fail callgrind-seatd "seatd did not start under valgrind"
	fi
	stop_seatd
fi

cp "$LOGS"/* "$OUT/" 2>/dev/null
if [ -n "$FAILED" ]; then
	echo "bench: failed parts:$FAILED" >&2
	exit 1
fi
echo "bench: all parts done"
