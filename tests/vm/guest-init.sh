#!/bin/busybox sh
# /init of the test guest (busybox sh).
#
# Stage 1 (in the initramfs): load the few modules needed to reach the host
# root over 9p, put a tmpfs overlay on top of it so the guest may write
# anywhere without touching the host, and switch_root into it.
# Stage 2 (in the new root): mount the API file systems and the writable
# "out" share, run the command that vm.py left there, record its exit status
# and power off.

PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export PATH

# Large messages make 9p reads much cheaper; the virtio transport caps them
# at a little under 512 KiB.
MSIZE=512000
STATE=/etc/devns-vm
BB=/bin/busybox

msg() {
	echo "guest-init: $*"
}

halt_now() {
	$BB sync
	# poweroff -f skips init scripts; sysrq is the fallback if it fails.
	$BB poweroff -f 2>/dev/null || echo o >/proc/sysrq-trigger
	# Never return: PID 1 exiting would panic the kernel.
	while :; do $BB sleep 60; done
}

fail() {
	msg "FATAL: $*"
	halt_now
}

stage1() {
	/bin/busybox mkdir -p /proc /sys /dev /usr/bin /usr/sbin /sbin
	/bin/busybox --install -s
	mount -t proc proc /proc
	mount -t sysfs sysfs /sys
	mount -t devtmpfs devtmpfs /dev
	# The initramfs has no /dev/console node, so the kernel could not give
	# us stdio; take it from devtmpfs.
	exec </dev/console >/dev/console 2>&1

	while read -r mod; do
		[ -n "$mod" ] || continue
		insmod "/modules/$mod.ko" || fail "insmod $mod failed"
	done </modules/order

	mkdir -p /host /rw /newroot
	mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=$MSIZE,cache=loose hostroot /host ||
		fail "cannot mount the host root (9p tag hostroot)"
	mount -t tmpfs -o mode=0755 rw /rw || fail "cannot mount tmpfs"
	mkdir -p /rw/upper /rw/work
	mount -t overlay -o lowerdir=/host,upperdir=/rw/upper,workdir=/rw/work overlay /newroot ||
		fail "cannot mount the overlay root"

	# Stage 2 runs from the overlay's upper layer, so it needs nothing from
	# the host but is still the same script and busybox.
	mkdir -p "/newroot$STATE"
	cp /init "/newroot$STATE/init"
	cp /bin/busybox "/newroot$STATE/busybox"

	umount /proc /sys
	# Our stdio keeps the console open, so only a lazy unmount works here.
	umount -l /dev
	exec switch_root /newroot "$STATE/busybox" sh "$STATE/init" stage2
}

stage2() {
	BB="$STATE/busybox"
	$BB mount -t proc proc /proc
	$BB mount -t sysfs sysfs /sys
	$BB mount -t devtmpfs devtmpfs /dev
	exec </dev/console >/dev/console 2>&1
	$BB mkdir -p /dev/pts /dev/shm
	$BB mount -t devpts -o gid=5,mode=620,ptmxmode=666 devpts /dev/pts
	$BB mount -t tmpfs -o mode=1777,nosuid,nodev shm /dev/shm
	$BB mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
	# /tmp stays the host's (through the overlay, so writes stay in the
	# guest): a source tree or build directory may live there.
	# cgroup2 is what container tooling in the guest expects to find.
	[ -d /sys/fs/cgroup ] && $BB mount -t cgroup2 cgroup2 /sys/fs/cgroup 2>/dev/null
	$BB mkdir -p /mnt/out
	# cache=none: the host reads these files back, and the guest must see
	# what the host writes there (screendumps) at once.
	$BB mount -t 9p -o trans=virtio,version=9p2000.L,msize=$MSIZE,cache=none out /mnt/out ||
		fail "cannot mount the out share (9p tag out)"
	$BB hostname devns-vm
	$BB ip link set lo up 2>/dev/null

	if [ ! -r /mnt/out/.cmd ]; then
		fail "no command in /mnt/out/.cmd"
	fi
	up=$($BB cut -d' ' -f1 /proc/uptime)
	msg "userspace reached at ${up}s, running the test command"
	# The command's own stdio is the console; stdin is empty so nothing
	# can wait for input that never comes.
	/bin/sh /mnt/out/.cmd </dev/null
	rc=$?
	up=$($BB cut -d' ' -f1 /proc/uptime)
	msg "command exited with status $rc at ${up}s"
	echo "$rc" >/mnt/out/.exit-status.tmp && $BB mv /mnt/out/.exit-status.tmp /mnt/out/.exit-status
	$BB umount /mnt/out 2>/dev/null
	halt_now
}

case "$1" in
stage2) stage2 ;;
*) stage1 ;;
esac
