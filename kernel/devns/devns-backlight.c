// SPDX-License-Identifier: GPL-2.0
/*
 * devns: backlight shadows.
 *
 * For each live namespace and each real backlight device there is a shadow
 * backlight device named "devns-<namespace>-<real name>". A brightness
 * written to a shadow is kept; while the namespace is active on the
 * module's seat it also reaches the real device, and when the namespace
 * becomes active every kept value is applied.
 *
 * Following real devices: the backlight core's notifier reports each
 * device once it is fully registered and again before it is unregistered
 * (while its ops are still there). Devices present at load are found by
 * walking the backlight class, whose pointer the module learns from a probe
 * device it registers and removes at load (backlight_class is static).
 * Shadows are registered by one worker, never from inside the notifier,
 * which the registration itself calls.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/backlight.h>
#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/module.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "devns-internal.h"

struct devns_bl_real {
	struct kref kref;
	struct list_head node;		/* in devns_bl_reals while present */
	struct backlight_device *bd;	/* NULL once gone; device reference */
	struct backlight_device *key;	/* identity, never dereferenced */
	int max_brightness;
	int brightness;
	char name[64];
};

struct devns_bl_shadow {
	struct list_head node;		/* in devns_bl_shadows */
	struct backlight_device *bd;
	char name[96];
	struct devns *ns;		/* reference */
	struct devns_bl_real *real;	/* reference */
	int kept;
	bool written;
	bool dying;
};

/* Everything here; taken under a shadow's ops_lock (update_status). */
static DEFINE_MUTEX(devns_bl_lock);
static LIST_HEAD(devns_bl_reals);
static LIST_HEAD(devns_bl_shadows);
static void devns_bl_reconcile(struct work_struct *work);
static DECLARE_WORK(devns_bl_work, devns_bl_reconcile);

static void devns_bl_real_release(struct kref *kref)
{
	struct devns_bl_real *real = container_of(kref, struct devns_bl_real, kref);

	if (real->bd)
		put_device(&real->bd->dev);
	kfree(real);
}

static void devns_bl_real_put(struct devns_bl_real *real)
{
	kref_put(&real->kref, devns_bl_real_release);
}

static int devns_bl_update_status(struct backlight_device *bd)
{
	struct devns_bl_shadow *sh = bl_get_data(bd);
	int ret = 0;

	mutex_lock(&devns_bl_lock);
	if (!sh->dying) {
		sh->kept = bd->props.brightness;
		sh->written = true;
		if (sh->real->bd && devns_drives_hw(sh->ns))
			ret = backlight_device_set_brightness(sh->real->bd, sh->kept);
	}
	mutex_unlock(&devns_bl_lock);
	return ret;
}

/* Shadows follow no framebuffer's blanking. */
static int devns_bl_check_fb(struct backlight_device *bd, struct fb_info *info)
{
	return 0;
}

static const struct backlight_ops devns_bl_ops = {
	.update_status = devns_bl_update_status,
	.check_fb = devns_bl_check_fb,
};

static const struct backlight_ops devns_bl_probe_ops = {
	.check_fb = devns_bl_check_fb,
};

static struct devns_bl_real *devns_bl_find_real(struct backlight_device *bd)
{
	struct devns_bl_real *real;

	lockdep_assert_held(&devns_bl_lock);
	list_for_each_entry(real, &devns_bl_reals, node)
		if (real->key == bd)
			return real;
	return NULL;
}

static void devns_bl_add_real(struct backlight_device *bd)
{
	struct devns_bl_real *real;

	if (!bd->ops || bd->ops == &devns_bl_ops || bd->ops == &devns_bl_probe_ops)
		return;
	real = kzalloc(sizeof(*real), GFP_KERNEL);
	if (!real)
		return;
	kref_init(&real->kref);
	get_device(&bd->dev);
	real->bd = bd;
	real->key = bd;
	real->max_brightness = bd->props.max_brightness;
	real->brightness = bd->props.brightness;
	strscpy(real->name, dev_name(&bd->dev), sizeof(real->name));
	mutex_lock(&devns_bl_lock);
	if (devns_bl_find_real(bd)) {
		mutex_unlock(&devns_bl_lock);
		devns_bl_real_put(real);
		return;
	}
	list_add_tail(&real->node, &devns_bl_reals);
	mutex_unlock(&devns_bl_lock);
	schedule_work(&devns_bl_work);
}

static void devns_bl_remove_real(struct backlight_device *bd)
{
	struct devns_bl_real *real;
	struct backlight_device *held = NULL;

	mutex_lock(&devns_bl_lock);
	real = devns_bl_find_real(bd);
	if (real) {
		held = real->bd;
		real->bd = NULL;	/* never touched again */
		list_del(&real->node);
	}
	mutex_unlock(&devns_bl_lock);
	if (real) {
		put_device(&held->dev);
		devns_bl_real_put(real);
		schedule_work(&devns_bl_work);
	}
}

static struct devns_bl_shadow *devns_bl_find_shadow(struct devns *ns, struct devns_bl_real *real)
{
	struct devns_bl_shadow *sh;

	lockdep_assert_held(&devns_bl_lock);
	list_for_each_entry(sh, &devns_bl_shadows, node)
		if (sh->ns == ns && sh->real == real)
			return sh;
	return NULL;
}

static void devns_bl_reap(void)
{
	struct devns_bl_shadow *sh, *tmp;
	LIST_HEAD(dead);

	mutex_lock(&devns_bl_lock);
	list_for_each_entry_safe(sh, tmp, &devns_bl_shadows, node) {
		if (sh->real->bd && devns_alive(sh->ns))
			continue;
		sh->dying = true;
		list_move_tail(&sh->node, &dead);
	}
	mutex_unlock(&devns_bl_lock);

	list_for_each_entry_safe(sh, tmp, &dead, node) {
		list_del(&sh->node);
		backlight_device_unregister(sh->bd);
		devns_put(sh->ns);
		devns_bl_real_put(sh->real);
		kfree(sh);
	}
}

static bool devns_bl_add_one(struct devns **all, int n)
{
	struct devns_bl_real *real = NULL, *r;
	struct backlight_properties props = { .type = BACKLIGHT_RAW };
	struct devns_bl_shadow *sh;
	struct devns *ns = NULL;
	int i;

	mutex_lock(&devns_bl_lock);
	for (i = 0; i < n && !real; i++) {
		if (!devns_alive(all[i]))
			continue;
		list_for_each_entry(r, &devns_bl_reals, node) {
			if (r->bd && !devns_bl_find_shadow(all[i], r)) {
				kref_get(&r->kref);
				real = r;
				ns = all[i];
				break;
			}
		}
	}
	mutex_unlock(&devns_bl_lock);
	if (!real)
		return false;

	sh = kzalloc(sizeof(*sh), GFP_KERNEL);
	if (!sh) {
		devns_bl_real_put(real);
		return false;
	}
	snprintf(sh->name, sizeof(sh->name), "devns-%s-%s", devns_name(ns), real->name);
	sh->ns = devns_get(ns);
	sh->real = real;
	props.max_brightness = real->max_brightness;
	props.brightness = real->brightness;
	sh->bd = backlight_device_register(sh->name, NULL, sh, &devns_bl_ops, &props);
	if (IS_ERR(sh->bd)) {
		pr_info("%s: cannot register the shadow backlight (%ld)\n", sh->name,
			PTR_ERR(sh->bd));
		devns_put(sh->ns);
		devns_bl_real_put(real);
		kfree(sh);
		return false;
	}
	mutex_lock(&devns_bl_lock);
	list_add_tail(&sh->node, &devns_bl_shadows);
	mutex_unlock(&devns_bl_lock);
	return true;
}

static void devns_bl_reconcile(struct work_struct *work)
{
	struct devns **all;
	int n;

	devns_bl_reap();
	n = devns_snapshot(&all);
	if (n > 0) {
		while (devns_bl_add_one(all, n))
			;
		devns_snapshot_free(all, n);
	}
}

static int devns_bl_changed(struct notifier_block *nb, unsigned long event, void *data)
{
	struct backlight_device *bd = data;

	if (event == BACKLIGHT_REGISTERED)
		devns_bl_add_real(bd);
	else if (event == BACKLIGHT_UNREGISTERED)
		devns_bl_remove_real(bd);
	return NOTIFY_OK;
}

static struct notifier_block devns_bl_changed_nb = {
	.notifier_call = devns_bl_changed,
};

static void devns_bl_activate(struct devns *ns)
{
	struct devns_bl_shadow *sh;

	mutex_lock(&devns_bl_lock);
	list_for_each_entry(sh, &devns_bl_shadows, node)
		if (sh->ns == ns && sh->written && !sh->dying && sh->real->bd)
			backlight_device_set_brightness(sh->real->bd, sh->kept);
	mutex_unlock(&devns_bl_lock);
}

static int devns_bl_event(struct notifier_block *nb, unsigned long event, void *data)
{
	struct devns *ns = data;

	switch (event) {
	case DEVNS_EVENT_CREATE:
	case DEVNS_EVENT_DESTROY:
		schedule_work(&devns_bl_work);
		flush_work(&devns_bl_work);
		break;
	case DEVNS_EVENT_ACTIVATE:
		if (devns_drives_hw(ns))
			devns_bl_activate(ns);
		break;
	}
	return NOTIFY_OK;
}

static struct notifier_block devns_bl_nb = {
	.notifier_call = devns_bl_event,
};

static int devns_bl_add_existing(struct device *dev, void *data)
{
	devns_bl_add_real(to_backlight_device(dev));
	return 0;
}

static int devns_bl_debugfs_show(struct seq_file *m, void *unused)
{
	struct devns_bl_shadow *sh;
	struct devns_bl_real *real;

	mutex_lock(&devns_bl_lock);
	list_for_each_entry(real, &devns_bl_reals, node)
		seq_printf(m, "real %s max %d\n", real->name, real->max_brightness);
	list_for_each_entry(sh, &devns_bl_shadows, node)
		seq_printf(m, "shadow %s of %s kept %d written %d\n", sh->name,
			   sh->real->name, sh->kept, sh->written);
	mutex_unlock(&devns_bl_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(devns_bl_debugfs);

int devns_backlight_init(void)
{
	struct backlight_properties props = {
		.type = BACKLIGHT_RAW,
		.max_brightness = 1,
	};
	struct backlight_device *probe;
	struct class *cls;
	int ret;

	probe = backlight_device_register("devns-probe", NULL, NULL, &devns_bl_probe_ops, &props);
	if (IS_ERR(probe))
		return PTR_ERR(probe);
	cls = probe->dev.class;
	backlight_device_unregister(probe);

	ret = devns_register_notifier(&devns_bl_nb);
	if (ret)
		return ret;
	ret = backlight_register_notifier(&devns_bl_changed_nb);
	if (ret) {
		devns_unregister_notifier(&devns_bl_nb);
		return ret;
	}
	/* After the notifier, so none is missed; duplicates are ignored. */
	class_for_each_device(cls, NULL, NULL, devns_bl_add_existing);
	debugfs_create_file("backlights", 0444, devns_debugfs, NULL, &devns_bl_debugfs_fops);
	return 0;
}

void devns_backlight_exit(void)
{
	struct devns_bl_real *real, *tmp;

	devns_unregister_notifier(&devns_bl_nb);
	backlight_unregister_notifier(&devns_bl_changed_nb);
	cancel_work_sync(&devns_bl_work);
	mutex_lock(&devns_bl_lock);
	list_for_each_entry_safe(real, tmp, &devns_bl_reals, node) {
		list_del(&real->node);
		put_device(&real->bd->dev);
		real->bd = NULL;
		devns_bl_real_put(real);
	}
	mutex_unlock(&devns_bl_lock);
	/* Every real is gone and no namespace is left: unregisters every shadow. */
	devns_bl_reap();
}
