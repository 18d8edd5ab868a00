// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only backlight device: records what reaches it. "updates" counts
 * calls of update_status, "value" is the last brightness it was given
 * (-1: none yet).
 */
#include <linux/backlight.h>
#include <linux/err.h>
#include <linux/module.h>

static char *name = "devns-fake";
module_param(name, charp, 0444);
static int updates;
module_param(updates, int, 0444);
static int value = -1;
module_param(value, int, 0444);

static struct backlight_device *bd;

static int fake_update_status(struct backlight_device *b)
{
	updates++;
	value = b->props.brightness;
	return 0;
}

static const struct backlight_ops fake_ops = {
	.update_status = fake_update_status,
};

static int __init fake_init(void)
{
	struct backlight_properties props = {
		.type = BACKLIGHT_RAW,
		.max_brightness = 100,
		.brightness = 50,
	};

	bd = backlight_device_register(name, NULL, NULL, &fake_ops, &props);
	return PTR_ERR_OR_ZERO(bd);
}

static void __exit fake_exit(void)
{
	backlight_device_unregister(bd);
}

module_init(fake_init);
module_exit(fake_exit);
MODULE_DESCRIPTION("Fake backlight device for the devns tests");
MODULE_LICENSE("GPL");
