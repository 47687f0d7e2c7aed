// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: the lock on disabling the active livepatch (built-in form).
 *
 * With the lock on, writing 0 to /sys/kernel/livepatch/<patch>/enabled
 * is refused (EPERM, logged, measured) unless <patch> is the one in
 * transition: reversing a transition that is still running (lp-load's
 * revert of a stalled replace) keeps working; going back otherwise means
 * applying a newer cumulative patch.
 *
 * The livepatch core's enabled_store() decides under klp_mutex, and so
 * must the lock: checking first and calling the original would let a
 * transition complete in between, after which the original disables a
 * fully transitioned patch. So while the lock is on, enabled_store() is
 * redirected (permanent ftrace ops) to lpguard_locked_store(), the same
 * code under the same mutex with the disable branch refused. It is found
 * through the attribute that points to it, enabled_kobj_attr, which must
 * be the only symbol of that name and name enabled_store as its store.
 *
 * The loadable form has no lock: klp_mutex is not exported to modules.
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/ftrace.h>
#include <linux/init.h>
#include <linux/kallsyms.h>
#include <linux/kobject.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/string.h>

/* The livepatch core's: klp_mutex, klp_transition_patch, klp_reverse_transition(). */
#include "core.h"
#include "transition.h"

#include "fhook.h"
#include "lpguard.h"
#include "measure.h"

static bool lock_on __ro_after_init =
	IS_ENABLED(CONFIG_SECURITY_LPGUARD_LOCK_ACTIVE);
static bool lock_held __ro_after_init;

/*
 * lpguard.lock_active=1 on the command line turns the lock on; nothing
 * turns it off (0 is refused, and the parameter is read-only in sysfs).
 */
static int lock_active_set(const char *val, const struct kernel_param *kp)
{
	bool on;

	if (kstrtobool(val, &on) || !on) {
		pr_notice("lpguard.lock_active=%s ignored: only 1 (on) is accepted\n",
			  val);
		return 0;
	}
	lock_on = true;
	return 0;
}

static const struct kernel_param_ops lock_active_ops = {
	.set = lock_active_set,
	.get = param_get_bool,
};
module_param_cb(lock_active, &lock_active_ops, &lock_on, 0444);
MODULE_PARM_DESC(lock_active, "1: refuse disabling the active livepatch (cannot be turned off)");

#define LOCK_REASON \
	"the active livepatch is locked (CONFIG_SECURITY_LPGUARD_LOCK_ACTIVE): apply a newer cumulative patch to go back"

static void refuse_disable(struct klp_patch *patch)
{
	struct lpguard_measurement m = { .event = LPG_EV_DISABLE_REFUSED };
	const char *name = patch->mod ? patch->mod->name : "?";
	struct lpguard_decision d = {
		.what = LPG_DISABLE,
		.name = name,
		.signer = "-",
		.reason = LOCK_REASON,
	};

	lpguard_report(&d);
	if (!lpguard_livepatch_facts(name, &m))
		strscpy(m.name, name, sizeof(m.name));
	lpguard_measure(&m);
}

/* enabled_store() of kernel/livepatch/core.c, with disabling refused. */
static ssize_t lpguard_locked_store(struct kobject *kobj,
				    struct kobj_attribute *attr,
				    const char *buf, size_t count)
{
	struct klp_patch *patch = container_of(kobj, struct klp_patch, kobj);
	bool enabled;
	int ret;

	ret = kstrtobool(buf, &enabled);
	if (ret)
		return ret;
	mutex_lock(&klp_mutex);
	if (patch->enabled == enabled) {
		ret = -EINVAL;		/* already in the requested state */
	} else if (patch == klp_transition_patch) {
		klp_reverse_transition();
	} else if (!enabled) {
		refuse_disable(patch);
		ret = -EPERM;
	} else {
		ret = -EINVAL;		/* a disabled patch is not re-enabled */
	}
	mutex_unlock(&klp_mutex);
	return ret ? ret : count;
}

static void notrace lock_thunk(unsigned long ip, unsigned long parent_ip,
			       struct ftrace_ops *ops,
			       struct ftrace_regs *fregs)
{
	ftrace_regs_set_instruction_pointer(fregs,
					    (unsigned long)lpguard_locked_store);
}

static struct ftrace_ops lock_ops = {
	.func = lock_thunk,
	.flags = LPGUARD_FTRACE_FLAGS,
};

static int count_match(void *data, unsigned long addr)
{
	(*(unsigned int *)data)++;
	return 0;
}

/* The livepatch core's enabled_store(), or 0 with the reason logged. */
static unsigned long __init find_enabled_store(void)
{
	const char *sym = "enabled_kobj_attr";
	char store[KSYM_NAME_LEN], show[KSYM_NAME_LEN];
	struct kobj_attribute *a;
	unsigned int n = 0;

	kallsyms_on_each_match_symbol(count_match, sym, &n);
	if (n != 1) {
		pr_err("cannot lock the active livepatch: %u symbols named %s (need exactly one; CONFIG_KALLSYMS_ALL=y)\n",
		       n, sym);
		return 0;
	}
	a = (struct kobj_attribute *)kallsyms_lookup_name(sym);
	if (!a || !a->store || !a->show || !a->attr.name ||
	    strcmp(a->attr.name, "enabled") ||
	    lookup_symbol_name((unsigned long)a->store, store) ||
	    lookup_symbol_name((unsigned long)a->show, show) ||
	    strcmp(store, "enabled_store") || strcmp(show, "enabled_show")) {
		pr_err("cannot lock the active livepatch: %s is not the livepatch core's enabled attribute\n",
		       sym);
		return 0;
	}
	return (unsigned long)a->store;
}

/*
 * Called once at boot, before user space can write a livepatch sysfs
 * file. Returns 0 when the lock is off or now holds; an error when it
 * is configured on but cannot hold (every livepatch is then refused).
 */
int __init lpguard_lock_init(void)
{
	unsigned long store;
	int ret;

	if (!lock_on)
		return 0;
	store = find_enabled_store();
	if (!store)
		return -ENOENT;
	ret = lpguard_fhook_register(&lock_ops, store, "enabled_store");
	if (ret)
		return ret;
	lock_held = true;
	pr_info("the active livepatch is locked: disabling it is refused\n");
	return 0;
}

/* For status: "on", "off", or "broken" (configured on, not holding). */
const char *lpguard_lock_state(void)
{
	if (lock_held)
		return "on";
	return lock_on ? "broken" : "off";
}
