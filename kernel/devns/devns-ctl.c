// SPDX-License-Identifier: GPL-2.0
/*
 * devns: the control node /dev/devns.
 *
 * Root only (CAP_SYS_ADMIN in the initial user namespace), checked at open
 * and again on every ioctl, since an open file can be passed to anyone.
 * Every argument struct carries its size; see uapi/devns.h.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/capability.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/magic.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/pid_namespace.h>
#include <linux/uaccess.h>

#include "devns-internal.h"

/*
 * Copy in a struct that starts with its __u32 size: refuse sizes below the
 * first version's and above a page, and bytes of a newer version that this
 * one does not know unless they are zero.
 */
static int devns_copy_in(void *dst, size_t ksize, size_t minsize,
			 const void __user *uarg, u32 *usize)
{
	u32 size;
	int ret;

	if (get_user(size, (const u32 __user *)uarg))
		return -EFAULT;
	if (size < minsize)
		return -EINVAL;
	if (size > PAGE_SIZE)
		return -E2BIG;
	ret = copy_struct_from_user(dst, ksize, uarg, size);
	if (ret)
		return ret;
	*usize = size;
	return 0;
}

/* Length of a NUL-terminated string in a fixed buffer, or -EINVAL. */
static int devns_strlen(const char *buf, size_t size)
{
	size_t len = strnlen(buf, size);

	return len == size ? -EINVAL : len;
}

/*
 * A pidfd of the caller. The kernel's pidfd helpers are not exported, so
 * recognise the file the way /proc shows it: an anon inode named
 * "[pidfd]", whose private data is the struct pid.
 */
static struct pid *devns_pidfd_get_pid(int fd)
{
	struct file *f;
	struct pid *pid = ERR_PTR(-EBADF);

	if (fd < 0)
		return pid;
	f = fget(fd);
	if (!f)
		return pid;
	if (f->f_path.dentry->d_sb->s_magic == ANON_INODE_FS_MAGIC &&
	    !strcmp(f->f_path.dentry->d_name.name, "[pidfd]") && f->private_data)
		pid = get_pid(f->private_data);
	fput(f);
	return pid;
}

static long devns_ctl_create(struct devns_create __user *uarg)
{
	struct devns_create c;
	struct pid *pid;
	int nlen, slen, ret;
	u32 usize, id;

	ret = devns_copy_in(&c, sizeof(c), DEVNS_CREATE_SIZE_VER1, uarg, &usize);
	if (ret)
		return ret;
	if (c.flags & ~DEVNS_CREATE_PIDFD)
		return -EINVAL;
	nlen = devns_strlen(c.name, sizeof(c.name));
	slen = devns_strlen(c.seat, sizeof(c.seat));
	if (nlen < 0 || slen < 0 || !devns_valid_name(c.name, nlen) ||
	    !devns_valid_seat(c.seat, slen))
		return -EINVAL;

	if (c.flags & DEVNS_CREATE_PIDFD) {
		pid = devns_pidfd_get_pid(c.pid);
		if (IS_ERR(pid))
			return PTR_ERR(pid);
	} else {
		if (c.pid <= 0)
			return -EINVAL;
		/* A pid number in the caller's pid namespace. */
		pid = find_get_pid(c.pid);
		if (!pid)
			return -ESRCH;
	}
	ret = devns_create(c.name, c.seat, pid, &id);
	put_pid(pid);
	if (ret)
		return ret;
	if (put_user(id, &uarg->id)) {
		devns_destroy_id(id);
		return -EFAULT;
	}
	return 0;
}

static long devns_ctl_destroy(struct devns_destroy __user *uarg)
{
	struct devns_destroy d;
	u32 usize;
	int ret;

	ret = devns_copy_in(&d, sizeof(d), DEVNS_DESTROY_SIZE_VER1, uarg, &usize);
	if (ret)
		return ret;
	if (d.flags || d.reserved || !d.id)
		return -EINVAL;
	return devns_destroy_id(d.id);
}

static long devns_ctl_activate(struct devns_activate __user *uarg)
{
	struct devns_activate a;
	u32 usize;
	int slen, ret;

	ret = devns_copy_in(&a, sizeof(a), DEVNS_ACTIVATE_SIZE_VER1, uarg, &usize);
	if (ret)
		return ret;
	slen = devns_strlen(a.seat, sizeof(a.seat));
	if (a.flags || a.reserved || slen < 0 || !devns_valid_seat(a.seat, slen))
		return -EINVAL;
	return devns_activate(a.seat, a.id);
}

static long devns_ctl_query(struct devns_query __user *uarg)
{
	struct devns_query q;
	struct devns *ns;
	u32 usize;
	int slen, ret;

	ret = devns_copy_in(&q, sizeof(q), DEVNS_QUERY_SIZE_VER1, uarg, &usize);
	if (ret)
		return ret;
	switch (q.flags) {
	case 0:
		if (!q.id)
			return -EINVAL;
		ns = devns_find_get(q.id);
		break;
	case DEVNS_QUERY_NEXT:
		ns = devns_find_next_get(q.id);
		break;
	case DEVNS_QUERY_ACTIVE:
		slen = devns_strlen(q.seat, sizeof(q.seat));
		if (slen < 0 || !devns_valid_seat(q.seat, slen))
			return -EINVAL;
		ns = devns_find_active_get(q.seat);
		break;
	default:
		return -EINVAL;
	}
	if (!ns)
		return -ENOENT;

	memset(&q, 0, sizeof(q));
	q.size = min_t(u32, usize, sizeof(q));
	q.id = ns->id;
	q.active = devns_is_active(ns);
	q.leader = pid_vnr(ns->reaper);
	q.pidns_ino = ns->pid_ns->ns.inum;
	strscpy(q.name, ns->name, sizeof(q.name));
	strscpy(q.seat, ns->seat, sizeof(q.seat));
	devns_put(ns);
	if (copy_to_user(uarg, &q, q.size))
		return -EFAULT;
	return 0;
}

static long devns_ctl_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;

	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;

	switch (cmd) {
	case DEVNS_IOC_VERSION:
		return DEVNS_ABI_VERSION;
	case DEVNS_IOC_CREATE:
		return devns_ctl_create(uarg);
	case DEVNS_IOC_DESTROY:
		return devns_ctl_destroy(uarg);
	case DEVNS_IOC_ACTIVATE:
		return devns_ctl_activate(uarg);
	case DEVNS_IOC_QUERY:
		return devns_ctl_query(uarg);
	default:
		return -ENOTTY;
	}
}

static int devns_ctl_open(struct inode *inode, struct file *file)
{
	if (!capable(CAP_SYS_ADMIN))
		return -EPERM;
	return nonseekable_open(inode, file);
}

static const struct file_operations devns_ctl_fops = {
	.owner = THIS_MODULE,
	.open = devns_ctl_open,
	.unlocked_ioctl = devns_ctl_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = no_llseek,
};

static struct miscdevice devns_ctl_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "devns",
	.fops = &devns_ctl_fops,
	.mode = 0600,
};

int devns_ctl_init(void)
{
	return misc_register(&devns_ctl_misc);
}

void devns_ctl_exit(void)
{
	misc_deregister(&devns_ctl_misc);
}
