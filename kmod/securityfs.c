// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: /sys/kernel/security/lpguard/{status,log,certificates}.
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/fs.h>
#include <linux/security.h>
#include <linux/seq_file.h>

#include "lpguard.h"

static int status_show(struct seq_file *m, void *v)
{
	lpguard_status_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(status);

static int log_show(struct seq_file *m, void *v)
{
	lpguard_log_show(m);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(log);

/* The embedded certificates as a PEM bundle (lp-load pre-checks with it). */
static ssize_t certificates_read(struct file *file, char __user *buf,
				 size_t count, loff_t *ppos)
{
	return simple_read_from_buffer(buf, count, ppos, lpguard_certs_pem,
				       lpguard_certs_pem_end - lpguard_certs_pem);
}

static const struct file_operations certificates_fops = {
	.owner = THIS_MODULE,
	.read = certificates_read,
	.llseek = default_llseek,
};

static struct dentry *dir, *files[3];

void lpguard_securityfs_exit(void)
{
	int i;

	for (i = ARRAY_SIZE(files) - 1; i >= 0; i--)
		securityfs_remove(files[i]);
	securityfs_remove(dir);
}

int lpguard_securityfs_init(void)
{
	dir = securityfs_create_dir("lpguard", NULL);
	if (IS_ERR(dir))
		goto fail;
	files[0] = securityfs_create_file("status", 0444, dir, NULL,
					  &status_fops);
	files[1] = securityfs_create_file("log", 0440, dir, NULL, &log_fops);
	files[2] = securityfs_create_file("certificates", 0444, dir, NULL,
					  &certificates_fops);
	if (IS_ERR(files[0]) || IS_ERR(files[1]) || IS_ERR(files[2]))
		goto fail;
	return 0;
fail:
	pr_err("cannot create /sys/kernel/security/lpguard: status and log are unavailable, enforcement is not affected\n");
	return -ENOMEM;
}
