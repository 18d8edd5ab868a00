/* SPDX-License-Identifier: MIT */
/*
 * cgroup v2 has no devices.allow or devices.deny: its device controller is
 * a BPF program of type BPF_PROG_TYPE_CGROUP_DEVICE attached to the cgroup.
 * The kernel runs it with the device's type, major and minor, and the
 * access (read, write, mknod) whenever a process of the cgroup, or of one
 * below it, opens a device node, opens a block device for a mount, or
 * makes a node with mknod(2); a return value of 0 refuses with EPERM.
 * Nothing is checked on a file already open, so a file opened elsewhere
 * and passed in with SCM_RIGHTS works as before.
 *
 * The program is a few compares per device, written out here as
 * instructions with the raw bpf(2) call, so that no compiler for BPF and
 * no libbpf is needed:
 *
 *	r2 = ctx->access_type & 0xffff	(BPF_DEVCG_DEV_CHAR or _BLOCK)
 *	r3 = ctx->major
 *	r4 = ctx->minor
 *	for each allowed:  if (r2 == type && r3 == major [&& r4 == minor]) goto allow
 *	for each denied:   if (r2 == type && r3 == major [&& r4 == minor]) goto deny
 *	allow:	return 1
 *	deny:	return 0
 *
 * A match is refused whatever the access: each access the kernel asks
 * about is an open or a mknod, and refusing one it may add later is the
 * safe way to be wrong.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/macro.h"
#include "ctl/devices-cgroup.h"

/* Four instructions per entry at most, and the seven around them: well
 * within the verifier's limits and the 16-bit jump offsets. */
#define PROG_MAX (4 * 2 * DEVICES_CGROUP_MAX + 7)

enum label {
	LABEL_ALLOW,
	LABEL_DENY,
};

struct prog {
	struct bpf_insn *insn;
	size_t n;
	/* Jumps to a label, patched once the label's place is known. */
	size_t fixup[2 * DEVICES_CGROUP_MAX];
	enum label fixup_label[2 * DEVICES_CGROUP_MAX];
	size_t n_fixup;
};

static void emit(struct prog *p, uint8_t code, uint8_t dst, uint8_t src,
		 int16_t off, int32_t imm)
{
	p->insn[p->n++] = (struct bpf_insn) {
		.code = code, .dst_reg = dst, .src_reg = src,
		.off = off, .imm = imm,
	};
}

static void emit_goto(struct prog *p, enum label label)
{
	p->fixup[p->n_fixup] = p->n;
	p->fixup_label[p->n_fixup++] = label;
	emit(p, BPF_JMP | BPF_JA, 0, 0, 0, 0);
}

static int check_match(const struct dev_match *m)
{
	if (m->type != 'c' && m->type != 'b')
		return -EINVAL;
	/* Device numbers have 12 bits of major and 20 of minor; anything
	 * else could never match, and a typo should not pass silently. */
	if (m->major >= (1u << 12) || m->minor < -1 || m->minor >= (1 << 20))
		return -EINVAL;
	return 0;
}

/* if (r2 == type && r3 == major [&& r4 == minor]) goto label */
static void emit_match(struct prog *p, const struct dev_match *m,
		       enum label label)
{
	int32_t type = m->type == 'c' ? BPF_DEVCG_DEV_CHAR : BPF_DEVCG_DEV_BLOCK;
	/* Each compare skips the rest of this entry when it fails. */
	int16_t left = m->minor >= 0 ? 3 : 2;

	emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_2, 0, left--, type);
	emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_3, 0, left--, (int32_t)m->major);
	if (m->minor >= 0)
		emit(p, BPF_JMP | BPF_JNE | BPF_K, BPF_REG_4, 0, left--, m->minor);
	emit_goto(p, label);
}

static int bpf(int cmd, union bpf_attr *attr)
{
	return (int)syscall(SYS_bpf, cmd, attr, sizeof(*attr));
}

static int load(const struct prog *p)
{
	union bpf_attr attr;
	int fd;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_CGROUP_DEVICE;
	attr.insns = (uint64_t)(uintptr_t)p->insn;
	attr.insn_cnt = (uint32_t)p->n;
	/* The program calls no helper, GPL-only or other, so the license
	 * is only recorded; it is the project's. */
	attr.license = (uint64_t)(uintptr_t)"MIT";
	/* What bpftool prog shows. */
	strncpy(attr.prog_name, "devns_devices", sizeof(attr.prog_name) - 1);
	fd = bpf(BPF_PROG_LOAD, &attr);
	return fd < 0 ? -errno : fd;
}

static int attach(const char *cgroup_dir, int prog_fd)
{
	_cleanup_close_ int cgroup_fd = -1;
	union bpf_attr attr;

	cgroup_fd = open(cgroup_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cgroup_fd < 0)
		return -errno;
	memset(&attr, 0, sizeof(attr));
	attr.target_fd = (uint32_t)cgroup_fd;
	attr.attach_bpf_fd = (uint32_t)prog_fd;
	attr.attach_type = BPF_CGROUP_DEVICE;
	/* Run along with the filters of the cgroups above (a service's
	 * DevicePolicy=, say): a device must pass all of them, so ours adds
	 * refusals and takes none away. The same holds for filters attached
	 * to cgroups below ours later. */
	attr.attach_flags = BPF_F_ALLOW_MULTI;
	if (bpf(BPF_PROG_ATTACH, &attr) < 0)
		return -errno;
	return 0;
}

int devices_cgroup_confine(const char *cgroup_dir,
			   const struct dev_match *deny, size_t n_deny,
			   const struct dev_match *allow, size_t n_allow)
{
	_cleanup_free_ struct prog *p = NULL;
	_cleanup_free_ struct bpf_insn *insn = NULL;
	_cleanup_close_ int prog_fd = -1;
	size_t allow_at, deny_at;
	int r;

	/* Without a refusal the deny label would be unreachable, which the
	 * verifier rejects; and the filter would be pointless. */
	if (n_deny == 0 || n_deny > DEVICES_CGROUP_MAX ||
	    n_allow > DEVICES_CGROUP_MAX)
		return n_deny == 0 ? -EINVAL : -E2BIG;
	for (size_t i = 0; i < n_deny; i++)
		if ((r = check_match(&deny[i])) < 0)
			return r;
	for (size_t i = 0; i < n_allow; i++)
		if ((r = check_match(&allow[i])) < 0)
			return r;

	p = calloc(1, sizeof(*p));
	insn = calloc(PROG_MAX, sizeof(*insn));
	if (!p || !insn)
		return -ENOMEM;
	p->insn = insn;

	/* r1 is the context, struct bpf_cgroup_dev_ctx. */
	emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_2, BPF_REG_1,
	     offsetof(struct bpf_cgroup_dev_ctx, access_type), 0);
	emit(p, BPF_ALU64 | BPF_AND | BPF_K, BPF_REG_2, 0, 0, 0xffff);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_3, BPF_REG_1,
	     offsetof(struct bpf_cgroup_dev_ctx, major), 0);
	emit(p, BPF_LDX | BPF_MEM | BPF_W, BPF_REG_4, BPF_REG_1,
	     offsetof(struct bpf_cgroup_dev_ctx, minor), 0);
	/* Exceptions first: the first match decides. */
	for (size_t i = 0; i < n_allow; i++)
		emit_match(p, &allow[i], LABEL_ALLOW);
	for (size_t i = 0; i < n_deny; i++)
		emit_match(p, &deny[i], LABEL_DENY);
	/* Whatever matched nothing falls through to allow. */
	allow_at = p->n;
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 1);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);
	deny_at = p->n;
	emit(p, BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0);
	emit(p, BPF_JMP | BPF_EXIT, 0, 0, 0, 0);

	/* A jump's offset counts from the instruction after it. */
	for (size_t i = 0; i < p->n_fixup; i++) {
		size_t at = p->fixup[i];
		size_t to = p->fixup_label[i] == LABEL_ALLOW ? allow_at : deny_at;

		p->insn[at].off = (int16_t)(to - at - 1);
	}

	prog_fd = load(p);
	if (prog_fd < 0)
		return prog_fd;
	/* The attachment holds the program; our fd may go. */
	return attach(cgroup_dir, prog_fd);
}
