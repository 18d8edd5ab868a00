# Helpers for test scripts that run in the test guest (POSIX sh).
#
#   . "$(dirname "$0")/lib.sh"
#   testcase_something() { ...; }
#   run_testcases
#
# run_testcases runs every function named testcase_* (found in the script's
# text, in order), each in its own subshell with `set -e`, prints `ok N name`
# or `not ok N name`, then `N passed, M failed`, and exits 1 if any failed.
# DEVNS_TESTCASES="a b" (passed through vm.py) runs only those;
# DEVNS_TESTCASE_ORDER=reverse or shuffle[:SEED] runs them in another order
# (as devnstest.run_testcases does; a seed replays an order of this runner).

VM_DIR=${DEVNS_SRC:+$DEVNS_SRC/tests/vm}
VM_DIR=${VM_DIR:-$(cd "$(dirname "$0")" && pwd)}
DEVNS_OUT=${DEVNS_OUT:-/mnt/out}

die() {
	echo "FATAL: $*" >&2
	exit 1
}

info() {
	echo "# $*"
}

# Seconds since boot with centiseconds, for deadlines finer than date(1).
_now_cs() {
	read -r _up _ </proc/uptime
	# /proc/uptime always has two decimals; the leading 1 keeps "08" decimal.
	echo $((${_up%.*} * 100 + 1${_up#*.} - 100))
}

# wait_for TIMEOUT_SEC CMD [ARG...]: run CMD until it succeeds; return 1 with
# a message if it has not by the deadline. Polls quickly at first, then backs
# off, so a fast condition costs little and a slow one little CPU.
wait_for() {
	_wf_timeout=$1
	shift
	_wf_end=$(( $(_now_cs) + ${_wf_timeout%.*} * 100 ))
	_wf_sleep=0.02
	while :; do
		if "$@"; then
			return 0
		fi
		if [ "$(_now_cs)" -ge "$_wf_end" ]; then
			echo "wait_for: timed out after ${_wf_timeout}s: $*" >&2
			return 1
		fi
		sleep "$_wf_sleep"
		case $_wf_sleep in
		0.02) _wf_sleep=0.05 ;;
		0.05) _wf_sleep=0.1 ;;
		0.1) _wf_sleep=0.2 ;;
		esac
	done
}

# True if a process named $1 (exact comm) runs.
running() {
	pidof "$1" >/dev/null 2>&1
}

start_udev() {
	_udevd=$(command -v systemd-udevd || true)
	for _p in /lib/systemd/systemd-udevd /usr/lib/systemd/systemd-udevd; do
		[ -n "$_udevd" ] && break
		[ -x "$_p" ] && _udevd=$_p
	done
	[ -n "$_udevd" ] || die "systemd-udevd not found"
	if ! running systemd-udevd; then
		"$_udevd" --daemon || die "systemd-udevd failed to start"
	fi
	wait_for 30 test -S /run/udev/control || die "udevd did not create its control socket"
	udevadm trigger --type=subsystems --action=add
	udevadm trigger --type=devices --action=add
	udevadm settle --timeout=120 || die "udevadm settle timed out"
}

# Settle after something (modprobe, a new device) made more uevents.
settle() {
	if [ -S /run/udev/control ]; then
		udevadm settle --timeout=120 || die "udevadm settle timed out"
	fi
}

start_system_bus() {
	mkdir -p /run/dbus
	[ -s /etc/machine-id ] || dbus-uuidgen --ensure=/etc/machine-id
	if [ ! -S /run/dbus/system_bus_socket ]; then
		rm -f /run/dbus/pid
		dbus-daemon --system --fork --print-pid >/run/dbus/daemon.pid ||
			die "dbus-daemon --system failed to start"
	fi
	wait_for 30 test -S /run/dbus/system_bus_socket || die "no system bus socket"
	DBUS_SYSTEM_BUS_ADDRESS=unix:path=/run/dbus/system_bus_socket
	export DBUS_SYSTEM_BUS_ADDRESS
}

# The python helpers need only the standard library; -S skips site-packages
# processing, which is a noticeable part of python's start-up under TCG.

# Talk to the host: screendumps and key presses (see tests/vm/hostctl).
hostctl() {
	python3 -S "$VM_DIR/hostctl" "$@"
}

# Colour analysis of a PNG (see tests/vm/screen.py).
screen() {
	python3 -S "$VM_DIR/screen.py" "$@"
}

# evdev helpers (see tests/vm/evdev.py).
evdev() {
	python3 -S "$VM_DIR/evdev.py" "$@"
}

# Print the /dev/input/eventN node of the input device named exactly $1.
evdev_node() {
	awk -v want="N: Name=\"$1\"" '
		$0 == want { found = 1; next }
		/^$/ { found = 0 }
		found && /^H: Handlers=/ {
			s = $0
			sub(/^H: Handlers=/, "", s)
			n = split(s, h, " ")
			for (i = 1; i <= n; i++)
				if (h[i] ~ /^event[0-9]+$/) { print "/dev/input/" h[i]; exit }
		}' /proc/bus/input/devices
}

# The names in $1 (one a line) in the order DEVNS_TESTCASE_ORDER asks for.
_order_testcases() {
	_ot_how=${DEVNS_TESTCASE_ORDER:-given}
	case $_ot_how in
	given)
		echo "$1"
		;;
	reverse)
		echo "$1" | awk '{ l[NR] = $0 } END { for (i = NR; i > 0; i--) print l[i] }'
		;;
	shuffle:*)
		_ot_seed=${_ot_how#shuffle:}
		case $_ot_seed in
		'' | *[!0-9]*) echo "DEVNS_TESTCASE_ORDER=$_ot_how: the seed is not a number" >&2; return 1 ;;
		esac
		echo "$1" | awk -v seed="$_ot_seed" 'BEGIN { srand(seed) } { print rand() "\t" $0 }' |
			sort -n | cut -f2
		;;
	*)
		echo "DEVNS_TESTCASE_ORDER=$_ot_how: want given, reverse or shuffle[:SEED]" >&2
		return 1
		;;
	esac
}

run_testcases() {
	_rt_file=${1:-$0}
	_rt_list=$(sed -n 's/^[[:space:]]*\(testcase_[A-Za-z0-9_]*\)[[:space:]]*()[[:space:]]*{*.*$/\1/p' "$_rt_file")
	[ -n "$_rt_list" ] || die "no testcase_* functions in $_rt_file"
	if [ "${DEVNS_TESTCASE_ORDER:-}" = shuffle ]; then
		# A seed of our own, printed so the order can be run again.
		DEVNS_TESTCASE_ORDER=shuffle:$(od -An -N4 -tu4 /dev/urandom | tr -d ' ')
	fi
	_rt_list=$(_order_testcases "$_rt_list") || exit 1
	case ${DEVNS_TESTCASE_ORDER:-given} in
	given) ;;
	*) info "DEVNS_TESTCASE_ORDER=$DEVNS_TESTCASE_ORDER:" "$(echo "$_rt_list" | tr '\n' ' ')" ;;
	esac
	set +e
	_rt_n=0
	_rt_pass=0
	_rt_fail=0
	for _rt_t in $_rt_list; do
		if [ -n "${DEVNS_TESTCASES:-}" ]; then
			case " $DEVNS_TESTCASES " in
			*" $_rt_t "* | *" ${_rt_t#testcase_} "*) ;;
			*) continue ;;
			esac
		fi
		_rt_n=$((_rt_n + 1))
		_rt_start=$(_now_cs)
		# A subshell so `die`, `exit` and set -e end only this testcase;
		# its status is read afterwards because set -e is ignored in a
		# subshell that is itself tested by if/||.
		(set -e; "$_rt_t")
		_rt_rc=$?
		_rt_cs=$(($(_now_cs) - _rt_start))
		info "${_rt_t#testcase_} took $((_rt_cs / 100)).$((_rt_cs / 10 % 10))s"
		if [ "$_rt_rc" -eq 0 ]; then
			_rt_pass=$((_rt_pass + 1))
			echo "ok $_rt_n ${_rt_t#testcase_}"
		else
			_rt_fail=$((_rt_fail + 1))
			echo "not ok $_rt_n ${_rt_t#testcase_}"
			info "${_rt_t#testcase_} exited with status $_rt_rc"
		fi
	done
	echo "$_rt_pass passed, $_rt_fail failed"
	[ "$_rt_n" -gt 0 ] || die "no testcase matched DEVNS_TESTCASES=$DEVNS_TESTCASES"
	[ "$_rt_fail" -eq 0 ] || exit 1
	exit 0
}
