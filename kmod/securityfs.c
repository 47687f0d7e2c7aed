// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: /sys/kernel/security/lpguard/{status,log,certificates}, and
 * everything they render. Untrusted strings (module names) are escaped
 * as in the kernel log (escape.c); docs/lpguard.md describes each file.
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <keys/asymmetric-type.h>
#include <linux/fs.h>
#include <linux/key.h>
#include <linux/security.h>
#include <linux/seq_file.h>
#include <linux/slab.h>

#include "escape.h"
#include "lpguard.h"

#define MAX_ACTIVE 8

static void keyring_show(struct seq_file *m)
{
	const struct lpguard_trust *t = lpguard_trust();
	const struct asymmetric_key_ids *ids;
	const struct asymmetric_key_id *skid;
	char desc[LPGUARD_ESCAPED_LEN(LPGUARD_SIGNER_LEN)];
	unsigned int i;

	seq_printf(m, "keyring: .livepatch %s\n",
		   lpguard_keyring() ? "sealed" : "missing");
	seq_printf(m, "keys: %u\n", t->nkeys);
	for (i = 0; i < t->nkeys; i++) {
		ids = asymmetric_key_ids(t->keys[i]);
		skid = ids ? ids->id[1] : NULL;
		lpguard_escape(desc, sizeof(desc), t->keys[i]->description,
			       LPGUARD_SIGNER_LEN);
		seq_printf(m, "key: serial=%08x subject=\"%s\" keyid=",
			   key_serial(t->keys[i]), desc);
		if (skid)
			seq_printf(m, "%*phN\n", skid->len, skid->data);
		else
			seq_puts(m, "-\n");
	}
}

static int status_show(struct seq_file *m, void *v)
{
	struct lpguard_name names[MAX_ACTIVE];
	char name[LPGUARD_ESCAPED_LEN(LPGUARD_NAME_LEN)];
	unsigned int i, n;
	s64 allowed, refused;
	u64 queue_ns, ima_ns;
	u32 mark;

	/* Everything decided so far is in IMA once this file was read. */
	lpguard_measure_flush();
	seq_puts(m, "form: " LPGUARD_FORM "\n");
	seq_printf(m, "enforcing: %s\n",
		   lpguard_livepatches_ready() ? "yes" :
		   "yes (not ready: every load is refused)");
	keyring_show(m);
	lpguard_counters(&allowed, &refused);
	seq_printf(m, "allowed: %lld\n", allowed);
	seq_printf(m, "refused: %lld\n", refused);
	if (lpguard_generation_mark(&mark))
		seq_printf(m, "generation: %u\n", mark);
	else
		seq_puts(m, "generation: none\n");
	seq_printf(m, "lock: %s\n", lpguard_lock_state());
	seq_printf(m, "measured: %llu%s\n", lpguard_measure_count(),
		   lpguard_measure_lost() ? " (a record was lost: livepatches are refused)" : "");
	lpguard_measure_time(&queue_ns, &ima_ns);
	seq_printf(m, "measure_ns: queue=%llu ima=%llu\n", queue_ns, ima_ns);
	n = lpguard_active_names(names, MAX_ACTIVE);
	seq_puts(m, "active:");
	for (i = 0; i < n; i++) {
		lpguard_escape(name, sizeof(name), names[i].s, LPGUARD_NAME_LEN);
		seq_printf(m, " %s", name);
	}
	seq_puts(m, n ? "\n" : " none\n");
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(status);

static void record_show(struct seq_file *m, const struct lpguard_record *r)
{
	char name[LPGUARD_ESCAPED_LEN(LPGUARD_NAME_LEN)];
	char signer[LPGUARD_ESCAPED_LEN(LPGUARD_SIGNER_LEN)];

	lpguard_escape(name, sizeof(name), r->name, sizeof(r->name));
	lpguard_escape(signer, sizeof(signer), r->signer, sizeof(r->signer));
	seq_printf(m, "%llu.%06llu %s %s obj=\"%s\" signer=\"%s\" sha256=",
		   r->when / NSEC_PER_SEC,
		   (r->when % NSEC_PER_SEC) / NSEC_PER_USEC,
		   lpguard_what_name(r->what),
		   r->allowed ? "allowed" : "refused", name, signer);
	if (r->has_sha)
		seq_printf(m, "%*phN", SHA256_DIGEST_SIZE, r->sha);
	else
		seq_puts(m, "-");
	seq_printf(m, " check_ns=%llu reason=\"%s\"\n", r->check_ns,
		   r->reason);
}

static int log_show(struct seq_file *m, void *v)
{
	struct lpguard_record *copy;
	unsigned int i, n;

	copy = kmalloc_array(LPGUARD_LOG_SIZE, sizeof(*copy), GFP_KERNEL);
	if (!copy)
		return -ENOMEM;
	n = lpguard_log_copy(copy);
	for (i = 0; i < n; i++)
		record_show(m, &copy[i]);
	kfree(copy);
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
