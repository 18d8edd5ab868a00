#!/usr/bin/env bash
# The switch benchmarks: builds devnsd and bench/ optimised (build-bench,
# --buildtype=release), runs every part in a QEMU guest (bench/run-guest.sh:
# devnsd, seatd, the kernel floor, scale, hotkey, a kernel trace, callgrind),
# and writes results.md (the tables) and switch-latency.png (the plot) into
# an output folder (default out/bench-<time>, or the first argument). See
# docs/performance.md.
#
# DEVNS_BENCH_* variables reach the guest script (for example
# DEVNS_BENCH_SWITCHES=500 or DEVNS_BENCH_PARTS="compare scale").
# DEVNS_BENCH_BUILD names another build folder than build-bench.
# Takes 20 to 40 minutes under TCG; the guest competes with anything else
# running on the machine, so the host load is recorded with the figures.
set -euo pipefail
cd "$(dirname "$0")/.."
src=$(pwd)
out=${1:-$src/out/bench-$(date +%Y%m%d-%H%M%S)}
build=${DEVNS_BENCH_BUILD:-$src/build-bench}
mkdir -p "$out"
out=$(cd "$out" && pwd)

"$src/scripts/install-deps.sh"
if [ -d "$build/meson-private" ]; then
	meson setup --reconfigure "$build" >/dev/null
else
	meson setup "$build" --buildtype=release --werror -Dvm_tests=false >/dev/null
fi
# Only what the guest runs.
ninja -C "$build" devnsd bench/devns-bench bench/devns-bench-client bench/seatd-bench-client \
	bench/bench-pidfd-helper bench/libbench-pidfd-shim.so

load_before=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "date $(date -u +%Y-%m-%dT%H:%MZ)"
	echo "tree $(git -C "$src" describe --always --dirty 2>/dev/null || echo unknown)"
	echo "host_cpus $(nproc)"
	# "dirty" alone does not say whether devnsd itself differs from the
	# commit: the files of devnsd's sources that do, and its binary.
	echo "devnsd_changes $(git -C "$src" status --porcelain -- broker dbus seat compat drm input common \
		kernel 2>/dev/null | awk '{print $2}' | tr '\n' ' ')"
	echo "devnsd_sha256 $(sha256sum "$build/devnsd" | cut -c1-16)"
} >"$out/host-info.txt"
# The host's load every 30 s while the guest runs, from the start: under TCG
# the guest's timing follows it. bench/report.py gives each round the
# samples taken while it ran, by the UTC times the guest records.
# It stops with this script, however that ends.
(while kill -0 $$ 2>/dev/null; do
	echo "$(date -u +%Y-%m-%dT%H:%M:%SZ) $(cut -d' ' -f1-3 /proc/loadavg)"
	sleep 30
done) >"$out/host-load.txt" &
sampler=$!
trap 'kill "$sampler" 2>/dev/null || true' EXIT
status=0
echo "vm_start $(date -u +%Y-%m-%dT%H:%M:%SZ)" >>"$out/host-info.txt"
python3 tests/vm/vm.py --out "$out" --build-dir "$build" --cache-dir "$build/bench" \
	--memory 2048 --timeout 5400 -- /bin/sh "$src/bench/run-guest.sh" || status=$?
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
end_utc=$(date -u +%Y-%m-%dT%H:%M:%SZ)
kill "$sampler" 2>/dev/null || true
wait "$sampler" 2>/dev/null || true
# One sample more at the end: the last round may have ended after the
# last sample of the loop.
echo "$end_utc $load_after" >>"$out/host-load.txt"

python3 "$src/bench/report.py" "$out" \
	--host-load "$load_before at the start, $load_after at the end ($(nproc) host CPUs)" || status=1
echo
echo "Tables: $out/results.md"
echo "Plot:   $out/switch-latency.png"
exit $status
