// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: the load policy and its audit trail.
 *
 *  - a livepatch (any livepatch= tag in .modinfo) loads only if its
 *    appended signature verifies against .livepatch;
 *  - an ordinary module whose signature verifies against .livepatch by
 *    any path is refused: livepatch keys sign livepatches only;
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
#include <linux/pid.h>
#include <linux/sched.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "escape.h"
#include "lpguard.h"
#include "measure.h"

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

void lpguard_sha256(const void *data, size_t len, u8 *out)
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
	[LPG_DISABLE] = "disable",
};

const char *lpguard_what_name(enum lpguard_what what)
{
	return what_name[what];
}

/* The audit ring behind /sys/kernel/security/lpguard/log. */
static struct lpguard_record log_ring[LPGUARD_LOG_SIZE];
static unsigned int log_next, log_count;
static DEFINE_SPINLOCK(log_lock);

/*
 * Account for one decision, print it (refusals and livepatch decisions;
 * ordinary modules the kernel's own checks decide on are only logged in
 * securityfs) and add it to the audit ring. Safe in atomic context: the
 * escaped copies of the untrusted strings live on the stack.
 */
void lpguard_report(const struct lpguard_decision *d)
{
	char sha[SHA256_DIGEST_SIZE * 2 + 1] = "-";
	char name[LPGUARD_ESCAPED_LEN(LPGUARD_NAME_LEN)];
	char signer[LPGUARD_ESCAPED_LEN(LPGUARD_SIGNER_LEN)];
	char comm[LPGUARD_ESCAPED_LEN(TASK_COMM_LEN)];
	struct lpguard_record *r;
	unsigned long flags;

	if (d->sha256)
		bin2hex(sha, d->sha256, SHA256_DIGEST_SIZE)[0] = '\0';
	atomic64_inc(d->allowed ? &n_allowed : &n_refused);
	if (!d->allowed || d->what != LPG_MODULE) {
		lpguard_escape(name, sizeof(name), d->name, LPGUARD_NAME_LEN);
		lpguard_escape(signer, sizeof(signer), d->signer,
			       LPGUARD_SIGNER_LEN);
		lpguard_escape(comm, sizeof(comm), current->comm,
			       TASK_COMM_LEN);
		pr_notice("%s %s obj=\"%s\" signer=\"%s\" reason=\"%s\" sha256=%s pid=%d comm=\"%s\"\n",
			  what_name[d->what], d->allowed ? "allowed" : "refused",
			  name, signer, d->reason, sha, task_pid_nr(current),
			  comm);
	}

	spin_lock_irqsave(&log_lock, flags);
	r = &log_ring[log_next];
	log_next = (log_next + 1) % LPGUARD_LOG_SIZE;
	if (log_count < LPGUARD_LOG_SIZE)
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

/* Copy the ring, oldest first, into @out (LPGUARD_LOG_SIZE records). */
unsigned int lpguard_log_copy(struct lpguard_record *out)
{
	unsigned int i, n, first;
	unsigned long flags;

	spin_lock_irqsave(&log_lock, flags);
	n = log_count;
	first = (log_next + LPGUARD_LOG_SIZE - n) % LPGUARD_LOG_SIZE;
	for (i = 0; i < n; i++)
		out[i] = log_ring[(first + i) % LPGUARD_LOG_SIZE];
	spin_unlock_irqrestore(&log_lock, flags);
	return n;
}

void lpguard_counters(s64 *allowed, s64 *refused)
{
	*allowed = atomic64_read(&n_allowed);
	*refused = atomic64_read(&n_refused);
}

/*
 * An ordinary module whose signature carries certificates: the kernel
 * chains a signer through them to any trusted key, so ask the PKCS#7
 * code itself whether the signature verifies against .livepatch. Without
 * certificates in the message the only path to a key is the signer
 * identifier, which lpguard_match_signer() already compared.
 */
static int ordinary_with_certs(const void *data,
			       const struct lpguard_trust *t,
			       const struct lpguard_image *img, char *reason)
{
	int ret = lpguard_verify(t, data, img->payload_len, img->sig,
				 img->sig_len);

	if (ret == -ENOKEY) {
		strscpy(reason,
			"not a livepatch and not signed by a livepatch key",
			LPGUARD_REASON_LEN);
		return 0;
	}
	if (!ret || ret == -EKEYREJECTED)
		strscpy(reason,
			"ordinary module signed through a certificate issued by a livepatch key: livepatch keys sign livepatches only; sign it with the kernel module key",
			LPGUARD_REASON_LEN);
	else
		snprintf(reason, LPGUARD_REASON_LEN,
			 "cannot tell whether the certificates in this ordinary module's signature lead to a livepatch key (%d): sign it with the kernel module key, without certificates",
			 ret);
	return -EPERM;
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
		if (img->sig && certs)
			return ordinary_with_certs(data, t, img, reason);
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
/* What a livepatch allowed at load is measured as. */
static void measure_load(enum lpguard_event e, const struct lpguard_image *img,
			 const u8 *sha, const struct key *signer)
{
	struct lpguard_measurement m = {
		.event = e,
		.has_sha = true,
		.generation = img->generation,
	};

	strscpy(m.name, img->name, sizeof(m.name));
	memcpy(m.sha256, sha, sizeof(m.sha256));
	if (signer)
		m.keyid_len = lpguard_key_skid(signer, m.keyid,
					       sizeof(m.keyid));
	lpguard_measure(&m);
}

/*
 * A livepatch the signature check allowed: refuse it when a change could
 * not be measured, or when its generation would roll back (generation.c).
 */
static int livepatch_checks(const struct lpguard_image *img, const u8 *sha,
			    const struct key *signer, char *reason)
{
	enum lpguard_generation_verdict v;
	u32 mark;

	if (lpguard_measure_lost()) {
		strscpy(reason,
			"an earlier livepatch change could not be measured: reboot before applying livepatches",
			LPGUARD_REASON_LEN);
		return -EPERM;
	}
	v = lpguard_generation_check(img->generation, sha, &mark);
	if (v != LPG_GEN_OK) {
		lpguard_generation_reason(v, img->generation, mark, reason);
		measure_load(LPG_EV_GENERATION_REFUSED, img, sha, signer);
		return -EPERM;
	}
	measure_load(LPG_EV_LOAD, img, sha, signer);
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
	lpguard_sha256(data, len, sha);
	if (!ret && img.livepatch)
		ret = livepatch_checks(&img, sha, signer, reason);

	d.what = img.livepatch ? LPG_LIVEPATCH : LPG_MODULE;
	d.allowed = !ret;
	d.name = img.name[0] ? img.name : "?";
	d.signer = signer ? signer->description :
		   img.sig ? "not a .livepatch key" : "unsigned";
	d.reason = reason;
	d.sha256 = sha;
	d.check_ns = ktime_get_ns() - start;
	if (ret)
		lpguard_clear_verdict();
	else
		lpguard_put_verdict(&img, sha, signer);
	lpguard_report(&d);
	return ret;
}
