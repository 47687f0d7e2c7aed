/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lpguard: signed, replace-only kernel livepatches.
 *
 * Shared declarations of the built-in LSM and the loadable module, which
 * are built from the same sources (LPGUARD_LOADABLE selects the latter).
 */
#ifndef _SECURITY_LPGUARD_H
#define _SECURITY_LPGUARD_H

#include <crypto/sha2.h>
#include <linux/kernel_read_file.h>
#include <linux/types.h>

#include "parse.h"

struct key;
struct module;
struct klp_patch;
struct lpguard_measurement;

#ifdef LPGUARD_LOADABLE
#define LPGUARD_FORM "module"
#else
#define LPGUARD_FORM "builtin"
#endif

/* Embedded certificates (certs.S): concatenated DER and a PEM bundle. */
extern const u8 lpguard_certs_der[];
extern const u8 lpguard_certs_der_end[];
extern const u8 lpguard_certs_pem[];
extern const u8 lpguard_certs_pem_end[];

/*
 * Whether kernel_post_read_file sees a module file. Where the kernel
 * decompresses modules itself, it shows the compressed file first
 * (READING_MODULE_COMPRESSED); lpguard refuses that as it refuses any
 * compressed image, so the outcome is the same on every kernel.
 */
static inline bool lpguard_reading_module(enum kernel_read_file_id id)
{
#ifdef LPGUARD_READING_MODULE_COMPRESSED
	if (id == READING_MODULE_COMPRESSED)
		return true;
#endif
	return id == READING_MODULE;
}

/* keyring.c: a keyring and the keys lpguard put in it */
#define LPGUARD_MAX_KEYS 8

struct lpguard_trust {
	struct key *keyring;
	struct key *keys[LPGUARD_MAX_KEYS];
	unsigned int nkeys;
};

int lpguard_keyring_init(void);
struct key *lpguard_keyring(void);
const struct lpguard_trust *lpguard_trust(void);
struct key *lpguard_keyring_alloc(const char *desc);
int lpguard_trust_add_certs(struct lpguard_trust *t, const u8 *p,
			    const u8 *end);
int lpguard_verify(const struct lpguard_trust *t, const void *data,
		   size_t len, const u8 *sig, size_t sig_len);
struct key *lpguard_match_signer(const struct lpguard_trust *t,
				 const struct lpguard_signer *s);
unsigned int lpguard_key_skid(const struct key *key, u8 *out,
			      unsigned int max);

/* policy.c: decisions, counters and the audit ring */
enum lpguard_what { LPG_LIVEPATCH, LPG_MODULE, LPG_ENABLE, LPG_DISABLE };

struct lpguard_decision {
	enum lpguard_what what;
	bool allowed;
	const char *name;	/* untrusted: escaped when printed */
	const char *signer;
	const char *reason;	/* a fixed kernel string, printed as is */
	const u8 *sha256;	/* NULL if not computed */
	u64 check_ns;
};

#define LPGUARD_REASON_LEN 192
#define LPGUARD_SIGNER_LEN 128

/* One decision as kept in the audit ring (rendered by securityfs.c). */
struct lpguard_record {
	u64 when;
	u64 check_ns;
	enum lpguard_what what;
	bool allowed;
	bool has_sha;
	u8 sha[SHA256_DIGEST_SIZE];
	char name[LPGUARD_NAME_LEN];
	char signer[LPGUARD_SIGNER_LEN];
	char reason[LPGUARD_REASON_LEN];
};

#define LPGUARD_LOG_SIZE 64

int lpguard_decide(const void *data, size_t len,
		   const struct lpguard_trust *t, struct lpguard_image *img,
		   struct key **signer, char *reason);
int lpguard_check_image(const void *data, size_t len, bool whole);
void lpguard_report(const struct lpguard_decision *d);
const char *lpguard_what_name(enum lpguard_what what);
unsigned int lpguard_log_copy(struct lpguard_record *out);
void lpguard_counters(s64 *allowed, s64 *refused);
void lpguard_set_ready(bool modules, bool livepatches);
void lpguard_hash_init(void);
void lpguard_sha256(const void *data, size_t len, u8 *out);
bool lpguard_livepatches_ready(void);

/*
 * verdict.c: what the load hook allowed, per task, for the
 * MODULE_STATE_COMING cross-check of the same load.
 */
struct lpguard_verdict {
	bool livepatch;
	char name[LPGUARD_NAME_LEN];
	u32 generation;
	u8 sha256[SHA256_DIGEST_SIZE];	/* of the signed image */
	u8 keyid[32];			/* signer's subject key id */
	unsigned int keyid_len;
	size_t nsyms;		/* symbol table entries of the image */
	size_t strtab_len;	/* its string table: length and digest */
	u8 strtab_sha256[SHA256_DIGEST_SIZE];
};

void lpguard_clear_verdict(void);
void lpguard_put_verdict(const struct lpguard_image *img, const u8 *sha256,
			 const struct key *signer);
int lpguard_take_verdict(struct lpguard_verdict *v);

/* notify.c: MODULE_STATE_COMING cross-check and livepatch tracking */
int lpguard_notifier_init(void);
void lpguard_notifier_exit(void);
bool lpguard_livepatch_allowed(struct module *mod);
void lpguard_livepatch_enabling(struct module *mod, struct klp_patch *patch);
struct lpguard_name {
	char s[LPGUARD_NAME_LEN];
};

unsigned int lpguard_active_names(struct lpguard_name *names,
				  unsigned int max);
bool lpguard_livepatch_facts(const char *name, struct lpguard_measurement *m);

/* generation.c: no rollback to a lower generation within a boot */
enum lpguard_generation_verdict {
	LPG_GEN_OK,
	LPG_GEN_LOWER,
	LPG_GEN_OTHER_IMAGE,
};

enum lpguard_generation_verdict
lpguard_generation_decide(bool set, u32 mark, const u8 *mark_sha, u32 gen,
			  const u8 *sha);
enum lpguard_generation_verdict
lpguard_generation_check(u32 gen, const u8 *sha, u32 *mark);
enum lpguard_generation_verdict
lpguard_generation_enable(u32 gen, const u8 *sha, u32 *mark);
bool lpguard_generation_mark(u32 *mark);
void lpguard_generation_reason(enum lpguard_generation_verdict v, u32 gen,
			       u32 mark, char *reason);

/* measure.c: livepatch state changes measured into IMA */
int lpguard_measure(struct lpguard_measurement *m);
void lpguard_measure_start(void);
void lpguard_measure_flush(void);
bool lpguard_measure_lost(void);
u64 lpguard_measure_count(void);
void lpguard_measure_time(u64 *queue, u64 *ima);

/* transition.c: livepatch transitions observed */
int lpguard_transition_init(void);
void lpguard_transition_exit(void);
void lpguard_active_name(char *out);

/* klp_enable.c: the replace-only rule at klp_enable_patch */
int lpguard_replace_init(void);
void lpguard_replace_exit(void);

/* lock.c: the lock on disabling the active livepatch (built in only) */
#ifdef LPGUARD_LOADABLE
static inline const char *lpguard_lock_state(void)
{
	return "unavailable";
}
#else
int lpguard_lock_init(void);
const char *lpguard_lock_state(void);
#endif

/* securityfs.c: status, log and certificates files */
int lpguard_securityfs_init(void);
void lpguard_securityfs_exit(void);

#endif /* _SECURITY_LPGUARD_H */
