// SPDX-License-Identifier: GPL-2.0
/*
 * lpg_skip: stands in, in tests, for anything that makes a module load's
 * LSM hooks return 0 without running them. With skip=1 the post hooks
 * (security_kernel_post_read_file, security_kernel_post_load_data)
 * return 0 at once; with skip=2 the pre hooks (security_kernel_read_file,
 * security_kernel_load_data) do too. lpguard's COMING cross-check must
 * refuse every load that lpguard's hooks did not see.
 */
#include <linux/ftrace.h>
#include <linux/module.h>
#include <linux/security.h>

static int skip;
module_param(skip, int, 0600);

#ifdef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
#define SKIP_FLAGS (FTRACE_OPS_FL_IPMODIFY)
#else
#define SKIP_FLAGS (FTRACE_OPS_FL_IPMODIFY | FTRACE_OPS_FL_SAVE_REGS)
#endif

/* Runs instead of the hook: "allowed", without asking any LSM. */
static int notrace lpg_skip_allow(void)
{
	return 0;
}

struct hook {
	struct ftrace_ops ops;
	unsigned long func;
	int level;
};

static void notrace lpg_skip_thunk(unsigned long ip, unsigned long parent_ip,
				   struct ftrace_ops *ops,
				   struct ftrace_regs *fregs)
{
	struct hook *h = container_of(ops, struct hook, ops);

	if (READ_ONCE(skip) >= h->level)
		ftrace_regs_set_instruction_pointer(fregs,
						    (unsigned long)lpg_skip_allow);
}

#define HOOK(fn, lvl) { .ops = { .func = lpg_skip_thunk, .flags = SKIP_FLAGS }, \
			.func = (unsigned long)(fn), .level = (lvl) }

static struct hook hooks[] = {
	HOOK(security_kernel_post_read_file, 1),
	HOOK(security_kernel_post_load_data, 1),
	HOOK(security_kernel_read_file, 2),
	HOOK(security_kernel_load_data, 2),
};

static int __init lpg_skip_init(void)
{
	int i, ret = 0;

	for (i = 0; i < ARRAY_SIZE(hooks); i++) {
		ret = ftrace_set_filter_ip(&hooks[i].ops, hooks[i].func, 0, 0);
		if (!ret)
			ret = register_ftrace_function(&hooks[i].ops);
		if (ret)
			break;
	}
	if (!ret)
		return 0;
	pr_err("lpg_skip: cannot hook (%d)\n", ret);
	while (--i >= 0)
		unregister_ftrace_function(&hooks[i].ops);
	return ret;
}

static void __exit lpg_skip_exit(void)
{
	int i;

	for (i = 0; i < ARRAY_SIZE(hooks); i++)
		unregister_ftrace_function(&hooks[i].ops);
}

module_init(lpg_skip_init);
module_exit(lpg_skip_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("lpguard test: skip the module-load LSM hooks on request");
