// SPDX-License-Identifier: GPL-2.0
// 'lp-load status' / 'list' JSON on the fake tree, and the boot switch
// (install and what status shows of it: test_install.cpp, test_boot_check.cpp).
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/core/error.hpp"
#include "lpguard/guest/install.hpp"
#include "lpguard/guest/status.hpp"

namespace fs = std::filesystem;

TEST_CASE("list names each livepatch module with its state", "[lpload][list][json]")
{
	fakesys::FakeTree t;
	t.add_active_patch("lp_b");
	t.add_module("lp_a", 0, "OK");
	t.add_module("lp_c", 1, "OK");
	t.add_patch("lp_c", true, true, true);
	t.add_module("e1000", 0, "");
	auto j = lpguard::list_json(t.sys());
	CHECK(j == nlohmann::json::parse(R"({"command":"list","modules":[
		{"name":"lp_a","state":"leftover","refcnt":0,"replace":null},
		{"name":"lp_b","state":"active","refcnt":1,"replace":true},
		{"name":"lp_c","state":"in-transition","refcnt":1,"replace":true}]})"));
	CHECK(lpguard::list_text(t.sys()) == "lp_a\tleftover\trefcnt 0\nlp_b\tactive\trefcnt 1\nlp_c\tin-transition\trefcnt 1\n");
	fakesys::FakeTree empty;
	CHECK(lpguard::list_text(empty.sys()) == "no livepatch modules loaded\n");
}

TEST_CASE("status reports the active patch, its functions, lpguard, taint and the installed patch",
	  "[lpload][status][json]")
{
	fakesys::FakeTree t;
	t.add_active_patch("lp_b");
	t.add_module("lp_a", 0, "OK");
	fakesys::put(t.root / "proc/sys/kernel/tainted", "32768\n");
	fakesys::put(t.root / "sys/kernel/security/lpguard/status",
		     "form: builtin\nenforcing: yes\nkeys: 2\nkey: serial=1 subject=\"a\" keyid=01\n"
		     "key: serial=2 subject=\"b\" keyid=02\nactive: lp_b\n");
	t.lpguard_log("1.5 livepatch allowed obj=\"lp_b\" signer=\"CN=k\" sha256=ab check_ns=3 reason=\"ok\"\n");
	lpguard::LpLoadPaths paths{t.root};
	auto j = lpguard::status_json(t.sys(), paths);
	CHECK(j["command"] == "status");
	CHECK(j["kernel_release"] == "6.12.0-test");
	CHECK(j["active"] == "lp_b");
	REQUIRE(j["patches"].size() == 1);
	CHECK(j["patches"][0] == nlohmann::json::parse(R"({"name":"lp_b","enabled":true,"transition":false,
		"replace":true,"objects":[{"name":"vmlinux","patched":true,"functions":["cmdline_proc_show,1"]}]})"));
	CHECK(j["transition"].is_null());
	CHECK(j["leftovers"] == nlohmann::json::array({"lp_a"}));
	CHECK(j["lpguard"]["status"] == nlohmann::json::parse(R"({"form":"builtin","enforcing":"yes","keys":"2",
		"key":["serial=1 subject=\"a\" keyid=01","serial=2 subject=\"b\" keyid=02"],"active":"lp_b"})"));
	CHECK(j["lpguard"]["recent_decisions"][0]["verdict"] == "allowed");
	CHECK(j["lpguard"]["recent_decisions"][0]["signer"] == "CN=k");
	CHECK(j["taint"]["value"] == 32768);
	CHECK(j["taint"]["flags"] == nlohmann::json::array({"K (livepatch)"}));
	CHECK(j["installed"].is_null());
	CHECK(j["boot_apply"] == true);
	CHECK(j["boot_attempt"].is_null());
	CHECK(j.size() == 11);

	// While a transition runs, status says towards what and how many tasks are left.
	t.add_module("lp_c", 1, "OK");
	t.add_patch("lp_c", true, true, true);
	t.add_task(9, 9, "slow", 0);
	t.add_task(10, 10, "fast", 1);
	auto k = lpguard::status_json(t.sys(), paths);
	CHECK(k["transition"] == nlohmann::json::parse(R"({"patch":"lp_c","target":"patched","pending_tasks":1})"));
	auto text = lpguard::status_text(t.sys(), paths);
	CHECK(text.find("active:      lp_b\n") != std::string::npos);
	CHECK(text.find("    vmlinux: cmdline_proc_show,1\n") != std::string::npos);
	CHECK(text.find("transition:  lp_c → patched, 1 tasks pending\n") != std::string::npos);
	CHECK(text.find("  form: builtin\n") != std::string::npos);
	CHECK(text.find("  key: serial=2 subject=\"b\" keyid=02\n") != std::string::npos);
}

TEST_CASE("lp_load.enable=0 on the command line turns boot apply off", "[lpload][install]")
{
	CHECK(lpguard::boot_apply_enabled("console=ttyS0 root=/dev/vda"));
	CHECK_FALSE(lpguard::boot_apply_enabled("console=ttyS0 lp_load.enable=0 quiet"));
	CHECK_FALSE(lpguard::boot_apply_enabled("lp_load.enable=off"));
	CHECK(lpguard::boot_apply_enabled("lp_load.enable=0 lp_load.enable=1"));
	CHECK(lpguard::boot_apply_enabled("xlp_load.enable=0"));
	CHECK(lpguard::boot_apply_enabled("quiet -- lp_load.enable=0"));
}
