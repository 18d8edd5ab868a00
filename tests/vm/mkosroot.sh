#!/bin/sh
# The root file system of a real OS container for the vm suite: Debian 12
# (debootstrap --variant=minbase with systemd, dbus and weston), its
# systemd-logind masked, weston started by a system unit once
# org.freedesktop.login1 is on the container's bus. Written to an ext4
# image, labelled devns-osroot, that a guest gets as a second virtio disk
# (QEMU's snapshot=on: every boot starts from the same image).
#
#   mkosroot.sh                 build the image unless it is cached;
#                               print its path
#   mkosroot.sh PYTHON VM.PY ARG...
#                               the same, then run vm.py with the image as
#                               a disk (how meson.build runs the test)
#
# Runs on the host, as root, with network access to the Debian mirror
# (DEVNS_DEBIAN_MIRROR, default http://deb.debian.org/debian). The image is
# kept in DEVNS_OSROOT_CACHE (default /var/cache/devns-tests), outside the
# checkout, named after a hash of this script: editing the package list or
# anything put into the root builds a new one, and the old ones are
# removed. The downloaded packages (about 100 MB) stay in CACHE/debs. A
# cold build took 100 s on the development machine, downloads included; the
# image is a sparse 2 GB file with about 500 MB used.
set -eu

HERE=$(cd "$(dirname "$0")" && pwd)
SELF="$HERE/mkosroot.sh"
CACHE=${DEVNS_OSROOT_CACHE:-/var/cache/devns-tests}
MIRROR=${DEVNS_DEBIAN_MIRROR:-http://deb.debian.org/debian}
SUITE=bookworm
LABEL=devns-osroot
# The container's user, weston's: its uid is Login1User.
KIOSK_USER=kiosk
KIOSK_UID=1000
# weston's background, which the test looks for on screen.
WESTON_COLOUR=cc7722

PACKAGES=systemd,systemd-sysv,dbus,udev,weston

msg() {
	echo "mkosroot: $*" >&2
}

die() {
	msg "FATAL: $*"
	exit 1
}

# The image's name: the suite and a hash of this script, which holds the
# package list and every file written into the root.
KEY=$(sha256sum "$SELF" | cut -c1-16)
IMAGE="$CACHE/debian12-$KEY.img"

configure_root() {
	root=$1
	# No logind of its own: devnsd serves org.freedesktop.login1 on the
	# container's bus. No getty on the console nspawn lends it, no timers
	# that might start a job while the test runs.
	for unit in systemd-logind.service console-getty.service \
		apt-daily.timer apt-daily-upgrade.timer dpkg-db-backup.timer \
		e2scrub_all.timer fstrim.timer; do
		ln -sf /dev/null "$root/etc/systemd/system/$unit"
	done
	echo devns-os >"$root/etc/hostname"
	ln -sf /lib/systemd/system/multi-user.target "$root/etc/systemd/system/default.target"
	# A machine id of its own (debootstrap's systemd made it): an empty one
	# would make every boot a first boot.
	[ -s "$root/etc/machine-id" ] || chroot "$root" systemd-machine-id-setup
	chroot "$root" useradd --uid "$KIOSK_UID" --user-group --create-home \
		--shell /bin/sh "$KIOSK_USER"

	mkdir -p "$root/etc/devns"
	cat >"$root/etc/devns/weston.ini" <<EOF
# A plain coloured desktop, nothing moving (devns vm test).
[core]
idle-time=0

[shell]
background-color=0xff$WESTON_COLOUR
panel-position=none
locking=false
animation=none
close-animation=none
startup-animation=none
focus-animation=none
EOF

	cat >"$root/etc/systemd/system/devns-weston.service" <<EOF
# weston on the seat devnsd lends this container: its logind launcher
# talks to org.freedesktop.login1 on the container's bus, which devnsd
# serves (systemd-logind is masked). It starts once the name is there.
[Unit]
Description=weston on the devns login1 facade
Wants=dbus.service
After=dbus.service

[Service]
User=$KIOSK_USER
RuntimeDirectory=$KIOSK_USER
RuntimeDirectoryMode=0700
Environment=XDG_RUNTIME_DIR=/run/$KIOSK_USER XDG_SEAT=seat0
WorkingDirectory=~
ExecStartPre=/bin/sh -c 'until busctl call org.freedesktop.DBus /org/freedesktop/DBus org.freedesktop.DBus NameHasOwner s org.freedesktop.login1 | grep -qx "b true"; do sleep 0.2; done'
TimeoutStartSec=infinity
ExecStart=/usr/bin/weston --backend=drm-backend.so --use-pixman --idle-time=0 --config=/etc/devns/weston.ini
StandardOutput=journal+console
StandardError=inherit

[Install]
WantedBy=multi-user.target
EOF
	ln -sf /etc/systemd/system/devns-weston.service \
		"$root/etc/systemd/system/multi-user.target.wants/devns-weston.service"

	chroot "$root" apt-get clean
	rm -rf "$root/var/lib/apt/lists/"* "$root/var/log/"*.log
}

build() {
	mkdir -p "$CACHE/debs"
	work=$(mktemp -d "$CACHE/build.XXXXXX")
	# debootstrap unmounts what it mounted in the root, unless it was killed.
	trap 'umount -R "$work/root/proc" "$work/root/sys" 2>/dev/null || true; rm -rf --one-file-system "$work"' EXIT
	msg "building $IMAGE (debootstrap $SUITE from $MIRROR; a few minutes)"
	start=$(date +%s)
	debootstrap --variant=minbase --include="$PACKAGES" --cache-dir="$CACHE/debs" \
		"$SUITE" "$work/root" "$MIRROR" >"$work/debootstrap.log" 2>&1 || {
		tail -n 30 "$work/debootstrap.log" >&2
		die "debootstrap failed"
	}
	configure_root "$work/root"
	mke2fs -q -t ext4 -L "$LABEL" -d "$work/root" "$work/image" 2G >"$work/mke2fs.log" 2>&1 || {
		cat "$work/mke2fs.log" >&2
		die "mke2fs failed"
	}
	mv "$work/image" "$IMAGE"
	msg "built $IMAGE in $(($(date +%s) - start)) s ($(du -sh --apparent-size "$IMAGE" | cut -f1) sparse, $(du -sh "$IMAGE" | cut -f1) used)"
	for old in "$CACHE"/debian12-*.img; do
		[ "$old" = "$IMAGE" ] || rm -f "$old"
	done
	rm -rf --one-file-system "$work"
	trap - EXIT
}

ensure_image() {
	[ "$(id -u)" -eq 0 ] || die "must run as root (debootstrap, chroot)"
	mkdir -p "$CACHE"
	# One builder at a time; whoever waited finds the image made.
	exec 9>"$CACHE/.lock"
	flock 9
	if [ ! -s "$IMAGE" ]; then
		command -v debootstrap >/dev/null || die "debootstrap is not installed (scripts/install-deps.sh)"
		build
	fi
	exec 9>&-
}

ensure_image
if [ $# -eq 0 ]; then
	echo "$IMAGE"
	exit 0
fi
# PYTHON VM.PY ARG...: vm.py with the image as a virtio disk the guest finds
# by its label, never written (snapshot=on keeps the guest's writes in a
# temporary file of QEMU's).
py=$1
vm=$2
shift 2
exec "$py" "$vm" \
	--qemu-arg=-drive "--qemu-arg=file=$(echo "$IMAGE" | sed 's/,/,,/g'),if=virtio,format=raw,snapshot=on" \
	--env "DEVNS_OSROOT_LABEL=$LABEL" --env "DEVNS_OSROOT_UID=$KIOSK_UID" \
	--env "DEVNS_OSROOT_COLOUR=$WESTON_COLOUR" "$@"
