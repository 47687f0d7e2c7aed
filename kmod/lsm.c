// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard, built-in form: an LSM on kernel_post_read_file
 * (READING_MODULE: finit_module) and kernel_post_load_data
 * (LOADING_MODULE: init_module). These are the only points that see the
 * exact signed bytes the kernel is about to load. Their pre hooks,
 * kernel_read_file and kernel_load_data, start each load with no verdict
 * (verdict.c).
 *
 * The hooks are registered with the other LSMs at boot; keyring,
 * notifier, klp_enable_patch hook and securityfs follow at
 * device_initcall_sync, once the asymmetric key type exists. Until then
 * every module load is refused, as the kernel's own signature check
 * would do without its trusted keys.
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/init.h>
#include <linux/kernel_read_file.h>
#include <linux/lsm_hooks.h>
#include <linux/security.h>
#include <uapi/linux/lsm.h>

#include "lpguard.h"

#ifdef LSM_ID_LPGUARD
#define LPGUARD_LSM_ID LSM_ID_LPGUARD
#else
/* Not allocated upstream: far above the ids upstream hands out (100+). */
#define LPGUARD_LSM_ID 1000
#endif

/* A module load starts: nothing allowed so far. */
static int lpguard_kernel_read_file(struct file *file,
				    enum kernel_read_file_id id,
				    bool contents)
{
	if (lpguard_reading_module(id))
		lpguard_clear_verdict();
	return 0;
}

static int lpguard_kernel_load_data(enum kernel_load_data_id id,
				    bool contents)
{
	if (id == LOADING_MODULE)
		lpguard_clear_verdict();
	return 0;
}

/* Called by kernel_read_file() only once the whole file is in @buf. */
static int lpguard_kernel_post_read_file(struct file *file, char *buf,
					 loff_t size,
					 enum kernel_read_file_id id)
{
	if (!lpguard_reading_module(id))
		return 0;
	return lpguard_check_image(buf, size, true);
}

static int lpguard_kernel_post_load_data(char *buf, loff_t size,
					 enum kernel_load_data_id id,
					 char *description)
{
	if (id != LOADING_MODULE)
		return 0;
	return lpguard_check_image(buf, size, true);
}

static struct security_hook_list lpguard_hooks[] __ro_after_init = {
	LSM_HOOK_INIT(kernel_read_file, lpguard_kernel_read_file),
	LSM_HOOK_INIT(kernel_load_data, lpguard_kernel_load_data),
	LSM_HOOK_INIT(kernel_post_read_file, lpguard_kernel_post_read_file),
	LSM_HOOK_INIT(kernel_post_load_data, lpguard_kernel_post_load_data),
};

static const struct lsm_id lpguard_lsmid = {
	.name = "lpguard",
	.id = LPGUARD_LSM_ID,
};

static bool lpguard_lsm_active __initdata;

static int __init lpguard_lsm_init(void)
{
	security_add_hooks(lpguard_hooks, ARRAY_SIZE(lpguard_hooks),
			   &lpguard_lsmid);
	lpguard_lsm_active = true;
	pr_info("hooks registered; module loads are refused until keys are loaded\n");
	return 0;
}

DEFINE_LSM(lpguard) = {
#ifdef LPGUARD_LSM_INFO_ID
	.id = &lpguard_lsmid,
#else
	.name = "lpguard",
#endif
	.init = lpguard_lsm_init,
};

static int __init lpguard_setup(void)
{
	bool modules_ok, livepatches_ok;
	int ret;

	/*
	 * Without the hooks no load gets a verdict, so the COMING notifier
	 * below refuses every module: fail closed, and say why.
	 */
	if (!lpguard_lsm_active)
		pr_err("lpguard is not in the active LSM list (CONFIG_LSM or lsm=): every module load will be refused; add lpguard to it\n");
	lpguard_keyring_init();
	lpguard_hash_init();
	ret = lpguard_notifier_init();
	modules_ok = !ret;
	if (ret)
		pr_err("cannot register the module notifier (%d): every module load will be refused\n",
		       ret);
	ret = lpguard_replace_init();
	livepatches_ok = !ret;
	if (ret)
		pr_err("cannot hook klp_enable_patch (%d): every livepatch will be refused\n",
		       ret);
	ret = lpguard_transition_init();
	if (ret) {
		pr_err("cannot observe livepatch transitions (%d): changes could not be measured, every livepatch will be refused\n",
		       ret);
		livepatches_ok = false;
	}
	ret = lpguard_lock_init();
	if (ret) {
		pr_err("the lock on disabling the active livepatch is configured but cannot hold (%d): every livepatch will be refused\n",
		       ret);
		livepatches_ok = false;
	}
	lpguard_securityfs_init();
	lpguard_set_ready(modules_ok, livepatches_ok);
	pr_notice("enforcing (form=builtin keys=%u)\n",
		  lpguard_trust()->nkeys);
	return 0;
}
device_initcall_sync(lpguard_setup);

/* IMA is initialised at late_initcall: measurements can go out now. */
static int __init lpguard_measure_late(void)
{
	lpguard_measure_start();
	return 0;
}
late_initcall_sync(lpguard_measure_late);
