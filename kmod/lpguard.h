/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lpguard: signed, replace-only kernel livepatches.
 *
 * Shared declarations of the built-in LSM and the loadable module, which
 * are built from the same sources (LPGUARD_LOADABLE selects the latter).
 */
#ifndef _SECURITY_LPGUARD_H
#define _SECURITY_LPGUARD_H

#include <linux/kernel_read_file.h>
#include <linux/types.h>

#include "parse.h"

struct key;
struct module;
struct klp_patch;
struct seq_file;

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
void lpguard_keyring_show(struct seq_file *m);

/* policy.c: decisions, counters, audit ring and per-task verdicts */
enum lpguard_what { LPG_LIVEPATCH, LPG_MODULE, LPG_ENABLE };

struct lpguard_decision {
	enum lpguard_what what;
	bool allowed;
	const char *name;
	const char *signer;
	const char *reason;
	const u8 *sha256;	/* NULL if not computed */
	u64 check_ns;
};

#define LPGUARD_REASON_LEN 192

int lpguard_decide(const void *data, size_t len,
		   const struct lpguard_trust *t, struct lpguard_image *img,
		   struct key **signer, char *reason);
int lpguard_check_image(const void *data, size_t len, bool whole);
void lpguard_report(const struct lpguard_decision *d);
int lpguard_take_verdict(bool *livepatch, char *name);
void lpguard_status_show(struct seq_file *m);
void lpguard_log_show(struct seq_file *m);
void lpguard_set_ready(bool modules, bool livepatches);
void lpguard_hash_init(void);
bool lpguard_livepatches_ready(void);

/* notify.c: MODULE_STATE_COMING cross-check and livepatch tracking */
int lpguard_notifier_init(void);
void lpguard_notifier_exit(void);
bool lpguard_livepatch_checked(struct module *mod, struct klp_patch *patch);
void lpguard_active_show(struct seq_file *m);

/* klp_enable.c: the replace-only rule at klp_enable_patch */
int lpguard_replace_init(void);
void lpguard_replace_exit(void);

/* securityfs.c */
int lpguard_securityfs_init(void);
void lpguard_securityfs_exit(void);

#endif /* _SECURITY_LPGUARD_H */
