/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lpguard: permanent ftrace redirection of a kernel function.
 */
#ifndef _SECURITY_LPGUARD_FHOOK_H
#define _SECURITY_LPGUARD_FHOOK_H

#include <linux/ftrace.h>

/*
 * FTRACE_OPS_FL_IPMODIFY: only one such ops may sit on a function, so
 * nothing else (a livepatch included) can redirect it after us.
 * FTRACE_OPS_FL_PERMANENT: while registered, kernel.ftrace_enabled
 * cannot be turned off (the sysctl fails with EBUSY).
 */
#ifdef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
#define LPGUARD_FTRACE_FLAGS (FTRACE_OPS_FL_IPMODIFY | FTRACE_OPS_FL_PERMANENT)
#else
#define LPGUARD_FTRACE_FLAGS (FTRACE_OPS_FL_IPMODIFY | \
			      FTRACE_OPS_FL_PERMANENT | \
			      FTRACE_OPS_FL_SAVE_REGS)
#endif

/* Observe only (no IP change), and keep ftrace on while registered. */
#ifdef CONFIG_HAVE_DYNAMIC_FTRACE_WITH_ARGS
#define LPGUARD_FTRACE_OBSERVE_FLAGS (FTRACE_OPS_FL_PERMANENT)
#else
#define LPGUARD_FTRACE_OBSERVE_FLAGS (FTRACE_OPS_FL_PERMANENT | \
				      FTRACE_OPS_FL_SAVE_REGS)
#endif

int lpguard_fhook_register(struct ftrace_ops *ops, unsigned long func,
			   const char *name);
void lpguard_fhook_unregister(struct ftrace_ops *ops, unsigned long func);
int lpguard_fhook_register_name(struct ftrace_ops *ops, const char *name);
void lpguard_fhook_unregister_name(struct ftrace_ops *ops);

#endif /* _SECURITY_LPGUARD_FHOOK_H */
