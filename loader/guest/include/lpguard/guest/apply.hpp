// SPDX-License-Identifier: GPL-2.0
// The livepatch state machine behind 'lp-load apply' and 'lp-load disable':
// insert → wait out the transition → remove what it replaced, or on timeout
// name the blocking tasks → revert → remove the module → system as before.
#pragma once

#include <filesystem>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lpguard/guest/kmod_loader.hpp"
#include "lpguard/guest/livepatch_sysfs.hpp"
#include "lpguard/guest/livepatch_transition.hpp"
#include "lpguard/guest/insert_errors.hpp"

namespace lpguard {

struct RemovalFailure {
	std::string module;
	std::string errno_name; // "" when not attempted (still in use)
	std::string reason;
};

struct CleanupReport {
	std::vector<std::string> removed;
	std::vector<RemovalFailure> failed;
	bool ok() const { return failed.empty(); }
};

struct ApplyRequest {
	std::filesystem::path ko;
	std::string name;   // module (= patch) name from the image
	std::string sha256; // of the image, to match lpguard's log ("" to skip)
	WaitOptions wait;   // transition timeout, back-off, progress
	Clock::duration revert_timeout = std::chrono::seconds(60);
	Clock::duration removal_timeout = std::chrono::seconds(10); // replaced patch freed, refcnt 0, rmmod
	// Called right before the module is inserted (lp-load records the
	// transition it is about to wait for: recovery.hpp).
	std::function<void()> before_insert;
};

struct ApplyReport {
	std::string patch;
	std::string path;
	std::string sha256;
	// "applied", "refused", "reverted", "revert-failed", "cleanup-failed", "failed"
	std::string result;
	Kind kind = Kind::ok;
	std::string message;		       // one line: what happened / what failed, why, what to do
	std::optional<InsertFailure> refusal;  // when the kernel refused the module
	std::optional<double> transition_ms;   // the (forward) transition, when it completed
	std::optional<double> revert_ms;       // the reverse transition, after a timeout
	std::vector<std::string> replaced;     // patches that were active before and are gone now
	CleanupReport cleanup;		       // modules removed after success (replaced + leftovers)
	std::vector<TaskState> blocking;       // tasks that kept the transition from finishing
	std::vector<std::string> active_after; // enabled patches at the end
};

ApplyReport apply_patch(const LivepatchSysfs &sys, ModuleLoader &loader, const ApplyRequest &req);

// Removes loaded livepatch modules that are no longer registered in
// /sys/kernel/livepatch, waiting up to timeout for each to drop to refcnt 0
// (the kernel releases a replaced patch's module asynchronously).
CleanupReport remove_leftovers(const LivepatchSysfs &sys, ModuleLoader &loader, Clock::duration timeout,
			       const Backoff &backoff = {});

struct DisableReport {
	std::vector<std::string> disabled; // patches turned off and removed
	std::string result;		   // "disabled", "none", "refused", "reverted", "revert-failed", "cleanup-failed", "failed"
	Kind kind = Kind::ok;
	std::string message;
	std::optional<double> transition_ms;
	std::vector<TaskState> blocking;
	CleanupReport cleanup;
};

// before_disable(name) is called right before each patch's enabled is written.
DisableReport disable_patches(const LivepatchSysfs &sys, ModuleLoader &loader, const WaitOptions &wait,
			      Clock::duration revert_timeout = std::chrono::seconds(60),
			      Clock::duration removal_timeout = std::chrono::seconds(10),
			      const std::function<void(const std::string &)> &before_disable = {});

// Reverting a forward transition that did not finish: write 0 to enabled,
// wait for the reverse transition (back.timeout), wait until the patch is
// unregistered and remove its module. apply does this at its timeout, and
// so does the recovery of a transition left by a killed lp-load.
struct RevertResult {
	// "reverted"; "completed": the transition ended before the write
	// (the patch is active); "write-failed", "still-running" (the reverse
	// transition did not finish in time), "not-removed" (reverted, but the
	// module is still loaded or the patch still registered)
	std::string result;
	std::string detail; // for the failures: the error, the elapsed ms, or what could not be removed
	std::optional<double> revert_ms;
};
RevertResult revert_transition(const LivepatchSysfs &sys, ModuleLoader &loader, const std::string &name,
			       const WaitOptions &back, Clock::duration removal_timeout);
// For a failed revert ("write-failed", "still-running", "not-removed"): the
// end of the one-line message after "<what> timed out (<blockers>)", saying
// what went wrong and what to do; empty for "reverted" and "completed".
std::string revert_failure_text(const RevertResult &rv);

// After a forward transition of name completed: waits for the patches it
// replaced to go (atomic replace frees them asynchronously), lists those of
// before that are gone, and removes leftover modules.
struct CompletedReport {
	std::vector<std::string> replaced;
	CleanupReport cleanup;
};
CompletedReport finish_completed(const LivepatchSysfs &sys, ModuleLoader &loader, const std::string &name,
				 const std::vector<std::string> &before, Clock::duration removal_timeout,
				 const Backoff &backoff = {});

// The patches whose enabled reads 1.
std::vector<std::string> enabled_patches(const LivepatchSysfs &sys);

nlohmann::json to_json(const TaskState &t);
nlohmann::json to_json(const CleanupReport &c);
nlohmann::json to_json(const ApplyReport &r);
nlohmann::json to_json(const DisableReport &r);

// Human-readable form of the blocking tasks under a heading: "pid/tid comm"
// then the stack, indented; "" when there are none.
std::string format_blocking(const std::vector<TaskState> &tasks);

} // namespace lpguard
