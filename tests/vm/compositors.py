"""The real compositors of the vm tests, each as an unprivileged user in a
container with a plain coloured desktop: sway (libseat, on seatd.sock or
through the login1 facade) and weston (its logind launcher, on the login1
facade); and the traces the tests read their keys from (a sway binding
that appends to a file, weston-eventdemo's log).

Used by test-seatd-sway.py (and test-login1-sway.sh), test-login1-weston.py
and test-installed.py."""
import os
import re
import signal
import subprocess

import devnstest
from devnstest import wait_until

KEY_F9 = 67

# sway as user $1 with runtime directory $2 and configuration $3: it
# prepares the directory, then becomes sway as that user (sway refuses to
# run as root), without any supplementary group: every device comes
# through libseat. (wlroots 0.15 gets the second card file of its
# dumb-buffer allocator as an empty DRM lease of the first, not by opening
# the node.) It starts in its runtime directory, not in the build
# directory, which may be out of its reach. Its log: $DEVNS_OUT/sway.log.
SWAY_SCRIPT = r'''
set -e
U=$1 XDG=$2 CONFIG=$3
rm -rf "$XDG"
mkdir -p "$XDG"
chown "$U:$U" "$XDG"
chmod 0700 "$XDG"
cd "$XDG"
exec setpriv --reuid="$U" --regid="$U" --clear-groups \
	env -i PATH=/usr/bin:/bin HOME="$XDG" XDG_RUNTIME_DIR="$XDG" \
	LIBSEAT_BACKEND=seatd SEATD_SOCK=/run/devns/seatd.sock \
	WLR_RENDERER=pixman WLR_NO_HARDWARE_CURSORS=1 \
	sway --debug --config "$CONFIG" >"$DEVNS_OUT/sway.log" 2>&1
'''

# The same through the login1 facade: `devnsctl run --login1` has started
# the container's own system bus and set XDG_SESSION_ID and XDG_SEAT.
SWAY_LOGIND_SCRIPT = SWAY_SCRIPT.replace(
    "LIBSEAT_BACKEND=seatd SEATD_SOCK=/run/devns/seatd.sock",
    'LIBSEAT_BACKEND=logind XDG_SESSION_ID="$XDG_SESSION_ID" XDG_SEAT="$XDG_SEAT"')


def write_sway_config(path, colour, keys):
    """A plain coloured desktop, and F9 bound to append a line to keys."""
    with open(path, "w") as f:
        f.write(f"""# devns vm test: a plain coloured desktop, and a key that leaves a trace
output * bg #{colour} solid_color
xwayland disable
seat * hide_cursor 100
bindsym F9 exec echo F9 >>{keys}
""")
    os.chmod(path, 0o644)


def lines_in(path):
    """How many lines path has (0 if it does not exist yet): the times
    sway ran its F9 binding."""
    try:
        with open(path) as f:
            return len(f.readlines())
    except FileNotFoundError:
        return 0


def write_weston_config(path, colour):
    """desktop-shell with a plain coloured background and nothing moving."""
    with open(path, "w") as f:
        f.write(f"""# devns vm test: a plain coloured desktop, nothing moving
[core]
idle-time=0
require-input=true

[shell]
background-color=0xff{colour}
panel-position=none
locking=false
animation=none
close-animation=none
startup-animation=none
focus-animation=none
""")
    os.chmod(path, 0o644)


# The end of a weston container's script, with U (the user), XDG (its
# runtime directory, made already), CONFIG and SOCKET set: weston as that
# user, with no supplementary group (every device comes through logind's
# TakeDevice), pixman rendering. Its log: $DEVNS_OUT/weston.log.
WESTON_EXEC = r'''
cd "$XDG"
exec setpriv --reuid="$U" --regid="$U" --clear-groups \
	env -i PATH=/usr/bin:/bin HOME="$XDG" XDG_RUNTIME_DIR="$XDG" XDG_SEAT=seat0 \
	weston --backend=drm-backend.so --use-pixman --idle-time=0 \
	--socket="$SOCKET" --config="$CONFIG" </dev/null >"$DEVNS_OUT/weston.log" 2>&1
'''

# weston as user $1 with runtime directory $2, configuration $3 and
# Wayland socket $4, in a container whose login1 facade is served already
# (`devnsctl run --login1`).
WESTON_SCRIPT = r'''
set -e
U=$1 XDG=$2 CONFIG=$3 SOCKET=$4
rm -rf "$XDG"
mkdir -p "$XDG"
chown "$U:$U" "$XDG"
chmod 0700 "$XDG"
''' + WESTON_EXEC


def eventdemo_keys(path):
    """Key codes weston-eventdemo (logging to path) saw pressed, in order."""
    try:
        with open(path, errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        return []
    return [int(k) for k in re.findall(r"^key key: (\d+), .*state: pressed", text, re.M)]


def start_eventdemo(leader, uid, xdg, socket, out_path):
    """weston-eventdemo in the container of leader, as uid: a Wayland
    client of weston's that logs each key it gets to out_path (its window
    is small: the background stays the dominant colour). Line-buffered:
    its stdout is a file."""
    out = open(out_path, "w")
    proc = subprocess.Popen(
        ["nsenter", "-t", str(leader), "-p", "-m",
         "setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups",
         "env", "-i", "PATH=/usr/bin:/bin", f"HOME={xdg}", f"XDG_RUNTIME_DIR={xdg}",
         f"WAYLAND_DISPLAY={socket}",
         "stdbuf", "-oL", "weston-eventdemo", "--log-key", "--width=160", "--height=120"],
        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, cwd="/")
    out.close()
    return proc


class CompositorRun(devnstest.RunContainer):
    """A compositor started by `devnsctl run`, which forwards SIGTERM to
    it: a compositor ignores its standard input and ends on SIGTERM."""

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.kill_leader()
                self.proc.kill()
                self.proc.wait()
        return self.proc.returncode

    def alive(self):
        return self.proc.poll() is None


def wait_for_socket(path, timeout=120):
    wait_until(f"{path}", lambda: os.path.exists(path), timeout=timeout, interval=0.2)
