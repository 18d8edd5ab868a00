#!/bin/sh
# The devns kernel module in the guest; see test-kernel.py.
. "$DEVNS_SRC/tests/vm/lib.sh"

exec python3 "$DEVNS_SRC/tests/vm/test-kernel.py"
