// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite lpguard_generation: the anti-rollback decision
 * (generation.c) on a mark.
 */
#include <kunit/test.h>
#include <linux/limits.h>

#include "../lpguard.h"

static const u8 sha_a[SHA256_DIGEST_SIZE] = { 0xa };
static const u8 sha_b[SHA256_DIGEST_SIZE] = { 0xb };

static void generation_no_mark(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, lpguard_generation_decide(false, 0, sha_a, 0,
							sha_b), LPG_GEN_OK);
	KUNIT_EXPECT_EQ(test, lpguard_generation_decide(false, 0, sha_a, 5,
							sha_b), LPG_GEN_OK);
}

static void generation_ratchet(struct kunit *test)
{
	/* mark: generation 2, image A */
	KUNIT_EXPECT_EQ(test, lpguard_generation_decide(true, 2, sha_a, 3,
							sha_b), LPG_GEN_OK);
	KUNIT_EXPECT_EQ(test, lpguard_generation_decide(true, 2, sha_a, 2,
							sha_a), LPG_GEN_OK);
	KUNIT_EXPECT_EQ(test, lpguard_generation_decide(true, 2, sha_a, 2,
							sha_b),
			LPG_GEN_OTHER_IMAGE);
	KUNIT_EXPECT_EQ(test, lpguard_generation_decide(true, 2, sha_a, 1,
							sha_a), LPG_GEN_LOWER);
	KUNIT_EXPECT_EQ(test, lpguard_generation_decide(true, 2, sha_a, 0,
							sha_b), LPG_GEN_LOWER);
	KUNIT_EXPECT_EQ(test, lpguard_generation_decide(true, U32_MAX, sha_a,
							U32_MAX, sha_b),
			LPG_GEN_OTHER_IMAGE);
}

/* Untagged patches (generation 0) replace each other until a tagged one. */
static void generation_untagged(struct kunit *test)
{
	KUNIT_EXPECT_EQ(test, lpguard_generation_decide(true, 0, sha_a, 0,
							sha_b), LPG_GEN_OK);
	KUNIT_EXPECT_EQ(test, lpguard_generation_decide(true, 1, sha_a, 0,
							sha_a), LPG_GEN_LOWER);
}

static void generation_reasons(struct kunit *test)
{
	char reason[LPGUARD_REASON_LEN];

	lpguard_generation_reason(LPG_GEN_LOWER, 1, 2, reason);
	KUNIT_EXPECT_STREQ(test, reason,
			   "livepatch generation 1 is lower than 2, the highest enabled since boot: apply a patch of generation 2 or higher");
	lpguard_generation_reason(LPG_GEN_OTHER_IMAGE, 2, 2, reason);
	KUNIT_EXPECT_STREQ(test, reason,
			   "livepatch generation 2 was enabled since boot with another image: sign this patch with a generation higher than 2");
}

static struct kunit_case lpguard_generation_cases[] = {
	KUNIT_CASE(generation_no_mark),
	KUNIT_CASE(generation_ratchet),
	KUNIT_CASE(generation_untagged),
	KUNIT_CASE(generation_reasons),
	{}
};

static struct kunit_suite lpguard_generation_suite = {
	.name = "lpguard_generation",
	.test_cases = lpguard_generation_cases,
};

kunit_test_suite(lpguard_generation_suite);
