/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lpguard: measurement records of livepatch state changes.
 */
#ifndef _SECURITY_LPGUARD_MEASURE_H
#define _SECURITY_LPGUARD_MEASURE_H

#include <crypto/sha2.h>
#include <linux/types.h>

#include "parse.h"

enum lpguard_event {
	LPG_EV_LOAD,		/* a livepatch allowed at load */
	LPG_EV_ENABLE,		/* klp_enable_patch() allowed */
	LPG_EV_PATCHED,		/* a transition to patched completed */
	LPG_EV_UNPATCHED,	/* a transition to unpatched completed */
	LPG_EV_REPLACED,	/* a patch replaced by a cumulative one */
	LPG_EV_DISABLED,	/* the active patch disabled */
	LPG_EV_GENERATION_REFUSED, /* a lower generation refused */
	LPG_EV_DISABLE_REFUSED,	/* disabling the locked active patch refused */
	LPG_EV_COUNT,
};

#define LPGUARD_KEYID_MAX 32	/* subject key id bytes kept */

struct lpguard_measurement {
	u64 seq;
	enum lpguard_event event;
	char name[LPGUARD_NAME_LEN];
	bool has_sha;
	u8 sha256[SHA256_DIGEST_SIZE];
	u8 keyid[LPGUARD_KEYID_MAX];
	unsigned int keyid_len;	/* 0: unknown */
	u32 generation;
	char active[LPGUARD_NAME_LEN];	/* "" when none */
};

/* The longest record the encoder writes, with its NUL. */
#define LPGUARD_RECORD_MAX 768

const char *lpguard_event_name(enum lpguard_event e);
int lpguard_encode_measurement(char *buf, size_t size,
			       const struct lpguard_measurement *m);

#endif /* _SECURITY_LPGUARD_MEASURE_H */
