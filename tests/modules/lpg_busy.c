// SPDX-License-Identifier: GPL-2.0
/*
 * Replace livepatch whose transition cannot finish: it patches kthreadd(),
 * the body of the kthreadd kernel thread (pid 2), which never returns.
 * kthreadd always has kthreadd() on its stack, so the consistency model
 * can never switch that task: /sys/kernel/livepatch/lpg_busy/transition
 * stays 1 until the patch is disabled (which reverts at once) or forced.
 *
 * The replacement is never called: kthreadd() is entered once, at boot.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>

static int lpg_busy_kthreadd(void *unused)
{
	pr_err("lpg_busy: replacement kthreadd() called\n");
	return 0;
}

static struct klp_func lpg_busy_funcs[] = {
	{
		.old_name = "kthreadd",
		.new_func = lpg_busy_kthreadd,
	},
	{ }
};

static struct klp_object lpg_busy_objs[] = {
	{
		.funcs = lpg_busy_funcs,
	},
	{ }
};

static struct klp_patch lpg_busy_patch = {
	.mod = THIS_MODULE,
	.objs = lpg_busy_objs,
	.replace = true,
};

static int __init lpg_busy_init(void)
{
	return klp_enable_patch(&lpg_busy_patch);
}

static void __exit lpg_busy_exit(void)
{
}

module_init(lpg_busy_init);
module_exit(lpg_busy_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("lpguard test livepatch: transition that cannot finish");
