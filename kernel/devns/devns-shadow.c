// SPDX-License-Identifier: GPL-2.0
/*
 * devns: shadow class devices, what the LED and backlight parts share.
 *
 * The class reports real devices as they come and go. One worker per
 * class reconciles: it removes the shadows of gone reals and dead
 * namespaces and registers the missing ones. Class devices are registered
 * only there, never from the class's callbacks, which run under locks that
 * registering takes too. A real or namespace may go while its shadow is
 * being registered; the next run of the worker reaps that shadow.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "devns-internal.h"

static void devns_shadow_real_release(struct kref *kref)
{
	kfree(container_of(kref, struct devns_shadow_real, kref));
}

static void devns_shadow_real_put(struct devns_shadow_real *real)
{
	kref_put(&real->kref, devns_shadow_real_release);
}

/* Let go of @real: it is off the reals list and no shadow uses its device. */
static void devns_shadow_forget(struct devns_shadow_class *sc, struct devns_shadow_real *real)
{
	if (sc->ops->forget)
		sc->ops->forget(real);
	devns_shadow_real_put(real);
}

static void devns_shadow_kick(struct devns_shadow_class *sc)
{
	mod_delayed_work(system_wq, &sc->work, 0);
}

static void devns_shadow_set_gone(struct devns_shadow_class *sc, struct devns_shadow_real *real)
{
	unsigned long flags;

	lockdep_assert_held(&sc->lock);
	spin_lock_irqsave(&sc->vlock, flags);
	real->gone = true;
	spin_unlock_irqrestore(&sc->vlock, flags);
}

static struct devns_shadow_real *devns_shadow_find_real(struct devns_shadow_class *sc,
							const void *key)
{
	struct devns_shadow_real *real;

	lockdep_assert_held(&sc->lock);
	list_for_each_entry(real, &sc->reals, node)
		if (real->key == key)
			return real;
	return NULL;
}

static struct devns_shadow *devns_shadow_find(struct devns_shadow_class *sc, struct devns *ns,
					      struct devns_shadow_real *real)
{
	struct devns_shadow *sh;

	lockdep_assert_held(&sc->lock);
	list_for_each_entry(sh, &sc->shadows, node)
		if (sh->ns == ns && sh->real == real)
			return sh;
	return NULL;
}

/**
 * devns_shadow_add_real() - follow a real device
 * @sc: its class
 * @real: the class's real, with @key and @name set; @sc owns it from here
 *
 * A real whose key is followed already is forgotten at once.
 */
void devns_shadow_add_real(struct devns_shadow_class *sc, struct devns_shadow_real *real)
{
	kref_init(&real->kref);
	real->ready = !sc->ops->ready;
	mutex_lock(&sc->lock);
	if (devns_shadow_find_real(sc, real->key)) {
		mutex_unlock(&sc->lock);
		devns_shadow_forget(sc, real);
		return;
	}
	list_add_tail(&real->node, &sc->reals);
	mutex_unlock(&sc->lock);
	devns_shadow_kick(sc);
}

/**
 * devns_shadow_remove_real() - stop following a real device
 * @sc: its class
 * @key: the key it was added with
 *
 * When this returns, no shadow touches the real device any more; its
 * shadows are unregistered later, by the worker.
 */
void devns_shadow_remove_real(struct devns_shadow_class *sc, const void *key)
{
	struct devns_shadow_real *real;

	mutex_lock(&sc->lock);
	real = devns_shadow_find_real(sc, key);
	if (real) {
		devns_shadow_set_gone(sc, real);
		list_del(&real->node);
	}
	mutex_unlock(&sc->lock);
	if (!real)
		return;
	devns_shadow_forget(sc, real);
	devns_shadow_kick(sc);
}

/**
 * devns_shadow_keep() - keep a value written to a shadow
 * @sh: the shadow
 * @value: the value
 *
 * Called under the lock the class keeps values under.
 *
 * Return: whether the value should reach the real device now.
 */
bool devns_shadow_keep(struct devns_shadow *sh, int value)
{
	if (sh->dying)
		return false;
	sh->kept = value;
	sh->written = true;
	return !sh->real->gone && sh->real->ready && devns_drives_hw(sh->ns);
}

static void devns_shadow_free(struct devns_shadow_class *sc, struct devns_shadow *sh)
{
	sc->ops->unregister_shadow(sh);
	devns_put(sh->ns);
	devns_shadow_real_put(sh->real);
	kfree(sh);
}

/* Remove the shadows of dead namespaces and gone reals. */
static void devns_shadow_reap(struct devns_shadow_class *sc)
{
	struct devns_shadow *sh, *tmp;
	unsigned long flags;
	LIST_HEAD(dead);

	mutex_lock(&sc->lock);
	list_for_each_entry_safe(sh, tmp, &sc->shadows, node) {
		if (!sh->real->gone && devns_alive(sh->ns))
			continue;
		spin_lock_irqsave(&sc->vlock, flags);
		sh->dying = true;
		spin_unlock_irqrestore(&sc->vlock, flags);
		list_move_tail(&sh->node, &dead);
	}
	mutex_unlock(&sc->lock);

	list_for_each_entry_safe(sh, tmp, &dead, node) {
		list_del(&sh->node);
		devns_shadow_free(sc, sh);
	}
}

/* Find a live namespace and a ready real without a shadow, and make one. */
static bool devns_shadow_add_one(struct devns_shadow_class *sc, struct devns **all, int n)
{
	const struct devns_shadow_ops *ops = sc->ops;
	struct devns_shadow_real *real = NULL, *r;
	struct devns_shadow *sh;
	struct devns *ns = NULL;
	int i, ret;

	mutex_lock(&sc->lock);
	for (i = 0; i < n && !real; i++) {
		if (!devns_alive(all[i]))
			continue;
		list_for_each_entry(r, &sc->reals, node) {
			if (r->ready && !devns_shadow_find(sc, all[i], r)) {
				kref_get(&r->kref);
				real = r;
				ns = all[i];
				break;
			}
		}
	}
	mutex_unlock(&sc->lock);
	if (!real)
		return false;

	sh = kzalloc(ops->shadow_size, GFP_KERNEL);
	if (!sh)
		goto err_real;
	snprintf(sh->name, ops->name_size, "devns-%s-%s", devns_name(ns), real->name);
	sh->ns = devns_get(ns);
	sh->real = real;
	ret = ops->register_shadow(sh);
	if (ret) {
		pr_info("%s: cannot register the shadow %s (%d)\n", sh->name, ops->what, ret);
		goto err_shadow;
	}
	mutex_lock(&sc->lock);
	list_add_tail(&sh->node, &sc->shadows);
	mutex_unlock(&sc->lock);
	return true;

err_shadow:
	devns_put(sh->ns);
	kfree(sh);
err_real:
	devns_shadow_real_put(real);
	return false;
}

/* Mark the reals that became ready. Return: whether some are not yet. */
static bool devns_shadow_check_ready(struct devns_shadow_class *sc)
{
	struct devns_shadow_real *real;
	bool pending = false;

	if (!sc->ops->ready)
		return false;
	mutex_lock(&sc->lock);
	list_for_each_entry(real, &sc->reals, node) {
		if (real->ready)
			continue;
		if (sc->ops->ready(real))
			real->ready = true;
		else
			pending = true;
	}
	mutex_unlock(&sc->lock);
	return pending;
}

void devns_shadow_reconcile(struct work_struct *work)
{
	struct devns_shadow_class *sc = container_of(to_delayed_work(work),
						     struct devns_shadow_class, work);
	struct devns **all;
	bool pending;
	int n;

	pending = devns_shadow_check_ready(sc);
	devns_shadow_reap(sc);
	n = devns_snapshot(&all);
	if (n > 0) {
		while (devns_shadow_add_one(sc, all, n))
			;
		devns_snapshot_free(all, n);
	}
	if (pending)
		schedule_delayed_work(&sc->work, HZ / 20);
}

static void devns_shadow_activate(struct devns_shadow_class *sc, struct devns *ns)
{
	struct devns_shadow *sh;

	mutex_lock(&sc->lock);
	list_for_each_entry(sh, &sc->shadows, node)
		if (sh->ns == ns)
			sc->ops->apply(sh);
	mutex_unlock(&sc->lock);
}

int devns_shadow_event(struct notifier_block *nb, unsigned long event, void *data)
{
	struct devns_shadow_class *sc = container_of(nb, struct devns_shadow_class, nb);
	struct devns *ns = data;

	switch (event) {
	case DEVNS_EVENT_CREATE:
	case DEVNS_EVENT_DESTROY:
		/* The shadows exist (or are gone) when the ioctl returns. */
		devns_shadow_kick(sc);
		flush_delayed_work(&sc->work);
		break;
	case DEVNS_EVENT_ACTIVATE:
		if (devns_drives_hw(ns))
			devns_shadow_activate(sc, ns);
		break;
	}
	return NOTIFY_OK;
}

static int devns_shadow_debugfs_show(struct seq_file *m, void *unused)
{
	struct devns_shadow_class *sc = m->private;
	struct devns_shadow_real *real;
	struct devns_shadow *sh;

	mutex_lock(&sc->lock);
	list_for_each_entry(real, &sc->reals, node)
		sc->ops->show_real(m, real);
	list_for_each_entry(sh, &sc->shadows, node)
		seq_printf(m, "shadow %s of %s kept %d written %d\n", sh->name,
			   sh->real->name, sh->kept, sh->written);
	mutex_unlock(&sc->lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(devns_shadow_debugfs);

/* Start following namespaces and the class's reals; at module load. */
int devns_shadow_init(struct devns_shadow_class *sc)
{
	int ret;

	ret = devns_register_notifier(&sc->nb);
	if (ret)
		return ret;
	ret = sc->ops->follow();
	if (ret)
		goto err_notifier;
	debugfs_create_file(sc->ops->debugfs, 0444, devns_debugfs, sc, &devns_shadow_debugfs_fops);
	return 0;

err_notifier:
	devns_unregister_notifier(&sc->nb);
	return ret;
}

/* Stop, and unregister every shadow; after the last namespace is gone. */
void devns_shadow_exit(struct devns_shadow_class *sc)
{
	struct devns_shadow_real *real, *tmp;
	LIST_HEAD(gone);

	devns_unregister_notifier(&sc->nb);
	sc->ops->unfollow();
	cancel_delayed_work_sync(&sc->work);
	/* Reals the class did not remove while it stopped following them. */
	mutex_lock(&sc->lock);
	list_for_each_entry_safe(real, tmp, &sc->reals, node) {
		devns_shadow_set_gone(sc, real);
		list_move_tail(&real->node, &gone);
	}
	mutex_unlock(&sc->lock);
	list_for_each_entry_safe(real, tmp, &gone, node) {
		list_del(&real->node);
		devns_shadow_forget(sc, real);
	}
	/* No real is left and no namespace either: unregisters every shadow. */
	devns_shadow_reap(sc);
}
