// SPDX-License-Identifier: GPL-2.0
// Reading lpguard's decision log and status back.
#include <catch2/catch_test_macros.hpp>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/lpload_lpguard.hpp"

TEST_CASE("the decision log is parsed line by line", "[lpload][lpguard]")
{
	auto d = lpguard::parse_lpguard_log(
		"time=1.5 module=lp_a sha256=ab signer=\"CN \\\"x\\\"\" verdict=allowed reason=\"ok\"\n"
		"garbage line\n"
		"\n"
		"time=2 module=lp_b verdict=refused reason=\"not replace\"\n");
	REQUIRE(d.size() == 2);
	CHECK(d[0].time == "1.5");
	CHECK(d[0].module == "lp_a");
	CHECK(d[0].sha256 == "ab");
	CHECK(d[0].signer == "CN \"x\"");
	CHECK_FALSE(d[0].refused());
	CHECK(d[1].module == "lp_b");
	CHECK(d[1].refused());
	CHECK(d[1].reason == "not replace");
}

TEST_CASE("the last decision for a module and image is found", "[lpload][lpguard]")
{
	fakesys::FakeTree t;
	auto sys = t.sys();
	CHECK_FALSE(lpguard::last_lpguard_decision(sys, "lp_a").has_value());
	t.lpguard_log("time=1 module=lp_a sha256=11 verdict=refused reason=\"first\"\n"
		      "time=2 module=lp_a sha256=22 verdict=refused reason=\"second\"\n"
		      "time=3 module=lp_b sha256=33 verdict=refused reason=\"other\"\n");
	CHECK(lpguard::last_lpguard_decision(sys, "lp_a")->reason == "second");
	CHECK(lpguard::last_lpguard_decision(sys, "lp_a", "11")->reason == "first");
	CHECK_FALSE(lpguard::last_lpguard_decision(sys, "lp_c").has_value());
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
	t.lpguard_log("time=1 module=a verdict=allowed reason=\"ok\"\ntime=2 module=b verdict=refused reason=\"no\"\n");
	auto st = lpguard::read_lpguard_status(t.sys(), 1);
	CHECK(st.present);
	REQUIRE(st.fields.size() == 2);
	CHECK(st.fields[0] == std::pair<std::string, std::string>{"form", "builtin"});
	CHECK(st.fields[1] == std::pair<std::string, std::string>{"enforcing", "1"});
	CHECK(st.other_lines == std::vector<std::string>{"key CN=x id=ab"});
	REQUIRE(st.recent.size() == 1);
	CHECK(st.recent[0].module == "b");
}
