// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite lpguard_verdict: per-task verdicts (verdict.c) from the
 * load hook to the COMING cross-check.
 */
#include <kunit/test.h>
#include <linux/string.h>

#include "../lpguard.h"

static const u8 strtab[] = "\0lpg_init\0lpg_exit\0";
static const u8 image_sha[SHA256_DIGEST_SIZE] = { 0x5a, 0xa5 };

static void image(struct lpguard_image *img, const char *name, bool lp)
{
	memset(img, 0, sizeof(*img));
	strscpy(img->name, name, sizeof(img->name));
	img->livepatch = lp;
	img->nsyms = 3;
	img->strtab = strtab;
	img->strtab_len = sizeof(strtab);
}

static void verdict_put_take(struct kunit *test)
{
	struct lpguard_verdict v;
	struct lpguard_image img;
	u8 sha[SHA256_DIGEST_SIZE];

	lpguard_clear_verdict();
	image(&img, "lpg_a", true);
	lpguard_put_verdict(&img, image_sha, NULL);
	KUNIT_ASSERT_EQ(test, lpguard_take_verdict(&v), 0);
	KUNIT_EXPECT_STREQ(test, v.name, "lpg_a");
	KUNIT_EXPECT_TRUE(test, v.livepatch);
	KUNIT_EXPECT_EQ(test, v.nsyms, 3);
	KUNIT_EXPECT_EQ(test, v.strtab_len, sizeof(strtab));
	lpguard_sha256(strtab, sizeof(strtab), sha);
	KUNIT_EXPECT_MEMEQ(test, v.strtab_sha256, sha, sizeof(sha));
	KUNIT_EXPECT_MEMEQ(test, v.sha256, image_sha, sizeof(image_sha));
	KUNIT_EXPECT_EQ(test, v.keyid_len, 0);
	/* Taken once: COMING of another load finds none. */
	KUNIT_EXPECT_EQ(test, lpguard_take_verdict(&v), -ENOENT);
}

/* A new load (pre hook) drops what an earlier, failed load left. */
static void verdict_cleared_by_next_load(struct kunit *test)
{
	struct lpguard_verdict v;
	struct lpguard_image img;

	image(&img, "lpg_a", false);
	lpguard_put_verdict(&img, image_sha, NULL);
	lpguard_clear_verdict();
	KUNIT_EXPECT_EQ(test, lpguard_take_verdict(&v), -ENOENT);
}

/* A task has one verdict: the latest load's. */
static void verdict_latest_wins(struct kunit *test)
{
	struct lpguard_verdict v;
	struct lpguard_image img;

	image(&img, "lpg_a", false);
	lpguard_put_verdict(&img, image_sha, NULL);
	image(&img, "lpg_b", true);
	img.strtab = NULL;
	img.nsyms = 0;
	lpguard_put_verdict(&img, image_sha, NULL);
	KUNIT_ASSERT_EQ(test, lpguard_take_verdict(&v), 0);
	KUNIT_EXPECT_STREQ(test, v.name, "lpg_b");
	KUNIT_EXPECT_EQ(test, v.nsyms, 0);
	KUNIT_EXPECT_EQ(test, v.strtab_len, 0);
	KUNIT_EXPECT_EQ(test, lpguard_take_verdict(&v), -ENOENT);
}

static struct kunit_case lpguard_verdict_cases[] = {
	KUNIT_CASE(verdict_put_take),
	KUNIT_CASE(verdict_cleared_by_next_load),
	KUNIT_CASE(verdict_latest_wins),
	{}
};

static struct kunit_suite lpguard_verdict_suite = {
	.name = "lpguard_verdict",
	.test_cases = lpguard_verdict_cases,
};

kunit_test_suite(lpguard_verdict_suite);
