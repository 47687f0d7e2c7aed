// SPDX-License-Identifier: GPL-2.0
// Waiting out a livepatch transition: poll <patch>/transition with a short
// exponential back-off so that the caller returns within a few milliseconds
// of the transition's end, and report progress from /proc on the way.
#pragma once

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>

#include "lpguard/guest/livepatch_sysfs.hpp"

namespace lpguard {

using Clock = std::chrono::steady_clock;

struct Backoff {
	std::chrono::microseconds initial{1000}; // first sleep
	std::chrono::microseconds max{20000};	 // sleeps double up to this
	static Backoff fixed(std::chrono::microseconds every) { return {every, every}; }
};

// Seconds from the command line (--timeout 2.5) as a Clock duration.
Clock::duration seconds(double s);

// Sleeps for the current step of a Backoff, never past the deadline, then
// doubles the step up to its maximum: every wait loop of lp-load polls
// through one of these.
class BackoffSleeper {
public:
	explicit BackoffSleeper(const Backoff &b);
	void sleep_until_next(Clock::time_point deadline);

private:
	std::chrono::microseconds step_;
	std::chrono::microseconds max_;
};

struct TransitionProgress {
	std::string patch;
	Clock::duration elapsed{};
	int target = 1;		       // 1: patching, 0: unpatching
	std::size_t pending_tasks = 0; // tasks not yet switched to target
};

struct WaitOptions {
	Clock::duration timeout = std::chrono::seconds(60);
	Backoff backoff;
	// Called about every progress_interval while the transition runs
	// (counting pending tasks walks /proc, so it is not done on every poll).
	std::function<void(const TransitionProgress &)> progress;
	Clock::duration progress_interval = std::chrono::milliseconds(200);
};

enum class TransitionOutcome {
	completed, // transition reads 0 (the patch may be enabled or disabled)
	timed_out, // still 1 at the deadline
	vanished,  // the patch directory went away (freed after a disable)
};

struct TransitionResult {
	TransitionOutcome outcome = TransitionOutcome::completed;
	Clock::duration elapsed{};   // from the call until the end was seen
	Clock::time_point seen_at{}; // when the end was seen
	bool enabled = false;	     // <patch>/enabled when the end was seen (false if vanished)
	int polls = 0;
};

TransitionResult wait_transition(const LivepatchSysfs &sys, const std::string &patch, const WaitOptions &opts);

// Waits until <patch> is no longer registered (the kernel frees a disabled
// patch asynchronously). Returns false at the deadline.
bool wait_patch_gone(const LivepatchSysfs &sys, const std::string &patch, Clock::duration timeout,
		     const Backoff &backoff = {});

const char *to_string(TransitionOutcome o);

} // namespace lpguard
