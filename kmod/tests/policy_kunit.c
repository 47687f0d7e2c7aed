// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite lpguard_policy: the load policy (policy.c) against a
 * keyring of test certificates made at build time by gen-kunit-data.sh
 * (right key, wrong key, ECDSA, unsigned, tampered, ordinary modules).
 */
#include <kunit/test.h>
#include <linux/elf.h>
#include <linux/err.h>
#include <linux/key.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kunit_data.h"
#include "../lpguard.h"

/* Policy against a keyring holding test certificate A only. */
struct policy_ctx {
	struct lpguard_trust trust;
};

static int policy_init(struct kunit *test)
{
	struct policy_ctx *ctx = kunit_kzalloc(test, sizeof(*ctx), GFP_KERNEL);
	const u8 *cert = lpguard_kunit_cert_a;

	KUNIT_ASSERT_NOT_NULL(test, ctx);
	ctx->trust.keyring = lpguard_keyring_alloc("lpguard-kunit");
	KUNIT_ASSERT_FALSE(test, IS_ERR(ctx->trust.keyring));
	KUNIT_ASSERT_EQ(test, lpguard_trust_add_certs(&ctx->trust, cert,
						      cert + lpguard_kunit_cert_a_len),
			0);
	KUNIT_ASSERT_EQ(test, ctx->trust.nkeys, 1);
	test->priv = ctx;
	return 0;
}

static void policy_exit(struct kunit *test)
{
	struct policy_ctx *ctx = test->priv;
	unsigned int i;

	for (i = 0; i < ctx->trust.nkeys; i++)
		key_put(ctx->trust.keys[i]);
	key_put(ctx->trust.keyring);
}

static int decide(struct kunit *test, const u8 *p, size_t len,
		  struct key **signer)
{
	struct policy_ctx *ctx = test->priv;
	char reason[LPGUARD_REASON_LEN];
	struct lpguard_image img;

	return lpguard_decide(p, len, &ctx->trust, &img, signer, reason);
}

static void policy_livepatch_right_key(struct kunit *test)
{
	struct policy_ctx *ctx = test->priv;
	struct key *signer;
	int ret;

	ret = decide(test, lpguard_kunit_lp_a, lpguard_kunit_lp_a_len,
		     &signer);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_PTR_EQ(test, signer, ctx->trust.keys[0]);
	ret = decide(test, lpguard_kunit_lp_a_skid, lpguard_kunit_lp_a_skid_len,
		     &signer);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_PTR_EQ(test, signer, ctx->trust.keys[0]);
}

static void policy_livepatch_wrong_key(struct kunit *test)
{
	struct key *signer;
	int ret;

	ret = decide(test, lpguard_kunit_lp_b, lpguard_kunit_lp_b_len,
		     &signer);
	KUNIT_EXPECT_EQ(test, ret, -EKEYREJECTED);
	KUNIT_EXPECT_NULL(test, signer);
}

/*
 * An ECDSA P-384 livepatch key (cvm-cli generate-livepatch-keys --type
 * ecdsa-p384): the kernel must have ECDSA (kconfig/lpguard.config), or
 * verification fails with -ENOPKG and every such patch is refused.
 */
static void policy_livepatch_ecdsa_key(struct kunit *test)
{
	struct policy_ctx *ctx = test->priv;
	const u8 *cert = lpguard_kunit_cert_e;
	struct key *signer;
	int ret;

	ret = decide(test, lpguard_kunit_lp_e, lpguard_kunit_lp_e_len, &signer);
	KUNIT_EXPECT_EQ(test, ret, -EKEYREJECTED);
	KUNIT_ASSERT_EQ(test, lpguard_trust_add_certs(&ctx->trust, cert,
						      cert + lpguard_kunit_cert_e_len),
			0);
	KUNIT_ASSERT_EQ(test, ctx->trust.nkeys, 2);
	ret = decide(test, lpguard_kunit_lp_e, lpguard_kunit_lp_e_len, &signer);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_PTR_EQ(test, signer, ctx->trust.keys[1]);
}

static void policy_livepatch_unsigned(struct kunit *test)
{
	struct key *signer;
	int ret;

	ret = decide(test, lpguard_kunit_lp_unsigned, lpguard_kunit_lp_unsigned_len,
		     &signer);
	KUNIT_EXPECT_EQ(test, ret, -EKEYREJECTED);
}

static void policy_livepatch_tampered(struct kunit *test)
{
	size_t len = lpguard_kunit_lp_a_len;
	u8 *c = dup_blob(test, lpguard_kunit_lp_a, len);
	struct key *signer;

	c[EI_PAD] ^= 0x01;	/* signed, but ignored by the parser */
	KUNIT_EXPECT_EQ(test, decide(test, c, len, &signer), -EKEYREJECTED);
}

static void policy_ordinary_modules(struct kunit *test)
{
	struct key *signer;
	int ret;

	/* Livepatch keys sign livepatches only. */
	ret = decide(test, lpguard_kunit_plain_a, lpguard_kunit_plain_a_len,
		     &signer);
	KUNIT_EXPECT_EQ(test, ret, -EPERM);
	KUNIT_EXPECT_NOT_NULL(test, signer);
	/* Other keys are the kernel's business. */
	ret = decide(test, lpguard_kunit_plain_b, lpguard_kunit_plain_b_len,
		     &signer);
	KUNIT_EXPECT_EQ(test, ret, 0);
	KUNIT_EXPECT_NULL(test, signer);
}

/*
 * A signature that carries a certificate issued by a livepatch key
 * verifies against .livepatch through it, though its signer id names no
 * .livepatch key: still a livepatch key's signature.
 */
static void policy_ordinary_chained_to_livepatch_key(struct kunit *test)
{
	struct policy_ctx *ctx = test->priv;
	char reason[LPGUARD_REASON_LEN];
	struct lpguard_image img;
	struct key *signer;

	KUNIT_EXPECT_EQ(test, lpguard_decide(lpguard_kunit_plain_chain,
					     lpguard_kunit_plain_chain_len,
					     &ctx->trust, &img, &signer, reason),
			-EPERM);
	KUNIT_EXPECT_NULL(test, signer);
	KUNIT_EXPECT_STREQ(test, reason,
			   "ordinary module signed through a certificate issued by a livepatch key: livepatch keys sign livepatches only; sign it with the kernel module key");
}

static void policy_empty_keyring(struct kunit *test)
{
	struct lpguard_trust empty = { };
	char reason[LPGUARD_REASON_LEN];
	struct lpguard_image img;
	struct key *signer;

	empty.keyring = ((struct policy_ctx *)test->priv)->trust.keyring;
	KUNIT_EXPECT_EQ(test, lpguard_decide(lpguard_kunit_lp_a,
					     lpguard_kunit_lp_a_len,
					     &empty, &img, &signer, reason),
			-EKEYREJECTED);
	KUNIT_EXPECT_STREQ(test, reason,
			   "the .livepatch keyring is empty: rebuild the kernel with LPGUARD_CERTS");
}

static void policy_keyring_sealed(struct kunit *test)
{
	struct policy_ctx *ctx = test->priv;
	key_ref_t kref;

	/* Without KEY_ALLOC_BYPASS_RESTRICTION, nothing gets in. */
	kref = key_create_or_update(make_key_ref(ctx->trust.keyring, 1),
				    "asymmetric", NULL, lpguard_kunit_cert_a,
				    lpguard_kunit_cert_a_len,
				    KEY_POS_ALL, KEY_ALLOC_NOT_IN_QUOTA);
	KUNIT_EXPECT_TRUE(test, IS_ERR(kref));
	KUNIT_EXPECT_EQ(test, PTR_ERR(kref), -EPERM);
}

static struct kunit_case lpguard_policy_cases[] = {
	KUNIT_CASE(policy_livepatch_right_key),
	KUNIT_CASE(policy_livepatch_wrong_key),
	KUNIT_CASE(policy_livepatch_ecdsa_key),
	KUNIT_CASE(policy_livepatch_unsigned),
	KUNIT_CASE(policy_livepatch_tampered),
	KUNIT_CASE(policy_ordinary_modules),
	KUNIT_CASE(policy_ordinary_chained_to_livepatch_key),
	KUNIT_CASE(policy_empty_keyring),
	KUNIT_CASE(policy_keyring_sealed),
	{}
};

static struct kunit_suite lpguard_policy_suite = {
	.name = "lpguard_policy",
	.init = policy_init,
	.exit = policy_exit,
	.test_cases = lpguard_policy_cases,
};

kunit_test_suite(lpguard_policy_suite);
