// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: the load policy, its audit trail and the per-task verdicts
 * the MODULE_STATE_COMING notifier cross-checks.
 *
 *  - a livepatch (any livepatch= tag in .modinfo) loads only if its
 *    appended signature verifies against .livepatch;
 *  - an ordinary module whose signature names a .livepatch key is
 *    refused: livepatch keys sign livepatches only;
 *  - an image lpguard cannot parse is refused (this closes compressed
 *    loads: lpguard only ever sees and accepts the bytes the kernel runs).
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <crypto/hash.h>
#include <crypto/sha2.h>
#include <linux/err.h>
#include <linux/atomic.h>
#include <linux/errno.h>
#include <linux/hex.h>
#include <linux/kernel.h>
#include <linux/key.h>
#include <linux/ktime.h>
#include <linux/sched.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "lpguard.h"

static bool modules_ready, livepatches_ready;
static struct crypto_shash *image_hash;	/* best "sha256" the kernel has */

/*
 * The image hash for the audit log. The crypto API picks the fastest
 * SHA-256 the kernel has (SHA-NI, AVX2, ...); the library code is the
 * fallback.
 */
void lpguard_hash_init(void)
{
	struct crypto_shash *tfm = crypto_alloc_shash("sha256", 0, 0);

	if (!IS_ERR(tfm))
		image_hash = tfm;
}

static void hash_image(const void *data, size_t len, u8 *out)
{
	if (!image_hash || crypto_shash_tfm_digest(image_hash, data, len, out))
		sha256(data, len, out);
}

static atomic64_t n_allowed = ATOMIC64_INIT(0);
static atomic64_t n_refused = ATOMIC64_INIT(0);

void lpguard_set_ready(bool modules, bool livepatches)
{
	WRITE_ONCE(livepatches_ready, modules && livepatches);
	WRITE_ONCE(modules_ready, modules);
}

bool lpguard_livepatches_ready(void)
{
	return READ_ONCE(livepatches_ready);
}

static const char *const what_name[] = {
	[LPG_LIVEPATCH] = "livepatch",
	[LPG_MODULE] = "module",
	[LPG_ENABLE] = "klp_enable_patch",
};

/* The audit ring behind /sys/kernel/security/lpguard/log. */
#define LOG_SIZE 64

struct record {
	u64 when;
	u64 check_ns;
	enum lpguard_what what;
	bool allowed;
	bool has_sha;
	u8 sha[SHA256_DIGEST_SIZE];
	char name[LPGUARD_NAME_LEN];
	char signer[96];
	char reason[LPGUARD_REASON_LEN];
};

static struct record log_ring[LOG_SIZE];
static unsigned int log_next, log_count;
static DEFINE_SPINLOCK(log_lock);

/*
 * Account for one decision, print it (refusals and livepatch decisions;
 * ordinary modules the kernel's own checks decide on are only logged in
 * securityfs) and add it to the audit ring. Safe in atomic context.
 */
void lpguard_report(const struct lpguard_decision *d)
{
	char sha[SHA256_DIGEST_SIZE * 2 + 1] = "-";
	struct record *r;
	unsigned long flags;

	if (d->sha256)
		bin2hex(sha, d->sha256, SHA256_DIGEST_SIZE)[0] = '\0';
	atomic64_inc(d->allowed ? &n_allowed : &n_refused);
	if (!d->allowed || d->what != LPG_MODULE)
		pr_notice("%s %s obj=\"%s\" signer=\"%s\" reason=\"%s\" sha256=%s pid=%d comm=\"%s\"\n",
			  what_name[d->what], d->allowed ? "allowed" : "refused",
			  d->name, d->signer, d->reason, sha,
			  task_pid_nr(current), current->comm);

	spin_lock_irqsave(&log_lock, flags);
	r = &log_ring[log_next];
	log_next = (log_next + 1) % LOG_SIZE;
	if (log_count < LOG_SIZE)
		log_count++;
	r->when = ktime_get_real_ns();
	r->check_ns = d->check_ns;
	r->what = d->what;
	r->allowed = d->allowed;
	r->has_sha = !!d->sha256;
	if (d->sha256)
		memcpy(r->sha, d->sha256, sizeof(r->sha));
	strscpy(r->name, d->name, sizeof(r->name));
	strscpy(r->signer, d->signer, sizeof(r->signer));
	strscpy(r->reason, d->reason, sizeof(r->reason));
	spin_unlock_irqrestore(&log_lock, flags);
}

void lpguard_log_show(struct seq_file *m)
{
	struct record *copy;
	unsigned int i, n, first;
	unsigned long flags;

	copy = kmalloc_array(LOG_SIZE, sizeof(*copy), GFP_KERNEL);
	if (!copy)
		return;
	spin_lock_irqsave(&log_lock, flags);
	n = log_count;
	first = (log_next + LOG_SIZE - n) % LOG_SIZE;
	for (i = 0; i < n; i++)
		copy[i] = log_ring[(first + i) % LOG_SIZE];
	spin_unlock_irqrestore(&log_lock, flags);

	for (i = 0; i < n; i++) {
		struct record *r = &copy[i];

		seq_printf(m, "%llu.%06llu %s %s obj=\"%s\" signer=\"%s\" sha256=",
			   r->when / NSEC_PER_SEC,
			   (r->when % NSEC_PER_SEC) / NSEC_PER_USEC,
			   what_name[r->what],
			   r->allowed ? "allowed" : "refused",
			   r->name, r->signer);
		if (r->has_sha)
			seq_printf(m, "%*phN", SHA256_DIGEST_SIZE, r->sha);
		else
			seq_puts(m, "-");
		seq_printf(m, " check_ns=%llu reason=\"%s\"\n", r->check_ns,
			   r->reason);
	}
	kfree(copy);
}

void lpguard_status_show(struct seq_file *m)
{
	seq_puts(m, "form: " LPGUARD_FORM "\n");
	seq_printf(m, "enforcing: %s\n",
		   READ_ONCE(livepatches_ready) ? "yes" :
		   "yes (not ready: every load is refused)");
	lpguard_keyring_show(m);
	seq_printf(m, "allowed: %lld\n", atomic64_read(&n_allowed));
	seq_printf(m, "refused: %lld\n", atomic64_read(&n_refused));
	lpguard_active_show(m);
}

/*
 * Per-task verdicts: the load hook and the COMING notifier run in the
 * same task, in that order, for every module load.
 */
#define VERDICTS 32

struct verdict {
	struct task_struct *task;
	u64 seq;
	bool livepatch;
	char name[LPGUARD_NAME_LEN];
};

static struct verdict verdicts[VERDICTS];
static u64 verdict_seq;
static DEFINE_SPINLOCK(verdict_lock);

static void put_verdict(bool allowed, const struct lpguard_image *img)
{
	struct verdict *v = NULL, *oldest = &verdicts[0];
	unsigned int i;

	spin_lock(&verdict_lock);
	for (i = 0; i < VERDICTS && !v; i++) {
		if (verdicts[i].task == current)
			v = &verdicts[i];
		else if (verdicts[i].seq < oldest->seq)
			oldest = &verdicts[i];
	}
	if (!v)
		v = oldest;
	if (allowed) {
		v->task = current;
		v->seq = ++verdict_seq;
		v->livepatch = img->livepatch;
		strscpy(v->name, img->name, sizeof(v->name));
	} else if (v->task == current) {
		memset(v, 0, sizeof(*v));
	}
	spin_unlock(&verdict_lock);
}

int lpguard_take_verdict(bool *livepatch, char *name)
{
	unsigned int i;
	int ret = -ENOENT;

	spin_lock(&verdict_lock);
	for (i = 0; i < VERDICTS; i++) {
		if (verdicts[i].task != current)
			continue;
		*livepatch = verdicts[i].livepatch;
		strscpy(name, verdicts[i].name, LPGUARD_NAME_LEN);
		memset(&verdicts[i], 0, sizeof(verdicts[i]));
		ret = 0;
		break;
	}
	spin_unlock(&verdict_lock);
	return ret;
}

/*
 * The policy on one image against trust @t. Returns 0 (allowed),
 * -EKEYREJECTED (livepatch signature missing or not verifying) or -EPERM.
 * @reason (LPGUARD_REASON_LEN bytes) says why; *@signer is the key of
 * @t the signature names, if any.
 */
int lpguard_decide(const void *data, size_t len,
		   const struct lpguard_trust *t, struct lpguard_image *img,
		   struct key **signer, char *reason)
{
	struct lpguard_signer signers[LPGUARD_MAX_SIGNERS];
	const char *why = NULL;
	bool certs;
	int i, n, ret;

	*signer = NULL;
	ret = lpguard_parse_image(data, len, img, &why);
	if (ret) {
		snprintf(reason, LPGUARD_REASON_LEN,
			 "%s: load the uncompressed module as built and signed",
			 why);
		return -EPERM;
	}

	if (img->sig) {
		n = lpguard_parse_signers(img->sig, img->sig_len, signers,
					  ARRAY_SIZE(signers), &certs, &why);
		if (n < 0) {
			snprintf(reason, LPGUARD_REASON_LEN,
				 "%s: re-sign the module", why);
			return img->livepatch ? -EKEYREJECTED : -EPERM;
		}
		for (i = 0; i < n && !*signer; i++)
			*signer = lpguard_match_signer(t, &signers[i]);
	}

	if (!img->livepatch) {
		if (*signer) {
			strscpy(reason,
				"ordinary module signed by a livepatch key: livepatch keys sign livepatches only; sign it with the kernel module key",
				LPGUARD_REASON_LEN);
			return -EPERM;
		}
		strscpy(reason,
			"not a livepatch and not signed by a livepatch key",
			LPGUARD_REASON_LEN);
		return 0;
	}

	if (!img->sig) {
		strscpy(reason,
			"livepatch is not signed: sign it with a livepatch key",
			LPGUARD_REASON_LEN);
		return -EKEYREJECTED;
	}
	if (!t->nkeys) {
		strscpy(reason,
			"the .livepatch keyring is empty: rebuild the kernel with LPGUARD_CERTS",
			LPGUARD_REASON_LEN);
		return -EKEYREJECTED;
	}
	ret = lpguard_verify(t, data, img->payload_len, img->sig,
			     img->sig_len);
	if (ret == -ENOKEY) {
		strscpy(reason,
			"livepatch is not signed by a key in .livepatch: sign it with a livepatch key",
			LPGUARD_REASON_LEN);
		return -EKEYREJECTED;
	}
	if (ret == -ENOPKG) {
		strscpy(reason,
			"livepatch signature uses an algorithm this kernel cannot check: sign it with sha256 or sha512 and an RSA or ECDSA key",
			LPGUARD_REASON_LEN);
		return -EKEYREJECTED;
	}
	if (ret == -EBADMSG) {
		strscpy(reason,
			"livepatch signature block is malformed: sign it again with cvm-cli sign",
			LPGUARD_REASON_LEN);
		return -EKEYREJECTED;
	}
	if (ret) {
		snprintf(reason, LPGUARD_REASON_LEN,
			 "livepatch signature does not verify against .livepatch (%d): the image changed after signing; use the signed original",
			 ret);
		return -EKEYREJECTED;
	}
	strscpy(reason,
		"signature verifies against .livepatch",
		LPGUARD_REASON_LEN);
	return 0;
}

/*
 * Entry point of the load hooks (LSM hooks in the built-in form, ftrace
 * wrappers in the loadable form): @whole is false for partial reads.
 */
int lpguard_check_image(const void *data, size_t len, bool whole)
{
	u8 sha[SHA256_DIGEST_SIZE];
	char reason[LPGUARD_REASON_LEN];
	struct lpguard_decision d = { };
	struct lpguard_image img = { };
	struct key *signer = NULL;
	u64 start = ktime_get_ns();
	int ret;

	if (!READ_ONCE(modules_ready)) {
		strscpy(reason,
			"lpguard is not initialised (see earlier lpguard messages): no module can load",
			LPGUARD_REASON_LEN);
		ret = -EPERM;
	} else if (!whole) {
		strscpy(reason,
			"module image was read partially: load the whole file",
			LPGUARD_REASON_LEN);
		ret = -EPERM;
	} else {
		ret = lpguard_decide(data, len, lpguard_trust(), &img,
				     &signer, reason);
		if (!ret && img.livepatch && !lpguard_livepatches_ready()) {
			strscpy(reason,
				"the replace-only hook on klp_enable_patch is not installed (see earlier lpguard messages)",
				LPGUARD_REASON_LEN);
			ret = -EPERM;
		}
	}
	hash_image(data, len, sha);

	d.what = img.livepatch ? LPG_LIVEPATCH : LPG_MODULE;
	d.allowed = !ret;
	d.name = img.name[0] ? img.name : "?";
	d.signer = signer ? signer->description :
		   img.sig ? "not a .livepatch key" : "unsigned";
	d.reason = reason;
	d.sha256 = sha;
	d.check_ns = ktime_get_ns() - start;
	put_verdict(!ret, &img);
	lpguard_report(&d);
	return ret;
}
