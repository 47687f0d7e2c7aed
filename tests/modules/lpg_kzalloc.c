// SPDX-License-Identifier: GPL-2.0
/*
 * lpg_kzalloc: a livepatch whose klp_patch is kzalloc'ed in init and
 * freed when klp_enable_patch() fails, as kpatch-built patches do. It
 * then holds its failing init for hold_ms, so that readers of lpguard's
 * status run while the freed klp_patch would still be remembered.
 *   replace=0: lpguard refuses the enable (non-replace);
 *   replace=1: lpguard allows it, the livepatch core then fails it (the
 *              function to patch does not exist).
 */
#include <linux/delay.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/slab.h>

static bool replace;
module_param(replace, bool, 0);
static unsigned int hold_ms = 500;
module_param(hold_ms, uint, 0);

static int lpg_kzalloc_stub(void)
{
	return 0;
}

static struct klp_func lpg_funcs[] = {
	{
		.old_name = "lpg_kzalloc_no_such_function",
		.new_func = lpg_kzalloc_stub,
	},
	{ }
};

static struct klp_object lpg_objs[] = {
	{
		.funcs = lpg_funcs,
	},
	{ }
};

static int __init lpg_kzalloc_init(void)
{
	struct klp_patch *patch = kzalloc(sizeof(*patch), GFP_KERNEL);
	int ret;

	if (!patch)
		return -ENOMEM;
	patch->mod = THIS_MODULE;
	patch->objs = lpg_objs;
	patch->replace = replace;
	ret = klp_enable_patch(patch);
	if (!ret)
		return 0;	/* not reached: the function does not exist */
	kfree(patch);
	msleep(hold_ms);
	return ret;
}

static void __exit lpg_kzalloc_exit(void)
{
}

module_init(lpg_kzalloc_init);
module_exit(lpg_kzalloc_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("lpguard test livepatch: kzalloc'ed klp_patch freed on failure");
