#!/bin/sh
# Reliability: see test-trust-stress.py. Runs against the ASan/UBSan devnsd
# when there is an up-to-date one (trust-lib.sh).
. "$DEVNS_SRC/tests/vm/lib.sh"
. "$DEVNS_SRC/tests/vm/trust-lib.sh"

trust_setup
exec python3 "$DEVNS_SRC/tests/vm/test-trust-stress.py"
