// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: the text record of one livepatch state change, as measured
 * into IMA (docs/lpguard.md, Measurements). Version 1:
 *
 *   lpguard/1 seq=<n> event=<event> module="<name>" sha256=<hex|->
 *   keyid=<hex|-> generation=<n> active="<name>"|-
 *
 * on one line, fields in this order, names escaped as in the log
 * (escape.c). The sequence number makes every record unique: IMA drops
 * a measurement identical to an earlier one, and A -> B -> A must leave
 * three. Pure code.
 */
#include <linux/hex.h>
#include <linux/kernel.h>
#include <linux/string.h>

#include "escape.h"
#include "measure.h"

static const char *const event_names[LPG_EV_COUNT] = {
	[LPG_EV_LOAD] = "load",
	[LPG_EV_ENABLE] = "enable",
	[LPG_EV_PATCHED] = "patched",
	[LPG_EV_UNPATCHED] = "unpatched",
	[LPG_EV_REPLACED] = "replaced",
	[LPG_EV_DISABLED] = "disabled",
	[LPG_EV_GENERATION_REFUSED] = "generation-refused",
	[LPG_EV_DISABLE_REFUSED] = "disable-refused",
};

const char *lpguard_event_name(enum lpguard_event e)
{
	return e < LPG_EV_COUNT ? event_names[e] : "?";
}

/*
 * Encode @m into @buf (@size bytes, LPGUARD_RECORD_MAX always fits).
 * Returns the length without the NUL, or -E2BIG if it did not fit.
 */
int lpguard_encode_measurement(char *buf, size_t size,
			       const struct lpguard_measurement *m)
{
	char name[LPGUARD_ESCAPED_LEN(LPGUARD_NAME_LEN)];
	char active[LPGUARD_ESCAPED_LEN(LPGUARD_NAME_LEN)];
	char sha[SHA256_DIGEST_SIZE * 2 + 1] = "-";
	char keyid[LPGUARD_KEYID_MAX * 2 + 1] = "-";
	int n;

	lpguard_escape(name, sizeof(name), m->name, sizeof(m->name));
	lpguard_escape(active, sizeof(active), m->active, sizeof(m->active));
	if (m->has_sha)
		bin2hex(sha, m->sha256, sizeof(m->sha256))[0] = '\0';
	if (m->keyid_len && m->keyid_len <= LPGUARD_KEYID_MAX)
		bin2hex(keyid, m->keyid, m->keyid_len)[0] = '\0';
	n = snprintf(buf, size,
		     "lpguard/1 seq=%llu event=%s module=\"%s\" sha256=%s keyid=%s generation=%u active=%s%s%s",
		     m->seq, lpguard_event_name(m->event), name, sha, keyid,
		     m->generation, m->active[0] ? "\"" : "-",
		     m->active[0] ? active : "", m->active[0] ? "\"" : "");
	if (n < 0 || (size_t)n >= size)
		return -E2BIG;
	return n;
}
