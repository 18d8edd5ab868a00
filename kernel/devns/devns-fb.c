// SPDX-License-Identifier: GPL-2.0
/*
 * devns: framebuffer multiplexer, /dev/devns-fbN over each real /dev/fbN.
 *
 * Each device namespace that opens /dev/devns-fbN gets a buffer of its own
 * (vmalloc_user, the size of the real framebuffer's virtual screen), which
 * read, write and mmap reach. A mapping always points at the namespace's
 * own buffer, so a switch never has to touch page tables: mappings of the
 * old and of the new active namespace keep working as they are. What the
 * active namespace draws is copied to the real framebuffer: at once for
 * write() and FBIOPAN_DISPLAY, and by a periodic flush (flush_ms) while the
 * active namespace has the buffer mapped. A background namespace draws
 * into its buffer only; on a switch the incoming namespace's whole picture
 * is copied to the screen.
 *
 * The real framebuffer is reached through a file the module opens on
 * /dev/fbN (registered_fb is not exported; fbdev sets the file's
 * private_data to the fb_info). With DRM's fbdev emulation the screen is a
 * shadow buffer whose changes reach the display only once damage is
 * recorded, so after copying rows the module calls the real fb's own
 * fb_copyarea over those rows onto themselves: a no-op copy that records
 * the damage. fb_fillrect and fb_imageblit are unusable for this: they take
 * palette indices and mono images, not true-colour pixels.
 *
 * To keep the copies cheap, the module remembers what it last put on the
 * screen (one more buffer per real framebuffer) and copies only the rows
 * that changed. Only packed-pixel true-colour framebuffers are
 * multiplexed; framebuffers registered after the module loaded are not.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/fb.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/io.h>
#include <linux/major.h>
#include <linux/miscdevice.h>
#include <linux/mm.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/vmalloc.h>

#include "devns-internal.h"

static unsigned int flush_ms = 50;
module_param(flush_ms, uint, 0644);
MODULE_PARM_DESC(flush_ms,
		 "Interval of the copy of a mapped active framebuffer to the screen, in ms");

struct devns_fb_view;

struct devns_fb {
	struct list_head node;		/* in devns_fbs */
	int index;
	char name[16];
	struct file *real;		/* the real /dev/fbN, held open */
	struct fb_info *info;
	struct miscdevice misc;
	struct fb_var_screeninfo var;	/* the real fb's, when attached */
	struct fb_fix_screeninfo fix;
	size_t size;			/* bytes of each namespace's buffer */
	size_t real_limit;		/* bytes of the real screen memory */
	void *shown;			/* what was last put on the screen */
	struct delayed_work flush_work;
	struct mutex lock;		/* everything below, and @shown */
	struct list_head views;
	struct devns_fb_view *active;	/* shown on the screen, or NULL */
	bool ns_on_screen;		/* a namespace's pixels are on the screen */
	u64 rows_copied;
	u64 flushes;
};

/* One namespace's buffer for one framebuffer. */
struct devns_fb_view {
	struct kref kref;		/* the fb's list, open files, mappings */
	struct devns_fb *fb;
	struct devns *ns;		/* reference */
	void *buf;
	atomic_t mappings;
	/* Under fb->lock: */
	struct list_head node;
	bool linked;			/* false once the namespace is gone */
	u32 yoffset;			/* panning */
};

static LIST_HEAD(devns_fbs);

static void devns_fb_view_release(struct kref *kref)
{
	struct devns_fb_view *v = container_of(kref, struct devns_fb_view, kref);

	vfree(v->buf);
	devns_put(v->ns);
	kfree(v);
}

static void devns_fb_view_put(struct devns_fb_view *v)
{
	kref_put(&v->kref, devns_fb_view_release);
}

static struct devns_fb_view *devns_fb_find_view(struct devns_fb *fb, struct devns *ns)
{
	struct devns_fb_view *v;

	lockdep_assert_held(&fb->lock);
	list_for_each_entry(v, &fb->views, node)
		if (v->ns == ns)
			return v;
	return NULL;
}

/* The real framebuffer still has the geometry the views were made for. */
static bool devns_fb_geometry_ok(struct devns_fb *fb)
{
	const struct fb_info *info = fb->info;

	return info->var.xres == fb->var.xres && info->var.yres == fb->var.yres &&
	       info->var.bits_per_pixel == fb->var.bits_per_pixel &&
	       info->fix.line_length == fb->fix.line_length &&
	       info->state == FBINFO_STATE_RUNNING;
}

/*
 * Put rows [first, first + n) of the visible screen of @v (black if @v is
 * NULL) on the real framebuffer. With @diff, only rows that differ from
 * what was last shown are copied.
 */
static void devns_fb_show(struct devns_fb *fb, struct devns_fb_view *v,
			  u32 first, u32 n, bool diff)
{
	struct fb_info *info = fb->info;
	u32 pitch = fb->fix.line_length;
	u32 y, end, lo = U32_MAX, hi = 0;
	const u8 *src = NULL;
	size_t base;

	lockdep_assert_held(&fb->lock);
	end = min(first + n, fb->var.yres);
	if (first >= end)
		return;
	if (v)
		src = v->buf + (size_t)v->yoffset * pitch;

	lock_fb_info(info);
	if (!devns_fb_geometry_ok(fb))
		goto out;
	base = (size_t)info->var.yoffset * pitch;
	for (y = first; y < end; y++) {
		u8 *shown = fb->shown + (size_t)y * pitch;
		size_t off = base + (size_t)y * pitch;

		if (src) {
			const u8 *s = src + (size_t)y * pitch;

			if (diff && !memcmp(shown, s, pitch))
				continue;
			memcpy(shown, s, pitch);
		} else {
			if (diff && !memchr_inv(shown, 0, pitch))
				continue;
			memset(shown, 0, pitch);
		}
		if (off + pitch > fb->real_limit)
			break;
		if (info->flags & FBINFO_VIRTFB)
			memcpy(info->screen_buffer + off, shown, pitch);
		else
			memcpy_toio(info->screen_base + off, shown, pitch);
		lo = min(lo, y);
		hi = y;
		fb->rows_copied++;
	}
	if (lo <= hi)
		fb->ns_on_screen = !!v;
	if (lo <= hi && info->fbops->fb_copyarea) {
		/* A copy of the rows onto themselves: records the damage. */
		struct fb_copyarea area = {
			.dx = 0, .sx = 0,
			.dy = info->var.yoffset + lo, .sy = info->var.yoffset + lo,
			.width = info->var.xres, .height = hi - lo + 1,
		};

		info->fbops->fb_copyarea(info, &area);
	}
	fb->flushes++;
out:
	unlock_fb_info(info);
}

static void devns_fb_kick(struct devns_fb *fb, unsigned long delay)
{
	mod_delayed_work(system_wq, &fb->flush_work, delay);
}

static void devns_fb_flush_work(struct work_struct *work)
{
	struct devns_fb *fb = container_of(to_delayed_work(work), struct devns_fb, flush_work);
	struct devns_fb_view *v;

	mutex_lock(&fb->lock);
	v = fb->active;
	if (v && atomic_read(&v->mappings) > 0) {
		devns_fb_show(fb, v, 0, fb->var.yres, true);
		schedule_delayed_work(&fb->flush_work,
				      msecs_to_jiffies(max(READ_ONCE(flush_ms), 1U)));
	}
	mutex_unlock(&fb->lock);
}

static int devns_fb_open(struct inode *inode, struct file *file)
{
	struct devns_fb *fb = container_of(file->private_data, struct devns_fb, misc);
	struct devns_fb_view *v;
	struct devns *ns;
	int ret = 0;

	/* Bound to the opener's namespace for the file's whole life. */
	ns = devns_get_current();
	if (!ns)
		return -EPERM;

	mutex_lock(&fb->lock);
	v = devns_fb_find_view(fb, ns);
	if (v) {
		kref_get(&v->kref);
		goto out;
	}
	if (!devns_alive(ns)) {
		ret = -ENODEV;
		goto out;
	}
	v = kzalloc(sizeof(*v), GFP_KERNEL);
	if (!v) {
		ret = -ENOMEM;
		goto out;
	}
	v->buf = vmalloc_user(fb->size);
	if (!v->buf) {
		kfree(v);
		ret = -ENOMEM;
		goto out;
	}
	kref_init(&v->kref);		/* the list's */
	kref_get(&v->kref);		/* the file's */
	v->fb = fb;
	v->ns = devns_get(ns);
	atomic_set(&v->mappings, 0);
	list_add_tail(&v->node, &fb->views);
	v->linked = true;
	if (devns_drives_hw(ns)) {
		/* Its (blank) picture replaces whatever is on the screen. */
		fb->active = v;
		devns_fb_show(fb, v, 0, fb->var.yres, false);
	}
out:
	mutex_unlock(&fb->lock);
	devns_put(ns);
	if (!ret)
		file->private_data = v;
	return ret;
}

static int devns_fb_release(struct inode *inode, struct file *file)
{
	devns_fb_view_put(file->private_data);
	return 0;
}

static bool devns_fb_view_live(struct devns_fb_view *v)
{
	bool live;

	mutex_lock(&v->fb->lock);
	live = v->linked;
	mutex_unlock(&v->fb->lock);
	return live;
}

static ssize_t devns_fb_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	struct devns_fb_view *v = file->private_data;
	size_t size = v->fb->size, left;
	loff_t p = *ppos;

	if (!devns_fb_view_live(v))
		return -ENODEV;
	if (p < 0)
		return -EINVAL;
	if (p >= size)
		return 0;
	count = min_t(size_t, count, size - p);
	left = copy_to_user(ubuf, v->buf + p, count);
	if (left == count)
		return -EFAULT;
	count -= left;
	*ppos = p + count;
	return count;
}

static ssize_t devns_fb_write(struct file *file, const char __user *ubuf,
			      size_t count, loff_t *ppos)
{
	struct devns_fb_view *v = file->private_data;
	struct devns_fb *fb = v->fb;
	u32 pitch = fb->fix.line_length;
	size_t left;
	loff_t p = *ppos;
	s64 first, last;

	if (!devns_fb_view_live(v))
		return -ENODEV;
	if (p < 0)
		return -EINVAL;
	if (p >= fb->size)
		return count ? -ENOSPC : 0;
	if (!count)
		return 0;
	count = min_t(size_t, count, fb->size - p);
	left = copy_from_user(v->buf + p, ubuf, count);
	if (left == count)
		return -EFAULT;
	count -= left;
	*ppos = p + count;

	mutex_lock(&fb->lock);
	if (fb->active == v) {
		/* The written rows, in visible screen coordinates. */
		first = div_u64(p, pitch) - v->yoffset;
		last = div_u64(p + count - 1, pitch) - v->yoffset;
		if (last >= 0 && first < fb->var.yres) {
			first = max_t(s64, first, 0);
			devns_fb_show(fb, v, first, last - first + 1, false);
		}
	}
	mutex_unlock(&fb->lock);
	return count;
}

static loff_t devns_fb_llseek(struct file *file, loff_t offset, int whence)
{
	struct devns_fb_view *v = file->private_data;

	return fixed_size_llseek(file, offset, whence, v->fb->size);
}

static void devns_fb_vm_open(struct vm_area_struct *vma)
{
	struct devns_fb_view *v = vma->vm_private_data;

	kref_get(&v->kref);
	if (atomic_inc_return(&v->mappings) == 1)
		devns_fb_kick(v->fb, 0);
}

static void devns_fb_vm_close(struct vm_area_struct *vma)
{
	struct devns_fb_view *v = vma->vm_private_data;

	atomic_dec(&v->mappings);
	devns_fb_view_put(v);
}

static const struct vm_operations_struct devns_fb_vm_ops = {
	.open = devns_fb_vm_open,
	.close = devns_fb_vm_close,
};

static int devns_fb_mmap(struct file *file, struct vm_area_struct *vma)
{
	struct devns_fb_view *v = file->private_data;
	int ret;

	if (!devns_fb_view_live(v))
		return -ENODEV;
	/* Checks the range against the buffer; marks it VM_DONTEXPAND. */
	ret = remap_vmalloc_range(vma, v->buf, vma->vm_pgoff);
	if (ret)
		return ret;
	vma->vm_ops = &devns_fb_vm_ops;
	vma->vm_private_data = v;
	devns_fb_vm_open(vma);
	return 0;
}

static int devns_fb_pan(struct devns_fb_view *v, const struct fb_var_screeninfo *var)
{
	struct devns_fb *fb = v->fb;

	if (var->xoffset || var->yoffset > fb->var.yres_virtual - fb->var.yres)
		return -EINVAL;
	mutex_lock(&fb->lock);
	v->yoffset = var->yoffset;
	if (fb->active == v)
		devns_fb_show(fb, v, 0, fb->var.yres, true);
	mutex_unlock(&fb->lock);
	return 0;
}

static void devns_fb_get_var(struct devns_fb_view *v, struct fb_var_screeninfo *var)
{
	*var = v->fb->var;
	var->xoffset = 0;
	mutex_lock(&v->fb->lock);
	var->yoffset = v->yoffset;
	mutex_unlock(&v->fb->lock);
}

static long devns_fb_ioctl(struct file *file, unsigned int cmd, unsigned long arg)
{
	struct devns_fb_view *v = file->private_data;
	struct devns_fb *fb = v->fb;
	void __user *uarg = (void __user *)arg;
	struct fb_var_screeninfo var;
	struct fb_fix_screeninfo fix;
	int ret;

	if (!devns_fb_view_live(v))
		return -ENODEV;

	switch (cmd) {
	case FBIOGET_VSCREENINFO:
		devns_fb_get_var(v, &var);
		return copy_to_user(uarg, &var, sizeof(var)) ? -EFAULT : 0;
	case FBIOPUT_VSCREENINFO:
		/* The mode is the real framebuffer's; only panning may change. */
		if (copy_from_user(&var, uarg, sizeof(var)))
			return -EFAULT;
		if (var.xres != fb->var.xres || var.yres != fb->var.yres ||
		    var.xres_virtual != fb->var.xres_virtual ||
		    var.yres_virtual != fb->var.yres_virtual ||
		    var.bits_per_pixel != fb->var.bits_per_pixel)
			return -EINVAL;
		ret = devns_fb_pan(v, &var);
		if (ret)
			return ret;
		devns_fb_get_var(v, &var);
		return copy_to_user(uarg, &var, sizeof(var)) ? -EFAULT : 0;
	case FBIOGET_FSCREENINFO:
		fix = fb->fix;
		fix.smem_start = 0;	/* no physical addresses */
		fix.smem_len = fb->size;
		fix.mmio_start = 0;
		fix.mmio_len = 0;
		return copy_to_user(uarg, &fix, sizeof(fix)) ? -EFAULT : 0;
	case FBIOPAN_DISPLAY:
		if (copy_from_user(&var, uarg, sizeof(var)))
			return -EFAULT;
		return devns_fb_pan(v, &var);
	case FBIOBLANK:
		/* Blanking is the host's business; accepted and ignored. */
		return 0;
	default:
		return -ENOTTY;
	}
}

static const struct file_operations devns_fb_fops = {
	.owner = THIS_MODULE,
	.open = devns_fb_open,
	.release = devns_fb_release,
	.read = devns_fb_read,
	.write = devns_fb_write,
	.llseek = devns_fb_llseek,
	.mmap = devns_fb_mmap,
	.unlocked_ioctl = devns_fb_ioctl,
};

static int devns_fb_event(struct notifier_block *nb, unsigned long event, void *data)
{
	struct devns *ns = data;
	struct devns_fb_view *v;
	struct devns_fb *fb;

	list_for_each_entry(fb, &devns_fbs, node) {
		mutex_lock(&fb->lock);
		v = devns_fb_find_view(fb, ns);
		switch (event) {
		case DEVNS_EVENT_ACTIVATE:
			if (!devns_drives_hw(ns))
				break;
			/*
			 * The incoming picture, all of it: something else (fbcon)
			 * may have drawn since. If it never drew, hide the picture
			 * of the outgoing one, if any.
			 */
			fb->active = v;
			if (v || fb->ns_on_screen)
				devns_fb_show(fb, v, 0, fb->var.yres, false);
			if (v && atomic_read(&v->mappings) > 0)
				devns_fb_kick(fb, msecs_to_jiffies(flush_ms));
			break;
		case DEVNS_EVENT_DEACTIVATE:
			if (v && fb->active == v)
				fb->active = NULL;
			break;
		case DEVNS_EVENT_DESTROY:
			if (!v)
				break;
			if (fb->active == v)
				fb->active = NULL;
			list_del(&v->node);
			v->linked = false;
			/* Open files and mappings keep the buffer until closed. */
			devns_fb_view_put(v);
			break;
		}
		mutex_unlock(&fb->lock);
	}
	return NOTIFY_OK;
}

static struct notifier_block devns_fb_nb = {
	.notifier_call = devns_fb_event,
};

static int devns_fb_debugfs_show(struct seq_file *m, void *unused)
{
	struct devns_fb_view *v;
	struct devns_fb *fb;

	list_for_each_entry(fb, &devns_fbs, node) {
		mutex_lock(&fb->lock);
		seq_printf(m, "%s fb%d %ux%u %ubpp pitch %u buffer_bytes %zu flushes %llu rows_copied %llu\n",
			   fb->name, fb->index, fb->var.xres, fb->var.yres,
			   fb->var.bits_per_pixel, fb->fix.line_length, fb->size,
			   fb->flushes, fb->rows_copied);
		list_for_each_entry(v, &fb->views, node)
			seq_printf(m, "  %s mappings %d active %d yoffset %u\n",
				   devns_name(v->ns), atomic_read(&v->mappings),
				   fb->active == v, v->yoffset);
		mutex_unlock(&fb->lock);
	}
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(devns_fb_debugfs);

static void devns_fb_free(struct devns_fb *fb)
{
	vfree(fb->shown);
	if (fb->real)
		fput(fb->real);
	kfree(fb);
}

static int devns_fb_attach(int index)
{
	struct devns_fb *fb;
	struct fb_info *info;
	struct file *real;
	struct inode *inode;
	char path[16];
	int ret;

	snprintf(path, sizeof(path), "/dev/fb%d", index);
	real = filp_open(path, O_RDWR, 0);
	if (IS_ERR(real))
		return PTR_ERR(real);
	inode = file_inode(real);
	if (!S_ISCHR(inode->i_mode) || imajor(inode) != FB_MAJOR ||
	    iminor(inode) != index || !real->private_data) {
		fput(real);
		return -ENODEV;
	}
	info = real->private_data;

	fb = kzalloc(sizeof(*fb), GFP_KERNEL);
	if (!fb) {
		fput(real);
		return -ENOMEM;
	}
	fb->real = real;
	fb->info = info;
	fb->index = index;
	mutex_init(&fb->lock);
	INIT_LIST_HEAD(&fb->views);
	INIT_DELAYED_WORK(&fb->flush_work, devns_fb_flush_work);

	lock_fb_info(info);
	fb->var = info->var;
	fb->fix = info->fix;
	fb->real_limit = info->screen_size ?: info->fix.smem_len;
	unlock_fb_info(info);

	if (fb->fix.type != FB_TYPE_PACKED_PIXELS ||
	    fb->fix.visual != FB_VISUAL_TRUECOLOR || !fb->fix.line_length ||
	    fb->var.yres > fb->var.yres_virtual || !info->screen_base) {
		pr_info("fb%d: not a packed true-colour framebuffer, not multiplexed\n", index);
		ret = -ENODEV;
		goto err;
	}
	fb->size = PAGE_ALIGN((size_t)fb->fix.line_length * fb->var.yres_virtual);
	fb->shown = vzalloc((size_t)fb->fix.line_length * fb->var.yres);
	if (!fb->shown) {
		ret = -ENOMEM;
		goto err;
	}
	snprintf(fb->name, sizeof(fb->name), "devns-fb%d", index);
	fb->misc.minor = MISC_DYNAMIC_MINOR;
	fb->misc.name = fb->name;
	fb->misc.fops = &devns_fb_fops;
	fb->misc.mode = 0660;
	ret = misc_register(&fb->misc);
	if (ret)
		goto err;
	list_add_tail(&fb->node, &devns_fbs);
	pr_info("%s: over fb%d (%s), %ux%u, %zu bytes per namespace\n", fb->name,
		index, fb->fix.id, fb->var.xres, fb->var.yres, fb->size);
	return 0;

err:
	devns_fb_free(fb);
	return ret;
}

int devns_fb_init(void)
{
	int i, ret;

	ret = devns_register_notifier(&devns_fb_nb);
	if (ret)
		return ret;
	for (i = 0; i < FB_MAX; i++)
		devns_fb_attach(i);
	debugfs_create_file("fb", 0444, devns_debugfs, NULL, &devns_fb_debugfs_fops);
	return 0;
}

/* Every namespace is gone and no file is open: no views remain. */
void devns_fb_exit(void)
{
	struct devns_fb *fb, *tmp;

	devns_unregister_notifier(&devns_fb_nb);
	list_for_each_entry_safe(fb, tmp, &devns_fbs, node) {
		misc_deregister(&fb->misc);
		cancel_delayed_work_sync(&fb->flush_work);
		WARN_ON(!list_empty(&fb->views));
		list_del(&fb->node);
		devns_fb_free(fb);
	}
}
