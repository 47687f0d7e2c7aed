// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard, loadable form, for kernels built without the LSM.
 *
 * A module cannot add LSM hooks, so the two LSM entry points that see
 * the signed module bytes, security_kernel_post_read_file() and
 * security_kernel_post_load_data(), are redirected with permanent
 * IP-modifying ftrace ops to wrappers that first run the kernel's LSMs
 * and then lpguard's check. The COMING notifier refuses any load for
 * which no verdict was recorded, so a load that bypassed the wrappers
 * still cannot complete.
 *
 * The module has no exit function: the kernel refuses to unload it
 * (delete_module returns EBUSY; MODULE_FORCE_UNLOAD is off).
 * See docs/lpguard.md for what this form does not guarantee.
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/ftrace.h>
#include <linux/kernel_read_file.h>
#include <linux/module.h>
#include <linux/security.h>

#include "fhook.h"
#include "lpguard.h"

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

static struct redirect redirects[] = {
	{
		.ops = { .func = lpguard_redirect_thunk,
			 .flags = LPGUARD_FTRACE_FLAGS },
		.func = (unsigned long)security_kernel_post_read_file,
		.wrapper = (unsigned long)lpguard_post_read_file,
		.name = "security_kernel_post_read_file",
	},
	{
		.ops = { .func = lpguard_redirect_thunk,
			 .flags = LPGUARD_FTRACE_FLAGS },
		.func = (unsigned long)security_kernel_post_load_data,
		.wrapper = (unsigned long)lpguard_post_load_data,
		.name = "security_kernel_post_load_data",
	},
};

static int __init lpguard_init(void)
{
	int i, ret;

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
	for (i = 0; i < ARRAY_SIZE(redirects); i++) {
		ret = lpguard_fhook_register(&redirects[i].ops,
					     redirects[i].func,
					     redirects[i].name);
		if (ret)
			goto out_redirects;
	}
	lpguard_securityfs_init();
	lpguard_set_ready(true, true);
	pr_notice("enforcing (form=module keys=%u); this module cannot be unloaded\n",
		  lpguard_trust()->nkeys);
	return 0;

out_redirects:
	while (--i >= 0)
		lpguard_fhook_unregister(&redirects[i].ops, redirects[i].func);
	lpguard_replace_exit();
out_notifier:
	lpguard_notifier_exit();
	pr_err("lpguard not loaded (%d): no livepatch policy is enforced\n", ret);
	return ret;
}
module_init(lpguard_init);

MODULE_DESCRIPTION("lpguard: signed, replace-only kernel livepatches");
MODULE_LICENSE("GPL");
