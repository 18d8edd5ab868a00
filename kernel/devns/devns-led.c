// SPDX-License-Identifier: GPL-2.0
/*
 * devns: LED shadows.
 *
 * For each live namespace and each real LED class device there is a shadow
 * LED class device named "devns-<namespace>-<real name>" (cut to the LED
 * core's 63 characters). A write to a shadow is kept; while the namespace
 * is active on the module's seat it also reaches the real LED, and when the
 * namespace becomes active every kept value is applied (devns-shadow.c).
 *
 * Following real LEDs: the LED class has no notifier and leds_class is not
 * exported, so the module learns the class from a probe LED it registers
 * and removes at load, then puts a class_interface on it. Its remove_dev
 * runs synchronously inside device_del(), before the LED's driver frees it,
 * so the module stops using a real LED in time. add_dev runs before the LED
 * core has finished setting the LED up; the LED is ready once it is on
 * leds_list. add_dev and remove_dev run under the class's mutex, which
 * registering a shadow takes too.
 *
 * The LED core may set a brightness in atomic context, so kept values are
 * under the class's vlock.
 */
#include <linux/build_bug.h>
#include <linux/device.h>
#include <linux/leds.h>
#include <linux/rwsem.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "devns-internal.h"

/* Exported by the LED core, declared in its private header. */
extern struct rw_semaphore leds_list_lock;
extern struct list_head leds_list;

/* The LED core cuts names to 63 characters (LED_MAX_NAME_SIZE there). */
#define DEVNS_LED_NAME_SIZE 64
static_assert(DEVNS_LED_NAME_SIZE <= DEVNS_SHADOW_NAME_SIZE);

struct devns_led_real {
	struct devns_shadow_real base;	/* key: the LED's struct device */
	struct led_classdev *cdev;	/* valid while !base.gone */
	unsigned int max_brightness;	/* once ready */
};
static_assert(offsetof(struct devns_led_real, base) == 0);

struct devns_led_shadow {
	struct devns_shadow base;
	struct led_classdev cdev;
};
static_assert(offsetof(struct devns_led_shadow, base) == 0);

static struct devns_shadow_class devns_led_shadows;

static struct devns_led_real *devns_led_real(struct devns_shadow_real *real)
{
	return container_of(real, struct devns_led_real, base);
}

static void devns_led_shadow_set(struct led_classdev *cdev, enum led_brightness b)
{
	struct devns_led_shadow *sh = container_of(cdev, struct devns_led_shadow, cdev);
	unsigned long flags;

	spin_lock_irqsave(&devns_led_shadows.vlock, flags);
	if (devns_shadow_keep(&sh->base, b))
		led_set_brightness(devns_led_real(sh->base.real)->cdev, b);
	spin_unlock_irqrestore(&devns_led_shadows.vlock, flags);
}

static void devns_led_probe_set(struct led_classdev *cdev, enum led_brightness b)
{
}

static struct led_classdev devns_led_probe = {
	.name = "devns-probe",
	.brightness_set = devns_led_probe_set,
	.max_brightness = 1,
	.flags = LED_RETAIN_AT_SHUTDOWN,
};

static bool devns_led_on_list(struct led_classdev *cdev)
{
	struct led_classdev *it;
	bool found = false;

	down_read(&leds_list_lock);
	list_for_each_entry(it, &leds_list, node) {
		if (it == cdev) {
			found = true;
			break;
		}
	}
	up_read(&leds_list_lock);
	return found;
}

static bool devns_led_ready(struct devns_shadow_real *base)
{
	struct devns_led_real *real = devns_led_real(base);

	if (!devns_led_on_list(real->cdev))
		return false;
	real->max_brightness = real->cdev->max_brightness;
	return true;
}

static int devns_led_register(struct devns_shadow *base)
{
	struct devns_led_shadow *sh = container_of(base, struct devns_led_shadow, base);

	sh->cdev.name = base->name;
	sh->cdev.max_brightness = devns_led_real(base->real)->max_brightness;
	sh->cdev.brightness_set = devns_led_shadow_set;
	/* Unregistering must not switch the real LED off. */
	sh->cdev.flags = LED_RETAIN_AT_SHUTDOWN;
	return led_classdev_register(NULL, &sh->cdev);
}

static void devns_led_unregister(struct devns_shadow *base)
{
	struct devns_led_shadow *sh = container_of(base, struct devns_led_shadow, base);

	led_classdev_unregister(&sh->cdev);
}

static void devns_led_apply(struct devns_shadow *sh)
{
	unsigned long flags;

	spin_lock_irqsave(&devns_led_shadows.vlock, flags);
	if (devns_shadow_has_kept(sh))
		led_set_brightness(devns_led_real(sh->real)->cdev, sh->kept);
	spin_unlock_irqrestore(&devns_led_shadows.vlock, flags);
}

static int devns_led_add_dev(struct device *dev, struct class_interface *intf)
{
	struct led_classdev *cdev = dev_get_drvdata(dev);
	struct devns_led_real *real;

	if (!cdev || cdev == &devns_led_probe || cdev->brightness_set == devns_led_shadow_set)
		return 0;
	real = kzalloc(sizeof(*real), GFP_KERNEL);
	if (!real)
		return 0;	/* not followed; the LED itself is fine */
	real->base.key = dev;
	real->cdev = cdev;
	strscpy(real->base.name, dev_name(dev), sizeof(real->base.name));
	/* Its shadows come from the worker: registering takes the class mutex we run under. */
	devns_shadow_add_real(&devns_led_shadows, &real->base);
	return 0;
}

static void devns_led_remove_dev(struct device *dev, struct class_interface *intf)
{
	devns_shadow_remove_real(&devns_led_shadows, dev);
}

static struct class_interface devns_led_intf = {
	.add_dev = devns_led_add_dev,
	.remove_dev = devns_led_remove_dev,
};

static int devns_led_follow(void)
{
	/* Calls add_dev for every LED there is already. */
	return class_interface_register(&devns_led_intf);
}

static void devns_led_unfollow(void)
{
	/* Calls remove_dev for every LED: all are marked gone. */
	class_interface_unregister(&devns_led_intf);
}

static void devns_led_show_real(struct seq_file *m, struct devns_shadow_real *real)
{
	seq_printf(m, "real %s ready %d\n", real->name, real->ready);
}

static const struct devns_shadow_ops devns_led_shadow_ops = {
	.what = "LED",
	.debugfs = "leds",
	.name_size = DEVNS_LED_NAME_SIZE,
	.shadow_size = sizeof(struct devns_led_shadow),
	.follow = devns_led_follow,
	.unfollow = devns_led_unfollow,
	.ready = devns_led_ready,
	.register_shadow = devns_led_register,
	.unregister_shadow = devns_led_unregister,
	.apply = devns_led_apply,
	.show_real = devns_led_show_real,
};

static DEVNS_SHADOW_CLASS(devns_led_shadows, &devns_led_shadow_ops);

int devns_led_init(void)
{
	int ret;

	ret = led_classdev_register(NULL, &devns_led_probe);
	if (ret)
		return ret;
	devns_led_intf.class = devns_led_probe.dev->class;
	led_classdev_unregister(&devns_led_probe);

	return devns_shadow_init(&devns_led_shadows);
}

void devns_led_exit(void)
{
	devns_shadow_exit(&devns_led_shadows);
}
