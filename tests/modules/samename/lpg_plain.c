// SPDX-License-Identifier: GPL-2.0
/*
 * Another module named lpg_plain, with other symbols: a load of it must
 * not pass on a verdict lpguard recorded for tests/modules/lpg_plain.c.
 */
#include <linux/module.h>

int lpg_plain_other_symbol;
EXPORT_SYMBOL_GPL(lpg_plain_other_symbol);

static int __init lpg_plain_other_init(void)
{
	return 0;
}

static void __exit lpg_plain_other_exit(void)
{
}

module_init(lpg_plain_other_init);
module_exit(lpg_plain_other_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lpguard test: ordinary module, same name as lpg_plain");
