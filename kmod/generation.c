// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: the generation ratchet. A livepatch whose generation
 * (.modinfo lpguard.generation=, covered by its signature) is lower than
 * the highest generation enabled since boot is refused, and so is
 * another image of that same highest generation: an older signed patch
 * cannot be brought back. Generation 0 (no tag) is not ratcheted against
 * other generation-0 patches, so untagged patches keep replacing each
 * other; any tagged patch enabled locks all of them out.
 *
 * A generation counts as enabled once klp_enable_patch() was allowed for
 * it (before the livepatch core may still fail it): the mark only ever
 * errs on the side of refusing. Re-applying the same image is allowed.
 */
#include <linux/kernel.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "lpguard.h"

static bool hwm_set;
static u32 hwm;
static u8 hwm_sha[SHA256_DIGEST_SIZE];
static DEFINE_SPINLOCK(hwm_lock);

/*
 * Pure decision for a patch of generation @gen and image digest @sha
 * against a mark (@set, @mark, @mark_sha). KUnit-tested.
 */
enum lpguard_generation_verdict
lpguard_generation_decide(bool set, u32 mark, const u8 *mark_sha, u32 gen,
			  const u8 *sha)
{
	if (!set || gen > mark)
		return LPG_GEN_OK;
	if (gen < mark)
		return LPG_GEN_LOWER;
	if (!gen || !memcmp(sha, mark_sha, SHA256_DIGEST_SIZE))
		return LPG_GEN_OK;
	return LPG_GEN_OTHER_IMAGE;
}

/*
 * Check @gen/@sha against the mark (*@mark is set to it) and, with
 * @raise, raise it in the same step, so two enables cannot both pass on
 * the old mark. Atomic-safe.
 */
static enum lpguard_generation_verdict ratchet(u32 gen, const u8 *sha,
					       u32 *mark, bool raise)
{
	enum lpguard_generation_verdict v;
	unsigned long flags;

	spin_lock_irqsave(&hwm_lock, flags);
	v = lpguard_generation_decide(hwm_set, hwm, hwm_sha, gen, sha);
	*mark = hwm;
	if (raise && v == LPG_GEN_OK && (!hwm_set || gen > hwm)) {
		hwm = gen;
		memcpy(hwm_sha, sha, SHA256_DIGEST_SIZE);
		hwm_set = true;
	}
	spin_unlock_irqrestore(&hwm_lock, flags);
	return v;
}

/* At load: would @gen/@sha roll back? */
enum lpguard_generation_verdict
lpguard_generation_check(u32 gen, const u8 *sha, u32 *mark)
{
	return ratchet(gen, sha, mark, false);
}

/* klp_enable_patch() of @gen/@sha is allowed by the other rules. */
enum lpguard_generation_verdict
lpguard_generation_enable(u32 gen, const u8 *sha, u32 *mark)
{
	return ratchet(gen, sha, mark, true);
}

/* The mark, for status: false if no livepatch was enabled yet. */
bool lpguard_generation_mark(u32 *mark)
{
	unsigned long flags;
	bool set;

	spin_lock_irqsave(&hwm_lock, flags);
	set = hwm_set;
	*mark = hwm;
	spin_unlock_irqrestore(&hwm_lock, flags);
	return set;
}

/* The refusal reason for @v (LPGUARD_REASON_LEN bytes at @reason). */
void lpguard_generation_reason(enum lpguard_generation_verdict v, u32 gen,
			       u32 mark, char *reason)
{
	if (v == LPG_GEN_LOWER)
		snprintf(reason, LPGUARD_REASON_LEN,
			 "livepatch generation %u is lower than %u, the highest enabled since boot: apply a patch of generation %u or higher",
			 gen, mark, mark);
	else
		snprintf(reason, LPGUARD_REASON_LEN,
			 "livepatch generation %u was enabled since boot with another image: sign this patch with a generation higher than %u",
			 gen, mark);
}
