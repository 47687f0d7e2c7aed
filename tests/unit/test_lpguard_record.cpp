// SPDX-License-Identifier: GPL-2.0
// core/lpguard_record.cpp: lpguard's version 1 measurement records.

#include <catch2/catch_test_macros.hpp>

#include "lpguard/core/error.hpp"
#include "lpguard/core/lpguard_record.hpp"

using namespace lpguard;

namespace {
const std::string kSha(64, 'a');
std::string rec(const std::string &tail) { return "lpguard/1 seq=3 event=enable module=\"lpg_b\" " + tail; }
} // namespace

TEST_CASE("a record parses with its escapes decoded", "[lpguard_record]")
{
	auto r = parse_lpguard_record(rec("sha256=" + kSha + " keyid=3c9d generation=2 active=\"lpg_a\""));
	CHECK(r.seq == 3);
	CHECK(r.event == "enable");
	CHECK(r.module == "lpg_b");
	CHECK(r.sha256 == kSha);
	CHECK(r.keyid == "3c9d");
	CHECK(r.generation == 2);
	CHECK(r.active == "lpg_a");

	auto n = parse_lpguard_record("lpguard/1 seq=12 event=generation-refused module=\"x\\x22 y\\x5c\" sha256=- "
				      "keyid=- generation=0 active=-");
	CHECK(n.module == "x\" y\\");
	CHECK(n.sha256.empty());
	CHECK(n.keyid.empty());
	CHECK_FALSE(n.active);
	CHECK(lpguard_event_known("disabled"));
	CHECK_FALSE(lpguard_event_known("rollback"));
}

TEST_CASE("anything but version 1 exactly is refused", "[lpguard_record]")
{
	const std::string ok = "sha256=- keyid=- generation=1 active=-";
	CHECK_NOTHROW(parse_lpguard_record(rec(ok)));
	for (std::string bad : {
		     "lpguard/2 seq=1 event=load module=\"a\" " + ok,
		     "lpguard/1 seq=0 event=load module=\"a\" " + ok,
		     "lpguard/1 seq=01 event=load module=\"a\" " + ok,
		     "lpguard/1 seq=1 event=rollback module=\"a\" " + ok,
		     "lpguard/1 seq=1 event=load module=a " + ok,
		     "lpguard/1 seq=1 event=load module=\"\" " + ok,
		     "lpguard/1 seq=1 event=load module=\"a\\x2\" " + ok,
		     "lpguard/1 seq=1 event=load module=\"a\\X22\" " + ok,
		     "lpguard/1 seq=1 event=load module=\"a\nb\" " + ok,
		     rec("sha256=ABCD keyid=- generation=1 active=-"),
		     rec("sha256=" + kSha.substr(2) + " keyid=- generation=1 active=-"),
		     rec("sha256=- keyid=abc generation=1 active=-"),
		     rec("sha256=- keyid=- generation=4294967296 active=-"),
		     rec("sha256=- keyid=- generation=1 active=- "),
		     rec("sha256=- keyid=- generation=1 active=\"a"),
		     rec("sha256=- keyid=- generation=1"),
	     })
		CHECK_THROWS_AS(parse_lpguard_record(bad), Error);
}
