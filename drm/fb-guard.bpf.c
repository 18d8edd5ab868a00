/* SPDX-License-Identifier: MIT OR GPL-2.0 */
/*
 * Refuses DRM_IOCTL_MODE_GETFB and GETFB2 to the lessees of the cards
 * devnsd leases outputs of. The kernel gives a GEM handle of any
 * framebuffer to any caller that is current master, and every lessee is:
 * framebuffers are not objects a lease restricts, so without this a
 * container could map and read what another container's output shows.
 * DRM_IOCTL_GEM_OPEN too: a buffer someone named with GEM_FLINK opens by
 * its name, a small number, in any authenticated file of the card.
 *
 * An LSM program (bpf in the kernel's lsm= list) on file_ioctl. Its kernel
 * types are declared here with only the fields it reads; CO-RE places them
 * in the running kernel's layout when devnsd loads it.
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

#define EACCES 13
#define S_IFMT 00170000
#define S_IFCHR 0020000

/* drm_ioctl() picks the handler by number alone, whatever size and
 * direction the command says: match on type and number. */
#define DRM_IOCTL_TYPE 'd'
#define DRM_IOCTL_NR_GEM_OPEN 0x0B
#define DRM_IOCTL_NR_GETFB 0xAD
#define DRM_IOCTL_NR_GETFB2 0xCE

struct inode {
	unsigned short i_mode;
	__u32 i_rdev;
} __attribute__((preserve_access_index));

struct file {
	struct inode *f_inode;
	void *private_data;
} __attribute__((preserve_access_index));

struct drm_master {
	struct drm_master *lessor;
} __attribute__((preserve_access_index));

struct drm_file {
	struct drm_master *master;
} __attribute__((preserve_access_index));

/* Cards with leases, by the kernel's device number (major << 20 | minor). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u8);
} guarded_cards SEC(".maps");

SEC("lsm/file_ioctl")
int BPF_PROG(devns_fb_guard, struct file *file, unsigned int cmd, unsigned long arg, int ret)
{
	unsigned int nr = cmd & 0xff;
	struct drm_file *drm_file;
	struct drm_master *master;
	struct inode *inode;
	__u32 rdev;

	if (ret)
		return ret;
	if (((cmd >> 8) & 0xff) != DRM_IOCTL_TYPE ||
	    (nr != DRM_IOCTL_NR_GETFB && nr != DRM_IOCTL_NR_GETFB2 && nr != DRM_IOCTL_NR_GEM_OPEN))
		return 0;
	inode = BPF_CORE_READ(file, f_inode);
	if (!inode || (BPF_CORE_READ(inode, i_mode) & S_IFMT) != S_IFCHR)
		return 0;
	rdev = BPF_CORE_READ(inode, i_rdev);
	if (!bpf_map_lookup_elem(&guarded_cards, &rdev))
		return 0;
	/* A character device of a card's number is the card: its files'
	 * private data is their struct drm_file. */
	drm_file = BPF_CORE_READ(file, private_data);
	if (!drm_file)
		return 0;
	master = BPF_CORE_READ(drm_file, master);
	if (master && BPF_CORE_READ(master, lessor))
		return -EACCES;
	return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
