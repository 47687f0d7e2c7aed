// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: MODULE_STATE_COMING cross-check and livepatch bookkeeping.
 *
 * prepare_coming_module() runs the module notifier chain with
 * blocking_notifier_call_chain_robust() before any code of the module
 * has run, so a veto here stops the load. The notifier only sees struct
 * module (no signer, image already rewritten), so it compares what the
 * kernel built (mod->klp, mod->name, mod->sig_ok, the symbol table in
 * mod->kallsyms) with the verdict the load hook recorded for this task
 * from the signed bytes of the same load (verdict.c).
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/notifier.h>
#include <linux/rcupdate.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "lpguard.h"
#include "measure.h"

/*
 * Livepatch modules lpguard allowed and that are still loaded. A patch
 * is remembered once its module's init returned (MODULE_STATE_LIVE):
 * a patch module frees a kzalloc'ed klp_patch when klp_enable_patch()
 * fails, and in its exit function, so @pending is never dereferenced
 * and @patch only while a reference on a live module is held.
 */
struct tracked {
	struct list_head list;
	struct module *mod;
	struct lpguard_verdict facts;	/* what the load hook allowed */
	struct klp_patch *pending;	/* seen at klp_enable_patch */
	struct klp_patch *patch;	/* pending, once the module is live */
};

static LIST_HEAD(tracked_list);
static DEFINE_SPINLOCK(tracked_lock);

enum coming_reason {
	COMING_NO_VERDICT,
	COMING_KERNEL_ONLY_LIVEPATCH,
	COMING_PARSER_ONLY_LIVEPATCH,
	COMING_NAME_DIFFERS,
	COMING_IMAGE_DIFFERS,
	COMING_LIVEPATCH_UNSIGNED,
	COMING_OK,
};

static const char * const coming_reasons[] = {
	[COMING_NO_VERDICT] =
		"no lpguard verdict recorded for this load (its load hook did not run): boot with lpguard in lsm= (built in) or load lpguard.ko earlier; check for BPF or ftrace programs on the security_kernel_* hooks",
	[COMING_KERNEL_ONLY_LIVEPATCH] =
		"the kernel treats it as a livepatch but lpguard's parser did not: rebuild the module",
	[COMING_PARSER_ONLY_LIVEPATCH] =
		"lpguard's parser found a livepatch tag the kernel did not: rebuild the module",
	[COMING_NAME_DIFFERS] =
		".modinfo name differs from the module's name: rebuild the module",
	[COMING_IMAGE_DIFFERS] =
		"the module's symbol table is not the one lpguard checked in this load (a load hook was bypassed): check for BPF or ftrace programs on the security_kernel_* hooks",
	[COMING_LIVEPATCH_UNSIGNED] =
		"livepatch without a signature the kernel verified: sign it with a livepatch key",
};

/*
 * Does the symbol table the kernel copied into the module's init data
 * (all of the image's symbols and their string table, untouched until
 * init ends) match the one the load hook hashed?
 */
static bool same_symtab(struct module *mod, const struct lpguard_verdict *v)
{
	const struct module_memory *init = &mod->mem[MOD_INIT_DATA];
	u8 sha[SHA256_DIGEST_SIZE];
	struct mod_kallsyms *ks;
	unsigned long s, base;
	bool same = false;

	if (!v->nsyms || !v->strtab_len)
		return false;
	rcu_read_lock();
	ks = rcu_dereference(mod->kallsyms);
	if (ks && ks->num_symtab == v->nsyms) {
		s = (unsigned long)ks->strtab;
		base = (unsigned long)init->base;
		if (s >= base && v->strtab_len <= init->size &&
		    s - base <= init->size - v->strtab_len) {
			lpguard_sha256(ks->strtab, v->strtab_len, sha);
			same = !memcmp(sha, v->strtab_sha256, sizeof(sha));
		}
	}
	rcu_read_unlock();
	return same;
}

static enum coming_reason coming_problem(struct module *mod,
					 struct lpguard_verdict *v)
{
	if (lpguard_take_verdict(v))
		return COMING_NO_VERDICT;
	if (mod->klp && !v->livepatch)
		return COMING_KERNEL_ONLY_LIVEPATCH;
	if (!mod->klp && v->livepatch)
		return COMING_PARSER_ONLY_LIVEPATCH;
	if (v->name[0] && strcmp(v->name, mod->name))
		return COMING_NAME_DIFFERS;
	if (!same_symtab(mod, v))
		return COMING_IMAGE_DIFFERS;
#ifdef CONFIG_MODULE_SIG
	if (mod->klp && !mod->sig_ok)
		return COMING_LIVEPATCH_UNSIGNED;
#endif
	return COMING_OK;
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

static void forget(struct module *mod)
{
	struct tracked *t, *tmp;
	unsigned long flags;

	spin_lock_irqsave(&tracked_lock, flags);
	list_for_each_entry_safe(t, tmp, &tracked_list, list) {
		if (t->mod == mod) {
			list_del(&t->list);
			kfree(t);
		}
	}
	spin_unlock_irqrestore(&tracked_lock, flags);
}

static void went_live(struct module *mod)
{
	struct tracked *t;
	unsigned long flags;

	spin_lock_irqsave(&tracked_lock, flags);
	list_for_each_entry(t, &tracked_list, list)
		if (t->mod == mod)
			t->patch = t->pending;
	spin_unlock_irqrestore(&tracked_lock, flags);
}

static int coming(struct module *mod)
{
	struct lpguard_verdict v;
	enum coming_reason why = coming_problem(mod, &v);
	struct tracked *t;
	unsigned long flags;

	if (why != COMING_OK) {
		refuse_coming(mod, coming_reasons[why]);
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
	t->facts = v;
	strscpy(t->facts.name, mod->name, sizeof(t->facts.name));
	spin_lock_irqsave(&tracked_lock, flags);
	list_add(&t->list, &tracked_list);
	spin_unlock_irqrestore(&tracked_lock, flags);
	return NOTIFY_OK;
}

static int lpguard_module_notify(struct notifier_block *nb,
				 unsigned long action, void *data)
{
	struct module *mod = data;

	switch (action) {
	case MODULE_STATE_COMING:
		return coming(mod);
	case MODULE_STATE_LIVE:
		went_live(mod);
		break;
	case MODULE_STATE_GOING:
		forget(mod);
		break;
	}
	return NOTIFY_DONE;
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
 * was @mod allowed as a livepatch by lpguard?
 */
bool lpguard_livepatch_allowed(struct module *mod)
{
	struct tracked *t;
	unsigned long flags;
	bool found = false;

	spin_lock_irqsave(&tracked_lock, flags);
	list_for_each_entry(t, &tracked_list, list) {
		if (t->mod == mod) {
			found = true;
			break;
		}
	}
	spin_unlock_irqrestore(&tracked_lock, flags);
	return found;
}

/* klp_enable_patch(@patch) of @mod was allowed (atomic context). */
void lpguard_livepatch_enabling(struct module *mod, struct klp_patch *patch)
{
	struct tracked *t;
	unsigned long flags;

	spin_lock_irqsave(&tracked_lock, flags);
	list_for_each_entry(t, &tracked_list, list)
		if (t->mod == mod)
			t->pending = patch;
	spin_unlock_irqrestore(&tracked_lock, flags);
}

/*
 * The names of the enabled livepatches lpguard allowed, at most @max.
 * A live module cannot run its exit function (which may free its
 * klp_patch) while we hold a reference on it.
 */
unsigned int lpguard_active_names(struct lpguard_name *names,
				  unsigned int max)
{
	struct tracked *t;
	unsigned long flags;
	unsigned int n = 0;
	bool enabled;

	spin_lock_irqsave(&tracked_lock, flags);
	list_for_each_entry(t, &tracked_list, list) {
		if (n == max || !t->patch ||
		    READ_ONCE(t->mod->state) != MODULE_STATE_LIVE ||
		    !try_module_get(t->mod))
			continue;
		enabled = READ_ONCE(t->patch->enabled);
		module_put(t->mod);
		if (enabled)
			strscpy(names[n++].s, t->mod->name, LPGUARD_NAME_LEN);
	}
	spin_unlock_irqrestore(&tracked_lock, flags);
	return n;
}

/*
 * What lpguard allowed for the livepatch module named @name: fills the
 * name, image digest, signer key id and generation of @m. Atomic-safe.
 */
bool lpguard_livepatch_facts(const char *name, struct lpguard_measurement *m)
{
	struct tracked *t;
	unsigned long flags;
	bool found = false;

	spin_lock_irqsave(&tracked_lock, flags);
	list_for_each_entry(t, &tracked_list, list) {
		if (strcmp(t->facts.name, name))
			continue;
		strscpy(m->name, t->facts.name, sizeof(m->name));
		memcpy(m->sha256, t->facts.sha256, sizeof(m->sha256));
		m->has_sha = true;
		m->keyid_len = min_t(unsigned int, t->facts.keyid_len,
				     sizeof(m->keyid));
		memcpy(m->keyid, t->facts.keyid, m->keyid_len);
		m->generation = t->facts.generation;
		found = true;
		break;
	}
	spin_unlock_irqrestore(&tracked_lock, flags);
	return found;
}
