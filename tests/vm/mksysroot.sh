#!/bin/sh
# A whole Debian 12 system for the vm test `installed`: systemd as PID 1,
# booted from an ext4 image with Debian's own initrd, devns installed into
# it from the packages built from the tree (scripts/build-packages.sh) with
# `apt-get install ./*.deb`, and DKMS building devns.ko for the guest's
# kernel, as on a user's machine. Nothing of the build tree is installed:
# the guest reaches only the test scripts and the test's own client
# programs, over the 9p share of the host root.
#
#   mksysroot.sh PYTHON VM.PY ARG...     (how meson.build runs the test)
#
# Runs on the host, as root, with network access to the Debian mirrors
# (DEVNS_DEBIAN_MIRROR, default http://deb.debian.org/debian, and
# DEVNS_DEBIAN_SECURITY_MIRROR, default http://deb.debian.org/debian-security,
# which has the guest kernel's headers). The base system (debootstrap, DKMS,
# the guest kernel's headers and modules, python3) is built once and kept in
# DEVNS_OSROOT_CACHE (default /var/cache/devns-tests), named after a hash of
# what builds it and the kernel version. Each run builds the packages (into
# BUILD/tests/vm/packages, unless DEVNS_PACKAGES names a directory of them),
# copies the base, installs them, writes the image, boots it with vm.py
# --root-disk (the packages' directory bound in the guest too, at
# DEVNS_TEST_PACKAGES, for the test's upgrade) and removes the image.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SRC=$(cd "$HERE/../.." && pwd)
SELF="$HERE/mksysroot.sh"
CACHE=${DEVNS_OSROOT_CACHE:-/var/cache/devns-tests}
MIRROR=${DEVNS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEVNS_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
SUITE=bookworm
LABEL=devns-sysroot
# What the test needs beside devns: udev and kmod to find and load the
# card's driver, python3 with dbus for the test itself, libseat1 for the
# test's seatd client, and what devns depends on (installed here so that a
# run downloads nothing). DKMS, the kernel's headers and the container
# runtimes (podman, LXC, systemd-nspawn) and the compositors (sway with
# swaybg on seatd.sock, weston on the login1 facade) come from apt
# afterwards: the headers are in the security archive, and debootstrap
# resolves no alternatives.
PACKAGES=systemd,systemd-sysv,dbus,udev,kmod,python3,python3-dbus,libseat1,jq,libdrm2,libinput10,libevdev2,libinih1,libbpf1,procps

msg() {
	echo "mksysroot: $*" >&2
}

die() {
	msg "FATAL: $*"
	exit 1
}

[ $# -ge 2 ] || die "usage: mksysroot.sh PYTHON VM.PY ARG..."
py=$1
vm=$2
shift 2

# The kernel and build directory vm.py is given.
kver= build=
prev=
for a in "$@"; do
	case $prev in
	--kernel-version) kver=$a ;;
	--build-dir) build=$a ;;
	esac
	case $a in
	--kernel-version=*) kver=${a#*=} ;;
	--build-dir=*) build=${a#*=} ;;
	esac
	prev=$a
done
[ -n "$kver" ] || kver=$("$py" "$vm" --print-kernel-version) || die "no guest kernel"
[ -n "$build" ] || die "no --build-dir"
[ -d "/lib/modules/$kver/kernel" ] || die "no modules of $kver in /lib/modules"
[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot, mount)"

# The base's name: a hash of this script down to the end of build_base(),
# which holds the package list and everything written into the base.
KEY=$(sed '/^# ---- end of the base/q' "$SELF" | sha256sum | cut -c1-12)
BASE="$CACHE/sysroot-$KEY-$kver"

in_root() {
	r=$1
	shift
	chroot "$r" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
		DEBIAN_FRONTEND=noninteractive "$@"
}

# The test's runner: started by systemd once the system is up, it mounts
# the host's root and the out share, binds the directories the test command
# names at their host paths, runs the command (tests/vm/vm.py wrote it to
# .cmd), leaves its exit status where vm.py reads it, and powers off.
write_runner() {
	root=$1
	cat >"$root/usr/local/sbin/vm-test-run" <<'EOF'
#!/bin/sh
modprobe -a 9pnet_virtio 9p || exit 1
mkdir -p /mnt/host /mnt/out
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,ro hostroot /mnt/host &&
	mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none out /mnt/out || {
	echo "vm-test-run: cannot mount the 9p shares" >&2
	systemctl poweroff
	exit 1
}
while IFS= read -r dir; do
	mkdir -p "$dir" && mount --bind "/mnt/host$dir" "$dir"
done </mnt/out/.binds
echo "vm-test-run: system up at $(cut -d' ' -f1 /proc/uptime)s, running the test command"
/bin/sh /mnt/out/.cmd </dev/null
rc=$?
echo "vm-test-run: command exited with status $rc"
echo "$rc" >/mnt/out/.exit-status.tmp && mv /mnt/out/.exit-status.tmp /mnt/out/.exit-status
sync
systemctl poweroff
EOF
	chmod 0755 "$root/usr/local/sbin/vm-test-run"
	cat >"$root/etc/systemd/system/vm-test.service" <<'EOF'
[Unit]
Description=devns vm test
After=multi-user.target

[Service]
Type=oneshot
ExecStart=/usr/local/sbin/vm-test-run
StandardOutput=tty
StandardError=inherit
TTYPath=/dev/ttyS0
TimeoutStartSec=infinity

[Install]
WantedBy=multi-user.target
EOF
	ln -sf /etc/systemd/system/vm-test.service \
		"$root/etc/systemd/system/multi-user.target.wants/vm-test.service"
}

build_base() {
	mkdir -p "$CACHE/debs"
	work=$(mktemp -d "$CACHE/build.XXXXXX")
	trap 'umount -R "$work/root/proc" 2>/dev/null || true; rm -rf --one-file-system "$work"' EXIT
	msg "building $BASE (debootstrap $SUITE, DKMS, headers of $kver; a few minutes)"
	start=$(date +%s)
	debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE/debs" \
		"$SUITE" "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
		tail -n 30 "$work/debootstrap.log" >&2
		die "debootstrap failed"
	}
	root=$work/root
	cat >"$root/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
	mount -t proc proc "$root/proc"
	{
		in_root "$root" apt-get update &&
			in_root "$root" apt-get install -y --no-install-recommends dkms "linux-headers-$kver" \
				podman lxc systemd-container sway swaybg weston
	} >"$work/apt.log" 2>&1 || {
		tail -n 30 "$work/apt.log" >&2
		die "installing DKMS, the headers of $kver, the container runtimes and the compositors failed"
	}
	umount "$root/proc"
	# The guest kernel's modules are the host's (the guest boots the host's
	# /boot/vmlinuz), without the links to its build tree, which the headers
	# package made.
	mkdir -p "$root/lib/modules/$kver"
	(cd "/lib/modules/$kver" && tar -cf - --exclude=./build --exclude=./source .) |
		(cd "$root/lib/modules/$kver" && tar -xf -)

	echo devns-sys >"$root/etc/hostname"
	echo "LABEL=$LABEL / ext4 defaults 0 1" >"$root/etc/fstab"
	# root without a password on the console, for looking around by hand
	# (QEMU's serial console, when the test is run outside meson).
	in_root "$root" passwd -d root >/dev/null
	[ -s "$root/etc/machine-id" ] || in_root "$root" systemd-machine-id-setup >/dev/null
	# Nothing that might start a job, or take the serial console, while
	# the test runs.
	for unit in serial-getty@ttyS0.service apt-daily.timer apt-daily-upgrade.timer \
		dpkg-db-backup.timer e2scrub_all.timer fstrim.timer; do
		ln -sf /dev/null "$root/etc/systemd/system/$unit"
	done
	# The card's driver early in the boot, before devnsd starts, as a GPU
	# driver loaded from the initramfs is on most machines (udev alone
	# loads it late under TCG). With the card appearing later, the first
	# demo client's picture stayed black on QEMU's VGA (bochs) while
	# devnsd and the kernel's DRM state had its framebuffer on screen.
	# The test runs on virtio-gpu (vm.py --vga virtio), where sway's
	# wlroots can import its buffers; bochs is not loaded.
	echo virtio_gpu >"$root/etc/modules-load.d/vm-test.conf"
	write_runner "$root"
	in_root "$root" apt-get clean
	mv "$root" "$work/base"
	mv "$work/base" "$BASE"
	msg "built $BASE in $(($(date +%s) - start)) s ($(du -sh "$BASE" | cut -f1))"
	for old in "$CACHE"/sysroot-*; do
		[ "$old" = "$BASE" ] || rm -rf --one-file-system "$old"
	done
	rm -rf --one-file-system "$work"
	trap - EXIT
}

# ---- end of the base: what follows is done for every run.

mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ ! -d "$BASE" ]; then
	command -v debootstrap >/dev/null || die "debootstrap is not installed (scripts/install-deps.sh)"
	build_base
fi
exec 9>&-

# The packages, from the files of the tree as they are now (a clean
# checkout in CI), checked by lintian and for a DKMS build on the host; or
# those in DEVNS_PACKAGES, a directory with a devns and a devns-dkms package
# built before (a release, or the last commit: build-packages.sh without
# --worktree).
if [ -n "${DEVNS_PACKAGES:-}" ]; then
	pkgs=$(cd "$DEVNS_PACKAGES" && pwd)
	msg "using the packages in $pkgs"
else
	pkgs="$build/tests/vm/packages"
	msg "building the packages into $pkgs"
	"$SRC/scripts/build-packages.sh" --worktree "$pkgs" >"$build/tests/vm/packages.log" 2>&1 || {
		tail -n 40 "$build/tests/vm/packages.log" >&2
		die "scripts/build-packages.sh failed; see $build/tests/vm/packages.log"
	}
fi
count() {
	[ -e "$1" ] && echo $# || echo 0
}
[ "$(count "$pkgs"/devns_*.deb)" -eq 1 ] && [ "$(count "$pkgs"/devns-dkms_*.deb)" -eq 1 ] ||
	die "$pkgs does not hold exactly one devns and one devns-dkms package"

run=$(mktemp -d "$CACHE/run.XXXXXX")
cleanup() {
	umount "$run/root/proc" 2>/dev/null || true
	rm -rf --one-file-system "$run"
}
trap cleanup EXIT
cp -a "$BASE" "$run/root"
mkdir -p "$run/root/tmp/devns-packages"
cp "$pkgs"/devns_*.deb "$pkgs"/devns-dkms_*.deb "$run/root/tmp/devns-packages/"
mount -t proc proc "$run/root/proc"
# uname -r in the chroot is the host's kernel, which may have no headers
# there: DKMS is asked for the guest's kernel too, as a user installing a
# kernel would have it done.
{
	in_root "$run/root" sh -c 'apt-get install -y --no-install-recommends /tmp/devns-packages/*.deb' &&
		in_root "$run/root" dkms autoinstall -k "$kver"
} >"$build/tests/vm/install.log" 2>&1 || {
	tail -n 40 "$build/tests/vm/install.log" >&2
	die "installing the packages failed; see $build/tests/vm/install.log"
}
umount "$run/root/proc"
rm -rf "$run/root/tmp/devns-packages"
mke2fs -q -t ext4 -L "$LABEL" -d "$run/root" "$run/image" 3G >"$run/mke2fs.log" 2>&1 || {
	cat "$run/mke2fs.log" >&2
	die "mke2fs failed"
}
rm -rf --one-file-system "$run/root"

"$py" "$vm" --root-disk "$run/image" --root-label "$LABEL" --bind "$pkgs" \
	--env "DEVNS_TEST_PACKAGES=$pkgs" "$@" || rc=$?
exit "${rc:-0}"
