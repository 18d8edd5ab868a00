#!/bin/sh
# SPDX-License-Identifier: MIT
#
# devns-hook against a real devnsd, on a private bus and runtime directory,
# with leaders in pid and mount namespaces of their own: the OCI hook's
# registration and mount, the LXC hooks with an endpoint directory made
# before registration, and that a process of the container reaches its
# endpoint through /run/devns while a host process is refused. Needs root
# and dbus-daemon; skipped otherwise.
#
#   test-devns-hook-devnsd.sh HOOK DEVNSD DEVNSCTL      (TAP on stdout)

set -u
LC_ALL=C
export LC_ALL
unset LXC_NAME LXC_PID LXC_HOOK_TYPE LXC_HOOK_SECTION

if [ "$(id -u)" != 0 ] || ! command -v dbus-daemon >/dev/null 2>&1 ||
	! unshare --pid --fork --mount true 2>/dev/null; then
	echo "1..0 # SKIP needs root, namespaces and dbus-daemon"
	exit 0
fi

hook=$(realpath "$1")
devnsd=$(realpath "$2")
devnsctl=$(realpath "$3")
# Not under /run: a leader below mounts a tmpfs there.
tmp=$(mktemp -d /tmp/devns-hook-test.XXXXXX)
pids=
cleanup() {
	# unshare ignores SIGTERM; --kill-child takes the leader with it.
	for p in $pids; do
		kill -KILL "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

cat >"$tmp/bus.conf" <<EOF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>custom</type>
  <listen>unix:path=$tmp/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
EOF
printf '[Broker]\nVT=no\n' >"$tmp/devnsd.conf"
mkdir -p "$tmp/bin" "$tmp/run"
# The hook calls devnsctl on the system bus; this one goes to the private bus.
printf '#!/bin/sh\nexec %s --address unix:path=%s/bus "$@"\n' "$devnsctl" "$tmp" >"$tmp/bin/devnsctl"
chmod +x "$tmp/bin/devnsctl"

dbus-daemon --config-file="$tmp/bus.conf" --nofork --nopidfile </dev/null >"$tmp/dbus.log" 2>&1 &
pids="$pids $!"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
	[ -S "$tmp/bus" ] && break
	sleep 0.1
done
# devnsd in a mount namespace where it finds no DRM or input device: it
# leaves the machine's own devices alone.
# shellcheck disable=SC2016
unshare --mount --propagation private sh -c '
	for d in /sys/class/drm /sys/class/input; do
		[ ! -d "$d" ] || mount -t tmpfs tmpfs "$d" || exit 1
	done
	exec "$@"' devnsd "$devnsd" --bus-address "unix:path=$tmp/bus" --runtime-dir "$tmp/run" \
	--config "$tmp/devnsd.conf" </dev/null >"$tmp/devnsd.log" 2>&1 &
devnsd_pid=$!
pids="$pids $devnsd_pid"
for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21 22 23 24 25 26 27 28 29 30; do
	"$tmp/bin/devnsctl" status >/dev/null 2>&1 && break
	sleep 0.1
done

n=0
failed=0
check() { # DESCRIPTION COMMAND...
	what=$1
	shift
	n=$((n + 1))
	if "$@" >"$tmp/out" 2>&1; then
		echo "ok $n - $what"
	else
		failed=$((failed + 1))
		echo "not ok $n - $what"
		sed 's/^/# /' "$tmp/out"
	fi
}
# run_hook [VAR=VALUE...] HOOK ARGS...: the hook as runtimes run it, in an
# empty environment (but for the PATH that finds the private devnsctl).
run_hook() {
	env -i PATH="$tmp/bin" "$@"
}
fails() {
	! "$@"
}
hook_with_state() { # STATE-FILE ARGS...
	state=$1
	shift
	env -i PATH="$tmp/bin" "$hook" "$@" <"$state"
}
leader_of() { # NAME: the LEADER column of devnsctl list
	"$tmp/bin/devnsctl" --no-legend list | while read -r name _ _ leader _; do
		[ "$name" = "$1" ] && echo "$leader"
	done
}
is_leader() { [ "$(leader_of "$1")" = "$2" ]; }
not_registered() { [ -z "$(leader_of "$1")" ]; }

# login1_is NAME VALUE: the container's Login1, as busctl prints it.
login1_is() {
	got=$(busctl --address="unix:path=$tmp/bus" get-property org.devns.broker1 \
		"/org/devns/broker1/container/$1" org.devns.broker1.Container Login1 2>&1)
	[ "$got" = "$2" ] || { echo "# Login1 of $1: $got"; return 1; }
}

# spawn_leader [SCRIPT]: a process in pid and mount namespaces of its own;
# sets outer (unshare, in ours) and spawned (the leader).
spawn_leader() {
	unshare --pid --fork --kill-child --mount --propagation private \
		sh -c "${1:-}exec sleep 600" </dev/null >/dev/null 2>&1 &
	outer=$!
	pids="$pids $outer"
	sleep_exe=$(readlink -f "$(command -v sleep)")
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		spawned=$(cat "/proc/$outer/task/$outer/children" 2>/dev/null)
		spawned=${spawned%% *}
		if [ -n "$spawned" ] && [ "$(readlink "/proc/$spawned/exe" 2>/dev/null)" = "$sleep_exe" ]; then
			return 0
		fi
		sleep 0.1
	done
	return 1
}
stop_leader() { # OUTER LEADER
	kill -KILL "$1"
	while [ -d "/proc/$2" ]; do sleep 0.1; done
}
wait_unregistered() {
	for _ in 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20; do
		not_registered "$1" && return 0
		sleep 0.1
	done
	return 1
}
# status_from LEADER SOCKET: devnsctl status through SOCKET, run inside the
# leader's pid and mount namespaces.
status_from() {
	nsenter --target "$1" --pid --mount -- "$devnsctl" --address "unix:path=$2" status
}

check "devnsd runs" "$tmp/bin/devnsctl" status
no_devices() {
	[ -z "$("$tmp/bin/devnsctl" --no-legend devices)" ]
}
check "devnsd brokers no device of this machine" no_devices

# ---- OCI -----------------------------------------------------------------

spawn_leader || exit 1
leader=$spawned
mkdir -p "$tmp/bundle/rootfs"
echo '{"root":{"path":"rootfs"}}' >"$tmp/bundle/config.json"
printf '{"ociVersion":"1.0.2","id":"c1","status":"creating","pid":%s,"bundle":"%s","annotations":{"org.devns.container":"web-1"}}\n' \
	"$leader" "$tmp/bundle" >"$tmp/create.json"
printf '{"ociVersion":"1.0.2","id":"c1","status":"stopped","bundle":"%s","annotations":{"org.devns.container":"web-1"}}\n' \
	"$tmp/bundle" >"$tmp/stop.json"
printf '{"ociVersion":"1.0.2","id":"c1","status":"stopped","pid":%s,"bundle":"%s","annotations":{"org.devns.container":"web-1"}}\n' \
	"$leader" "$tmp/bundle" >"$tmp/stop-pid.json"

check "oci createRuntime" hook_with_state "$tmp/create.json" oci createRuntime
check "oci: registered, the state's pid as leader" is_leader web-1 "$leader"
check "oci: the container reaches its endpoint at ROOT/run/devns" \
	status_from "$leader" "$tmp/bundle/rootfs/run/devns/bus"
check "oci: a host process is refused on it" \
	fails "$devnsctl" --address "unix:path=$tmp/run/containers/web-1/bus" status
check "oci: a second container of that name is refused" \
	fails hook_with_state "$tmp/create.json" oci createRuntime
check "oci poststop without pid while the leader runs" hook_with_state "$tmp/stop.json" oci poststop
check "oci: leaves the running container registered" is_leader web-1 "$leader"
check "oci poststop with the container's pid" hook_with_state "$tmp/stop-pid.json" oci poststop
check "oci: unregistered" not_registered web-1
check "oci: devnsd removed the endpoint directory" test ! -e "$tmp/run/containers/web-1"

# A container of its own: the first one's /run/devns is taken.
spawn_leader || exit 1
leader=$spawned
mkdir -p "$tmp/bundle2/rootfs"
echo '{"root":{"path":"rootfs"}}' >"$tmp/bundle2/config.json"
printf '{"ociVersion":"1.0.2","id":"c2","status":"creating","pid":%s,"bundle":"%s","annotations":{"org.devns.container":"web-1"}}\n' \
	"$leader" "$tmp/bundle2" >"$tmp/create2.json"
printf '{"ociVersion":"1.0.2","id":"c2","status":"stopped","pid":%s,"bundle":"%s","annotations":{"org.devns.container":"web-1"}}\n' \
	"$leader" "$tmp/bundle2" >"$tmp/stop-pid.json"
check "oci createRuntime of another container" hook_with_state "$tmp/create2.json" oci createRuntime
check "oci: registered" is_leader web-1 "$leader"
stop_leader "$outer" "$leader"
check "oci: devnsd unregisters the container when its leader exits" wait_unregistered web-1
check "oci poststop after that: nothing to do" hook_with_state "$tmp/stop-pid.json" oci poststop

# ---- LXC -----------------------------------------------------------------

check "lxc pre-start" run_hook LXC_NAME=desk "$hook" lxc desk lxc pre-start
check "lxc pre-start: the endpoint directory exists" test -d "$tmp/run/containers/desk"
# What lxc.mount.entry does before the container's init starts.
spawn_leader "mount -t tmpfs tmpfs /run && mkdir /run/devns && mount --bind $tmp/run/containers/desk /run/devns && " || exit 1
check "lxc start-host" run_hook LXC_NAME=desk LXC_PID="$spawned" LXC_HOOK_TYPE=start-host "$hook" lxc --allow-activate --login1-user 1000
check "lxc: registered, LXC_PID as leader" is_leader desk "$spawned"
check "lxc: with the login1 facade (waiting for the container's bus)" login1_is desk 's "waiting"'
check "lxc: devnsd's sockets are in the directory made before registration" \
	status_from "$spawned" /run/devns/bus
stop_leader "$outer" "$spawned"
check "lxc stop" run_hook LXC_NAME=desk LXC_PID="$spawned" "$hook" lxc desk lxc stop "mnt:/proc/$$/fd/0"
check "lxc: unregistered" not_registered desk
check "lxc: no endpoint directory left" test ! -e "$tmp/run/containers/desk"

kill "$devnsd_pid"
echo "1..$n"
[ "$failed" -eq 0 ] || sed 's/^/# devnsd: /' "$tmp/devnsd.log"
[ "$failed" -eq 0 ]
