// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: the sealed .livepatch keyring.
 *
 * Filled once from the certificates embedded at build time, with
 * KEY_ALLOC_BYPASS_RESTRICTION; its restriction refuses every later add
 * or link, and its permissions give root no write, link or setattr right.
 * Keys and keyring carry KEY_FLAG_KEEP, so they cannot be unlinked,
 * revoked or invalidated either.
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <crypto/public_key.h>
#include <keys/asymmetric-type.h>
#include <linux/cred.h>
#include <linux/err.h>
#include <linux/key.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/verification.h>

#include "lpguard.h"

static struct key *lp_keyring;
static struct lpguard_trust lp_trust;

static int lpguard_restrict(struct key *dest_keyring,
			    const struct key_type *type,
			    const union key_payload *payload,
			    struct key *restriction_key)
{
	return -EPERM;
}

struct key *lpguard_keyring(void)
{
	return lp_keyring;
}

const struct lpguard_trust *lpguard_trust(void)
{
	return &lp_trust;
}

int lpguard_trust_add_certs(struct lpguard_trust *t, const u8 *p,
			    const u8 *end)
{
	const u8 *start = p;
	key_ref_t kref;
	size_t len;

	while (p < end) {
		if (end - p < 4 || p[0] != 0x30 || p[1] != 0x82) {
			pr_err("embedded certificate list is malformed at byte %zu: rebuild with valid LPGUARD_CERTS\n",
			       (size_t)(p - start));
			return -EBADMSG;
		}
		len = ((size_t)p[2] << 8 | p[3]) + 4;
		if (len > (size_t)(end - p)) {
			pr_err("embedded certificate list is truncated: rebuild with valid LPGUARD_CERTS\n");
			return -EBADMSG;
		}
		if (t->nkeys == LPGUARD_MAX_KEYS) {
			pr_err("more than %d embedded certificates: the rest are ignored; rebuild with at most %d in LPGUARD_CERTS\n",
			       LPGUARD_MAX_KEYS, LPGUARD_MAX_KEYS);
			return -E2BIG;
		}
		kref = key_create_or_update(make_key_ref(t->keyring, 1),
					    "asymmetric", NULL, p, len,
					    (KEY_POS_ALL & ~KEY_POS_SETATTR) |
					    KEY_USR_VIEW | KEY_USR_READ,
					    KEY_ALLOC_NOT_IN_QUOTA |
					    KEY_ALLOC_BUILT_IN |
					    KEY_ALLOC_BYPASS_RESTRICTION |
					    KEY_ALLOC_SET_KEEP);
		if (IS_ERR(kref)) {
			pr_err("embedded certificate %u refused by the kernel (%ld): check it is an X.509 certificate with an RSA or ECDSA key\n",
			       t->nkeys + 1, PTR_ERR(kref));
		} else {
			t->keys[t->nkeys++] = key_ref_to_ptr(kref);
			pr_notice("\"%s\" added to %s\n",
				  key_ref_to_ptr(kref)->description,
				  t->keyring->description);
		}
		p += len;
	}
	return 0;
}

struct key *lpguard_keyring_alloc(const char *desc)
{
	struct key_restriction *restriction;
	struct key *ring;

	restriction = kzalloc(sizeof(*restriction), GFP_KERNEL);
	if (!restriction)
		return ERR_PTR(-ENOMEM);
	restriction->check = lpguard_restrict;
	ring = keyring_alloc(desc, GLOBAL_ROOT_UID, GLOBAL_ROOT_GID,
			     current_cred(),
			     (KEY_POS_ALL & ~KEY_POS_SETATTR) |
			     KEY_USR_VIEW | KEY_USR_READ | KEY_USR_SEARCH,
			     KEY_ALLOC_NOT_IN_QUOTA | KEY_ALLOC_SET_KEEP,
			     restriction, NULL);
	if (IS_ERR(ring))
		kfree(restriction);
	return ring;
}

int lpguard_keyring_init(void)
{
	struct key *ring;

	ring = lpguard_keyring_alloc(".livepatch");
	if (IS_ERR(ring)) {
		pr_err("cannot allocate the .livepatch keyring (%ld): every livepatch will be refused\n",
		       PTR_ERR(ring));
		return PTR_ERR(ring);
	}
	lp_trust.keyring = ring;
	lpguard_trust_add_certs(&lp_trust, lpguard_certs_der,
				lpguard_certs_der_end);
	lp_keyring = ring;
	if (!lp_trust.nkeys)
		pr_notice("no certificate in .livepatch: every livepatch will be refused; rebuild with LPGUARD_CERTS=<cert>\n");
	return 0;
}

int lpguard_verify(const struct lpguard_trust *t, const void *data,
		   size_t len, const u8 *sig, size_t sig_len)
{
	/* A NULL keyring would make the kernel use its builtin keys. */
	if (!t->keyring || !t->nkeys)
		return -ENOKEY;
	return verify_pkcs7_signature(data, len, sig, sig_len, t->keyring,
				      VERIFYING_MODULE_SIGNATURE, NULL, NULL);
}

static bool id_is(const struct asymmetric_key_id *id, const u8 *a,
		  size_t alen, const u8 *b, size_t blen)
{
	return id && id->len == alen + blen &&
	       !memcmp(id->data, a, alen) && !memcmp(id->data + alen, b, blen);
}

/*
 * Does signer identifier @s name a key of @t? The kernel's PKCS#7 code
 * builds the same ids (serial || issuer contents, or the SKID) and
 * matches them against every id of a key.
 */
struct key *lpguard_match_signer(const struct lpguard_trust *t,
				 const struct lpguard_signer *s)
{
	const struct asymmetric_key_ids *ids;
	unsigned int i, j;

	for (i = 0; i < t->nkeys; i++) {
		ids = asymmetric_key_ids(t->keys[i]);
		if (!ids)
			continue;
		for (j = 0; j < ARRAY_SIZE(ids->id); j++) {
			if (s->by_skid ?
			    id_is(ids->id[j], s->skid, s->skid_len, NULL, 0) :
			    id_is(ids->id[j], s->serial, s->serial_len,
				  s->issuer, s->issuer_len))
				return t->keys[i];
		}
	}
	return NULL;
}

/* The subject key id of @key (at most @max bytes into @out); 0 if none. */
unsigned int lpguard_key_skid(const struct key *key, u8 *out,
			      unsigned int max)
{
	const struct asymmetric_key_ids *ids = asymmetric_key_ids(key);
	const struct asymmetric_key_id *skid = ids ? ids->id[1] : NULL;
	unsigned int n;

	if (!skid)
		return 0;
	n = min_t(unsigned int, skid->len, max);
	memcpy(out, skid->data, n);
	return n;
}
