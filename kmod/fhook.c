// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: register a permanent, IP-modifying ftrace ops on one function.
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/ftrace.h>

#include "fhook.h"

int lpguard_fhook_register(struct ftrace_ops *ops, unsigned long func,
			   const char *name)
{
	unsigned long ip = ftrace_location(func);
	int ret;

	if (!ip) {
		pr_err("cannot hook %s: it is not traceable; lpguard needs a kernel with dynamic ftrace\n",
		       name);
		return -ENOENT;
	}
	ret = ftrace_set_filter_ip(ops, ip, 0, 0);
	if (ret) {
		pr_err("cannot hook %s: ftrace filter failed (%d)\n", name, ret);
		return ret;
	}
	ret = register_ftrace_function(ops);
	if (ret) {
		pr_err("cannot hook %s: ftrace registration failed (%d); is something else redirecting it?\n",
		       name, ret);
		ftrace_set_filter_ip(ops, ip, 1, 0);
	}
	return ret;
}

void lpguard_fhook_unregister(struct ftrace_ops *ops, unsigned long func)
{
	unregister_ftrace_function(ops);
	ftrace_set_filter_ip(ops, ftrace_location(func), 1, 0);
}
