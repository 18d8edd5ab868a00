#!/bin/sh
# SPDX-License-Identifier: MIT
#
# Tests devns-hook against stand-ins for devnsctl and machinectl: its
# arguments, what it refuses, and whom it unregisters. Where this runs as
# root and can make namespaces, the leaders are real processes in pid and
# mount namespaces of their own, and the OCI hook really mounts the
# endpoint directory into one; otherwise those cases are skipped.
#
#   test-devns-hook.sh PATH/TO/devns-hook        (TAP on standard output)

set -u
LC_ALL=C
export LC_ALL

hook=$(realpath "$1")
unset LXC_NAME LXC_PID LXC_HOOK_TYPE LXC_HOOK_SECTION
tmp=$(mktemp -d)
leaders=
cleanup() {
	# unshare ignores SIGTERM; --kill-child takes the leader with it.
	for p in $leaders; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

# ---- the stand-ins -------------------------------------------------------

# devnsd's state: one line "NAME SEAT LEADER" per registered container in
# $DEVNS_FAKE/registered; the runtime directory is $DEVNS_FAKE/run. The
# file "down" makes devnsd unreachable.
mkdir -p "$tmp/bin" "$tmp/run/containers"
: >"$tmp/registered"
DEVNS_FAKE=$tmp
export DEVNS_FAKE
cat >"$tmp/bin/devnsctl" <<'EOF'
#!/bin/sh
d=$DEVNS_FAKE
if [ -e "$d/down" ]; then
	echo "devnsctl: Failed to connect to the system bus: No such file or directory" >&2
	exit 1
fi
[ "$1" = --no-legend ] && shift
case $1 in
status)
	printf '         Version: 0.1.0\n     KernelDevns: no\nRuntimeDirectory: %s\n' "$d/run"
	;;
list)
	while read -r n s l; do echo "$n $s no $l no"; done <"$d/registered"
	;;
register)
	name=$2 seat=seat0 leader=
	shift 2
	while [ $# -gt 0 ]; do
		case $1 in
		--leader) leader=$2; shift ;;
		--seat=*) seat=${1#--seat=} ;;
		--allow-activate) echo "$name" >>"$d/allow-activate" ;;
		--login1) echo "$name" >>"$d/login1" ;;
		--login1-user=*) echo "$name ${1#--login1-user=}" >>"$d/login1-user" ;;
		--control-user=*) echo "$name ${1#--control-user=}" >>"$d/control-user" ;;
		*) echo "devnsctl: unexpected argument $1" >&2; exit 2 ;;
		esac
		shift
	done
	if grep -q "^$name " "$d/registered"; then
		echo "devnsctl: Failed to register container $name: Container '$name' exists" >&2
		exit 1
	fi
	echo "$name $seat $leader" >>"$d/registered"
	mkdir -p "$d/run/containers/$name"
	: >"$d/run/containers/$name/bus"
	echo "/org/devns/broker1/container/$name"
	;;
unregister)
	if ! grep -q "^$2 " "$d/registered"; then
		echo "devnsctl: Failed to unregister container $2: No such container '$2'" >&2
		exit 1
	fi
	grep -v "^$2 " "$d/registered" >"$d/registered.new"
	mv "$d/registered.new" "$d/registered"
	rm -f "$d/run/containers/$2/bus"
	rmdir "$d/run/containers/$2" 2>/dev/null
	;;
*)
	exit 2
	;;
esac
EOF
cat >"$tmp/bin/machinectl" <<'EOF'
#!/bin/sh
[ -n "${DEVNS_FAKE_LEADER:-}" ] || { echo "No machine '$5' known" >&2; exit 1; }
echo "$DEVNS_FAKE_LEADER"
EOF
chmod +x "$tmp/bin/devnsctl" "$tmp/bin/machinectl"
PATH=$tmp/bin:$PATH
export PATH

# ---- TAP -----------------------------------------------------------------

n=0
failed=0
ok() {
	n=$((n + 1))
	echo "ok $n - $1"
}
not_ok() {
	n=$((n + 1))
	failed=$((failed + 1))
	echo "not ok $n - $1"
	printf '%s\n' "$2" | sed 's/^/# /'
}
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}
check() { # DESCRIPTION CONDITION...
	what=$1
	shift
	if "$@"; then ok "$what"; else not_ok "$what" "failed: $*"; fi
}

# expect STATUS PATTERN DESCRIPTION HOOK-ARGUMENTS...: runs the hook with
# standard input from $input and checks its exit status and that its
# standard error matches PATTERN (when not empty).
input=/dev/null
expect() {
	want=$1 pattern=$2 what=$3
	shift 3
	"$hook" "$@" <"$input" >"$tmp/stdout" 2>"$tmp/stderr"
	got=$?
	if [ "$got" != "$want" ]; then
		not_ok "$what" "exit status $got, expected $want; standard error: $(cat "$tmp/stderr")"
	elif [ -n "$pattern" ] && ! grep -q -- "$pattern" "$tmp/stderr"; then
		not_ok "$what" "standard error does not match '$pattern': $(cat "$tmp/stderr")"
	else
		ok "$what"
	fi
}

registered() { # NAME SEAT LEADER
	grep -qx "$1 $2 $3" "$tmp/registered"
}
not_registered() {
	! grep -q "^$1 " "$tmp/registered"
}
reset() {
	: >"$tmp/registered"
	rm -f "$tmp/down" "$tmp/allow-activate" "$tmp/login1" "$tmp/login1-user" "$tmp/control-user"
	rm -rf "$tmp/run/containers"
	mkdir -p "$tmp/run/containers"
}

# A leader: a process in a pid and a mount namespace of its own, with
# something mounted at /run/devns when the argument is "mounted". Sets
# spawned to its pid; fails where namespaces cannot be made (not root, or
# no privileges).
spawn_leader() {
	[ "$(id -u)" = 0 ] || return 1
	if [ "${1:-}" = mounted ]; then
		script='mount -t tmpfs tmpfs /run && mkdir /run/devns && mount -t tmpfs tmpfs /run/devns && exec sleep 600'
	else
		script='exec sleep 600'
	fi
	unshare --pid --fork --kill-child --mount --propagation private \
		sh -c "$script" </dev/null >/dev/null 2>&1 &
	outer=$!
	leaders="$leaders $outer"
	sleep_exe=$(readlink -f "$(command -v sleep)")
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		spawned=$(cat "/proc/$outer/task/$outer/children" 2>/dev/null) || return 1
		spawned=${spawned%% *}
		if [ -n "$spawned" ] && [ "$(readlink "/proc/$spawned/exe" 2>/dev/null)" = "$sleep_exe" ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}

dead_pid() { # a pid that does not run
	p=4194300
	while [ -d "/proc/$p" ]; do p=$((p - 1)); done
	echo "$p"
}

# ---- arguments -----------------------------------------------------------

expect 2 "no runtime given" "no arguments"
expect 2 "unknown runtime 'docker'" "unknown runtime" docker
expect 0 "" "--help" --help
check "--help prints the usage" grep -q "devns-hook oci createRuntime" "$tmp/stdout"

# ---- OCI -----------------------------------------------------------------

state() { # JSON: the state the hook reads
	printf '%s\n' "$1" >"$tmp/state.json"
	input=$tmp/state.json
}

if ! command -v jq >/dev/null 2>&1; then
	skip "OCI hook" "no jq"
else
	reset
	expect 2 "unknown stage 'start'" "oci: unknown stage" oci start
	expect 2 "expected one stage" "oci: no stage" oci
	expect 2 "not the state of a container" "oci: no input" oci createRuntime
	state 'not json'
	expect 2 "not the state of a container" "oci: input that is not JSON" oci createRuntime
	state '{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":1,"bundle":"/nonexistent"}'
	expect 2 "no annotation org.devns.container" "oci: no annotation" oci createRuntime
	state '{"id":"c1","pid":1,"bundle":"/nonexistent","annotations":{"org.devns.container":"-web"}}'
	expect 2 "'-web' is not a container name" "oci: bad name" oci createRuntime
	state '{"id":"c1","pid":1,"bundle":"/nonexistent","annotations":{"org.devns.container":"web","org.devns.seat":"head1"}}'
	expect 2 "'head1' is not a seat name" "oci: bad seat" oci createRuntime
	state '{"id":"c1","pid":1,"bundle":"/nonexistent","annotations":{"org.devns.container":"web","org.devns.allow-activate":"maybe"}}'
	expect 2 "must be true or false" "oci: bad allow-activate" oci createRuntime
	state '{"id":"c1","pid":1,"bundle":"/nonexistent","annotations":{"org.devns.container":"web","org.devns.login1":"on"}}'
	expect 2 "org.devns.login1 must be true or false" "oci: bad login1" oci createRuntime
	state '{"id":"c1","pid":1,"bundle":"/nonexistent","annotations":{"org.devns.container":"web","org.devns.login1-user":"-1"}}'
	expect 2 "'-1' is not a user id" "oci: bad login1-user" oci createRuntime
	state '{"id":"c1","pid":1,"bundle":"/nonexistent","annotations":{"org.devns.container":"web","org.devns.control-user":"root"}}'
	expect 2 "'root' is not a user id" "oci: bad control-user" oci createRuntime
	state '{"id":"c1","bundle":"/nonexistent","annotations":{"org.devns.container":"web"}}'
	expect 2 "has no pid" "oci: no pid" oci createRuntime
	state "{\"id\":\"c1\",\"pid\":$$,\"bundle\":\"/nonexistent\",\"annotations\":{\"org.devns.container\":\"web\"}}"
	expect 2 "host's pid namespace" "oci: a leader in the host's pid namespace" oci createRuntime
	check "oci: nothing registered after refusals" not_registered web

	# The annotation may be only in the bundle's config.json (runc puts it
	# in the state, so does crun; this covers runtimes that do not).
	mkdir -p "$tmp/bundle/rootfs"
	echo '{"root":{"path":"rootfs"},"annotations":{"org.devns.container":"web"}}' >"$tmp/bundle/config.json"

	if spawn_leader; then
		leader=$spawned
		state "{\"id\":\"c1\",\"pid\":$leader,\"bundle\":\"$tmp/bundle\"}"
		touch "$tmp/down"
		expect 1 "cannot reach devnsd" "oci: devnsd not running" oci createRuntime
		rm "$tmp/down"
		expect 0 "" "oci createRuntime: registers and mounts" oci createRuntime
		check "oci: registered with the state's pid as leader" registered web seat0 "$leader"
		check "oci: the endpoint directory is at /run/devns in the container" \
			test -e "/proc/$leader/root$tmp/bundle/rootfs/run/devns/bus"
		check "oci: and not on the host" test ! -e "$tmp/bundle/rootfs/run/devns/bus"
		expect 1 "Container 'web' exists" "oci: a name that is taken" oci createRuntime

		state "{\"id\":\"c1\",\"status\":\"stopped\",\"bundle\":\"$tmp/bundle\",\"annotations\":{\"org.devns.container\":\"web\"}}"
		expect 0 "" "oci poststop: another container's leader still runs" oci poststop
		check "oci poststop: the running one stays registered" registered web seat0 "$leader"
		state "{\"id\":\"c1\",\"pid\":$(dead_pid),\"bundle\":\"$tmp/bundle\",\"annotations\":{\"org.devns.container\":\"web\"}}"
		expect 0 "" "oci poststop: registered with another leader" oci poststop
		check "oci poststop: that one stays registered" registered web seat0 "$leader"
		state "{\"id\":\"c1\",\"pid\":$leader,\"bundle\":\"$tmp/bundle\",\"annotations\":{\"org.devns.container\":\"web\"}}"
		expect 0 "" "oci poststop: unregisters its own container" oci poststop
		check "oci poststop: unregistered" not_registered web
		expect 0 "" "oci poststop: nothing to do the second time" oci poststop

		# A second container in the same namespaces, on a root file system
		# of its own (the first one's /run/devns is taken).
		mkdir -p "$tmp/bundle2/rootfs"
		echo '{"root":{"path":"rootfs"}}' >"$tmp/bundle2/config.json"
		state "{\"id\":\"c2\",\"pid\":$leader,\"bundle\":\"$tmp/bundle2\",\"annotations\":{\"org.devns.container\":\"kiosk\",\"org.devns.seat\":\"seat1\",\"org.devns.allow-activate\":\"true\"}}"
		expect 0 "" "oci createRuntime: seat and allow-activate annotations" oci createRuntime
		check "oci: registered on seat1" registered kiosk seat1 "$leader"
		check "oci: with allow-activate" grep -qx kiosk "$tmp/allow-activate"
		check "oci: without login1" test ! -e "$tmp/login1"
		check "oci: without control-user" test ! -e "$tmp/control-user"

		reset
		mkdir -p "$tmp/bundle3/rootfs"
		echo '{"root":{"path":"rootfs"}}' >"$tmp/bundle3/config.json"
		state "{\"id\":\"c4\",\"pid\":$leader,\"bundle\":\"$tmp/bundle3\",\"annotations\":{\"org.devns.container\":\"desk\",\"org.devns.login1-user\":\"1000\"}}"
		expect 0 "" "oci createRuntime: login1-user annotation" oci createRuntime
		check "oci: login1-user implies login1" grep -qx desk "$tmp/login1"
		check "oci: for user 1000" grep -qx "desk 1000" "$tmp/login1-user"

		reset
		mkdir -p "$tmp/bundle5/rootfs"
		echo '{"root":{"path":"rootfs"}}' >"$tmp/bundle5/config.json"
		state "{\"id\":\"c5\",\"pid\":$leader,\"bundle\":\"$tmp/bundle5\",\"annotations\":{\"org.devns.container\":\"desk\",\"org.devns.control-user\":\"1000\"}}"
		expect 0 "" "oci createRuntime: control-user annotation" oci createRuntime
		check "oci: control by user 1000" grep -qx "desk 1000" "$tmp/control-user"
		check "oci: control-user does not imply login1" test ! -e "$tmp/login1"

		reset
		mkdir -p "$tmp/evil"
		ln -s /tmp "$tmp/evil/run"
		echo '{"root":{"path":"'"$tmp"'/evil"}}' >"$tmp/evil/config.json"
		state "{\"id\":\"c3\",\"pid\":$leader,\"bundle\":\"$tmp/evil\",\"annotations\":{\"org.devns.container\":\"evil\"}}"
		expect 1 "/run in the container is a symbolic link" "oci: refuses to mount through a link in the image" oci createRuntime
		check "oci: and unregisters what it registered" not_registered evil
		check "oci: nothing was created through the link" test ! -e /tmp/devns
	else
		skip "OCI hook with a leader" "cannot make namespaces here (needs root)"
	fi

	reset
	echo "web seat0 $(dead_pid)" >"$tmp/registered"
	state "{\"id\":\"c1\",\"status\":\"stopped\",\"bundle\":\"$tmp/bundle\"}"
	expect 0 "" "oci poststop: name from config.json, dead leader" oci poststop
	check "oci poststop: unregistered" not_registered web
	touch "$tmp/down"
	expect 1 "cannot reach devnsd" "oci poststop: devnsd not running" oci poststop
fi

# ---- LXC -----------------------------------------------------------------

reset
input=/dev/null
expect 2 "run me from an lxc.hook" "lxc: not run by LXC" lxc
expect 2 "unknown option '--bogus'" "lxc: unknown option" lxc --bogus web lxc pre-start
expect 2 "not one of pre-start" "lxc: unsupported hook type" lxc web lxc mount
expect 2 "'a b' is not a container name" "lxc: bad --name" lxc --name "a b" web lxc pre-start
expect 2 "'tty1' is not a seat name" "lxc: bad --seat" lxc --seat tty1 web lxc start-host
for uid in "" x 01 1e3 4294967295 99999999999; do
	expect 2 "'$uid' is not a user id" "lxc: bad --login1-user '$uid'" lxc --login1-user="$uid" web lxc start-host
done
expect 2 "--login1-user needs a value" "lxc: --login1-user without a value" lxc --login1-user
for uid in "" x -1 4294967295; do
	expect 2 "'$uid' is not a user id" "lxc: bad --control-user '$uid'" lxc --control-user="$uid" web lxc start-host
done
expect 2 "--control-user needs a value" "lxc: --control-user without a value" lxc --control-user

LXC_NAME=web
export LXC_NAME
expect 0 "" "lxc pre-start (version 0 arguments)" lxc web lxc pre-start
check "lxc pre-start: the endpoint directory exists" test -d "$tmp/run/containers/web"
expect 2 "LXC_PID is not set" "lxc start-host: no LXC_PID" lxc web lxc start-host

if spawn_leader && leader=$spawned && spawn_leader mounted; then
	mounted=$spawned
	LXC_PID=$leader
	export LXC_PID
	expect 2 "lxc.mount.entry = $tmp/run/containers/web run/devns" \
		"lxc start-host: refuses a container without /run/devns" lxc web lxc start-host
	check "lxc: not registered" not_registered web
	LXC_PID=$mounted LXC_HOOK_TYPE=start-host
	export LXC_HOOK_TYPE
	expect 0 "" "lxc start-host (version 1: LXC_HOOK_TYPE)" lxc --seat seat1 --login1
	check "lxc: registered with LXC_PID on seat1" registered web seat1 "$mounted"
	check "lxc: with login1" grep -qx web "$tmp/login1"
	check "lxc: for the default user" test ! -e "$tmp/login1-user"
	check "lxc: without control-user" test ! -e "$tmp/control-user"
	LXC_HOOK_TYPE=pre-start
	expect 1 "registered already" "lxc pre-start: a name that is taken" lxc
	LXC_HOOK_TYPE=stop LXC_PID=$leader
	expect 0 "" "lxc stop: another container's registration" lxc web lxc stop mnt:/proc/1/fd/3
	check "lxc stop: left registered" registered web seat1 "$mounted"
	LXC_PID=$mounted
	expect 0 "" "lxc stop: with the namespace arguments of version 0" lxc web lxc stop mnt:/proc/1/fd/3 pid:/proc/1/fd/4
	check "lxc stop: unregistered" not_registered web
	LXC_HOOK_TYPE=post-stop
	expect 0 "" "lxc post-stop after stop: nothing to do" lxc
	unset LXC_HOOK_TYPE LXC_PID
else
	skip "LXC hooks with a leader" "cannot make namespaces here (needs root)"
fi
reset
mkdir -p "$tmp/run/containers/web"
expect 0 "" "lxc stop: a container that never got registered" lxc web lxc stop
check "lxc stop: removes the unused endpoint directory" test ! -d "$tmp/run/containers/web"
expect 0 "" "lxc --name overrides the LXC name" lxc --name other web lxc pre-start
check "lxc: endpoint directory of the other name" test -d "$tmp/run/containers/other"
unset LXC_NAME

# ---- systemd-nspawn ------------------------------------------------------

reset
expect 2 "expected ACTION MACHINE" "nspawn: no machine" nspawn register
expect 2 "unknown action 'start'" "nspawn: unknown action" nspawn start desk
expect 2 "unexpected argument 'extra'" "nspawn: surplus argument" nspawn register desk extra
expect 2 "unknown option '--name'" "nspawn: --name is LXC's only" nspawn register desk --name x
expect 0 "" "nspawn prepare" nspawn prepare desk
check "nspawn prepare: the endpoint directory exists" test -d "$tmp/run/containers/desk"
expect 1 "machine desk is not running" "nspawn register: no such machine" nspawn register desk
if spawn_leader mounted; then
	mounted=$spawned
	DEVNS_FAKE_LEADER=$mounted
	export DEVNS_FAKE_LEADER
	expect 0 "" "nspawn register" nspawn register desk --allow-activate --login1-user 4294967294 --control-user 1000
	check "nspawn: registered with machinectl's leader" registered desk seat0 "$mounted"
	check "nspawn: with allow-activate" grep -qx desk "$tmp/allow-activate"
	check "nspawn: with login1 for the highest uid" grep -qx "desk 4294967294" "$tmp/login1-user"
	check "nspawn: control by user 1000" grep -qx "desk 1000" "$tmp/control-user"
	expect 0 "" "nspawn unregister: the leader still runs" nspawn unregister desk
	check "nspawn unregister: so it is another machine's" registered desk seat0 "$mounted"
	kill -KILL "$mounted"
	while [ -d "/proc/$mounted" ]; do sleep 0.1; done
	expect 0 "" "nspawn unregister" nspawn unregister desk
	check "nspawn: unregistered" not_registered desk
	check "nspawn: endpoint directory gone" test ! -d "$tmp/run/containers/desk"
	unset DEVNS_FAKE_LEADER
else
	skip "nspawn register" "cannot make namespaces here (needs root)"
fi

echo "1..$n"
[ "$failed" -eq 0 ]
