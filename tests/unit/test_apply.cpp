// SPDX-License-Identifier: GPL-2.0
// The apply/disable state machine against the fake kernel: success with
// replacement, stall → timeout → revert, leftovers, refusals.
#include <catch2/catch_test_macros.hpp>

#include <cerrno>

#include "fakesys/fake_kernel.hpp"
#include "lp-load/exit_codes.hpp"
#include "lpguard/guest/apply.hpp"

using namespace std::chrono_literals;
using fakesys::FakeKernel;
using fakesys::FakeTree;
using fakesys::PatchSpec;
namespace fs = std::filesystem;

static lpguard::ApplyRequest request(const std::string &name, std::chrono::milliseconds timeout = 5000ms)
{
	lpguard::ApplyRequest r;
	r.ko = "/lib/patches/" + name + ".ko";
	r.name = name;
	r.sha256 = std::string(64, 'a');
	r.wait.timeout = timeout;
	r.revert_timeout = 5s;
	r.removal_timeout = 2s;
	return r;
}

TEST_CASE("apply: the new patch replaces the old one, whose module is removed", "[lpload][apply]")
{
	FakeTree t;
	t.add_active_patch("lp_old");
	t.add_task(1, 1, "init", -1);
	FakeKernel k(t);
	k.on("lp_new", PatchSpec{.transition = 40ms});
	auto r = lpguard::apply_patch(t.sys(), k, request("lp_new"));
	CHECK(r.result == "applied");
	CHECK(r.kind == lpguard::Kind::ok);
	CHECK(r.replaced == std::vector<std::string>{"lp_old"});
	CHECK(r.cleanup.removed == std::vector<std::string>{"lp_old"});
	CHECK(r.cleanup.failed.empty());
	CHECK(r.active_after == std::vector<std::string>{"lp_new"});
	REQUIRE(r.transition_ms);
	// Measured from when the wait starts, which may be late on a loaded machine: a time, not its size.
	CHECK(*r.transition_ms > 0.0);
	CHECK(*r.transition_ms < 40000.0);
	CHECK(r.message.rfind("lp_new is active (transition ", 0) == 0);
	CHECK(r.message.find("replaced lp_old") != std::string::npos);
	// State from the outside: old module gone, new one registered and enabled.
	CHECK_FALSE(fs::exists(t.root / "sys/module/lp_old"));
	CHECK_FALSE(fs::exists(t.root / "sys/kernel/livepatch/lp_old"));
	CHECK(fakesys::get(t.root / "sys/kernel/livepatch/lp_new/enabled") == "1\n");
	CHECK(fakesys::get(t.root / "sys/kernel/livepatch/lp_new/transition") == "0\n");
	CHECK(k.inserted == std::vector<std::string>{"lp_new"});
	// Waited for the kernel to drop the module reference instead of failing on EBUSY.
	CHECK(k.removed == std::vector<std::string>{"lp_old"});
}

TEST_CASE("apply: a stalled transition times out, names the blockers with stacks, reverts and leaves the "
	  "system as before",
	  "[lpload][apply]")
{
	FakeTree t;
	t.add_active_patch("lp_old");
	t.add_task(1, 1, "init", -1);
	t.add_task(77, 78, "busy_target", -1, {"[<0>] lpguard_test_busy+0x2a/0x40 [lpguard_test_target]", "[<0>] kthread+0xe8/0x120"});
	FakeKernel k(t);
	k.on("lp_stall", PatchSpec{.stall = true, .blockers = {78}});
	auto r = lpguard::apply_patch(t.sys(), k, request("lp_stall", 150ms));
	CHECK(r.result == "reverted");
	CHECK(r.kind == lpguard::Kind::reverted);
	REQUIRE(r.blocking.size() == 1);
	CHECK(r.blocking[0].pid == 77);
	CHECK(r.blocking[0].tid == 78);
	CHECK(r.blocking[0].comm == "busy_target");
	CHECK(r.blocking[0].stack.at(0) == "[<0>] lpguard_test_busy+0x2a/0x40 [lpguard_test_target]");
	CHECK(r.message.find("busy_target[78]") != std::string::npos);
	CHECK(r.message.find("active: lp_old") != std::string::npos);
	CHECK(lpguard::format_blocking(r.blocking) ==
	      "tasks that kept the transition from finishing, with their kernel stacks:\n"
	      "  77/78 busy_target\n"
	      "      [<0>] lpguard_test_busy+0x2a/0x40 [lpguard_test_target]\n"
	      "      [<0>] kthread+0xe8/0x120\n");
	CHECK_FALSE(r.transition_ms);
	CHECK(r.revert_ms);
	// As before: the old patch still active, the new module gone, nothing removed but it.
	CHECK(r.active_after == std::vector<std::string>{"lp_old"});
	CHECK_FALSE(fs::exists(t.root / "sys/kernel/livepatch/lp_stall"));
	CHECK_FALSE(fs::exists(t.root / "sys/module/lp_stall"));
	CHECK(fs::exists(t.root / "sys/module/lp_old"));
	CHECK(fakesys::get(t.root / "sys/kernel/livepatch/lp_old/enabled") == "1\n");
	CHECK(k.removed == std::vector<std::string>{"lp_stall"});
}

TEST_CASE("apply: when the revert stalls too, the exit code says the system needs attention", "[lpload][apply]")
{
	FakeTree t;
	t.add_task(5, 5, "stuck", -1);
	FakeKernel k(t);
	k.on("lp_stall", PatchSpec{.stall = true, .stall_revert = true, .blockers = {5}});
	auto req = request("lp_stall", 60ms);
	req.revert_timeout = 60ms;
	auto r = lpguard::apply_patch(t.sys(), k, req);
	CHECK(r.result == "revert-failed");
	CHECK(r.kind == lpguard::Kind::revert_failed);
	CHECK(r.message.find("stuck[5]") != std::string::npos);
	CHECK(r.message.find("revert is still running") != std::string::npos);
	CHECK(k.removed.empty());
}

TEST_CASE("apply: leftovers of earlier runs are removed; one still in use is reported", "[lpload][apply]")
{
	FakeTree t;
	t.add_module("lp_ancient", 0, "OK");		   // replaced long ago, never removed
	t.add_module("lp_pinned", 1, "OK", {"some_user"}); // held by another module
	t.add_module("e1000", 0, "");			   // not a livepatch: left alone
	FakeKernel k(t);
	auto req = request("lp_new");
	req.removal_timeout = 50ms;
	auto r = lpguard::apply_patch(t.sys(), k, req);
	CHECK(r.result == "cleanup-failed");
	CHECK(r.kind == lpguard::Kind::cleanup);
	CHECK(r.cleanup.removed == std::vector<std::string>{"lp_ancient"});
	REQUIRE(r.cleanup.failed.size() == 1);
	CHECK(r.cleanup.failed[0].module == "lp_pinned");
	CHECK(r.cleanup.failed[0].reason == "still in use (refcnt 1, held by some_user)");
	CHECK(r.active_after == std::vector<std::string>{"lp_new"});
	CHECK(fs::exists(t.root / "sys/module/e1000"));
	CHECK(fs::exists(t.root / "sys/module/lp_pinned"));
	CHECK_FALSE(fs::exists(t.root / "sys/module/lp_ancient"));
}

TEST_CASE("apply: refusals carry the kernel's errno and a reason", "[lpload][apply][errno]")
{
	FakeTree t;
	FakeKernel k(t);

	SECTION("EKEYREJECTED: not signed by a livepatch key")
	{
		k.on("lp_x", PatchSpec{.insert_errno = EKEYREJECTED});
		auto r = lpguard::apply_patch(t.sys(), k, request("lp_x"));
		CHECK(r.kind == lpguard::Kind::refused);
		REQUIRE(r.refusal);
		CHECK(r.refusal->errno_name == "EKEYREJECTED");
		CHECK(r.message == "cannot load lp_x: not signed by a livepatch key (sign it with the livepatch key "
				   "(cvm-cli sign) and check 'lp-load verify')");
	}
	SECTION("EKEYREJECTED with lpguard's reason for this image")
	{
		k.on("lp_x", PatchSpec{.insert_errno = EKEYREJECTED, .lpguard_log = "12.500000 livepatch refused obj=\"lp_x\" signer=\"\" sha256=" + std::string(64, 'a') + " check_ns=5 reason=\"livepatch is not signed: sign it with a "
																					    "livepatch key\"\n"});
		auto r = lpguard::apply_patch(t.sys(), k, request("lp_x"));
		CHECK(r.kind == lpguard::Kind::refused);
		REQUIRE(r.refusal);
		CHECK(r.refusal->errno_name == "EKEYREJECTED");
		REQUIRE(r.refusal->lpguard);
		CHECK(r.message == "cannot load lp_x: signature refused by lpguard: livepatch is not signed: sign it "
				   "with a livepatch key (see /sys/kernel/security/lpguard/log)");
	}
	SECTION("EPERM: the reason lpguard logged for this module and image")
	{
		// An older refusal of the same module must not be taken for this one.
		t.lpguard_log("10.500000 livepatch refused obj=\"lp_x\" signer=\"\" sha256=" + std::string(64, 'b') +
			      " check_ns=1 reason=\"older decision\"\n");
		k.on("lp_x", PatchSpec{.insert_errno = EPERM, .lpguard_log = "12.250000 livepatch allowed obj=\"lp_other\" signer=\"k\" sha256=" + std::string(64, 'c') + " check_ns=1 reason=\"ok\"\n"
																					  "12.500000 livepatch refused obj=\"lp_x\" signer=\"Build key\" sha256=" +
					       std::string(64, 'a') + " check_ns=5 reason=\"livepatch is not signed by a key in .livepatch: "
								      "sign it with a livepatch key\"\n"});
		auto r = lpguard::apply_patch(t.sys(), k, request("lp_x"));
		CHECK(r.kind == lpguard::Kind::refused);
		REQUIRE(r.refusal);
		CHECK(r.refusal->errno_name == "EPERM");
		REQUIRE(r.refusal->lpguard);
		CHECK(r.refusal->lpguard->signer == "Build key");
		CHECK(r.message == "cannot load lp_x: refused by lpguard: livepatch is not signed by a key in "
				   ".livepatch: sign it with a livepatch key (see /sys/kernel/security/lpguard/log)");
	}
	SECTION("EPERM without an lpguard decision for this attempt")
	{
		t.lpguard_log("1.000000 livepatch refused obj=\"lp_x\" signer=\"\" sha256=- check_ns=1 reason=\"old\"\n");
		k.on("lp_x", PatchSpec{.insert_errno = EPERM});
		auto r = lpguard::apply_patch(t.sys(), k, request("lp_x"));
		REQUIRE(r.refusal);
		CHECK_FALSE(r.refusal->lpguard);
		CHECK(r.refusal->why == "operation not permitted and lpguard logged no decision for lp_x (lockdown, "
					"another LSM, or not root)");
	}
	SECTION("ENOEXEC: format or vermagic")
	{
		k.on("lp_x", PatchSpec{.insert_errno = ENOEXEC});
		auto r = lpguard::apply_patch(t.sys(), k, request("lp_x"));
		REQUIRE(r.refusal);
		CHECK(r.refusal->errno_name == "ENOEXEC");
		CHECK(r.refusal->why == "not a valid module for this kernel (bad format or vermagic mismatch)");
	}
	SECTION("EEXIST: already loaded, detected before inserting")
	{
		t.add_active_patch("lp_x");
		auto r = lpguard::apply_patch(t.sys(), k, request("lp_x"));
		REQUIRE(r.refusal);
		CHECK(r.refusal->errno_name == "EEXIST");
		CHECK(r.message.rfind("cannot load lp_x: a module named lp_x is already loaded", 0) == 0);
		CHECK(k.inserted.empty());
	}
	SECTION("EBUSY: another transition is running, detected before inserting")
	{
		t.add_module("lp_other", 1, "OK");
		t.add_patch("lp_other", true, true, true);
		auto r = lpguard::apply_patch(t.sys(), k, request("lp_x"));
		REQUIRE(r.refusal);
		CHECK(r.refusal->errno_name == "EBUSY");
		CHECK(r.message == "cannot load lp_x: livepatch lp_other is still in transition (wait for it to "
				   "finish ('lp-load status') and retry)");
		CHECK(k.inserted.empty());
	}
	SECTION("EBUSY from the kernel")
	{
		k.on("lp_x", PatchSpec{.insert_errno = EBUSY});
		auto r = lpguard::apply_patch(t.sys(), k, request("lp_x"));
		REQUIRE(r.refusal);
		CHECK(r.refusal->why == "another livepatch transition is in progress");
	}
}

TEST_CASE("apply: a module that registers no livepatch is reported", "[lpload][apply]")
{
	FakeTree t;
	FakeKernel k(t);
	k.on("not_lp", PatchSpec{.registers = false});
	auto r = lpguard::apply_patch(t.sys(), k, request("not_lp"));
	CHECK(r.result == "failed");
	CHECK(r.kind == lpguard::Kind::system);
	CHECK(r.message.find("registered no livepatch") != std::string::npos);
}

TEST_CASE("disable: turns the active patch off and removes its module", "[lpload][disable]")
{
	FakeTree t;
	t.add_active_patch("lp_a");
	FakeKernel k(t);
	lpguard::WaitOptions w;
	w.timeout = 5s;
	auto r = lpguard::disable_patches(t.sys(), k, w, 5s, 2s);
	CHECK(r.result == "disabled");
	CHECK(r.kind == lpguard::Kind::ok);
	CHECK(r.disabled == std::vector<std::string>{"lp_a"});
	CHECK(r.cleanup.removed == std::vector<std::string>{"lp_a"});
	CHECK_FALSE(fs::exists(t.root / "sys/kernel/livepatch/lp_a"));
	CHECK_FALSE(fs::exists(t.root / "sys/module/lp_a"));

	auto again = lpguard::disable_patches(t.sys(), k, w, 5s, 2s);
	CHECK(again.result == "none");
	CHECK(again.kind == lpguard::Kind::not_found);
	CHECK(again.message == "no active livepatch, nothing to disable");
}

TEST_CASE("JSON reports follow the documented schema", "[lpload][json]")
{
	FakeTree t;
	t.add_active_patch("lp_old");
	t.add_task(3, 3, "blocker", -1, {"[<0>] f+0x1/0x2"});
	FakeKernel k(t);
	k.on("lp_new", PatchSpec{.transition = 5ms});
	k.on("lp_stall", PatchSpec{.stall = true, .blockers = {3}});

	auto check_common = [](const nlohmann::json &j) {
		for (const char *key : {"command", "result", "message"})
			CHECK(j.at(key).is_string());
		CHECK(j.at("exit_code").is_number_integer());
		CHECK(j.at("cleanup").at("removed").is_array());
		CHECK(j.at("cleanup").at("failed").is_array());
		CHECK(j.at("blocking_tasks").is_array());
	};

	// As lp-load prints them: with its exit code for the report's kind.
	auto report = [](const auto &r) { return lpload_tool::report_json(lpguard::to_json(r), r.kind); };
	auto ok = report(lpguard::apply_patch(t.sys(), k, request("lp_new")));
	check_common(ok);
	CHECK(ok.size() == 12);
	CHECK(ok["command"] == "apply");
	CHECK(ok["result"] == "applied");
	CHECK(ok["exit_code"] == 0);
	CHECK(ok["patch"]["name"] == "lp_new");
	CHECK(ok["patch"]["path"] == "/lib/patches/lp_new.ko");
	CHECK(ok["patch"]["sha256"] == std::string(64, 'a'));
	CHECK(ok["refusal"].is_null());
	CHECK(ok["transition_ms"].is_number());
	CHECK(ok["revert_ms"].is_null());
	CHECK(ok["replaced"] == nlohmann::json::array({"lp_old"}));
	CHECK(ok["cleanup"]["removed"] == nlohmann::json::array({"lp_old"}));
	CHECK(ok["active"] == nlohmann::json::array({"lp_new"}));

	auto rev = report(lpguard::apply_patch(t.sys(), k, request("lp_stall", 50ms)));
	check_common(rev);
	CHECK(rev["result"] == "reverted");
	CHECK(rev["exit_code"] == 5);
	CHECK(rev["transition_ms"].is_null());
	CHECK(rev["revert_ms"].is_number());
	REQUIRE(rev["blocking_tasks"].size() == 1);
	const auto &task = rev["blocking_tasks"][0];
	CHECK(task["pid"] == 3);
	CHECK(task["tid"] == 3);
	CHECK(task["comm"] == "blocker");
	CHECK(task["patch_state"] == 0);
	CHECK(task["stack"] == nlohmann::json::array({"[<0>] f+0x1/0x2"}));

	k.on("lp_bad", PatchSpec{.insert_errno = EKEYREJECTED});
	auto bad = report(lpguard::apply_patch(t.sys(), k, request("lp_bad")));
	check_common(bad);
	CHECK(bad["result"] == "refused");
	CHECK(bad["refusal"]["errno"] == "EKEYREJECTED");
	CHECK(bad["refusal"]["reason"] == "not signed by a livepatch key");
	CHECK(bad["refusal"]["todo"].is_string());
	CHECK(bad["refusal"]["lpguard"].is_null());

	auto dis = report(lpguard::disable_patches(t.sys(), k, {}, 5s, 2s));
	check_common(dis);
	CHECK(dis["command"] == "disable");
	CHECK(dis["result"] == "disabled");
	CHECK(dis["disabled"] == nlohmann::json::array({"lp_new"}));
}

TEST_CASE("apply calls before_insert right before the insert, and not for a refusal known before it",
	  "[lpload][apply][recovery]")
{
	FakeTree t;
	t.add_task(1, 1, "init", -1);
	FakeKernel k(t);
	std::vector<std::size_t> inserted_then;
	auto req = request("lp_new");
	req.before_insert = [&] { inserted_then.push_back(k.inserted.size()); };
	CHECK(lpguard::apply_patch(t.sys(), k, req).result == "applied");
	CHECK(inserted_then == std::vector<std::size_t>{0});
	CHECK(lpguard::apply_patch(t.sys(), k, req).result == "refused"); // EEXIST, seen before the insert
	CHECK(inserted_then.size() == 1);
}
