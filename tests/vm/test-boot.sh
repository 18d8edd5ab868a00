#!/bin/sh
# shellcheck disable=SC2317 # testcase_* are called by run_testcases
# Smoke test of the test VM itself: devices the broker tests rely on, and the
# host control channel (screendumps, key presses).
. "$(dirname "$0")/lib.sh"

KBD_NAME="AT Translated Set 2 keyboard"

testcase_hostctl_ping() {
	[ "$(hostctl ping)" = pong ]
}

testcase_hostctl_reports_errors() {
	if msg=$(hostctl sendkey bogus 2>&1); then
		die "an unknown key was accepted"
	fi
	info "host said: $msg"
	case $msg in
	*bogus*) ;;
	*) die "the error does not name the key: $msg" ;;
	esac
}

load_bochs() {
	modprobe bochs
	wait_for 60 test -c /dev/dri/card0
	wait_for 60 test -c /dev/fb0
}

testcase_drm_bochs() {
	load_bochs
	info "$(grep DRIVER /sys/class/drm/card0/device/uevent)"
}

testcase_uinput() {
	modprobe uinput
	wait_for 30 test -c /dev/uinput
}

has_kbd_node() {
	[ -n "$(evdev_node "$KBD_NAME")" ]
}

testcase_ps2_keyboard_evdev() {
	grep -q "N: Name=\"$KBD_NAME\"" /proc/bus/input/devices ||
		die "no PS/2 keyboard in /proc/bus/input/devices"
	wait_for 30 has_kbd_node || die "the PS/2 keyboard has no evdev handler"
	node=$(evdev_node "$KBD_NAME")
	wait_for 30 test -c "$node"
	info "keyboard: $node"
}

testcase_screendump() {
	# The screen checked below is bochs' console, whichever testcase ran
	# first.
	load_bochs
	out=$(hostctl screendump boot.png)
	info "screendump: $out"
	test -s "$DEVNS_OUT/boot.png" || die "boot.png is missing or empty"
	read -r colour fraction <<-EOF
	$(screen "$DEVNS_OUT/boot.png")
	EOF
	info "most common colour $colour covers $fraction"
	case $colour in
	[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]) ;;
	*) die "screen.py printed '$colour $fraction'" ;;
	esac
	# After bochs took over, the text console is a mostly black screen.
	screen "$DEVNS_OUT/boot.png" --expect 000000 --min-fraction 0.5 >/dev/null
}

testcase_sendkey_reaches_evdev() {
	node=$(evdev_node "$KBD_NAME")
	[ -n "$node" ] || die "the PS/2 keyboard has no evdev handler"
	ready=$(mktemp -u)
	evdev wait-key "$node" --code KEY_A --value 1 --timeout 60 --ready "$ready" \
		>"$DEVNS_OUT/sendkey.log" &
	reader=$!
	wait_for 30 test -e "$ready" || { kill "$reader"; die "the evdev reader did not start"; }
	hostctl sendkey a
	wait "$reader" || die "no KEY_A press on $node"
	info "read: $(cat "$DEVNS_OUT/sendkey.log")"
}

start_udev
run_testcases
