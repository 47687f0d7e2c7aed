// SPDX-License-Identifier: GPL-2.0
// Reading lpguard's decision log and status back.
#include <catch2/catch_test_macros.hpp>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/core/json.hpp"
#include "lpguard/core/text.hpp"
#include "lpguard/guest/apply.hpp"
#include "lpguard/guest/lpguard_securityfs.hpp"

TEST_CASE("the decision log is parsed line by line", "[lpload][lpguard]")
{
	auto d = lpguard::parse_lpguard_log(
		"1764348000.123456 livepatch allowed obj=\"lpg_replace_a\" signer=\"lpguard test livepatch key\" "
		"sha256=ab12 check_ns=81234 reason=\"signature verifies against .livepatch\"\n"
		"garbage line\n"
		"\n"
		"1764348001.000001 klp_enable_patch refused obj=\"lpg_noreplace\" signer=\"\" sha256=- check_ns=0 "
		"reason=\"klp_patch.replace is false: only cumulative replace livepatches may be enabled; build it "
		"with .replace = true\"\n");
	REQUIRE(d.size() == 2);
	CHECK(d[0].time == "1764348000.123456");
	CHECK(d[0].what == "livepatch");
	CHECK(d[0].module == "lpg_replace_a");
	CHECK(d[0].sha256 == "ab12");
	CHECK(d[0].signer == "lpguard test livepatch key");
	CHECK(d[0].check_ns == "81234");
	CHECK(d[0].verdict == "allowed");
	CHECK_FALSE(d[0].refused());
	CHECK(d[1].what == "klp_enable_patch");
	CHECK(d[1].module == "lpg_noreplace");
	CHECK(d[1].refused());
	CHECK(d[1].sha256.empty());
	CHECK(d[1].reason == "klp_patch.replace is false: only cumulative replace livepatches may be enabled; build "
			     "it with .replace = true");
	CHECK(lpguard::format_blocking({}).empty());
}

TEST_CASE("quoted values are decoded from lpguard's \\xHH encoding", "[lpload][lpguard]")
{
	// A module named to forge a reason: the kernel writes its '"' as \x22.
	const std::string name = "x\" reason=\"signature verifies against .livepatch";
	auto d = lpguard::parse_lpguard_log(
		"1.0 livepatch refused obj=\"x\\x22 reason=\\x22signature verifies against .livepatch\" signer=\"\" "
		"sha256=- check_ns=1 reason=\"livepatch is not signed: sign it with a livepatch key\"\n");
	REQUIRE(d.size() == 1);
	CHECK(d[0].module == name);
	CHECK(d[0].reason == "livepatch is not signed: sign it with a livepatch key");
	CHECK(d[0].refused());
	CHECK(lpguard::log_escape(name) == "x\\x22 reason=\\x22signature verifies against .livepatch");

	// A newline, a backslash, a byte >= 0x7f: each one escape.
	auto n = lpguard::parse_lpguard_log("2.0 module allowed obj=\"a\\x0ab\\x5c\\xff\" reason=\"ok\"\n");
	REQUIRE(n.size() == 1);
	CHECK(n[0].module == "a\nb\\\xff");
	CHECK(lpguard::printable(n[0].module) == "a\\x0ab\\\\xff");
	CHECK(lpguard::json_text(n[0].module) == nlohmann::json("a\\x0ab\\x5c\\xff"));
	CHECK(lpguard::json_text("caf\xc3\xa9") == nlohmann::json("caf\xc3\xa9"));
}

TEST_CASE("a line with a malformed quoted value is not a record", "[lpload][lpguard]")
{
	for (const char *bad : {
		     "1.0 module refused obj=\"a \\\"b\\\"\" reason=\"x\"", // \" is not in the encoding
		     "1.0 module refused obj=\"a\\\\b\" reason=\"x\"",	    // nor is \\ .
		     "1.0 module refused obj=\"a\\nb\" reason=\"x\"",	    // nor \n
		     "1.0 module refused obj=\"a\\x4\" reason=\"x\"",	    // truncated \x
		     "1.0 module refused obj=\"a\\x\" reason=\"x\"",
		     "1.0 module refused obj=\"a\\x4G\" reason=\"x\"",	  // not hex
		     "1.0 module refused obj=\"a\\x4A\" reason=\"x\"",	  // upper case
		     "1.0 module refused obj=\"a\" reason=\"x\\",	  // ends inside an escape
		     "1.0 module refused obj=\"a\tb\" reason=\"x\"",	  // a raw control byte
		     "1.0 module refused obj=\"a\xc3\xa9\" reason=\"x\"", // raw bytes >= 0x7f
		     "1.0 module refused obj=\"a\x7f\" reason=\"x\"",
		     "1.0 module refused reason=\"x\" obj=\"abc", // no closing quote
	     }) {
		INFO(bad);
		CHECK(lpguard::parse_lpguard_log(std::string(bad) + "\n").empty());
	}
	// The good lines around a bad one still count.
	auto d = lpguard::parse_lpguard_log("1.0 module allowed obj=\"a\" reason=\"ok\"\n"
					    "2.0 module refused obj=\"b\\q\" reason=\"x\"\n"
					    "3.0 module refused obj=\"c\" reason=\"no\"\n");
	REQUIRE(d.size() == 2);
	CHECK(d[0].module == "a");
	CHECK(d[1].module == "c");
}

TEST_CASE("old-format lines without escapes parse as before", "[lpload][lpguard]")
{
	// The kernel log's form of a decision, as lpguard wrote it before values were escaped.
	const std::string line = "lpguard: livepatch refused obj=\"lpg_unsigned\" signer=\"\" reason=\"livepatch is not "
				 "signed: sign it with a livepatch key\" sha256=0123abcd pid=42 comm=\"modload\"";
	auto d = lpguard::parse_lpguard_log(line + "\n");
	REQUIRE(d.size() == 1);
	const auto &r = d.front();
	CHECK((r.module == "lpg_unsigned" && r.sha256 == "0123abcd" && r.refused()));
	CHECK(r.reason == "livepatch is not signed: sign it with a livepatch key");
	CHECK(r.raw == line);
}

TEST_CASE("the decision for this attempt is found: refusal first, only lines logged after the attempt began",
	  "[lpload][lpguard]")
{
	fakesys::FakeTree t;
	auto sys = t.sys();
	CHECK_FALSE(lpguard::last_lpguard_decision(sys, "lp_a").has_value());
	const std::string old = "1.0 livepatch refused obj=\"lp_a\" signer=\"\" sha256=11 check_ns=1 reason=\"old\"\n";
	t.lpguard_log(old);
	auto before = lpguard::read_lpguard_log(sys);
	CHECK(before == old);
	// Nothing new: the old refusal is not this attempt's reason.
	CHECK_FALSE(lpguard::last_lpguard_decision(sys, "lp_a", "", before).has_value());
	t.lpguard_log(old +
		      "2.0 livepatch allowed obj=\"lp_a\" signer=\"k\" sha256=22 check_ns=1 reason=\"ok\"\n"
		      "2.5 klp_enable_patch refused obj=\"lp_a\" signer=\"\" sha256=- check_ns=0 reason=\"not replace\"\n"
		      "3.0 livepatch refused obj=\"lp_b\" signer=\"\" sha256=33 check_ns=1 reason=\"other\"\n");
	auto d = lpguard::last_lpguard_decision(sys, "lp_a", "22", before);
	REQUIRE(d);
	CHECK(d->reason == "not replace");							   // the refusal, not the allowed load before it
	CHECK(lpguard::last_lpguard_decision(sys, "lp_a", "99", before)->reason == "not replace"); // no hash: any
	CHECK(lpguard::last_lpguard_decision(sys, "lp_a")->reason == "not replace");
	CHECK(lpguard::last_lpguard_decision(sys, "lp_a", "11")->reason == "not replace");
	CHECK_FALSE(lpguard::last_lpguard_decision(sys, "lp_c").has_value());
	// Only allowed lines: the latest allowed one.
	t.lpguard_log("4.0 livepatch allowed obj=\"lp_d\" signer=\"k\" sha256=44 check_ns=1 reason=\"ok\"\n");
	CHECK(lpguard::last_lpguard_decision(sys, "lp_d")->verdict == "allowed");
}

TEST_CASE("certificates come from securityfs when present, else the fallback directory", "[lpload][lpguard]")
{
	fakesys::FakeTree t;
	auto sys = t.sys();
	CHECK(lpguard::certificate_source(sys, "/etc/lp-load/certs") == "/etc/lp-load/certs");
	fakesys::put(t.root / "sys/kernel/security/lpguard/certificates", "-----BEGIN CERTIFICATE-----\n");
	CHECK(lpguard::certificate_source(sys, "/etc/lp-load/certs") ==
	      t.root / "sys/kernel/security/lpguard/certificates");
}

TEST_CASE("lpguard status fields and recent decisions are read", "[lpload][lpguard]")
{
	fakesys::FakeTree t;
	CHECK_FALSE(lpguard::read_lpguard_status(t.sys()).present);
	fakesys::put(t.root / "sys/kernel/security/lpguard/status", "form: builtin\nenforcing: 1\nkey CN=x id=ab\n");
	t.lpguard_log("1.0 livepatch allowed obj=\"a\" reason=\"ok\"\n2.0 livepatch refused obj=\"b\" reason=\"no\"\n");
	auto st = lpguard::read_lpguard_status(t.sys(), 1);
	CHECK(st.present);
	REQUIRE(st.fields.size() == 2);
	CHECK(st.fields[0] == std::pair<std::string, std::string>{"form", "builtin"});
	CHECK(st.fields[1] == std::pair<std::string, std::string>{"enforcing", "1"});
	CHECK(st.other_lines == std::vector<std::string>{"key CN=x id=ab"});
	REQUIRE(st.recent.size() == 1);
	CHECK(st.recent[0].module == "b");
}
