#!/bin/sh
# SPDX-License-Identifier: MIT
# devnsd's instructions per switch on the host (bench/switch-count.c under
# callgrind), with 2 containers and with more:
#
#   bench/switch-count.sh BUILD_DIR [OUT_DIR] [SWITCHES] [CONTAINERS...]
#
# Defaults: OUT_DIR out/switch-count, 100 switches, 2 and 10 containers.
# Prints the instructions per switch of each size and the cost of each
# container beyond two; OUT_DIR keeps the callgrind files, one
# switches-N.out per size (read them with callgrind_annotate --inclusive=yes).
# The clients (a child process) run under valgrind too, at the broker's
# pace, so that the counts repeat from run to run.
set -eu

build=$(realpath "$1")
out=${2:-out/switch-count}
switches=${3:-100}
shift $(($# < 3 ? $# : 3))
sizes=${*:-2 10}

mkdir -p "$out"
out=$(realpath "$out")
sock=$out/pidfd.sock
# Valgrind 3.19 fails pidfd_open; bench/pidfd-shim.c.
"$build/bench/bench-pidfd-helper" "$sock" &
helper=$!
trap 'kill $helper 2>/dev/null || true' EXIT
i=0
while [ ! -S "$sock" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done

first=""
for n in $sizes; do
	rm -f "$out"/raw.*
	LD_PRELOAD="$build/bench/libbench-pidfd-shim.so" BENCH_PIDFD_SOCKET="$sock" \
		valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$out/raw.%p" \
		"$build/bench/devns-switch-count" -c "$n" -n "$switches" 2>"$out/valgrind-$n.log" >/dev/null
	# The dump of the counted switches; the other files are the rest of
	# the run and the clients.
	dump=$(grep -l '^desc: Trigger: Client Request: switches' "$out"/raw.*)
	mv "$dump" "$out/switches-$n.out"
	rm -f "$out"/raw.*
	total=$(sed -n 's/^summary: //p' "$out/switches-$n.out")
	per=$((total / switches))
	echo "containers $n: $total instructions in $switches switches, $per per switch"
	if [ -z "$first" ]; then
		first=$n
		first_per=$per
	elif [ "$n" -gt "$first" ]; then
		echo "  each container beyond $first: $(((per - first_per) / (n - first)))"
	fi
done
