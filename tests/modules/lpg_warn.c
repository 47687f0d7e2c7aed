// SPDX-License-Identifier: GPL-2.0
/*
 * Replace (cumulative) livepatch that WARNs once, on purpose, the first time
 * /proc/cmdline is read: what `cvm-cli preflight` must catch before a patch
 * reaches a VM.
 *
 * Without CONFIG_BUG (the tinyconfig test kernels) WARN() compiles to
 * nothing, so the patch then does what the kernel's __warn() does: the same
 * "WARNING: CPU: ..." lines in the kernel log and the W taint.
 */
#include <linux/kernel.h>
#include <linux/panic.h>
#include <linux/pid.h>
#include <linux/printk.h>
#include <linux/sched.h>
#include <linux/smp.h>

static void lpg_warn_once(void)
{
#ifdef CONFIG_BUG
	WARN_ONCE(1, "lpguard test: lpg_warn warns on purpose\n");
#else
	static bool warned;

	if (warned)
		return;
	warned = true;
	pr_warn("------------[ cut here ]------------\n");
	pr_warn("lpguard test: lpg_warn warns on purpose\n");
	pr_warn("WARNING: CPU: %d PID: %d at %s:%d %pS\n", raw_smp_processor_id(), task_pid_nr(current), __FILE__,
		__LINE__, __builtin_return_address(0));
	add_taint(TAINT_WARN, LOCKDEP_STILL_OK);
	pr_warn("---[ end trace 0000000000000000 ]---\n");
#endif
}

#define LPG_MESSAGE "lpguard test: warn"
#define LPG_REPLACE true
#define LPG_SHOW_HOOK lpg_warn_once
#include "lpg_cmdline.h"
MODULE_DESCRIPTION("lpguard test livepatch: WARNs once when /proc/cmdline is read");
