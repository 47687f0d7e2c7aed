// SPDX-License-Identifier: GPL-2.0
// Reading lpguard's decision log and status back.
#include <catch2/catch_test_macros.hpp>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/lpload_lpguard.hpp"

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
	auto q = lpguard::parse_lpguard_log("1.0 module refused obj=\"a \\\"b\\\"\" reason=\"x\"\n");
	REQUIRE(q.size() == 1);
	CHECK(q[0].module == "a \"b\"");
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
	CHECK(d->reason == "not replace"); // the refusal, not the allowed load before it
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
