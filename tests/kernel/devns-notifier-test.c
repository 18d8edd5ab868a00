// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only user of devns's driver API: counts the events of the notifier
 * chain (module parameters, read-only) and tells a reader of
 * debugfs devns-notifier-test/current which namespace it is in and
 * whether that namespace is active.
 */
#include <linux/debugfs.h>
#include <linux/fs.h>
#include <linux/module.h>
#include <linux/string.h>

#include "devns.h"

static int creations, destructions, activations, deactivations;
module_param(creations, int, 0444);
module_param(destructions, int, 0444);
module_param(activations, int, 0444);
module_param(deactivations, int, 0444);
static char last_activated[80] = "";
module_param_string(last_activated, last_activated, sizeof(last_activated), 0444);
static char last_deactivated[80] = "";
module_param_string(last_deactivated, last_deactivated, sizeof(last_deactivated), 0444);

static struct dentry *dir;

static int devns_test_event(struct notifier_block *nb, unsigned long event, void *data)
{
	struct devns *ns = data;

	switch (event) {
	case DEVNS_EVENT_CREATE:
		creations++;
		break;
	case DEVNS_EVENT_DESTROY:
		destructions++;
		break;
	case DEVNS_EVENT_ACTIVATE:
		/* The namespace is active by the time its event arrives. */
		if (devns_is_active(ns))
			activations++;
		strscpy(last_activated, devns_name(ns), sizeof(last_activated));
		break;
	case DEVNS_EVENT_DEACTIVATE:
		if (!devns_is_active(ns))
			deactivations++;
		strscpy(last_deactivated, devns_name(ns), sizeof(last_deactivated));
		break;
	}
	return NOTIFY_OK;
}

static struct notifier_block devns_test_nb = {
	.notifier_call = devns_test_event,
};

static ssize_t current_read(struct file *file, char __user *ubuf, size_t count, loff_t *ppos)
{
	struct devns *ns = devns_get_current();
	char buf[128];
	int len;

	if (ns)
		len = scnprintf(buf, sizeof(buf), "%s %s %u %d\n", devns_name(ns),
				devns_seat(ns), devns_id(ns), devns_is_active(ns));
	else
		len = scnprintf(buf, sizeof(buf), "none\n");
	devns_put(ns);
	return simple_read_from_buffer(ubuf, count, ppos, buf, len);
}

static const struct file_operations current_fops = {
	.owner = THIS_MODULE,
	.read = current_read,
	.llseek = default_llseek,
};

static int __init devns_test_init(void)
{
	int ret = devns_register_notifier(&devns_test_nb);

	if (ret)
		return ret;
	dir = debugfs_create_dir("devns-notifier-test", NULL);
	debugfs_create_file("current", 0444, dir, NULL, &current_fops);
	return 0;
}

static void __exit devns_test_exit(void)
{
	debugfs_remove_recursive(dir);
	devns_unregister_notifier(&devns_test_nb);
}

module_init(devns_test_init);
module_exit(devns_test_exit);
MODULE_DESCRIPTION("devns notifier API test module");
MODULE_LICENSE("GPL");
