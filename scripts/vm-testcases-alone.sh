#!/usr/bin/env bash
# Proof that the vm tests' testcases stand alone: runs every testcase of
# each vm test by itself (DEVNS_TESTCASES=name meson test --suite vm TEST),
# and with --reverse or --shuffle[:SEED] also each whole test in that order
# (DEVNS_TESTCASE_ORDER, tests/vm/README.md). Prints a table, pass or fail
# per testcase and run, and exits 1 on any failure.
#
#   scripts/vm-testcases-alone.sh [-C BUILD] [--reverse] [--shuffle[:SEED]]
#                                 [--no-alone] [--skip TEST]... [--lock FILE]
#                                 [TEST[:TESTCASE]...]
#
# TEST names a vm test of meson.build (switching, broker, ...), TEST:TESTCASE
# one of its testcases alone (its orders run the whole test); without one,
# every vm test. BUILD is a configured build tree with the vm tests (default
# build). --lock FILE takes flock(1) on FILE around each guest, for a machine
# where others run guests too. Each run's meson output and test log stay in
# BUILD/meson-logs/vm-alone/. A guest per testcase: hours for the whole
# suite, so this is not part of CI.
set -euo pipefail
cd "$(dirname "$0")/.."

build=build
alone=1
orders=()
skip=()
lock=
tests=()
while [ $# -gt 0 ]; do
	case $1 in
	-C) build=$2; shift ;;
	--reverse) orders+=(reverse) ;;
	--shuffle) orders+=("shuffle:$((RANDOM * 32768 + RANDOM))") ;;
	--shuffle:*) orders+=("${1#--}") ;;
	--no-alone) alone=0 ;;
	--skip) skip+=("$2"); shift ;;
	--lock) lock=$2; shift ;;
	-h | --help) sed -n '2,/^set -e/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
	-*) echo "unknown option $1" >&2; exit 2 ;;
	*) tests+=("$1") ;;
	esac
	shift
done
[ -d "$build/meson-private" ] || { echo "$build is not a configured build tree" >&2; exit 2; }
logs=$build/meson-logs/vm-alone
mkdir -p "$logs"

# "TEST TESTCASE" lines: the testcases of each vm test, in their order, read
# from the test program its script runs (test-NAME.sh, or the test-*.py or
# test-*.sh it execs).
list_testcases() {
	# shellcheck disable=SC2016 # python's text, not the shell's
	meson introspect --tests "$build" | python3 -c '
import ast, json, os, re, sys

def program(path):
    """The file that holds the testcases: the script, or what it execs."""
    text = open(path).read()
    if path.endswith(".py") or re.search(r"^\s*testcase_\w+\s*\(\)", text, re.M):
        return path
    m = re.search(r"^exec\s+(?:python3|/bin/sh)\s+\"\$DEVNS_SRC/(tests/vm/[\w.-]+)\"", text, re.M)
    if not m:
        sys.exit(f"{path}: no testcases and no test program it execs")
    return program(m.group(1))

def testcases(path):
    if path.endswith(".sh"):
        return re.findall(r"^\s*(testcase_\w+)\s*\(\)", open(path).read(), re.M)
    tree = ast.parse(open(path).read(), path)
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", "") == "ORDER" for t in node.targets):
            return [ast.literal_eval(e) for e in node.value.elts]
    return sorted(n.name for n in tree.body
                  if isinstance(n, ast.FunctionDef) and n.name.startswith("testcase_"))

want = {}
for arg in sys.argv[1:]:
    test, _, case = arg.partition(":")
    want.setdefault(test, set())
    if case:
        want[test].add(case if case.startswith("testcase_") else "testcase_" + case)
vm = [t for t in json.load(sys.stdin) if any(s.split(":")[-1] == "vm" for s in t["suite"])]
names = [t["name"] for t in vm]
for w in want:
    if w not in names:
        sys.exit(f"no vm test {w} in the build tree; there are {names}")
for t in vm:
    if want and t["name"] not in want:
        continue
    script = os.path.relpath(os.path.realpath(t["cmd"][-1]))
    cases = testcases(program(script))
    for case in want.get(t["name"], set()) - set(cases):
        sys.exit(t["name"] + " has no " + case)
    for case in cases:
        if not want.get(t["name"]) or case in want[t["name"]]:
            print(t["name"], case)
' "$@"
}

# run TAG TEST [VAR=VALUE...]: one guest; prints the meson test log path.
run() {
	local tag=$1 test=$2
	shift 2
	local out=$logs/$test.$tag
	local cmd=(env "$@" meson test -C "$build" --suite vm --logbase "vm-alone/$test.$tag" "$test")
	[ -z "$lock" ] || cmd=(flock "$lock" "${cmd[@]}")
	echo "# $test $tag: $*" >&2
	"${cmd[@]}" >"$out.out" 2>&1 || true
	echo "$build/meson-logs/vm-alone/$test.$tag.json"
}

# result LOG TESTCASE: pass, fail or skip of TESTCASE in the run LOG; "fail"
# also when the test failed as a whole or the testcase did not run.
result() {
	python3 - "$1" "$2" <<'EOF'
import json, re, sys
log, case = sys.argv[1], sys.argv[2]
short = case[len("testcase_"):]
try:
    t = [json.loads(line) for line in open(log)][-1]
except (OSError, ValueError, IndexError):
    print("fail")
    sys.exit()
out = t.get("stdout") or ""
name = rf"(?:testcase_)?{re.escape(short)}\b"
if re.search(rf"^not ok \d+ {name}", out, re.M):
    print("fail")
elif re.search(rf"^ok \d+ {name}.*# SKIP", out, re.M | re.I):
    print("skip")
elif re.search(rf"^ok \d+ {name}", out, re.M) and t["result"] in ("OK", "SKIP"):
    print("pass")
else:
    print("fail")
EOF
}

listing=$(list_testcases "${tests[@]}")
mapfile -t rows <<<"$listing"
declare -A res
failed=0
declare -A seen
for row in "${rows[@]}"; do
	read -r test case <<<"$row"
	skipped=0
	for s in "${skip[@]}"; do [ "$s" != "$test" ] || skipped=1; done
	[ "$skipped" -eq 0 ] || continue
	if [ "$alone" -eq 1 ]; then
		log=$(run "alone-${case#testcase_}" "$test" DEVNS_TESTCASES="$case")
		res[$test/$case/alone]=$(result "$log" "$case")
	fi
	if [ -z "${seen[$test]:-}" ]; then
		seen[$test]=1
		for order in "${orders[@]}"; do
			log=$(run "order-${order/:/-}" "$test" DEVNS_TESTCASE_ORDER="$order")
			res[$test/order/$order]=$log
		done
	fi
done

# The table: one row a testcase, one column a kind of run.
columns=()
[ "$alone" -eq 0 ] || columns+=(alone)
columns+=("${orders[@]}")
printf '%-18s %-46s' test testcase
printf ' %-18s' "${columns[@]}"
echo
for row in "${rows[@]}"; do
	read -r test case <<<"$row"
	[ -n "${seen[$test]:-}" ] || continue
	printf '%-18s %-46s' "$test" "${case#testcase_}"
	for col in "${columns[@]}"; do
		if [ "$col" = alone ]; then
			r=${res[$test/$case/alone]:--}
		elif [ -n "${res[$test/order/$col]:-}" ]; then
			r=$(result "${res[$test/order/$col]}" "$case")
		else
			r=-
		fi
		[ "$r" != fail ] || failed=1
		printf ' %-18s' "$r"
	done
	echo
done
echo "# logs: $logs"
exit $failed
