// SPDX-License-Identifier: GPL-2.0
// The livepatch state machine behind 'lp-load apply' and 'lp-load disable':
// insert → wait out the transition → remove what it replaced, or on timeout
// name the blocking tasks → revert → remove the module → system as before.
#pragma once

#include <filesystem>
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

DisableReport disable_patches(const LivepatchSysfs &sys, ModuleLoader &loader, const WaitOptions &wait,
			      Clock::duration revert_timeout = std::chrono::seconds(60),
			      Clock::duration removal_timeout = std::chrono::seconds(10));

nlohmann::json to_json(const TaskState &t);
nlohmann::json to_json(const CleanupReport &c);
nlohmann::json to_json(const ApplyReport &r);
nlohmann::json to_json(const DisableReport &r);

// Human-readable form of the blocking tasks under a heading: "pid/tid comm"
// then the stack, indented; "" when there are none.
std::string format_blocking(const std::vector<TaskState> &tasks);

} // namespace lpguard
