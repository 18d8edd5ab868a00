#!/bin/sh
# SPDX-License-Identifier: MIT
# devnsd's own memory on the host (bench/switch-count.c with -m), with 2
# containers and with more, each with a controller on its endpoint holding
# three devices, after the switches:
#
#   bench/memory.sh BUILD_DIR [SWITCHES] [CONTAINERS...]
#
# Defaults: 100 switches, 2 and 256 containers; each size runs three times
# and the run with the median Anonymous is shown. Prints, in KiB, the
# broker process's Anonymous (from /proc/self/smaps_rollup: its heap,
# stacks and the library pages it wrote to; no page of a file as it is on
# disk), Private_Dirty and Pss_Anon beside it, malloc's heap in use and
# free, and the whole Rss for comparison; then what each container beyond
# the first size adds. Private_Dirty also counts the pages of a binary just
# built that are not yet written back, so Anonymous is the figure to read.
set -eu

build=$(realpath "$1")
switches=${2:-100}
shift $(($# < 2 ? $# : 2))
sizes=${*:-2 256}

# The value of field in a "memory N field value ..." line.
field() {
	echo "$1" | awk -v f="$2" '{ for (i = 3; i < NF; i += 2) if ($i == f) print $(i + 1) }'
}

first=""
for n in $sizes; do
	line=$(for _ in 1 2 3; do
		"$build/bench/devns-switch-count" -m -c "$n" -n "$switches" | grep '^memory '
	done | sort -n -k 10 | sed -n 2p)
	anon=$(field "$line" Anonymous)
	heap=$(field "$line" Heap_Used)
	echo "containers $n: Anonymous $anon KiB (Private_Dirty $(field "$line" Private_Dirty)," \
		"Pss_Anon $(field "$line" Pss_Anon), heap in use $heap, heap free" \
		"$(field "$line" Heap_Free); Rss $(field "$line" Rss))"
	if [ -z "$first" ]; then
		first=$n first_anon=$anon first_heap=$heap
	elif [ "$n" -gt "$first" ]; then
		echo "  each container beyond $first:" \
			"$(awk "BEGIN { printf \"%.1f\", ($anon - $first_anon) / ($n - $first) }") KiB" \
			"(heap in use $(awk "BEGIN { printf \"%.1f\", ($heap - $first_heap) / ($n - $first) }") KiB)"
	fi
done
