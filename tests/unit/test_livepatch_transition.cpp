// SPDX-License-Identifier: GPL-2.0
// Waiting out a transition on the fake tree: completion, progress, timeout.
#include <catch2/catch_test_macros.hpp>

#include <thread>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/guest/livepatch_transition.hpp"

using namespace std::chrono_literals;
using fakesys::FakeTree;
using lpguard::Clock;
using lpguard::TransitionOutcome;

TEST_CASE("the wait returns after the transition file flips to 0", "[lpload][transition]")
{
	FakeTree t;
	t.add_patch("lp_a", true, true, true);
	auto sys = t.sys();
	Clock::time_point flipped;
	std::thread flipper([&] {
		std::this_thread::sleep_for(80ms);
		flipped = Clock::now();
		fakesys::put(t.root / "sys/kernel/livepatch/lp_a/transition", "0\n");
	});
	lpguard::WaitOptions o;
	o.timeout = 20s;
	auto r = lpguard::wait_transition(sys, "lp_a", o);
	flipper.join();
	CHECK(r.outcome == TransitionOutcome::completed);
	CHECK(r.enabled);
	CHECK(r.seen_at >= flipped);
	// 80 ms with a 1 ms doubling to 20 ms back-off: several polls, not one per ms.
	CHECK(r.polls > 3);
	CHECK(r.polls < 80);
}

TEST_CASE("progress reports the tasks not yet patched", "[lpload][transition]")
{
	FakeTree t;
	t.add_patch("lp_a", true, true, true);
	t.add_task(1, 1, "init", 1);
	t.add_task(50, 50, "worker", 0);
	t.add_task(50, 51, "worker2", 0);
	auto sys = t.sys();
	std::vector<lpguard::TransitionProgress> seen;
	std::thread mover([&] {
		std::this_thread::sleep_for(60ms);
		t.set_task_state(50, 50, 1);
		std::this_thread::sleep_for(60ms);
		t.set_task_state(50, 51, 1);
		fakesys::put(t.root / "sys/kernel/livepatch/lp_a/transition", "0\n");
	});
	lpguard::WaitOptions o;
	o.timeout = 20s;
	o.progress_interval = 5ms;
	o.progress = [&](const lpguard::TransitionProgress &p) { seen.push_back(p); };
	auto r = lpguard::wait_transition(sys, "lp_a", o);
	mover.join();
	CHECK(r.outcome == TransitionOutcome::completed);
	REQUIRE(seen.size() >= 2);
	CHECK(seen.front().pending_tasks == 2);
	CHECK(seen.front().target == 1);
	CHECK(seen.front().patch == "lp_a");
	bool saw_one = false;
	for (const auto &p : seen)
		saw_one |= p.pending_tasks == 1;
	CHECK(saw_one);
	for (std::size_t i = 1; i < seen.size(); i++)
		CHECK(seen[i].pending_tasks <= seen[i - 1].pending_tasks);
}

TEST_CASE("a transition that never ends times out; a reversed one reports unpatching", "[lpload][transition]")
{
	FakeTree t;
	t.add_patch("lp_a", false, true, true); // being reversed: enabled already reads 0
	t.add_task(1, 1, "init", 1);
	auto sys = t.sys();
	std::vector<lpguard::TransitionProgress> seen;
	lpguard::WaitOptions o;
	o.timeout = 100ms;
	o.progress_interval = 10ms;
	o.progress = [&](const lpguard::TransitionProgress &p) { seen.push_back(p); };
	auto r = lpguard::wait_transition(sys, "lp_a", o);
	CHECK(r.outcome == TransitionOutcome::timed_out);
	CHECK(r.elapsed >= 100ms);
	REQUIRE_FALSE(seen.empty());
	CHECK(seen.back().target == 0);
	CHECK(seen.back().pending_tasks == 1);
}

TEST_CASE("a patch that disappears while waited on is reported as vanished", "[lpload][transition]")
{
	FakeTree t;
	t.add_patch("lp_a", true, true, true);
	auto sys = t.sys();
	std::thread remover([&] {
		std::this_thread::sleep_for(30ms);
		std::filesystem::remove_all(t.root / "sys/kernel/livepatch/lp_a");
	});
	lpguard::WaitOptions o;
	o.timeout = 20s;
	auto r = lpguard::wait_transition(sys, "lp_a", o);
	remover.join();
	CHECK(r.outcome == TransitionOutcome::vanished);
	CHECK(lpguard::wait_patch_gone(sys, "lp_a", 1s));
	t.add_patch("lp_b", true, false, true);
	CHECK_FALSE(lpguard::wait_patch_gone(sys, "lp_b", 30ms));
}
