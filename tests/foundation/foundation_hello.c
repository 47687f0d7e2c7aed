// SPDX-License-Identifier: GPL-2.0
/* An ordinary (non-livepatch) module for the foundation tests. */
#include <linux/module.h>

static int __init foundation_hello_init(void)
{
	pr_info("foundation_hello: loaded\n");
	return 0;
}

static void __exit foundation_hello_exit(void)
{
}

module_init(foundation_hello_init);
module_exit(foundation_hello_exit);
MODULE_DESCRIPTION("lpguard foundation test: an ordinary module");
MODULE_LICENSE("GPL");
