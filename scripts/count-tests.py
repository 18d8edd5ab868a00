#!/usr/bin/env python3
"""Prints 'N passed, M failed, K skipped' over the test cases of meson test
logs.

A test that reports cases (TAP's "ok"/"not ok", or the vm scripts'
"N passed, M failed[, K skipped]" line) counts its cases; any other counts
as one. A case reported as "ok N ... # SKIP reason" counts as skipped, never
as passed, also when the summary line of its harness has no skipped count.
A test whose own result is a failure counts at least one failure. A test
meson reports as skipped is skipped only when it reported its cases, each
skipped with its reason; otherwise (exit status 77, no cases) it counts as a
failure: nothing may be skipped silently."""
import json
import re
import sys

SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed(?:, (\d+) skipped)?", re.M)
TAP_OK = re.compile(r"^ok \d+", re.M)
TAP_NOT_OK = re.compile(r"^not ok \d+", re.M)
TAP_SKIP = re.compile(r"^ok \d+[^\n]*?#\s*skip\b", re.M | re.I)


def count(out):
    """(passed, failed, skipped) that the output reports."""
    skips = len(TAP_SKIP.findall(out))
    m = SUMMARY.findall(out)
    if m:
        p, fl, s = m[-1]
        p, fl = int(p), int(fl)
        if s:
            return p, fl, int(s)
        # A summary that counts skipped cases as passed.
        s = min(skips, p)
        return p - s, fl, s
    p, fl = len(TAP_OK.findall(out)) - skips, len(TAP_NOT_OK.findall(out))
    if p + fl + skips == 0:
        p = 1
    return p, fl, skips


passed = failed = skipped = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            p, fl, s = count(t.get("stdout", "") or "")
            if t["result"] == "SKIP":
                if p or fl or not s:
                    p, fl = 0, max(fl, 1)
            elif t["result"] != "OK":
                fl = max(fl, 1)
            passed += p
            failed += fl
            skipped += s
            print(f"  {t['name']}: {p} passed, {fl} failed, {s} skipped ({t['result']})")
print(f"{passed} passed, {failed} failed, {skipped} skipped")
sys.exit(1 if failed else 0)
