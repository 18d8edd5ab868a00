// SPDX-License-Identifier: GPL-2.0
/*
 * devns: backlight shadows.
 *
 * For each live namespace and each real backlight device there is a shadow
 * backlight device named "devns-<namespace>-<real name>". A brightness
 * written to a shadow is kept; while the namespace is active on the
 * module's seat it also reaches the real device, and when the namespace
 * becomes active every kept value is applied (devns-shadow.c).
 *
 * Following real devices: the backlight core's notifier reports each
 * device once it is fully registered and again before it is unregistered
 * (while its ops are still there). Devices present at load are found by
 * walking the backlight class, whose pointer the module learns from a probe
 * device it registers and removes at load (backlight_class is static).
 * Shadows are registered by the worker, never from inside the notifier,
 * which the registration itself calls.
 *
 * Shadows are written in process context, under their ops_lock: kept values
 * are under the class's lock.
 */
#include <linux/backlight.h>
#include <linux/build_bug.h>
#include <linux/device.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "devns-internal.h"

struct devns_bl_real {
	struct devns_shadow_real base;	/* key: bd */
	struct backlight_device *bd;	/* device reference until forgotten */
	int max_brightness;
	int brightness;
};
static_assert(offsetof(struct devns_bl_real, base) == 0);

struct devns_bl_shadow {
	struct devns_shadow base;
	struct backlight_device *bd;
};
static_assert(offsetof(struct devns_bl_shadow, base) == 0);

static struct devns_shadow_class devns_bl_shadows;
/* Learnt at load from a probe device. */
static struct class *devns_bl_class;

static struct devns_bl_real *devns_bl_real(struct devns_shadow_real *real)
{
	return container_of(real, struct devns_bl_real, base);
}

static int devns_bl_update_status(struct backlight_device *bd)
{
	struct devns_bl_shadow *sh = bl_get_data(bd);
	int ret = 0;

	mutex_lock(&devns_bl_shadows.lock);
	if (devns_shadow_keep(&sh->base, bd->props.brightness))
		ret = backlight_device_set_brightness(devns_bl_real(sh->base.real)->bd,
						      sh->base.kept);
	mutex_unlock(&devns_bl_shadows.lock);
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

static void devns_bl_forget(struct devns_shadow_real *real)
{
	put_device(&devns_bl_real(real)->bd->dev);
}

static int devns_bl_register(struct devns_shadow *base)
{
	struct devns_bl_shadow *sh = container_of(base, struct devns_bl_shadow, base);
	struct devns_bl_real *real = devns_bl_real(base->real);
	struct backlight_properties props = {
		.type = BACKLIGHT_RAW,
		.max_brightness = real->max_brightness,
		.brightness = real->brightness,
	};

	sh->bd = backlight_device_register(base->name, NULL, sh, &devns_bl_ops, &props);
	return PTR_ERR_OR_ZERO(sh->bd);
}

static void devns_bl_unregister(struct devns_shadow *base)
{
	struct devns_bl_shadow *sh = container_of(base, struct devns_bl_shadow, base);

	backlight_device_unregister(sh->bd);
}

static void devns_bl_apply(struct devns_shadow *sh)
{
	if (devns_shadow_has_kept(sh))
		backlight_device_set_brightness(devns_bl_real(sh->real)->bd, sh->kept);
}

static void devns_bl_add_real(struct backlight_device *bd)
{
	struct devns_bl_real *real;

	if (!bd->ops || bd->ops == &devns_bl_ops || bd->ops == &devns_bl_probe_ops)
		return;
	real = kzalloc(sizeof(*real), GFP_KERNEL);
	if (!real)
		return;
	get_device(&bd->dev);
	real->base.key = bd;
	real->bd = bd;
	real->max_brightness = bd->props.max_brightness;
	real->brightness = bd->props.brightness;
	strscpy(real->base.name, dev_name(&bd->dev), sizeof(real->base.name));
	devns_shadow_add_real(&devns_bl_shadows, &real->base);
}

static int devns_bl_changed(struct notifier_block *nb, unsigned long event, void *data)
{
	struct backlight_device *bd = data;

	if (event == BACKLIGHT_REGISTERED)
		devns_bl_add_real(bd);
	else if (event == BACKLIGHT_UNREGISTERED)
		devns_shadow_remove_real(&devns_bl_shadows, bd);
	return NOTIFY_OK;
}

static struct notifier_block devns_bl_changed_nb = {
	.notifier_call = devns_bl_changed,
};

static int devns_bl_add_existing(struct device *dev, void *data)
{
	devns_bl_add_real(to_backlight_device(dev));
	return 0;
}

static int devns_bl_follow(void)
{
	int ret;

	ret = backlight_register_notifier(&devns_bl_changed_nb);
	if (ret)
		return ret;
	/* After the notifier, so none is missed; duplicates are ignored. */
	class_for_each_device(devns_bl_class, NULL, NULL, devns_bl_add_existing);
	return 0;
}

static void devns_bl_unfollow(void)
{
	backlight_unregister_notifier(&devns_bl_changed_nb);
}

static void devns_bl_show_real(struct seq_file *m, struct devns_shadow_real *real)
{
	seq_printf(m, "real %s max %d\n", real->name, devns_bl_real(real)->max_brightness);
}

static const struct devns_shadow_ops devns_bl_shadow_ops = {
	.what = "backlight",
	.debugfs = "backlights",
	.name_size = DEVNS_SHADOW_NAME_SIZE,
	.shadow_size = sizeof(struct devns_bl_shadow),
	.follow = devns_bl_follow,
	.unfollow = devns_bl_unfollow,
	.forget = devns_bl_forget,
	.register_shadow = devns_bl_register,
	.unregister_shadow = devns_bl_unregister,
	.apply = devns_bl_apply,
	.show_real = devns_bl_show_real,
};

static DEVNS_SHADOW_CLASS(devns_bl_shadows, &devns_bl_shadow_ops);

int devns_backlight_init(void)
{
	struct backlight_properties props = {
		.type = BACKLIGHT_RAW,
		.max_brightness = 1,
	};
	struct backlight_device *probe;

	probe = backlight_device_register("devns-probe", NULL, NULL, &devns_bl_probe_ops, &props);
	if (IS_ERR(probe))
		return PTR_ERR(probe);
	devns_bl_class = probe->dev.class;
	backlight_device_unregister(probe);

	return devns_shadow_init(&devns_bl_shadows);
}

void devns_backlight_exit(void)
{
	devns_shadow_exit(&devns_bl_shadows);
}
