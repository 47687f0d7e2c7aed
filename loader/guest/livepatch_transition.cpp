// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/livepatch_transition.hpp"

#include <algorithm>
#include <thread>

namespace lpguard {

Clock::duration seconds(double s)
{
	return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

BackoffSleeper::BackoffSleeper(const Backoff &b) : step_(b.initial), max_(std::max(b.max, b.initial)) {}

void BackoffSleeper::sleep_until_next(Clock::time_point deadline)
{
	auto now = Clock::now();
	if (now >= deadline)
		return;
	std::this_thread::sleep_until(std::min<Clock::time_point>(now + step_, deadline));
	step_ = std::min(step_ * 2, max_);
}

TransitionResult wait_transition(const LivepatchSysfs &sys, const std::string &patch, const WaitOptions &opts)
{
	TransitionResult r;
	const auto start = Clock::now();
	const auto deadline = start + opts.timeout;
	auto next_progress = start + opts.progress_interval;
	BackoffSleeper stepper(opts.backoff);
	const auto enabled_file = sys.patch_dir(patch) / "enabled";

	for (;;) {
		r.polls++;
		auto t = sys.transition(patch);
		auto now = Clock::now();
		if (!t) {
			r.outcome = TransitionOutcome::vanished;
			r.seen_at = now;
			r.elapsed = now - start;
			r.enabled = false;
			return r;
		}
		if (!*t) {
			r.outcome = TransitionOutcome::completed;
			r.seen_at = now;
			r.elapsed = now - start;
			r.enabled = trim(read_text(enabled_file).value_or("0")) == "1";
			return r;
		}
		if (now >= deadline) {
			r.outcome = TransitionOutcome::timed_out;
			r.seen_at = now;
			r.elapsed = now - start;
			r.enabled = trim(read_text(enabled_file).value_or("0")) == "1";
			return r;
		}
		if (opts.progress && now >= next_progress) {
			TransitionProgress p;
			p.patch = patch;
			p.elapsed = now - start;
			// During a transition the kernel's target follows <patch>/enabled
			// (a reversed transition flips both).
			p.target = trim(read_text(enabled_file).value_or("1")) == "1" ? 1 : 0;
			p.pending_tasks = sys.pending_tasks(p.target).size();
			opts.progress(p);
			next_progress = Clock::now() + opts.progress_interval;
		}
		stepper.sleep_until_next(deadline);
	}
}

bool wait_patch_gone(const LivepatchSysfs &sys, const std::string &patch, Clock::duration timeout,
		     const Backoff &backoff)
{
	const auto deadline = Clock::now() + timeout;
	BackoffSleeper stepper(backoff);
	for (;;) {
		if (!sys.patch_exists(patch))
			return true;
		if (Clock::now() >= deadline)
			return false;
		stepper.sleep_until_next(deadline);
	}
}

const char *to_string(TransitionOutcome o)
{
	switch (o) {
	case TransitionOutcome::completed: return "completed";
	case TransitionOutcome::timed_out: return "timed-out";
	case TransitionOutcome::vanished: return "vanished";
	}
	return "unknown";
}

} // namespace lpguard
