// SPDX-License-Identifier: GPL-2.0
// core/text.cpp and core/error.cpp: hex, the two byte escapings, UTF-8
// validation, and the path an error names once.

#include <catch2/catch_test_macros.hpp>

#include "lpguard/core/error.hpp"
#include "lpguard/core/json.hpp"
#include "lpguard/core/text.hpp"

using namespace lpguard;

TEST_CASE("hex, printable and log_escape", "[text]")
{
	const uint8_t b[] = {0x00, 0x7f, 0xab, 0x10};
	CHECK(hex(b, sizeof(b)) == "007fab10");
	CHECK(printable("ok name") == "ok name");
	CHECK(printable("a\nb\x1b[2J\x7f\xff") == "a\\x0ab\\x1b[2J\\x7f\\xff");
	CHECK(printable("q\"\\") == "q\"\\");
	CHECK(log_escape("x\" reason=\"y") == "x\\x22 reason=\\x22y");
	CHECK(log_escape("back\\slash\n") == "back\\x5cslash\\x0a");
}

TEST_CASE("valid_utf8 and json_text", "[text][json]")
{
	CHECK(valid_utf8("plain"));
	CHECK(valid_utf8("\xc3\xa9t\xc3\xa9"));
	CHECK_FALSE(valid_utf8("\xff"));
	CHECK_FALSE(valid_utf8("\xc0\xaf"));	 // overlong '/'
	CHECK_FALSE(valid_utf8("\xed\xa0\x80")); // a surrogate
	CHECK_FALSE(valid_utf8("\xe2\x82"));	 // truncated
	CHECK(json_text("\xc3\xa9") == Json("\xc3\xa9"));
	CHECK(json_text("a\xff\"") == Json("a\\xff\\x22"));
}

TEST_CASE("an error names its path once", "[error]")
{
	try {
		with_path("/a.ko", [] {
			with_path("/b.ko", [] { throw Error("invalid module image", "bad", "fix it", Kind::input); });
		});
		FAIL("no throw");
	} catch (const Error &e) {
		CHECK(std::string(e.what()) == "invalid module image /b.ko: bad (fix it)");
		CHECK(e.kind() == Kind::input);
	}
	Error e("cannot read module /x", "No such file or directory", "", Kind::input);
	e.path_named();
	e.add_path("/y", " in ");
	CHECK(std::string(e.what()) == "cannot read module /x: No such file or directory");
}

TEST_CASE("unhex, base64 and log_unescape_quoted", "[text]")
{
	CHECK(unhex("00aBff") == std::vector<uint8_t>{0x00, 0xab, 0xff});
	CHECK_FALSE(unhex("abc"));
	CHECK_FALSE(unhex("zz"));
	for (std::string s : {"", "a", "ab", "abc", "abcd"}) {
		std::vector<uint8_t> b(s.begin(), s.end());
		CHECK(unbase64(base64(b)) == b);
	}
	CHECK(base64(std::vector<uint8_t>{'a', 'b'}) == "YWI=");
	CHECK_FALSE(unbase64("YWI"));
	CHECK_FALSE(unbase64("Y=WI"));
	CHECK_FALSE(unbase64("YW I"));
	std::string v;
	CHECK(log_unescape_quoted("a\\x22b\" rest", &v) == 7);
	CHECK(v == "a\"b");
	v.clear();
	CHECK(log_unescape_quoted("a\\x2", &v) == std::string::npos);
	CHECK(log_unescape_quoted("no end", &v) == std::string::npos);
}
