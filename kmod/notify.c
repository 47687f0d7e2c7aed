// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: MODULE_STATE_COMING cross-check and livepatch bookkeeping.
 *
 * prepare_coming_module() runs the module notifier chain with
 * blocking_notifier_call_chain_robust() before any code of the module
 * has run, so a veto here stops the load. The notifier only sees struct
 * module (no signer, image already rewritten), so it compares what the
 * kernel decided (mod->klp, mod->sig_ok) with the verdict the load hook
 * recorded for this task from the signed bytes.
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "lpguard.h"

/* Livepatch modules lpguard allowed and that are still loaded. */
struct tracked {
	struct list_head list;
	struct module *mod;
	struct klp_patch *patch;	/* set at klp_enable_patch */
};

static LIST_HEAD(tracked_list);
static DEFINE_SPINLOCK(tracked_lock);

static const char * const coming_reasons[] = {
	"no lpguard verdict recorded for this load (its load hook did not run): boot with lpguard in lsm= (built in) or load lpguard.ko earlier",
	"the kernel treats it as a livepatch but lpguard's parser did not: rebuild the module",
	"lpguard's parser found a livepatch tag the kernel did not: rebuild the module",
	".modinfo name differs from the module's name: rebuild the module",
	"livepatch without a signature the kernel verified: sign it with a livepatch key",
};

static const char *coming_problem(struct module *mod)
{
	char name[LPGUARD_NAME_LEN];
	bool livepatch;

	if (lpguard_take_verdict(&livepatch, name))
		return coming_reasons[0];
	if (mod->klp && !livepatch)
		return coming_reasons[1];
	if (!mod->klp && livepatch)
		return coming_reasons[2];
	if (name[0] && strcmp(name, mod->name))
		return coming_reasons[3];
#ifdef CONFIG_MODULE_SIG
	if (mod->klp && !mod->sig_ok)
		return coming_reasons[4];
#endif
	return NULL;
}

static void refuse_coming(struct module *mod, const char *why)
{
	struct lpguard_decision d = {
		.what = mod->klp ? LPG_LIVEPATCH : LPG_MODULE,
		.allowed = false,
		.name = mod->name,
		.signer = "-",
		.reason = why,
	};

	lpguard_report(&d);
}

static int lpguard_module_notify(struct notifier_block *nb,
				 unsigned long action, void *data)
{
	struct module *mod = data;
	struct tracked *t, *tmp;
	unsigned long flags;
	const char *why;

	if (action == MODULE_STATE_GOING) {
		spin_lock_irqsave(&tracked_lock, flags);
		list_for_each_entry_safe(t, tmp, &tracked_list, list) {
			if (t->mod == mod) {
				list_del(&t->list);
				kfree(t);
			}
		}
		spin_unlock_irqrestore(&tracked_lock, flags);
		return NOTIFY_DONE;
	}
	if (action != MODULE_STATE_COMING)
		return NOTIFY_DONE;

	why = coming_problem(mod);
	if (why) {
		refuse_coming(mod, why);
		return notifier_from_errno(-EPERM);
	}
	if (!mod->klp)
		return NOTIFY_OK;

	t = kzalloc(sizeof(*t), GFP_KERNEL);
	if (!t) {
		refuse_coming(mod, "out of memory while recording the livepatch: retry");
		return notifier_from_errno(-ENOMEM);
	}
	t->mod = mod;
	spin_lock_irqsave(&tracked_lock, flags);
	list_add(&t->list, &tracked_list);
	spin_unlock_irqrestore(&tracked_lock, flags);
	return NOTIFY_OK;
}

static struct notifier_block lpguard_module_nb = {
	.notifier_call = lpguard_module_notify,
	.priority = INT_MAX,	/* veto before anyone acts on the module */
};

int lpguard_notifier_init(void)
{
	return register_module_notifier(&lpguard_module_nb);
}

void lpguard_notifier_exit(void)
{
	unregister_module_notifier(&lpguard_module_nb);
}

/*
 * Called from the klp_enable_patch ftrace callback (atomic context):
 * was @mod allowed as a livepatch by lpguard? Remembers @patch.
 */
bool lpguard_livepatch_checked(struct module *mod, struct klp_patch *patch)
{
	struct tracked *t;
	unsigned long flags;
	bool found = false;

	spin_lock_irqsave(&tracked_lock, flags);
	list_for_each_entry(t, &tracked_list, list) {
		if (t->mod == mod) {
			t->patch = patch;
			found = true;
			break;
		}
	}
	spin_unlock_irqrestore(&tracked_lock, flags);
	return found;
}

void lpguard_active_show(struct seq_file *m)
{
	struct tracked *t;
	unsigned long flags;
	int n = 0;

	seq_puts(m, "active:");
	spin_lock_irqsave(&tracked_lock, flags);
	list_for_each_entry(t, &tracked_list, list) {
		if (t->patch && READ_ONCE(t->patch->enabled)) {
			seq_printf(m, " %s", t->mod->name);
			n++;
		}
	}
	spin_unlock_irqrestore(&tracked_lock, flags);
	seq_puts(m, n ? "\n" : " none\n");
}
