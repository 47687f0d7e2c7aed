// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: per-task verdicts, from a load hook to the MODULE_STATE_COMING
 * cross-check of the same load.
 *
 * A module load runs in one task: the pre hook (kernel_read_file or
 * kernel_load_data) clears the task's verdict, the post hook records
 * what it allowed, and the COMING notifier takes it. A load the kernel
 * fails between the post hook and COMING (vermagic, EEXIST, a bad ELF,
 * ENOMEM) leaves its verdict behind; the next load of that task clears it
 * in its pre hook, and COMING compares the module the kernel built with
 * what the verdict recorded (name, livepatch flag, symbol table), so a
 * load whose hooks did not run finds no verdict or one that does not fit.
 */
#include <linux/sched.h>
#include <linux/spinlock.h>
#include <linux/string.h>

#include "lpguard.h"

/*
 * More loads in flight than slots evicts the oldest: its COMING then
 * finds no verdict and is refused (fail closed).
 */
#define VERDICTS 32

struct slot {
	struct task_struct *task;
	u64 seq;
	struct lpguard_verdict v;
};

static struct slot slots[VERDICTS];
static u64 slot_seq;
static DEFINE_SPINLOCK(slot_lock);

/* The slot of current; NULL if it has none. Under slot_lock. */
static struct slot *own_slot(void)
{
	unsigned int i;

	for (i = 0; i < VERDICTS; i++)
		if (slots[i].task == current)
			return &slots[i];
	return NULL;
}

void lpguard_clear_verdict(void)
{
	struct slot *s;

	spin_lock(&slot_lock);
	s = own_slot();
	if (s)
		memset(s, 0, sizeof(*s));
	spin_unlock(&slot_lock);
}

/* Record that the load hook allowed @img for current's load. */
void lpguard_put_verdict(const struct lpguard_image *img, const u8 *sha256,
			 const struct key *signer)
{
	struct lpguard_verdict v = {
		.livepatch = img->livepatch,
		.generation = img->generation,
	};
	struct slot *s;
	unsigned int i;

	strscpy(v.name, img->name, sizeof(v.name));
	memcpy(v.sha256, sha256, sizeof(v.sha256));
	if (signer)
		v.keyid_len = lpguard_key_skid(signer, v.keyid,
					       sizeof(v.keyid));
	if (img->strtab) {
		v.nsyms = img->nsyms;
		v.strtab_len = img->strtab_len;
		lpguard_sha256(img->strtab, img->strtab_len, v.strtab_sha256);
	}

	spin_lock(&slot_lock);
	s = own_slot();
	if (!s) {
		s = &slots[0];
		for (i = 1; i < VERDICTS; i++)
			if (slots[i].seq < s->seq)
				s = &slots[i];
	}
	s->task = current;
	s->seq = ++slot_seq;
	s->v = v;
	spin_unlock(&slot_lock);
}

/* Take (and remove) current's verdict: 0, or -ENOENT if it has none. */
int lpguard_take_verdict(struct lpguard_verdict *v)
{
	struct slot *s;
	int ret = -ENOENT;

	spin_lock(&slot_lock);
	s = own_slot();
	if (s) {
		*v = s->v;
		memset(s, 0, sizeof(*s));
		ret = 0;
	}
	spin_unlock(&slot_lock);
	return ret;
}
