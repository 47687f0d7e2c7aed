// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: measurement of every livepatch state change into IMA.
 *
 * Each change is measured with ima_measure_critical_data() under the
 * label "lpguard" (template ima-buf: PCR 10, and IMA's measurement
 * lists). Decisions are often taken in atomic context (ftrace callbacks
 * on the livepatch core), where IMA cannot run, so records are queued in
 * decision order, numbered, and measured by one work item. Readers of
 * lpguard's status flush the queue first: once `status` has been read,
 * every change before it is in IMA.
 *
 * Built in, lpguard starts before IMA: records queue until
 * lpguard_measure_start() (late_initcall_sync, after IMA's
 * late_initcall). No livepatch can load before then (module loads need
 * user space), so in practice nothing waits. If the queue overflows, a
 * change would go unmeasured: lpguard then refuses every further
 * livepatch (lpguard_measure_lost()).
 */
#define pr_fmt(fmt) "lpguard: " fmt

#include <linux/atomic.h>
#include <linux/ima.h>
#include <linux/timekeeping.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/workqueue.h>

#include "lpguard.h"
#include "measure.h"

#define PENDING 64

static struct lpguard_measurement pending[PENDING];
static unsigned int pending_head, pending_count;
static u64 next_seq;
static bool started, lost;
static DEFINE_SPINLOCK(pending_lock);
/* Time spent since boot: queueing (on the decision path), measuring (IMA). */
static atomic64_t queue_ns = ATOMIC64_INIT(0), ima_ns = ATOMIC64_INIT(0);

static void measure_work(struct work_struct *work);
static DECLARE_WORK(measure_w, measure_work);

static bool take(struct lpguard_measurement *m)
{
	unsigned long flags;
	bool got = false;

	spin_lock_irqsave(&pending_lock, flags);
	if (pending_count) {
		*m = pending[pending_head];
		pending_head = (pending_head + 1) % PENDING;
		pending_count--;
		got = true;
	}
	spin_unlock_irqrestore(&pending_lock, flags);
	return got;
}

static void measure_work(struct work_struct *work)
{
	struct lpguard_measurement m;
	char event[32];
	char *buf;
	int len, ret;

	buf = kmalloc(LPGUARD_RECORD_MAX, GFP_KERNEL);
	if (!buf) {
		WRITE_ONCE(lost, true);
		pr_err("out of memory measuring livepatch changes: every further livepatch will be refused; reboot\n");
		return;
	}
	while (take(&m)) {
		u64 t0 = ktime_get_ns();

		len = lpguard_encode_measurement(buf, LPGUARD_RECORD_MAX, &m);
		if (len < 0)
			continue;	/* cannot happen: every record fits */
		snprintf(event, sizeof(event), "lpguard-%s",
			 lpguard_event_name(m.event));
		ret = ima_measure_critical_data("lpguard", event, buf, len,
						false, NULL, 0);
		if (ret && ret != -ENOENT)
			pr_warn("IMA did not measure record %llu (%d)\n",
				m.seq, ret);
		atomic64_add(ktime_get_ns() - t0, &ima_ns);
	}
	kfree(buf);
}

/*
 * Queue @m; its seq and the active patch after the change are filled in
 * here, in decision order. Safe in atomic context. Returns
 * -ENOSPC, and marks measurement as lost, when the queue is full.
 */
int lpguard_measure(struct lpguard_measurement *m)
{
	u64 t0 = ktime_get_ns();
	unsigned long flags;
	int ret = 0;

	lpguard_active_name(m->active);
	spin_lock_irqsave(&pending_lock, flags);
	if (pending_count == PENDING) {
		lost = true;
		ret = -ENOSPC;
	} else {
		m->seq = ++next_seq;
		pending[(pending_head + pending_count) % PENDING] = *m;
		pending_count++;
	}
	spin_unlock_irqrestore(&pending_lock, flags);
	if (ret)
		pr_err("livepatch change not measured (queue full): every further livepatch will be refused; reboot\n");
	else if (READ_ONCE(started))
		schedule_work(&measure_w);
	atomic64_add(ktime_get_ns() - t0, &queue_ns);
	return ret;
}

void lpguard_measure_start(void)
{
	WRITE_ONCE(started, true);
	schedule_work(&measure_w);
}

/* Wait until everything queued so far is measured. Sleeps. */
void lpguard_measure_flush(void)
{
	if (READ_ONCE(started))
		flush_work(&measure_w);
}

bool lpguard_measure_lost(void)
{
	return READ_ONCE(lost);
}

u64 lpguard_measure_count(void)
{
	unsigned long flags;
	u64 n;

	spin_lock_irqsave(&pending_lock, flags);
	n = next_seq;
	spin_unlock_irqrestore(&pending_lock, flags);
	return n;
}

/* Nanoseconds spent since boot queueing records and measuring them. */
void lpguard_measure_time(u64 *queue, u64 *ima)
{
	*queue = atomic64_read(&queue_ns);
	*ima = atomic64_read(&ima_ns);
}
