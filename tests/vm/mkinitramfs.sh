#!/bin/sh
# Build the test guest's initramfs: busybox-static, guest-init.sh as /init,
# and the modules needed to mount the host root over 9p (plus virtio_console
# for the host control channel).
#
# usage: mkinitramfs.sh OUT.cpio.gz [KERNEL_VERSION]
# Without KERNEL_VERSION the newest /boot/vmlinuz-*-amd64 that has a module
# directory is used, the same choice vm.py makes.
set -eu

out=${1:?usage: mkinitramfs.sh OUT.cpio.gz [KERNEL_VERSION]}
kver=${2:-${KVER:-}}
here=$(cd "$(dirname "$0")" && pwd)

if [ -z "$kver" ]; then
	for k in $(printf '%s\n' /boot/vmlinuz-*-amd64 | sed 's|^/boot/vmlinuz-||' | sort -V -r); do
		if [ -d "/lib/modules/$k" ]; then
			kver=$k
			break
		fi
	done
fi
[ -n "$kver" ] || { echo "mkinitramfs: no kernel with modules found" >&2; exit 1; }
moddir=/lib/modules/$kver
[ -d "$moddir" ] || { echo "mkinitramfs: no $moddir" >&2; exit 1; }

busybox=
for b in /bin/busybox /usr/bin/busybox /sbin/busybox; do
	if [ -x "$b" ]; then busybox=$b; break; fi
done
[ -n "$busybox" ] || { echo "mkinitramfs: busybox not found (install busybox-static)" >&2; exit 1; }
# A dynamic busybox would need its libraries in the initramfs too.
if command -v file >/dev/null 2>&1 && ! file -L "$busybox" | grep -q 'statically linked'; then
	echo "mkinitramfs: $busybox is not static (install busybox-static)" >&2
	exit 1
fi

# Dependency order: each module only needs the ones before it.
modules="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
netfs fscache 9pnet 9pnet_virtio 9p overlay virtio_console"

# Path of a module's file, or nothing if it is built in or missing.
modpath() {
	p=
	if command -v modinfo >/dev/null 2>&1; then
		p=$(modinfo -k "$kver" -n "$1" 2>/dev/null || true)
	fi
	case "$p" in
	/*) ;;
	*) p=$(find "$moddir/kernel" \( -name "$1.ko" -o -name "$1.ko.*" \) 2>/dev/null | head -n 1) ;;
	esac
	[ -n "$p" ] && [ -f "$p" ] && echo "$p"
	return 0
}

builtin() {
	[ -f "$moddir/modules.builtin" ] &&
		grep -q "/$(echo "$1" | sed 's/[-_]/[-_]/g')\.ko\$" "$moddir/modules.builtin"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/bin" "$tmp/modules" "$tmp/dev" "$tmp/proc" "$tmp/sys"
cp "$busybox" "$tmp/bin/busybox"
ln -s busybox "$tmp/bin/sh"
cp "$here/guest-init.sh" "$tmp/init"
chmod 755 "$tmp/init" "$tmp/bin/busybox"
: >"$tmp/modules/order"

for m in $modules; do
	p=$(modpath "$m")
	if [ -z "$p" ]; then
		if builtin "$m"; then
			echo "mkinitramfs: $m is built in"
			continue
		fi
		echo "mkinitramfs: module $m not found for $kver" >&2
		exit 1
	fi
	# busybox insmod wants plain .ko files.
	case "$p" in
	*.ko.xz) xz -dc "$p" >"$tmp/modules/$m.ko" ;;
	*.ko.zst) zstd -qdc "$p" >"$tmp/modules/$m.ko" ;;
	*.ko.gz) gzip -dc "$p" >"$tmp/modules/$m.ko" ;;
	*) cp "$p" "$tmp/modules/$m.ko" ;;
	esac
	echo "$m" >>"$tmp/modules/order"
done
echo "$kver" >"$tmp/kernel-version"

if command -v cpio >/dev/null 2>&1; then
	mkcpio() { cpio -o -H newc --quiet -R 0:0; }
else
	mkcpio() { "$busybox" cpio -o -H newc 2>/dev/null; }
fi
mkdir -p "$(dirname "$out")"
(cd "$tmp" && find . -print | LC_ALL=C sort | mkcpio) | gzip -1 >"$out.$$.tmp"
mv "$out.$$.tmp" "$out"
