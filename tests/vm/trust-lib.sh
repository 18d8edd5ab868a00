# Set-up shared by the reliability tests (test-trust-*.sh), after lib.sh.
#
# trust_setup: udev, the system bus with the broker's policy, and the devnsd
# to test in DEVNS_DEVNSD. Unless the caller chose one, that is the ASan and
# UBSan build in build-asan/ (scripts/test.sh and scripts/reliability.sh make
# it) when it is up to date with the sources (ninja has nothing to do for
# it), else the plain one; the tests record which in their results and, with
# DEVNS_TRUST_REQUIRE_SANITIZER=1, fail without a sanitized one.

trust_pick_devnsd() {
	if [ -n "${DEVNS_DEVNSD:-}" ]; then
		info "devnsd: $DEVNS_DEVNSD (DEVNS_DEVNSD)"
		return 0
	fi
	_asan_dir=$DEVNS_SRC/build-asan
	if [ -x "$_asan_dir/devnsd" ] && command -v ninja >/dev/null &&
		ninja -C "$_asan_dir" -n devnsd 2>/dev/null | grep -q 'no work to do'; then
		DEVNS_DEVNSD=$_asan_dir/devnsd
		export DEVNS_DEVNSD
		info "devnsd: $DEVNS_DEVNSD (ASan/UBSan build, up to date)"
	else
		info "devnsd: $DEVNS_BUILD/devnsd (no up-to-date build-asan/devnsd)"
	fi
}

trust_setup() {
	mkdir -p /etc/dbus-1/system.d
	cp "$DEVNS_SRC/data/org.devns.broker1.conf" /etc/dbus-1/system.d/
	start_udev
	start_system_bus
	trust_pick_devnsd
}
