#!/usr/bin/env bash
# The demo: boots a QEMU guest with a real DRM card and keyboard, starts
# devnsd and three containers (devnsctl run) running the demo client,
# switches between them over D-Bus and with hotkeys typed on the keyboard,
# types into the one in front, and writes a screenshot of every step plus a
# summary into an output folder (default: out/demo-<time>, or the first
# argument).
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
out=${1:-$src/out/demo-$(date +%Y%m%d-%H%M%S)}
mkdir -p "$out"
out=$(cd "$out" && pwd)

"$src/scripts/install-deps.sh"
if [ -d build/meson-private ]; then
	meson setup --reconfigure build >/dev/null
else
	meson setup build >/dev/null
fi
ninja -C build

python3 tests/vm/vm.py --out "$out" --build-dir "$src/build" --cache-dir "$src/build/tests/vm" \
	-- /bin/sh "$src/tests/vm/demo.sh"

echo
cat "$out/summary.txt"
echo
echo "Screenshots and summary: $out"
