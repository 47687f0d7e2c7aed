// SPDX-License-Identifier: GPL-2.0
// A transition left by a killed lp-load (guest/recovery.cpp): the next
// lp-load finds its record, finishes or reverts the transition as apply or
// disable would have, removes what is left over and says what it found; one
// case kills a real process with SIGKILL while it waits.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <csignal>
#include <sys/wait.h>
#include <unistd.h>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/core/error.hpp"
#include "lpguard/guest/apply.hpp"
#include "lpguard/guest/lock_file.hpp"
#include "lpguard/guest/recovery.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;
using fakesys::FakeKernel;
using fakesys::FakeTree;
using fakesys::PatchSpec;
namespace fs = std::filesystem;

namespace {

// The record a killed 'lp-load apply' (pid 4242) left when it started.
lpguard::InflightRecord left_by_apply(const std::string &patch, double timeout_s, double started_ago_s = 0,
				      std::vector<std::string> before = {"lp_old"})
{
	auto r = lpguard::new_inflight("apply", patch, std::string(64, 'c'), timeout_s, 5, 0ul, std::move(before));
	r.pid = 4242;
	r.started_monotonic -= started_ago_s;
	return r;
}

lpguard::RecoveryOptions quick()
{
	lpguard::RecoveryOptions o;
	o.removal_timeout = 2s;
	return o;
}

const std::string kFound = "found lp_new's transition left by lp-load pid 4242 (killed?): ";

// A module loader that only registers the patch and starts its transition,
// for a process that has no fake kernel thread (forked).
struct RegisterOnly final : lpguard::ModuleLoader {
	FakeTree &t;
	explicit RegisterOnly(FakeTree &tree) : t(tree) {}
	int insert(const fs::path &ko) override
	{
		t.add_module(ko.stem().string(), 1, "OK");
		t.add_patch(ko.stem().string(), true, true, true);
		return 0;
	}
	int remove(const std::string &) override { return EBUSY; }
};

} // namespace

TEST_CASE("no record, nothing to recover", "[lpload][recovery]")
{
	FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	FakeKernel k(t);
	CHECK_FALSE(lpguard::recover_transition(t.sys(), k, paths));
}

TEST_CASE("recovery: a transition that completes is finished like apply would", "[lpload][recovery]")
{
	FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	t.add_active_patch("lp_old");
	t.add_task(1, 1, "init", -1);
	FakeKernel k(t);
	k.on("lp_new", PatchSpec{.transition = 150ms});
	lpguard::write_inflight(paths, left_by_apply("lp_new", 10));
	REQUIRE(k.insert("/x/lp_new.ko") == 0); // then the apply was killed
	auto r = lpguard::recover_transition(t.sys(), k, paths, quick());
	REQUIRE(r);
	CHECK(r->outcome == "completed");
	CHECK(r->kind == lpguard::Kind::ok);
	CHECK(r->message == kFound + "it completed: lp_new is active (replaced lp_old)");
	CHECK(r->cleanup.removed == std::vector<std::string>{"lp_old"});
	CHECK(r->active_after == std::vector<std::string>{"lp_new"});
	CHECK_FALSE(fs::exists(t.root / "sys/module/lp_old"));
	CHECK_FALSE(fs::exists(paths.inflight()));
	auto j = lpguard::to_json(*r);
	CHECK(j["outcome"] == "completed");
	CHECK(j["found"]["pid"] == 4242);
	CHECK(j["found"]["patch"] == "lp_new");
	CHECK(j["message"] == r->message);
	// Done: the next lp-load finds nothing.
	CHECK_FALSE(lpguard::recover_transition(t.sys(), k, paths, quick()));
}

TEST_CASE("recovery: a stalled transition is waited for the rest of its timeout, then reverted",
	  "[lpload][recovery]")
{
	FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	t.add_active_patch("lp_old");
	t.add_task(1, 1, "init", -1);
	t.add_task(77, 78, "busy_target", -1, {"[<0>] lpguard_test_busy+0x2a/0x40"});
	FakeKernel k(t);
	k.on("lp_new", PatchSpec{.stall = true, .blockers = {78}});
	SECTION("with time left")
	{
		lpguard::write_inflight(paths, left_by_apply("lp_new", 0.3));
	}
	SECTION("its timeout already over")
	{
		lpguard::write_inflight(paths, left_by_apply("lp_new", 0.3, 3600));
	}
	REQUIRE(k.insert("/x/lp_new.ko") == 0);
	auto t0 = std::chrono::steady_clock::now();
	auto r = lpguard::recover_transition(t.sys(), k, paths, quick());
	REQUIRE(r);
	CHECK(std::chrono::steady_clock::now() - t0 < 20s);
	CHECK(r->outcome == "reverted");
	CHECK(r->kind == lpguard::Kind::reverted);
	CHECK(r->message == kFound + "it did not finish within its 0.3 s (blocked by busy_target[78]); reverted and "
				     "removed lp_new, active: lp_old");
	REQUIRE(r->blocking.size() == 1);
	CHECK(r->blocking[0].stack.at(0) == "[<0>] lpguard_test_busy+0x2a/0x40");
	CHECK(k.removed == std::vector<std::string>{"lp_new"});
	CHECK(fakesys::get(t.root / "sys/kernel/livepatch/lp_old/enabled") == "1\n");
	CHECK_FALSE(fs::exists(t.root / "sys/kernel/livepatch/lp_new"));
	CHECK_FALSE(fs::exists(paths.inflight()));
}

TEST_CASE("recovery: killed during its revert, before its insert, or after the end", "[lpload][recovery]")
{
	FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	t.add_active_patch("lp_old");
	FakeKernel k(t);
	SECTION("the revert was running: it is waited for and the module removed")
	{
		k.on("lp_new", PatchSpec{.stall = true, .revert = 100ms});
		lpguard::write_inflight(paths, left_by_apply("lp_new", 0.1));
		REQUIRE(k.insert("/x/lp_new.ko") == 0);
		t.sys().set_enabled("lp_new", false); // apply's revert, then it was killed
		auto r = lpguard::recover_transition(t.sys(), k, paths, quick());
		REQUIRE(r);
		CHECK(r->outcome == "reverted");
		CHECK(r->message == kFound + "it had been reverted: removed lp_new, active: lp_old");
		CHECK_FALSE(fs::exists(t.root / "sys/module/lp_new"));
	}
	SECTION("before the insert: nothing to finish")
	{
		lpguard::write_inflight(paths, left_by_apply("lp_new", 10));
		auto r = lpguard::recover_transition(t.sys(), k, paths, quick());
		REQUIRE(r);
		CHECK(r->outcome == "not-started");
		CHECK(r->message == kFound + "lp_new is not loaded: nothing to finish");
	}
	SECTION("an unreadable record is removed")
	{
		fakesys::put(paths.inflight(), "{\"patch\": ");
		auto r = lpguard::recover_transition(t.sys(), k, paths, quick());
		REQUIRE(r);
		CHECK(r->message == "found a transition left by lp-load pid 0 (killed?): its record is unreadable; removed it");
	}
	CHECK_FALSE(fs::exists(paths.inflight()));
	CHECK(fakesys::get(t.root / "sys/kernel/livepatch/lp_old/enabled") == "1\n");
}

TEST_CASE("recovery: a disable left running is finished, or reversed at its timeout", "[lpload][recovery]")
{
	FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	t.add_active_patch("lp_old");
	t.add_task(5, 5, "slow", -1);
	auto rec = lpguard::new_inflight("disable", "lp_old", "", 0.3, 2, 0ul, {});
	rec.pid = 99;
	lpguard::write_inflight(paths, rec);
	SECTION("it finishes")
	{
		FakeKernel k(t);
		t.sys().set_enabled("lp_old", false);
		auto r = lpguard::recover_transition(t.sys(), k, paths, quick());
		REQUIRE(r);
		CHECK(r->outcome == "disabled");
		CHECK(r->message ==
		      "found lp_old's transition left by lp-load pid 99 (killed?): it completed: disabled and removed "
		      "lp_old, kernel unpatched");
		CHECK_FALSE(fs::exists(t.root / "sys/module/lp_old"));
	}
	SECTION("it never finishes: re-enabled, as disable does")
	{
		// A disable transition that stalls, written by hand (no fake kernel).
		fakesys::put(t.root / "sys/kernel/livepatch/lp_old/transition", "1\n");
		fakesys::put(t.root / "sys/kernel/livepatch/lp_old/enabled", "0\n");
		fakesys::put(t.root / "proc/5/task/5/patch_state", "1\n");
		struct Stuck final : lpguard::ModuleLoader {
			int insert(const fs::path &) override { return EINVAL; }
			int remove(const std::string &) override { return EBUSY; }
		} none;
		// Re-enabling reverses it: the test ends the transition then.
		std::thread flip([&] {
			for (int i = 0; i < 4000; i++) {
				if (fakesys::get(t.root / "sys/kernel/livepatch/lp_old/enabled") == "1\n") {
					fakesys::put(t.root / "sys/kernel/livepatch/lp_old/transition", "0\n");
					return;
				}
				std::this_thread::sleep_for(1ms);
			}
		});
		auto r = lpguard::recover_transition(t.sys(), none, paths, quick());
		flip.join();
		REQUIRE(r);
		CHECK(r->outcome == "re-enabled");
		CHECK(r->kind == lpguard::Kind::reverted);
		CHECK_THAT(r->message, StartsWith("found lp_old's transition left by lp-load pid 99 (killed?): disabling "
						  "it did not finish within its 0.3 s (blocked by slow[5]); re-enabled it"));
	}
	CHECK_FALSE(fs::exists(paths.inflight()));
}

TEST_CASE("revert_transition: the transition ended before the write, or the write is refused",
	  "[lpload][recovery]")
{
	FakeTree t;
	t.add_module("lp_x", 1, "OK");
	t.add_patch("lp_x", true, false, true);
	// enabled cannot be written (EPERM from lpguard's lock behaves the same:
	// refused once the patch is no longer the one in transition).
	fs::remove(t.root / "sys/kernel/livepatch/lp_x/enabled");
	fs::create_directory(t.root / "sys/kernel/livepatch/lp_x/enabled");
	struct Nop final : lpguard::ModuleLoader {
		int insert(const fs::path &) override { return 0; }
		int remove(const std::string &) override { return 0; }
	} nop;
	lpguard::WaitOptions w;
	w.timeout = 100ms;
	CHECK(lpguard::revert_transition(t.sys(), nop, "lp_x", w, 100ms).result == "completed");
	fakesys::put(t.root / "sys/kernel/livepatch/lp_x/transition", "1\n");
	auto rv = lpguard::revert_transition(t.sys(), nop, "lp_x", w, 100ms);
	CHECK(rv.result == "write-failed");
	CHECK_THAT(rv.detail, StartsWith("cannot write " + (t.root / "sys/kernel/livepatch/lp_x/enabled").string()));
}

TEST_CASE("an lp-load killed with SIGKILL while it waits: the next one takes the lock and reverts",
	  "[lpload][recovery][lock]")
{
	FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	t.add_active_patch("lp_old");
	t.add_task(1, 1, "init", -1);
	int ready[2];
	REQUIRE(::pipe(ready) == 0);
	pid_t child = ::fork();
	REQUIRE(child >= 0);
	if (child == 0) {
		// What 'lp-load apply' does: lock, record, insert, wait.
		::close(ready[0]);
		auto lock = lpguard::LockFile::acquire(paths.lock());
		RegisterOnly loader(t);
		lpguard::ApplyRequest req;
		req.ko = "/x/lp_new.ko";
		req.name = "lp_new";
		req.wait.timeout = 60s;
		req.before_insert = [&] {
			lpguard::write_inflight(paths, lpguard::new_inflight("apply", "lp_new", "", 0.5, 5, 0ul, {"lp_old"}));
		};
		std::thread tell([&] {
			while (!fs::exists(t.root / "sys/kernel/livepatch/lp_new/transition"))
				std::this_thread::sleep_for(1ms);
			if (::write(ready[1], "x", 1) != 1)
				::_exit(3);
		});
		lpguard::apply_patch(t.sys(), loader, req);
		::_exit(2); // not reached: the transition never ends in this process
	}
	::close(ready[1]);
	char c;
	REQUIRE(::read(ready[0], &c, 1) == 1);
	::close(ready[0]);
	REQUIRE(::kill(child, SIGKILL) == 0);
	int status = 0;
	REQUIRE(::waitpid(child, &status, 0) == child);
	REQUIRE(WIFSIGNALED(status));
	// Its pid is still in the lock file; the lock itself died with it.
	CHECK(fakesys::get(paths.lock()) == std::to_string(child) + "\n");
	auto lock = lpguard::LockFile::acquire(paths.lock());
	CHECK(fakesys::get(paths.lock()) == std::to_string(::getpid()) + "\n");

	FakeKernel k(t); // the kernel goes on: lp_new stays in transition
	auto r = lpguard::recover_transition(t.sys(), k, paths, quick());
	REQUIRE(r);
	CHECK(r->found.pid == child);
	CHECK(r->outcome == "reverted");
	CHECK(r->message == "found lp_new's transition left by lp-load pid " + std::to_string(child) + " (killed?): it did not finish within its 0.5 s (no task reported as pending); "
												       "reverted and removed lp_new, active: lp_old");
	CHECK_FALSE(fs::exists(t.root / "sys/module/lp_new"));
	CHECK_FALSE(fs::exists(paths.inflight()));
}

TEST_CASE("a stale pid in the lock file never blocks", "[lpload][lock]")
{
	FakeTree t;
	auto path = t.root / "run/lp-load.lock";
	fakesys::put(path, "999999\n"); // left by a process that is gone
	auto l = lpguard::LockFile::acquire(path);
	CHECK(l.held());
	CHECK(fakesys::get(path) == std::to_string(::getpid()) + "\n");
}

TEST_CASE("acquire_waiting waits for the holder, then gives up with the locked error", "[lpload][lock]")
{
	FakeTree t;
	auto path = t.root / "run/lp-load.lock";
	std::optional<lpguard::LockFile> held(lpguard::LockFile::acquire(path));
	// acquire and acquire_waiting use two descriptors: flock conflicts between them.
	try {
		lpguard::LockFile::acquire_waiting(path, 300ms);
		FAIL("acquired a held lock");
	} catch (const lpguard::Error &e) {
		CHECK(e.kind() == lpguard::Kind::locked);
	}
	std::thread release([&] {
		std::this_thread::sleep_for(200ms);
		held.reset();
	});
	auto l = lpguard::LockFile::acquire_waiting(path, 10s);
	release.join();
	CHECK(l.held());
}
