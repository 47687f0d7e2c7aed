// SPDX-License-Identifier: GPL-2.0
/* An ordinary (non-livepatch) module that does nothing. */
#include <linux/module.h>

static int __init lpg_plain_init(void)
{
	return 0;
}

static void __exit lpg_plain_exit(void)
{
}

module_init(lpg_plain_init);
module_exit(lpg_plain_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lpguard test: ordinary module");
