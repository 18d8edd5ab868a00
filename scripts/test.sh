#!/usr/bin/env bash
# Runs every test of devns: the unit suite (built with ASan and UBSan) and
# the vm suite (a QEMU guest with real DRM and input devices). Installs what
# it needs first. Extra arguments go to both `meson test` runs.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)

"$src/scripts/install-deps.sh"

setup() {
	local dir=$1
	shift
	if [ -d "$dir/meson-private" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null
	else
		meson setup "$dir" "$@" >/dev/null
	fi
}

status=0

echo "== unit suite (ASan, UBSan)"
setup build-asan --werror -Dfb-guard=enabled -Db_sanitize=address,undefined -Db_lundef=false -Dvm_tests=false
ninja -C build-asan
meson test -C build-asan --suite unit --print-errorlogs "$@" || status=1

echo "== vm suite"
# devns.ko for the kernel the guest boots, which need not be the host's.
kver=$(python3 "$src/tests/vm/vm.py" --print-kernel-version)
setup build --werror -Dfb-guard=enabled -Dkernel-module=enabled -Dkernel-dir="/lib/modules/$kver/build"
ninja -C build
# The reliability tests (trust-*) run the ASan/UBSan devnsd built above,
# and fail if it is not there.
DEVNS_TRUST_REQUIRE_SANITIZER=1 meson test -C build --suite vm --print-errorlogs "$@" || status=1

# One line for both suites, counting every test case the suites report.
python3 "$src/scripts/count-tests.py" build-asan/meson-logs/testlog.json \
	build/meson-logs/testlog.json || status=1
exit $status
