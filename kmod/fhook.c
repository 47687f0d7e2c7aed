// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: register a permanent, IP-modifying ftrace ops on one function.
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/ftrace.h>

#include "fhook.h"

/*
 * ftrace_set_filter_ip() maps a function's start address to its ftrace
 * call site itself (ftrace_location() is not exported to modules).
 */
int lpguard_fhook_register(struct ftrace_ops *ops, unsigned long func,
			   const char *name)
{
	int ret;

	ret = ftrace_set_filter_ip(ops, func, 0, 0);
	if (ret) {
		pr_err("cannot hook %s: not traceable (%d); lpguard needs dynamic ftrace\n",
		       name, ret);
		return ret;
	}
	ret = register_ftrace_function(ops);
	if (ret) {
		pr_err("cannot hook %s: ftrace registration failed (%d): another IPMODIFY ftrace user (a livepatch or kprobe) holds it; load lpguard before any livepatch\n",
		       name, ret);
		ftrace_set_filter_ip(ops, func, 1, 0);
	}
	return ret;
}

void lpguard_fhook_unregister(struct ftrace_ops *ops, unsigned long func)
{
	unregister_ftrace_function(ops);
	ftrace_set_filter_ip(ops, func, 1, 0);
}
