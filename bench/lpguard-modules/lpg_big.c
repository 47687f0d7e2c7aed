// SPDX-License-Identifier: GPL-2.0
/*
 * Benchmark livepatch of about 1 MB. Non-replace on purpose: lpguard
 * verifies its signature at load (what the benchmark measures), then
 * refuses klp_enable_patch(), so the kernel unloads it and it can be
 * loaded again.
 */
#include <linux/kernel.h>
#include <linux/livepatch.h>
#include <linux/module.h>
#include <linux/seq_file.h>

/* 1 MiB of non-zero data, kept in the image. */
#define PAD (1024 * 1024)
static const u8 lpg_big_pad[PAD] __used = { [0 ... PAD - 1] = 0x5a };

static int lpg_big_show(struct seq_file *m, void *v)
{
	seq_printf(m, "lpg_big %u\n", lpg_big_pad[PAD / 2]);
	return 0;
}

static struct klp_func lpg_big_funcs[] = {
	{ .old_name = "cmdline_proc_show", .new_func = lpg_big_show },
	{ }
};

static struct klp_object lpg_big_objs[] = {
	{ .funcs = lpg_big_funcs },
	{ }
};

static struct klp_patch lpg_big_patch = {
	.mod = THIS_MODULE,
	.objs = lpg_big_objs,
	.replace = false,
};

static int __init lpg_big_init(void)
{
	return klp_enable_patch(&lpg_big_patch);
}

static void __exit lpg_big_exit(void)
{
}

module_init(lpg_big_init);
module_exit(lpg_big_exit);
MODULE_LICENSE("GPL");
MODULE_INFO(livepatch, "Y");
MODULE_DESCRIPTION("lpguard benchmark: 1 MB livepatch");
