// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: only cumulative "replace" livepatches may be enabled.
 *
 * klp_patch.replace is usually set in the patch module's init, right
 * before klp_enable_patch(), so this is where it is checked: an ftrace
 * callback on klp_enable_patch() inspects its argument and, for a patch
 * lpguard did not allow at load time or with replace == false, sends the
 * call to lpguard_klp_refuse() instead. The patch module's init then
 * fails with -EPERM and the kernel unloads it; nothing was patched.
 *
 * klp_enable_patch() is the only exported entry that enables a patch.
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/ftrace.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/string.h>

#include "fhook.h"
#include "lpguard.h"
#include "measure.h"

enum enable_reason {
	ENABLE_NO_MODULE,
	ENABLE_NOT_CHECKED,
	ENABLE_NOT_REPLACE,
	ENABLE_REENTERED,
	ENABLE_OK,
};

static const char * const enable_reasons[] = {
	[ENABLE_NO_MODULE] =
		"klp_enable_patch() called without a patch module",
	[ENABLE_NOT_CHECKED] =
		"livepatch module was not checked by lpguard when it loaded: boot with lpguard in lsm= (built in) or load lpguard.ko before any livepatch",
	[ENABLE_NOT_REPLACE] =
		"klp_patch.replace is false: only cumulative replace livepatches may be enabled; build it with .replace = true",
	[ENABLE_REENTERED] =
		"klp_enable_patch() re-entered from ftrace: refused",
	[ENABLE_OK] = "replace livepatch",
};

static enum enable_reason enable_problem(struct klp_patch *patch)
{
	if (!patch || !patch->mod)
		return ENABLE_NO_MODULE;
	if (!lpguard_livepatch_allowed(patch->mod))
		return ENABLE_NOT_CHECKED;
	if (!patch->replace)
		return ENABLE_NOT_REPLACE;
	return ENABLE_OK;
}

static void report_enable(struct klp_patch *patch, enum enable_reason why)
{
	struct lpguard_decision d = {
		.what = LPG_ENABLE,
		.allowed = why == ENABLE_OK,
		.name = patch && patch->mod ? patch->mod->name : "?",
		.signer = "-",
		.reason = enable_reasons[why],
	};

	lpguard_report(&d);
}

/*
 * A patch that passed the rules above: its generation must not roll
 * back, and its enabling is measured. Raises the generation mark.
 */
static bool generation_allowed(struct klp_patch *patch)
{
	struct lpguard_measurement m = { };
	u32 mark;

	if (lpguard_measure_lost() ||
	    !lpguard_livepatch_facts(patch->mod->name, &m))
		return false;
	if (lpguard_generation_enable(m.generation, m.sha256, &mark) !=
	    LPG_GEN_OK)
		return false;
	m.event = LPG_EV_ENABLE;
	lpguard_measure(&m);
	return true;
}

/* The refusal of a patch that failed only its generation. */
static void report_generation(struct klp_patch *patch)
{
	struct lpguard_measurement m = { };
	char reason[LPGUARD_REASON_LEN];
	struct lpguard_decision d = {
		.what = LPG_ENABLE,
		.name = patch->mod->name,
		.signer = "-",
		.reason = reason,
	};
	enum lpguard_generation_verdict v;
	u32 mark;

	if (lpguard_measure_lost()) {
		strscpy(reason,
			"an earlier livepatch change could not be measured: reboot before applying livepatches",
			sizeof(reason));
	} else if (!lpguard_livepatch_facts(patch->mod->name, &m)) {
		strscpy(reason, enable_reasons[ENABLE_NOT_CHECKED],
			sizeof(reason));
	} else {
		v = lpguard_generation_check(m.generation, m.sha256, &mark);
		if (v == LPG_GEN_OK) {
			strscpy(reason, enable_reasons[ENABLE_REENTERED],
				sizeof(reason));
		} else {
			lpguard_generation_reason(v, m.generation, mark,
						  reason);
			m.event = LPG_EV_GENERATION_REFUSED;
			lpguard_measure(&m);
		}
	}
	lpguard_report(&d);
}

/* Runs instead of klp_enable_patch() for a refused patch. */
static int lpguard_klp_refuse(struct klp_patch *patch)
{
	enum enable_reason why = enable_problem(patch);

	if (why == ENABLE_OK)
		report_generation(patch);
	else
		report_enable(patch, why);
	return -EPERM;
}

static void notrace lpguard_klp_thunk(unsigned long ip,
				      unsigned long parent_ip,
				      struct ftrace_ops *ops,
				      struct ftrace_regs *fregs)
{
	struct klp_patch *patch;
	int bit;

	bit = ftrace_test_recursion_trylock(ip, parent_ip);
	patch = (struct klp_patch *)ftrace_regs_get_argument(fregs, 0);
	if (bit < 0 || enable_problem(patch) != ENABLE_OK ||
	    !generation_allowed(patch)) {
		ftrace_regs_set_instruction_pointer(fregs,
						    (unsigned long)lpguard_klp_refuse);
	} else {
		report_enable(patch, ENABLE_OK);
		lpguard_livepatch_enabling(patch->mod, patch);
	}
	if (bit >= 0)
		ftrace_test_recursion_unlock(bit);
}

static struct ftrace_ops lpguard_klp_ops = {
	.func = lpguard_klp_thunk,
	.flags = LPGUARD_FTRACE_FLAGS,
};

int lpguard_replace_init(void)
{
	return lpguard_fhook_register(&lpguard_klp_ops,
				      (unsigned long)klp_enable_patch,
				      "klp_enable_patch");
}

void lpguard_replace_exit(void)
{
	lpguard_fhook_unregister(&lpguard_klp_ops,
				 (unsigned long)klp_enable_patch);
}
