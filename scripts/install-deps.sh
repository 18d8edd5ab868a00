#!/usr/bin/env bash
# Installs every package that building devns and running its test suites
# needs, from Debian's archive. Safe to run again: it only installs what is
# missing.
set -euo pipefail

packages=(
	# build
	gcc meson ninja-build pkg-config scdoc
	libsystemd-dev libudev-dev libdrm-dev libinput-dev libevdev-dev libinih-dev
	libbpf-dev bpftool  # the framebuffer guard (drm/fb-guard.bpf.c, built with clang)
	# the vm suite: guest kernel, initramfs, emulator, guest userspace
	qemu-system-x86 qemu-utils linux-image-amd64 busybox-static kmod
	udev dbus util-linux python3 python3-dbus
	e2fsprogs  # mke2fs -d: the file system image of the loop device tests
	strace  # its fault injection kills devnsd in the middle of a switch (test restart)
	# the kernel module
	linux-headers-amd64 make
	# the seatd endpoint: libFuzzer for its parser, Debian's libseat for the
	# test client, a real compositor (sway and its background helper)
	clang libclang-rt-dev libseat-dev sway swaybg
	weston  # the login1 facade's vm test: weston 10 has only the logind launcher
	drm-info libdrm-tests  # its outside checks: drm_info and modetest
	xserver-xorg-core xserver-xorg-input-libinput x11-xserver-utils  # Xorg on the facade
	mutter  # mutter 43 on the facade (its native backend, llvmpipe)
	kwin-wayland  # KWin 5.27 on the facade (kwin_wayland --drm, without Plasma)
	# the login1 facade in a booted Debian container (tests/vm/mkosroot.sh)
	debootstrap systemd-container
	seatd valgrind gnuplot-nox  # scripts/bench.sh: seatd to compare, callgrind, the plot
	# the Debian packages (scripts/build-packages.sh) and the runtime hooks'
	# test (data/hooks): debhelper, DKMS, lintian, the hooks' jq and shellcheck
	debhelper dh-dkms dkms lintian systemd jq shellcheck
)

missing=()
for p in "${packages[@]}"; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' ||
		missing+=("$p")
done

if [ "${#missing[@]}" -eq 0 ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing packages: ${missing[*]}; run this script as root" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
