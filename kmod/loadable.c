// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard, loadable form, for kernels built without the LSM.
 *
 * A module cannot add LSM hooks, so the two LSM entry points that see
 * the signed module bytes, security_kernel_post_read_file() and
 * security_kernel_post_load_data(), are redirected with permanent
 * IP-modifying ftrace ops to wrappers that first run the kernel's LSMs
 * and then lpguard's check; their pre hooks, security_kernel_read_file()
 * and security_kernel_load_data(), to wrappers that start the load with
 * no verdict. The COMING notifier refuses any load for which no verdict
 * was recorded, so a load that bypassed the wrappers still cannot
 * complete.
 *
 * The module has no exit function: the kernel refuses to unload it
 * (delete_module returns EBUSY). It refuses to load where that does not
 * hold (CONFIG_MODULE_FORCE_UNLOAD) or where module signatures are not
 * enforced, which would let any unsigned module undo its hooks.
 * See docs/lpguard.md for what this form does not guarantee.
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/ftrace.h>
#include <linux/kernel_read_file.h>
#include <linux/module.h>
#include <linux/security.h>

#include "fhook.h"
#include "lpguard.h"

/*
 * The wrappers must not end in a tail call of the function they wrap:
 * the call would come from the redirected caller, not from this module,
 * and be redirected again (lpguard_redirect_thunk).
 */
static int lpguard_read_file(struct file *file, enum kernel_read_file_id id,
			     bool contents)
{
	int ret = security_kernel_read_file(file, id, contents);

	if (lpguard_reading_module(id))
		lpguard_clear_verdict();
	return ret;
}

static int lpguard_load_data(enum kernel_load_data_id id, bool contents)
{
	int ret = security_kernel_load_data(id, contents);

	if (id == LOADING_MODULE)
		lpguard_clear_verdict();
	return ret;
}

static int lpguard_post_read_file(struct file *file, char *buf, loff_t size,
				  enum kernel_read_file_id id)
{
	int ret = security_kernel_post_read_file(file, buf, size, id);

	if (ret || !lpguard_reading_module(id))
		return ret;
	return lpguard_check_image(buf, size, true);
}

static int lpguard_post_load_data(char *buf, loff_t size,
				  enum kernel_load_data_id id,
				  char *description)
{
	int ret = security_kernel_post_load_data(buf, size, id, description);

	if (ret || id != LOADING_MODULE)
		return ret;
	return lpguard_check_image(buf, size, true);
}

struct redirect {
	struct ftrace_ops ops;
	unsigned long func;
	unsigned long wrapper;
	const char *name;
};

/* Calls from the wrappers (in this module) reach the original. */
static void notrace lpguard_redirect_thunk(unsigned long ip,
					   unsigned long parent_ip,
					   struct ftrace_ops *ops,
					   struct ftrace_regs *fregs)
{
	struct redirect *r = container_of(ops, struct redirect, ops);

	if (!within_module(parent_ip, THIS_MODULE))
		ftrace_regs_set_instruction_pointer(fregs, r->wrapper);
}

#define REDIRECT(fn, wrap) {					\
	.ops = { .func = lpguard_redirect_thunk,			\
		 .flags = LPGUARD_FTRACE_FLAGS },			\
	.func = (unsigned long)(fn),					\
	.wrapper = (unsigned long)(wrap),				\
	.name = #fn,							\
}

static struct redirect redirects[] = {
	REDIRECT(security_kernel_read_file, lpguard_read_file),
	REDIRECT(security_kernel_load_data, lpguard_load_data),
	REDIRECT(security_kernel_post_read_file, lpguard_post_read_file),
	REDIRECT(security_kernel_post_load_data, lpguard_post_load_data),
};

/*
 * Kernels where this form cannot hold. Kbuild refuses to build for the
 * first (kmod/Makefile); the check here keeps a module built otherwise
 * from loading.
 */
static int unsafe_kernel(void)
{
	if (IS_ENABLED(CONFIG_MODULE_FORCE_UNLOAD)) {
		pr_err("not loaded: this kernel has CONFIG_MODULE_FORCE_UNLOAD=y, so 'rmmod -f lpguard' would leave its hooks on freed code; use the built-in form or a kernel without it\n");
		return -EPERM;
	}
	if (!is_module_sig_enforced() &&
	    !security_locked_down(LOCKDOWN_MODULE_SIGNATURE)) {
		pr_err("not loaded: module signatures are not enforced, so any unsigned module could undo lpguard; boot with module.sig_enforce=1 (or CONFIG_MODULE_SIG_FORCE=y) and load it again\n");
		return -EPERM;
	}
	return 0;
}

static int __init lpguard_init(void)
{
	int i, ret;

	ret = unsafe_kernel();
	if (ret)
		return ret;
	lpguard_keyring_init();
	lpguard_hash_init();
	ret = lpguard_notifier_init();
	if (ret) {
		pr_err("cannot register the module notifier (%d): lpguard not loaded\n",
		       ret);
		return ret;
	}
	ret = lpguard_replace_init();
	if (ret)
		goto out_notifier;
	ret = lpguard_transition_init();
	if (ret)
		goto out_replace;
	for (i = 0; i < ARRAY_SIZE(redirects); i++) {
		ret = lpguard_fhook_register(&redirects[i].ops,
					     redirects[i].func,
					     redirects[i].name);
		if (ret)
			goto out_redirects;
	}
	lpguard_securityfs_init();
	lpguard_measure_start();
	lpguard_set_ready(true, true);
	pr_notice("enforcing (form=module keys=%u); this module cannot be unloaded\n",
		  lpguard_trust()->nkeys);
	return 0;

out_redirects:
	while (--i >= 0)
		lpguard_fhook_unregister(&redirects[i].ops, redirects[i].func);
	lpguard_transition_exit();
out_replace:
	lpguard_replace_exit();
out_notifier:
	lpguard_notifier_exit();
	pr_err("lpguard not loaded (%d): no livepatch policy is enforced\n", ret);
	return ret;
}
module_init(lpguard_init);

MODULE_DESCRIPTION("lpguard: signed, replace-only kernel livepatches");
MODULE_LICENSE("GPL");
