// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite lpguard_record: the measurement record encoder (record.c).
 */
#include <kunit/test.h>
#include <linux/string.h>

#include "../measure.h"

static void record_full(struct kunit *test)
{
	struct lpguard_measurement m = {
		.seq = 42,
		.event = LPG_EV_LOAD,
		.name = "lpg_replace_b",
		.has_sha = true,
		.keyid = { 0xab, 0x01 },
		.keyid_len = 2,
		.generation = 7,
		.active = "lpg_replace_a",
	};
	char buf[LPGUARD_RECORD_MAX];

	memset(m.sha256, 0x11, sizeof(m.sha256));
	KUNIT_ASSERT_GT(test, lpguard_encode_measurement(buf, sizeof(buf), &m), 0);
	KUNIT_EXPECT_STREQ(test, buf,
			   "lpguard/1 seq=42 event=load module=\"lpg_replace_b\" sha256=1111111111111111111111111111111111111111111111111111111111111111 keyid=ab01 generation=7 active=\"lpg_replace_a\"");
}

static void record_unknowns(struct kunit *test)
{
	struct lpguard_measurement m = {
		.seq = 1,
		.event = LPG_EV_DISABLED,
		.name = "x\"y",
	};
	char buf[LPGUARD_RECORD_MAX];

	KUNIT_ASSERT_GT(test, lpguard_encode_measurement(buf, sizeof(buf), &m), 0);
	KUNIT_EXPECT_STREQ(test, buf,
			   "lpguard/1 seq=1 event=disabled module=\"x\\x22y\" sha256=- keyid=- generation=0 active=-");
}

/* Every event has a name; the longest record fits LPGUARD_RECORD_MAX. */
static void record_bounds(struct kunit *test)
{
	struct lpguard_measurement m = {
		.seq = U64_MAX,
		.has_sha = true,
		.keyid_len = LPGUARD_KEYID_MAX,
		.generation = U32_MAX,
	};
	char buf[LPGUARD_RECORD_MAX];
	unsigned int e;

	memset(m.name, 0x01, sizeof(m.name) - 1);
	memset(m.active, '"', sizeof(m.active) - 1);
	for (e = 0; e < LPG_EV_COUNT; e++) {
		m.event = e;
		KUNIT_EXPECT_STRNEQ(test, lpguard_event_name(e), "?");
		KUNIT_EXPECT_GT(test, lpguard_encode_measurement(buf, sizeof(buf), &m), 0);
	}
	KUNIT_EXPECT_EQ(test, lpguard_encode_measurement(buf, 40, &m), -E2BIG);
}

static struct kunit_case lpguard_record_cases[] = {
	KUNIT_CASE(record_full),
	KUNIT_CASE(record_unknowns),
	KUNIT_CASE(record_bounds),
	{}
};

static struct kunit_suite lpguard_record_suite = {
	.name = "lpguard_record",
	.test_cases = lpguard_record_cases,
};

kunit_test_suite(lpguard_record_suite);
