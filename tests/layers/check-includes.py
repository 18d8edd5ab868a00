#!/usr/bin/env python3
"""Fails when a source file includes a header of a layer above its own.

The layers, lowest first (docs/architecture.md): common, the module's uapi
header, seat (policy), the device shims (drm/, input/evdev), broker, and the
transports (dbus/, compat/, login1/, input/hotkeys) side by side, which never include
one another. daemon/ puts them together. Usage: check-includes.py SRCDIR STAMP
"""
import pathlib
import re
import sys

COMMON = ("common/", "kernel/devns/uapi/")
SEAT = COMMON + ("seat/",)
SHIMS = COMMON + ("drm/", "input/evdev.h")
BROKER = SEAT + SHIMS + ("broker/",)

# The first rule whose prefix matches a file decides what it may include.
RULES = [
    ("common/", COMMON),
    ("seat/", SEAT),
    ("drm/", SHIMS),
    ("input/evdev", SHIMS),
    ("broker/", BROKER),
    ("dbus/", BROKER + ("dbus/",)),
    ("compat/", BROKER + ("compat/",)),
    ("login1/", BROKER + ("login1/",)),
    ("input/hotkeys", BROKER + ("input/hotkeys.h",)),
    # devns-keeper stands beside devnsd, on common/ alone.
    ("keeper/", COMMON + ("keeper/",)),
]
LAYERED = ("common", "seat", "drm", "input", "broker", "dbus", "compat", "login1", "keeper")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)


def main():
    src = pathlib.Path(sys.argv[1])
    bad = []
    checked = 0
    for folder in LAYERED:
        for path in sorted((src / folder).glob("*.[ch]")):
            rel = path.relative_to(src).as_posix()
            allowed = next(a for prefix, a in RULES if rel.startswith(prefix))
            checked += 1
            for header in INCLUDE.findall(path.read_text()):
                if not header.startswith(allowed):
                    bad.append(f"{rel}: includes {header}, above its layer")
    if checked == 0:
        bad.append(f"no source files found under {src}")
    for line in bad:
        print(line, file=sys.stderr)
    if bad:
        return 1
    pathlib.Path(sys.argv[2]).write_text(f"{checked} files checked\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
