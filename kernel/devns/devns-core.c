// SPDX-License-Identifier: GPL-2.0
/*
 * devns: device namespaces, the core.
 *
 * A device namespace is bound to one pid namespace and belongs to one seat;
 * at most one namespace per seat is active. The core keeps the registry,
 * the reference counts and the notifier chain that the module's virtual
 * drivers (devns-fb.c, devns-led.c, devns-backlight.c) and other modules
 * follow.
 *
 * Noticing that a pid namespace went away: a pid namespace ends when its
 * init (pid 1 there) exits; the kernel then kills everything else in it.
 * The core holds the struct pid of that init and puts an entry on its
 * wait_pidfd queue, the queue a pidfd poll() sleeps on. The kernel wakes it
 * from do_notify_parent() once the whole thread group has exited, so the
 * namespace is destroyed by a work item as soon as the init is gone. That
 * needs no hook in the exit path and no polling, and it works with 6.1's
 * exports (add_wait_queue, thread_group_exited). The core also holds a
 * reference on the pid namespace itself, so a pointer comparison against a
 * task's pid namespace can never match a recycled one.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ctype.h>
#include <linux/debugfs.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/pid_namespace.h>
#include <linux/sched.h>
#include <linux/sched/signal.h>
#include <linux/sched/task.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "devns-internal.h"
#include "devns-version.h"

DEFINE_SPINLOCK(devns_lock);
DEFINE_MUTEX(devns_switch_lock);
struct dentry *devns_debugfs;

static LIST_HEAD(devns_list);		/* live namespaces, under devns_lock */
static u32 devns_next_id = 1;		/* under devns_lock */
static BLOCKING_NOTIFIER_HEAD(devns_chain);
static struct workqueue_struct *devns_wq;

static char devns_hw_seat[DEVNS_SEAT_LEN] = "seat0";
module_param_string(seat, devns_hw_seat, sizeof(devns_hw_seat), 0444);
MODULE_PARM_DESC(seat,
		 "Seat whose active namespace drives the real framebuffers, LEDs and backlights");

/* Cost of DEVNS_IOC_ACTIVATE, under devns_switch_lock. */
static struct {
	u64 count;
	u64 last_ns;
	u64 min_ns;
	u64 max_ns;
	u64 total_ns;
} devns_stats;

bool devns_valid_name(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > DEVNS_NAME_MAX || s[0] == '.' || s[0] == '-')
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!isalnum(c) && c != '_' && c != '.' && c != '-')
			return false;
	}
	return true;
}

bool devns_valid_seat(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > DEVNS_SEAT_MAX)
		return false;
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (!isalnum(c) && c != '_' && c != '-')
			return false;
	}
	return true;
}

static void devns_release(struct kref *kref)
{
	struct devns *ns = container_of(kref, struct devns, kref);

	put_pid(ns->reaper);
	put_pid_ns(ns->pid_ns);
	kfree(ns);
}

/**
 * devns_get() - take a reference on a namespace
 * @ns: the namespace
 *
 * Return: @ns.
 */
struct devns *devns_get(struct devns *ns)
{
	kref_get(&ns->kref);
	return ns;
}
EXPORT_SYMBOL_GPL(devns_get);

/**
 * devns_put() - drop a reference taken by devns_get() or devns_get_current()
 * @ns: the namespace, or NULL
 *
 * Context: process context; the last reference frees the namespace.
 */
void devns_put(struct devns *ns)
{
	if (ns)
		kref_put(&ns->kref, devns_release);
}
EXPORT_SYMBOL_GPL(devns_put);

/**
 * devns_register_notifier() - follow namespace events
 * @nb: notifier block; its callback gets an &enum devns_event and the
 *	struct devns, may sleep and must return NOTIFY_OK or NOTIFY_DONE
 *
 * Events already past are not replayed. Callbacks must not call into the
 * control node (activate, create or destroy a namespace).
 *
 * Return: 0 or a negative errno.
 */
int devns_register_notifier(struct notifier_block *nb)
{
	return blocking_notifier_chain_register(&devns_chain, nb);
}
EXPORT_SYMBOL_GPL(devns_register_notifier);

/**
 * devns_unregister_notifier() - stop following namespace events
 * @nb: a notifier block given to devns_register_notifier()
 *
 * When it returns, the callback is not running and will not run again.
 *
 * Return: 0 or -ENOENT.
 */
int devns_unregister_notifier(struct notifier_block *nb)
{
	return blocking_notifier_chain_unregister(&devns_chain, nb);
}
EXPORT_SYMBOL_GPL(devns_unregister_notifier);

static void devns_notify(enum devns_event ev, struct devns *ns)
{
	lockdep_assert_held(&devns_switch_lock);
	blocking_notifier_call_chain(&devns_chain, ev, ns);
}

/**
 * devns_get_current() - the device namespace of the current task
 *
 * Context: any context that may take a spinlock, except hard interrupts.
 *
 * Return: the namespace bound to the task's pid namespace or, if there is
 * none, to its nearest ancestor that has one, as a reference the caller
 * drops with devns_put(); NULL when the task is in no device namespace
 * (e.g. on the host).
 */
struct devns *devns_get_current(void)
{
	struct pid_namespace *p = task_active_pid_ns(current);
	struct devns *ns;

	spin_lock(&devns_lock);
	for (; p; p = p->parent) {
		list_for_each_entry(ns, &devns_list, node) {
			if (ns->pid_ns == p) {
				kref_get(&ns->kref);
				spin_unlock(&devns_lock);
				return ns;
			}
		}
	}
	spin_unlock(&devns_lock);
	return NULL;
}
EXPORT_SYMBOL_GPL(devns_get_current);

/**
 * devns_is_active() - whether a namespace is the active one of its seat
 * @ns: the namespace
 *
 * The answer may change as soon as it is given; drivers that act on it
 * follow %DEVNS_EVENT_ACTIVATE and %DEVNS_EVENT_DEACTIVATE too.
 *
 * Return: true if @ns is alive and active.
 */
bool devns_is_active(const struct devns *ns)
{
	return READ_ONCE(ns->active);
}
EXPORT_SYMBOL_GPL(devns_is_active);

/**
 * devns_id() - the id of a namespace, as the control node reports it
 * @ns: the namespace
 *
 * Return: the id, never 0.
 */
u32 devns_id(const struct devns *ns)
{
	return ns->id;
}
EXPORT_SYMBOL_GPL(devns_id);

/**
 * devns_name() - the name of a namespace
 * @ns: the namespace
 *
 * Return: a NUL-terminated string that lives as long as @ns.
 */
const char *devns_name(const struct devns *ns)
{
	return ns->name;
}
EXPORT_SYMBOL_GPL(devns_name);

/**
 * devns_seat() - the seat of a namespace
 * @ns: the namespace
 *
 * Return: a NUL-terminated string that lives as long as @ns.
 */
const char *devns_seat(const struct devns *ns)
{
	return ns->seat;
}
EXPORT_SYMBOL_GPL(devns_seat);

bool devns_alive(const struct devns *ns)
{
	return READ_ONCE(ns->alive);
}

/* Active on the seat whose real devices this module drives. */
bool devns_drives_hw(const struct devns *ns)
{
	return READ_ONCE(ns->active) && !strcmp(ns->seat, devns_hw_seat);
}

static struct devns *devns_find_locked(u32 id)
{
	struct devns *ns;

	lockdep_assert_held(&devns_lock);
	list_for_each_entry(ns, &devns_list, node)
		if (ns->id == id)
			return ns;
	return NULL;
}

struct devns *devns_find_get(u32 id)
{
	struct devns *ns;

	spin_lock(&devns_lock);
	ns = devns_find_locked(id);
	if (ns)
		kref_get(&ns->kref);
	spin_unlock(&devns_lock);
	return ns;
}

struct devns *devns_find_next_get(u32 after)
{
	struct devns *ns, *best = NULL;

	spin_lock(&devns_lock);
	list_for_each_entry(ns, &devns_list, node)
		if (ns->id > after && (!best || ns->id < best->id))
			best = ns;
	if (best)
		kref_get(&best->kref);
	spin_unlock(&devns_lock);
	return best;
}

static struct devns *devns_find_active_locked(const char *seat)
{
	struct devns *ns;

	lockdep_assert_held(&devns_lock);
	list_for_each_entry(ns, &devns_list, node)
		if (ns->active && !strcmp(ns->seat, seat))
			return ns;
	return NULL;
}

struct devns *devns_find_active_get(const char *seat)
{
	struct devns *ns;

	spin_lock(&devns_lock);
	ns = devns_find_active_locked(seat);
	if (ns)
		kref_get(&ns->kref);
	spin_unlock(&devns_lock);
	return ns;
}

/*
 * References to every live namespace, for parts that must walk them and
 * sleep. Return: the count (*ret may be NULL when 0) or -ENOMEM.
 */
int devns_snapshot(struct devns ***ret)
{
	struct devns **v = NULL, *ns;
	int n, cap = 0;

	for (;;) {
		n = 0;
		spin_lock(&devns_lock);
		list_for_each_entry(ns, &devns_list, node)
			n++;
		if (n <= cap) {
			n = 0;
			list_for_each_entry(ns, &devns_list, node) {
				kref_get(&ns->kref);
				v[n++] = ns;
			}
			spin_unlock(&devns_lock);
			*ret = v;
			return n;
		}
		spin_unlock(&devns_lock);
		kfree(v);
		cap = n + 4;
		v = kcalloc(cap, sizeof(*v), GFP_KERNEL);
		if (!v)
			return -ENOMEM;
	}
}

void devns_snapshot_free(struct devns **v, int n)
{
	int i;

	for (i = 0; i < n; i++)
		devns_put(v[i]);
	kfree(v);
}

/*
 * Unregister @ns: it is no longer found, its pid namespace no longer
 * watched, and drivers drop what they keep for it. The caller holds a
 * reference of its own and devns_switch_lock.
 */
static int devns_kill(struct devns *ns)
{
	bool was_active;

	lockdep_assert_held(&devns_switch_lock);
	spin_lock(&devns_lock);
	if (!ns->alive) {
		spin_unlock(&devns_lock);
		return -ENOENT;
	}
	WRITE_ONCE(ns->alive, false);
	was_active = ns->active;
	WRITE_ONCE(ns->active, false);
	list_del_init(&ns->node);
	spin_unlock(&devns_lock);

	/* Once this returns the wake function is not running: the queue's
	 * lock is held around it. */
	remove_wait_queue(&ns->reaper->wait_pidfd, &ns->exit_wait);
	if (was_active)
		devns_notify(DEVNS_EVENT_DEACTIVATE, ns);
	devns_notify(DEVNS_EVENT_DESTROY, ns);
	devns_put(ns);		/* the registry's reference */
	return 0;
}

static void devns_exit_work(struct work_struct *work)
{
	struct devns *ns = container_of(work, struct devns, exit_work);

	if (thread_group_exited(ns->reaper)) {
		mutex_lock(&devns_switch_lock);
		if (devns_kill(ns) == 0)
			pr_debug("%s: pid namespace ended\n", ns->name);
		mutex_unlock(&devns_switch_lock);
	}
	devns_put(ns);		/* taken by devns_exit_wake() */
}

/*
 * Called under the pidfd wait queue's lock, from the exiting task: only
 * hand over to process context. The entry is on the queue only while the
 * registry holds its reference, so taking one here is safe.
 */
static int devns_exit_wake(struct wait_queue_entry *wait, unsigned int mode,
			   int sync, void *key)
{
	struct devns *ns = container_of(wait, struct devns, exit_wait);

	kref_get(&ns->kref);
	if (!queue_work(devns_wq, &ns->exit_work))
		kref_put(&ns->kref, devns_release);	/* never the last one */
	return 0;
}

int devns_create(const char *name, const char *seat, struct pid *leader, u32 *ret_id)
{
	struct task_struct *task;
	struct pid_namespace *pid_ns;
	struct devns *ns, *it;
	struct pid *reaper;
	int ret;

	task = get_pid_task(leader, PIDTYPE_PID);
	if (!task)
		return -ESRCH;
	pid_ns = task_active_pid_ns(task);
	if (pid_ns)
		get_pid_ns(pid_ns);
	put_task_struct(task);
	if (!pid_ns)
		return -ESRCH;
	if (pid_ns == &init_pid_ns) {
		ret = -EINVAL;
		goto err_pidns;
	}

	rcu_read_lock();
	reaper = get_pid(find_pid_ns(1, pid_ns));
	rcu_read_unlock();
	if (!reaper) {
		ret = -ESRCH;
		goto err_pidns;
	}

	ns = kzalloc(sizeof(*ns), GFP_KERNEL);
	if (!ns) {
		ret = -ENOMEM;
		goto err_reaper;
	}
	kref_init(&ns->kref);
	strscpy(ns->name, name, sizeof(ns->name));
	strscpy(ns->seat, seat, sizeof(ns->seat));
	ns->pid_ns = pid_ns;
	ns->reaper = reaper;
	INIT_LIST_HEAD(&ns->node);
	init_waitqueue_func_entry(&ns->exit_wait, devns_exit_wake);
	INIT_WORK(&ns->exit_work, devns_exit_work);

	mutex_lock(&devns_switch_lock);
	spin_lock(&devns_lock);
	list_for_each_entry(it, &devns_list, node) {
		if (!strcmp(it->name, name) || it->pid_ns == pid_ns) {
			spin_unlock(&devns_lock);
			ret = -EEXIST;
			goto err_unlock;
		}
	}
	/* Ids are never 0 and never shared by two live namespaces. */
	while (!devns_next_id || devns_find_locked(devns_next_id))
		devns_next_id++;
	ns->id = devns_next_id++;
	ns->alive = true;
	list_add_tail(&ns->node, &devns_list);
	spin_unlock(&devns_lock);

	add_wait_queue(&reaper->wait_pidfd, &ns->exit_wait);
	/* The init may have exited before the entry was queued. */
	if (thread_group_exited(reaper)) {
		spin_lock(&devns_lock);
		ns->alive = false;
		list_del_init(&ns->node);
		spin_unlock(&devns_lock);
		remove_wait_queue(&reaper->wait_pidfd, &ns->exit_wait);
		mutex_unlock(&devns_switch_lock);
		devns_put(ns);
		return -ESRCH;
	}
	devns_notify(DEVNS_EVENT_CREATE, ns);
	*ret_id = ns->id;
	mutex_unlock(&devns_switch_lock);
	pr_debug("%s: created, id %u, seat %s\n", ns->name, ns->id, ns->seat);
	return 0;

err_unlock:
	mutex_unlock(&devns_switch_lock);
	kfree(ns);
err_reaper:
	put_pid(reaper);
err_pidns:
	put_pid_ns(pid_ns);
	return ret;
}

int devns_destroy_id(u32 id)
{
	struct devns *ns;
	int ret;

	mutex_lock(&devns_switch_lock);
	ns = devns_find_get(id);
	ret = ns ? devns_kill(ns) : -ENOENT;
	mutex_unlock(&devns_switch_lock);
	devns_put(ns);
	return ret;
}

static void devns_stats_add(u64 ns)
{
	devns_stats.count++;
	devns_stats.last_ns = ns;
	devns_stats.total_ns += ns;
	if (!devns_stats.min_ns || ns < devns_stats.min_ns)
		devns_stats.min_ns = ns;
	if (ns > devns_stats.max_ns)
		devns_stats.max_ns = ns;
}

int devns_activate(const char *seat, u32 id)
{
	struct devns *old, *new = NULL;
	u64 start;

	mutex_lock(&devns_switch_lock);
	start = ktime_get_ns();
	spin_lock(&devns_lock);
	if (id) {
		new = devns_find_locked(id);
		if (!new || strcmp(new->seat, seat)) {
			spin_unlock(&devns_lock);
			mutex_unlock(&devns_switch_lock);
			return new ? -EINVAL : -ENOENT;
		}
		kref_get(&new->kref);
	}
	old = devns_find_active_locked(seat);
	if (old == new) {
		spin_unlock(&devns_lock);
		mutex_unlock(&devns_switch_lock);
		devns_put(new);
		return 0;
	}
	if (old) {
		WRITE_ONCE(old->active, false);
		kref_get(&old->kref);
	}
	spin_unlock(&devns_lock);

	/* No namespace of the seat is active between the two events. */
	if (old) {
		devns_notify(DEVNS_EVENT_DEACTIVATE, old);
		devns_put(old);
	}
	if (new) {
		/* Still alive: destroying takes devns_switch_lock. */
		spin_lock(&devns_lock);
		WRITE_ONCE(new->active, true);
		spin_unlock(&devns_lock);
		devns_notify(DEVNS_EVENT_ACTIVATE, new);
		devns_put(new);
	}
	devns_stats_add(ktime_get_ns() - start);
	mutex_unlock(&devns_switch_lock);
	return 0;
}

static int devns_namespaces_show(struct seq_file *m, void *v)
{
	struct devns **all;
	int i, n;

	n = devns_snapshot(&all);
	if (n < 0)
		return n;
	seq_puts(m, "# id name seat active pidns leader\n");
	for (i = 0; i < n; i++) {
		struct devns *ns = all[i];

		seq_printf(m, "%u %s %s %d %u %d\n", ns->id, ns->name, ns->seat,
			   devns_is_active(ns), ns->pid_ns->ns.inum,
			   pid_vnr(ns->reaper));
	}
	devns_snapshot_free(all, n);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(devns_namespaces);

static int devns_stats_show(struct seq_file *m, void *v)
{
	mutex_lock(&devns_switch_lock);
	seq_printf(m, "switches %llu\n", devns_stats.count);
	seq_printf(m, "last_ns %llu\n", devns_stats.last_ns);
	seq_printf(m, "min_ns %llu\n", devns_stats.min_ns);
	seq_printf(m, "max_ns %llu\n", devns_stats.max_ns);
	seq_printf(m, "total_ns %llu\n", devns_stats.total_ns);
	seq_printf(m, "avg_ns %llu\n", devns_stats.count ?
		   div64_u64(devns_stats.total_ns, devns_stats.count) : 0);
	mutex_unlock(&devns_switch_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(devns_stats);

static void devns_kill_all(void)
{
	struct devns *ns;

	mutex_lock(&devns_switch_lock);
	for (;;) {
		spin_lock(&devns_lock);
		ns = list_first_entry_or_null(&devns_list, struct devns, node);
		if (ns)
			kref_get(&ns->kref);
		spin_unlock(&devns_lock);
		if (!ns)
			break;
		devns_kill(ns);
		devns_put(ns);
	}
	mutex_unlock(&devns_switch_lock);
}

static int __init devns_init(void)
{
	int ret;

	if (!devns_valid_seat(devns_hw_seat, strnlen(devns_hw_seat, sizeof(devns_hw_seat)))) {
		pr_err("invalid seat parameter\n");
		return -EINVAL;
	}
	devns_wq = alloc_workqueue("devns", 0, 0);
	if (!devns_wq)
		return -ENOMEM;
	devns_debugfs = debugfs_create_dir("devns", NULL);
	debugfs_create_file("namespaces", 0444, devns_debugfs, NULL, &devns_namespaces_fops);
	debugfs_create_file("stats", 0444, devns_debugfs, NULL, &devns_stats_fops);

	ret = devns_fb_init();
	if (ret)
		goto err_debugfs;
	ret = devns_led_init();
	if (ret)
		goto err_fb;
	ret = devns_backlight_init();
	if (ret)
		goto err_led;
	/* Last: from here on namespaces can be created. */
	ret = devns_ctl_init();
	if (ret)
		goto err_backlight;
	return 0;

err_backlight:
	devns_backlight_exit();
err_led:
	devns_led_exit();
err_fb:
	devns_fb_exit();
err_debugfs:
	debugfs_remove_recursive(devns_debugfs);
	destroy_workqueue(devns_wq);
	return ret;
}

/*
 * Unloading is possible only when no file of the module is open (each
 * holds a module reference) and no module uses its symbols; namespaces
 * that still exist are destroyed with the usual events.
 */
static void __exit devns_exit(void)
{
	/* Waits for readers of the debugfs files. */
	debugfs_remove_recursive(devns_debugfs);
	devns_ctl_exit();
	devns_kill_all();
	/* Pending exit works hold references; let them finish. */
	destroy_workqueue(devns_wq);
	devns_backlight_exit();
	devns_led_exit();
	devns_fb_exit();
}

module_init(devns_init);
module_exit(devns_exit);

MODULE_DESCRIPTION("Device namespaces for containers: framebuffer, LED and backlight multiplexing");
MODULE_LICENSE("GPL");
MODULE_VERSION(DEVNS_VERSION);
