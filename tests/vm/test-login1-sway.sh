#!/bin/sh
# sway through libseat's logind backend and the login1 facade; see
# test-seatd-sway.py.
export DEVNS_SWAY_BACKEND=logind
exec /bin/sh "$DEVNS_SRC/tests/vm/test-seatd-sway.sh"
