/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Test livepatch template: replaces cmdline_proc_show() so that
 * /proc/cmdline reads LPG_MESSAGE. Each lpg_*.c sets LPG_MESSAGE and
 * LPG_REPLACE and includes this file; one that defines LPG_SHOW_HOOK has
 * the new function call LPG_SHOW_HOOK() first.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>

static int lpg_cmdline_proc_show(struct seq_file *m, void *v)
{
#ifdef LPG_SHOW_HOOK
	LPG_SHOW_HOOK();
#endif
	seq_puts(m, LPG_MESSAGE "\n");
	return 0;
}

static struct klp_func lpg_funcs[] = {
	{
		.old_name = "cmdline_proc_show",
		.new_func = lpg_cmdline_proc_show,
	},
	{ }
};

static struct klp_object lpg_objs[] = {
	{
		/* .name == NULL: vmlinux */
		.funcs = lpg_funcs,
	},
	{ }
};

static struct klp_patch lpg_patch = {
	.mod = THIS_MODULE,
	.objs = lpg_objs,
};

static int __init lpg_init(void)
{
	/* Set where kpatch-built patches set it: in init, before enabling. */
	lpg_patch.replace = LPG_REPLACE;
	return klp_enable_patch(&lpg_patch);
}

static void __exit lpg_exit(void)
{
}

module_init(lpg_init);
module_exit(lpg_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
