// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite lpguard_escape: the encoding of untrusted strings in log
 * lines (escape.c).
 */
#include <kunit/test.h>
#include <linux/string.h>

#include "../escape.h"

static void escape_plain(struct kunit *test)
{
	char out[LPGUARD_ESCAPED_LEN(16)];

	KUNIT_EXPECT_EQ(test, lpguard_escape(out, sizeof(out), "lpg_a v1.2",
					     16), 10);
	KUNIT_EXPECT_STREQ(test, out, "lpg_a v1.2");
}

/* A name that would forge a field, and one that would forge a record. */
static void escape_forgery(struct kunit *test)
{
	static const char quote[] =
		"x\" reason=\"signature verifies against .livepatch";
	static const char line[] = "a\nlpguard: livepatch allowed obj=\"b\\";
	char out[LPGUARD_ESCAPED_LEN(56)];

	lpguard_escape(out, sizeof(out), quote, sizeof(quote));
	KUNIT_EXPECT_STREQ(test, out,
			   "x\\x22 reason=\\x22signature verifies against .livepatch");
	lpguard_escape(out, sizeof(out), line, sizeof(line));
	KUNIT_EXPECT_STREQ(test, out,
			   "a\\x0alpguard: livepatch allowed obj=\\x22b\\x5c");
	KUNIT_EXPECT_NULL(test, strchr(out, '"'));
	KUNIT_EXPECT_NULL(test, strchr(out, '\n'));
}

static void escape_bytes(struct kunit *test)
{
	static const char in[] = { 0x01, 0x1f, 0x20, 0x7e, 0x7f, (char)0x80,
				   (char)0xff, 0 };
	char out[LPGUARD_ESCAPED_LEN(8)];

	lpguard_escape(out, sizeof(out), in, sizeof(in));
	KUNIT_EXPECT_STREQ(test, out, "\\x01\\x1f ~\\x7f\\x80\\xff");
}

/* Stops at @len or a NUL; never cuts an escape; always terminates. */
static void escape_bounds(struct kunit *test)
{
	char out[6];

	KUNIT_EXPECT_EQ(test, lpguard_escape(out, sizeof(out), "abcdef", 3), 3);
	KUNIT_EXPECT_STREQ(test, out, "abc");
	KUNIT_EXPECT_EQ(test, lpguard_escape(out, sizeof(out), "ab\0cd", 5), 2);
	KUNIT_EXPECT_STREQ(test, out, "ab");
	KUNIT_EXPECT_EQ(test, lpguard_escape(out, sizeof(out), "abcdefgh", 8),
			5);
	KUNIT_EXPECT_STREQ(test, out, "abcde");
	KUNIT_EXPECT_EQ(test, lpguard_escape(out, sizeof(out), "a\"b", 3), 5);
	KUNIT_EXPECT_STREQ(test, out, "a\\x22");
	KUNIT_EXPECT_EQ(test, lpguard_escape(out, 4, "a\"", 2), 1);
	KUNIT_EXPECT_STREQ(test, out, "a");
	KUNIT_EXPECT_EQ(test, lpguard_escape(out, 5, "\"", 1), 4);
	KUNIT_EXPECT_STREQ(test, out, "\\x22");
	KUNIT_EXPECT_EQ(test, lpguard_escape(out, 4, "\"", 1), 0);
	KUNIT_EXPECT_STREQ(test, out, "");
	KUNIT_EXPECT_EQ(test, lpguard_escape(out, 0, "a", 1), 0);
}

static struct kunit_case lpguard_escape_cases[] = {
	KUNIT_CASE(escape_plain),
	KUNIT_CASE(escape_forgery),
	KUNIT_CASE(escape_bytes),
	KUNIT_CASE(escape_bounds),
	{}
};

static struct kunit_suite lpguard_escape_suite = {
	.name = "lpguard_escape",
	.test_cases = lpguard_escape_cases,
};

kunit_test_suite(lpguard_escape_suite);
