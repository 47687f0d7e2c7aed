// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: livepatch transitions, observed to measure what changes.
 *
 * The livepatch core has no notifier. lpguard puts permanent ftrace ops
 * (found by name, so both forms can: these functions are not exported)
 * on the steps of a transition, all taken under klp_mutex:
 *   klp_init_transition(patch, state)  a transition starts;
 *   klp_reverse_transition()           it turns around;
 *   klp_cancel_transition()            enabling failed before it ran;
 *   klp_complete_transition()          it is done (patch states change).
 * At completion lpguard measures "patched" or "unpatched", each patch a
 * cumulative patch replaced, and "disabled" when the active patch was
 * turned off, and keeps the name of the active patch for the records.
 * If a step cannot be hooked, changes would go unmeasured: every
 * livepatch is refused (lpguard_transition_init() fails).
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/ftrace.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "fhook.h"
#include "lpguard.h"
#include "measure.h"

#ifndef KLP_TRANSITION_PATCHED
#define KLP_TRANSITION_PATCHED KLP_PATCHED
#endif

static struct {
	struct klp_patch *patch;	/* NULL: no transition */
	bool to_patched;
	bool started_as_disable;
} cur;
static char active[LPGUARD_NAME_LEN];
static DEFINE_SPINLOCK(active_lock);

void lpguard_active_name(char *out)
{
	unsigned long flags;

	spin_lock_irqsave(&active_lock, flags);
	strscpy(out, active, LPGUARD_NAME_LEN);
	spin_unlock_irqrestore(&active_lock, flags);
}

static void set_active(const char *name)
{
	unsigned long flags;

	spin_lock_irqsave(&active_lock, flags);
	strscpy(active, name, sizeof(active));
	spin_unlock_irqrestore(&active_lock, flags);
}

/* Measure @e for the livepatch module @name (after set_active()). */
static void record(enum lpguard_event e, const char *name)
{
	struct lpguard_measurement m = { .event = e };

	if (!lpguard_livepatch_facts(name, &m))
		strscpy(m.name, name, sizeof(m.name));
	lpguard_measure(&m);
}

/*
 * klp_complete_transition() is about to apply the outcome. lpguard lets
 * only replace patches be enabled, so at most one other patch is active
 * and a patched cumulative patch replaces exactly that one.
 */
static void transition_done(void)
{
	struct klp_patch *patch = cur.patch;
	char was[LPGUARD_NAME_LEN];
	const char *name;

	if (!patch || !patch->mod)
		return;
	name = patch->mod->name;
	lpguard_active_name(was);
	if (cur.to_patched) {
		set_active(name);
		if (patch->replace && was[0] && strcmp(was, name))
			record(LPG_EV_REPLACED, was);
		record(LPG_EV_PATCHED, name);
	} else {
		if (!strcmp(was, name))
			set_active("");
		record(cur.started_as_disable ? LPG_EV_DISABLED :
		       LPG_EV_UNPATCHED, name);
	}
	WRITE_ONCE(cur.patch, NULL);
}

static void notrace on_step(unsigned long ip, unsigned long parent_ip,
			    struct ftrace_ops *ops, struct ftrace_regs *fregs);

struct step {
	struct ftrace_ops ops;
	const char *name;
};

enum { STEP_INIT, STEP_REVERSE, STEP_CANCEL, STEP_COMPLETE, STEPS };

#define STEP(fn) { .ops = { .func = on_step, \
			    .flags = LPGUARD_FTRACE_OBSERVE_FLAGS }, .name = fn }

static struct step steps[STEPS] = {
	[STEP_INIT] = STEP("klp_init_transition"),
	[STEP_REVERSE] = STEP("klp_reverse_transition"),
	[STEP_CANCEL] = STEP("klp_cancel_transition"),
	[STEP_COMPLETE] = STEP("klp_complete_transition"),
};

static void notrace on_step(unsigned long ip, unsigned long parent_ip,
			    struct ftrace_ops *ops, struct ftrace_regs *fregs)
{
	struct step *s = container_of(ops, struct step, ops);
	int bit = ftrace_test_recursion_trylock(ip, parent_ip);

	if (bit < 0)
		return;
	switch (s - steps) {
	case STEP_INIT:
		cur.to_patched = ftrace_regs_get_argument(fregs, 1) ==
				 KLP_TRANSITION_PATCHED;
		cur.started_as_disable = !cur.to_patched;
		WRITE_ONCE(cur.patch,
			   (struct klp_patch *)ftrace_regs_get_argument(fregs, 0));
		break;
	case STEP_REVERSE:
		cur.to_patched = !cur.to_patched;
		break;
	case STEP_CANCEL:
		cur.to_patched = false;
		break;
	case STEP_COMPLETE:
		transition_done();
		break;
	}
	ftrace_test_recursion_unlock(bit);
}

int lpguard_transition_init(void)
{
	int i, ret;

	for (i = 0; i < STEPS; i++) {
		ret = lpguard_fhook_register_name(&steps[i].ops, steps[i].name);
		if (ret)
			goto fail;
	}
	return 0;
fail:
	while (--i >= 0)
		lpguard_fhook_unregister_name(&steps[i].ops);
	return ret;
}

void lpguard_transition_exit(void)
{
	int i;

	for (i = 0; i < STEPS; i++)
		lpguard_fhook_unregister_name(&steps[i].ops);
}
