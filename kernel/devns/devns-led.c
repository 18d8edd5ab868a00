// SPDX-License-Identifier: GPL-2.0
/*
 * devns: LED shadows.
 *
 * For each live namespace and each real LED class device there is a shadow
 * LED class device named "devns-<namespace>-<real name>" (cut to the LED
 * core's 63 characters). A write to a shadow is kept; while the namespace
 * is active on the module's seat it also reaches the real LED, and when the
 * namespace becomes active every kept value is applied.
 *
 * Following real LEDs: the LED class has no notifier and leds_class is not
 * exported, so the module learns the class from a probe LED it registers
 * and removes at load, then puts a class_interface on it. Its remove_dev
 * runs synchronously inside device_del(), before the LED's driver frees it,
 * so the module stops using a real LED in time. add_dev runs before the LED
 * core has finished setting the LED up; the LED is adopted by the worker
 * once it is on leds_list. Shadows are registered and unregistered by that
 * one worker, never under a lock that add_dev/remove_dev take (they run
 * under the class's mutex, which registering a shadow takes too).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/device.h>
#include <linux/leds.h>
#include <linux/module.h>
#include <linux/rwsem.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "devns-internal.h"

/* Exported by the LED core, declared in its private header. */
extern struct rw_semaphore leds_list_lock;
extern struct list_head leds_list;

/* The LED core cuts names to 63 characters (LED_MAX_NAME_SIZE there). */
#define DEVNS_LED_NAME_SIZE 64

struct devns_led_real {
	struct kref kref;
	struct list_head node;		/* in devns_led_reals while present */
	struct led_classdev *cdev;	/* NULL once removed (both locks) */
	struct device *dev;
	bool ready;			/* registration finished */
	unsigned int max_brightness;
	char name[DEVNS_LED_NAME_SIZE];
};

struct devns_led_shadow {
	struct list_head node;		/* in devns_led_shadows */
	struct led_classdev cdev;
	char name[DEVNS_LED_NAME_SIZE];
	struct devns *ns;		/* reference */
	struct devns_led_real *real;	/* reference */
	/* Under devns_led_slock: */
	enum led_brightness kept;
	bool written;
	bool dying;
};

/* Lists, ready flags. Taken in remove_dev, under the class's mutex. */
static DEFINE_MUTEX(devns_led_lock);
/* Kept values and real->cdev: the LED core may set brightness in atomic context. */
static DEFINE_SPINLOCK(devns_led_slock);
static LIST_HEAD(devns_led_reals);
static LIST_HEAD(devns_led_shadows);
static void devns_led_reconcile(struct work_struct *work);
static DECLARE_DELAYED_WORK(devns_led_work, devns_led_reconcile);

static void devns_led_real_release(struct kref *kref)
{
	kfree(container_of(kref, struct devns_led_real, kref));
}

static void devns_led_real_put(struct devns_led_real *real)
{
	kref_put(&real->kref, devns_led_real_release);
}

static void devns_led_shadow_set(struct led_classdev *cdev, enum led_brightness b)
{
	struct devns_led_shadow *sh = container_of(cdev, struct devns_led_shadow, cdev);
	unsigned long flags;

	spin_lock_irqsave(&devns_led_slock, flags);
	if (!sh->dying) {
		sh->kept = b;
		sh->written = true;
		if (sh->real->cdev && sh->real->ready && devns_drives_hw(sh->ns))
			led_set_brightness(sh->real->cdev, b);
	}
	spin_unlock_irqrestore(&devns_led_slock, flags);
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

static struct devns_led_shadow *devns_led_find_shadow(struct devns *ns,
						      struct devns_led_real *real)
{
	struct devns_led_shadow *sh;

	lockdep_assert_held(&devns_led_lock);
	list_for_each_entry(sh, &devns_led_shadows, node)
		if (sh->ns == ns && sh->real == real)
			return sh;
	return NULL;
}

static void devns_led_shadow_free(struct devns_led_shadow *sh)
{
	led_classdev_unregister(&sh->cdev);
	devns_put(sh->ns);
	devns_led_real_put(sh->real);
	kfree(sh);
}

/* Remove shadows of dead namespaces and gone LEDs. */
static void devns_led_reap(void)
{
	struct devns_led_shadow *sh, *tmp;
	unsigned long flags;
	LIST_HEAD(dead);

	mutex_lock(&devns_led_lock);
	list_for_each_entry_safe(sh, tmp, &devns_led_shadows, node) {
		if (sh->real->cdev && devns_alive(sh->ns))
			continue;
		spin_lock_irqsave(&devns_led_slock, flags);
		sh->dying = true;
		spin_unlock_irqrestore(&devns_led_slock, flags);
		list_move_tail(&sh->node, &dead);
	}
	mutex_unlock(&devns_led_lock);

	list_for_each_entry_safe(sh, tmp, &dead, node) {
		list_del(&sh->node);
		devns_led_shadow_free(sh);
	}
}

/* Find a live namespace and a ready real LED without a shadow, and make one. */
static bool devns_led_add_one(struct devns **all, int n)
{
	struct devns_led_real *real = NULL, *r;
	struct devns_led_shadow *sh;
	struct devns *ns = NULL;
	int i, ret;

	mutex_lock(&devns_led_lock);
	for (i = 0; i < n && !real; i++) {
		if (!devns_alive(all[i]))
			continue;
		list_for_each_entry(r, &devns_led_reals, node) {
			if (r->ready && r->cdev && !devns_led_find_shadow(all[i], r)) {
				kref_get(&r->kref);
				real = r;
				ns = all[i];
				break;
			}
		}
	}
	mutex_unlock(&devns_led_lock);
	if (!real)
		return false;

	sh = kzalloc(sizeof(*sh), GFP_KERNEL);
	if (!sh) {
		devns_led_real_put(real);
		return false;
	}
	snprintf(sh->name, sizeof(sh->name), "devns-%s-%s", devns_name(ns), real->name);
	sh->ns = devns_get(ns);
	sh->real = real;
	sh->cdev.name = sh->name;
	sh->cdev.max_brightness = real->max_brightness;
	sh->cdev.brightness_set = devns_led_shadow_set;
	/* Unregistering must not switch the real LED off. */
	sh->cdev.flags = LED_RETAIN_AT_SHUTDOWN;
	ret = led_classdev_register(NULL, &sh->cdev);
	if (ret) {
		pr_info("%s: cannot register the shadow LED (%d)\n", sh->name, ret);
		devns_put(sh->ns);
		devns_led_real_put(real);
		kfree(sh);
		return false;
	}
	mutex_lock(&devns_led_lock);
	list_add_tail(&sh->node, &devns_led_shadows);
	mutex_unlock(&devns_led_lock);
	/* Had the LED or namespace gone meanwhile, the next run reaps it. */
	return true;
}

static void devns_led_reconcile(struct work_struct *work)
{
	struct devns_led_real *real;
	bool pending = false;
	struct devns **all;
	int n;

	mutex_lock(&devns_led_lock);
	list_for_each_entry(real, &devns_led_reals, node) {
		if (real->ready || !real->cdev)
			continue;
		if (devns_led_on_list(real->cdev)) {
			real->max_brightness = real->cdev->max_brightness;
			real->ready = true;
		} else {
			pending = true;
		}
	}
	mutex_unlock(&devns_led_lock);

	devns_led_reap();
	n = devns_snapshot(&all);
	if (n > 0) {
		while (devns_led_add_one(all, n))
			;
		devns_snapshot_free(all, n);
	}
	if (pending)
		schedule_delayed_work(&devns_led_work, HZ / 20);
}

static void devns_led_sync(void)
{
	mod_delayed_work(system_wq, &devns_led_work, 0);
	flush_delayed_work(&devns_led_work);
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
	kref_init(&real->kref);
	real->cdev = cdev;
	real->dev = dev;
	strscpy(real->name, dev_name(dev), sizeof(real->name));
	mutex_lock(&devns_led_lock);
	list_add_tail(&real->node, &devns_led_reals);
	mutex_unlock(&devns_led_lock);
	/* Not synchronously: registering shadows needs the class mutex we run under. */
	mod_delayed_work(system_wq, &devns_led_work, 0);
	return 0;
}

static void devns_led_remove_dev(struct device *dev, struct class_interface *intf)
{
	struct devns_led_real *real, *found = NULL;
	unsigned long flags;

	mutex_lock(&devns_led_lock);
	list_for_each_entry(real, &devns_led_reals, node) {
		if (real->dev == dev) {
			found = real;
			break;
		}
	}
	if (found) {
		spin_lock_irqsave(&devns_led_slock, flags);
		found->cdev = NULL;	/* never touched again */
		spin_unlock_irqrestore(&devns_led_slock, flags);
		list_del(&found->node);
	}
	mutex_unlock(&devns_led_lock);
	if (found) {
		devns_led_real_put(found);
		mod_delayed_work(system_wq, &devns_led_work, 0);
	}
}

static struct class_interface devns_led_intf = {
	.add_dev = devns_led_add_dev,
	.remove_dev = devns_led_remove_dev,
};

static void devns_led_activate(struct devns *ns)
{
	struct devns_led_shadow *sh;
	unsigned long flags;

	mutex_lock(&devns_led_lock);
	list_for_each_entry(sh, &devns_led_shadows, node) {
		if (sh->ns != ns)
			continue;
		spin_lock_irqsave(&devns_led_slock, flags);
		if (sh->written && !sh->dying && sh->real->cdev && sh->real->ready)
			led_set_brightness(sh->real->cdev, sh->kept);
		spin_unlock_irqrestore(&devns_led_slock, flags);
	}
	mutex_unlock(&devns_led_lock);
}

static int devns_led_event(struct notifier_block *nb, unsigned long event, void *data)
{
	struct devns *ns = data;

	switch (event) {
	case DEVNS_EVENT_CREATE:
	case DEVNS_EVENT_DESTROY:
		/* The shadows exist (or are gone) when the ioctl returns. */
		devns_led_sync();
		break;
	case DEVNS_EVENT_ACTIVATE:
		if (devns_drives_hw(ns))
			devns_led_activate(ns);
		break;
	}
	return NOTIFY_OK;
}

static struct notifier_block devns_led_nb = {
	.notifier_call = devns_led_event,
};

static int devns_led_debugfs_show(struct seq_file *m, void *unused)
{
	struct devns_led_shadow *sh;
	struct devns_led_real *real;

	mutex_lock(&devns_led_lock);
	list_for_each_entry(real, &devns_led_reals, node)
		seq_printf(m, "real %s ready %d\n", real->name, real->ready);
	list_for_each_entry(sh, &devns_led_shadows, node)
		seq_printf(m, "shadow %s of %s kept %d written %d\n", sh->name,
			   sh->real->name, sh->kept, sh->written);
	mutex_unlock(&devns_led_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(devns_led_debugfs);

int devns_led_init(void)
{
	int ret;

	ret = led_classdev_register(NULL, &devns_led_probe);
	if (ret)
		return ret;
	devns_led_intf.class = devns_led_probe.dev->class;
	led_classdev_unregister(&devns_led_probe);

	ret = devns_register_notifier(&devns_led_nb);
	if (ret)
		return ret;
	/* Calls add_dev for every LED there is already. */
	ret = class_interface_register(&devns_led_intf);
	if (ret) {
		devns_unregister_notifier(&devns_led_nb);
		return ret;
	}
	debugfs_create_file("leds", 0444, devns_debugfs, NULL, &devns_led_debugfs_fops);
	return 0;
}

void devns_led_exit(void)
{
	struct devns_led_real *real, *tmp;

	devns_unregister_notifier(&devns_led_nb);
	/* Calls remove_dev for every LED: all are marked gone. */
	class_interface_unregister(&devns_led_intf);
	cancel_delayed_work_sync(&devns_led_work);
	/* No namespace is left, so this unregisters every shadow. */
	devns_led_reap();
	list_for_each_entry_safe(real, tmp, &devns_led_reals, node) {
		list_del(&real->node);
		devns_led_real_put(real);
	}
}
