// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: register a permanent, IP-modifying ftrace ops on one function.
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/ftrace.h>
#include <linux/kallsyms.h>
#include <linux/string.h>

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

/*
 * The same for a function found by name: the livepatch core's
 * transition steps are not exported (some are static).
 */
int lpguard_fhook_register_name(struct ftrace_ops *ops, const char *name)
{
	char buf[KSYM_NAME_LEN];
	int ret;

	strscpy(buf, name, sizeof(buf));
	ret = ftrace_set_filter(ops, (unsigned char *)buf, strlen(buf), 1);
	if (ret) {
		pr_err("cannot hook %s: not traceable (%d); lpguard needs dynamic ftrace and the function not inlined\n",
		       name, ret);
		return ret;
	}
	ret = register_ftrace_function(ops);
	if (ret) {
		pr_err("cannot hook %s: ftrace registration failed (%d)\n",
		       name, ret);
		ftrace_free_filter(ops);
	}
	return ret;
}

void lpguard_fhook_unregister_name(struct ftrace_ops *ops)
{
	unregister_ftrace_function(ops);
	ftrace_free_filter(ops);
}
