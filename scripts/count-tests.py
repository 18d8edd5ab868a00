#!/usr/bin/env python3
"""Prints 'N passed, M failed' over the test cases of meson test logs.

A test that reports cases (TAP's "ok"/"not ok", or the vm scripts'
"N passed, M failed" line) counts its cases; any other counts as one.
A test whose own result is a failure counts at least one failure, and
a skipped test counts as a failure: nothing may be skipped silently."""
import json
import re
import sys

SUMMARY = re.compile(r"^(\d+) passed, (\d+) failed", re.M)
TAP_OK = re.compile(r"^ok \d+", re.M)
TAP_NOT_OK = re.compile(r"^not ok \d+", re.M)

passed = failed = 0
for path in sys.argv[1:]:
    with open(path) as f:
        for line in f:
            t = json.loads(line)
            out = t.get("stdout", "") or ""
            m = SUMMARY.findall(out)
            if m:
                p, fl = (int(x) for x in m[-1])
            else:
                p, fl = len(TAP_OK.findall(out)), len(TAP_NOT_OK.findall(out))
                if p + fl == 0:
                    p = 1
            if t["result"] != "OK":
                fl = max(fl, 1)
                p = 0 if t["result"] == "SKIP" else p
            passed += p
            failed += fl
            print(f"  {t['name']}: {p} passed, {fl} failed ({t['result']})")
print(f"{passed} passed, {failed} failed")
sys.exit(1 if failed else 0)
