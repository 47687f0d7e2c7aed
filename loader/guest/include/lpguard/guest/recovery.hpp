// SPDX-License-Identifier: GPL-2.0
// A transition left behind by an lp-load that was killed while it waited.
//
// Before it inserts a patch (apply, boot) or writes 0 to enabled (disable),
// lp-load records what it is about to wait for in /run/lp-load/transition.json
// (the patch, its pid, when, its timeouts, the taint), and removes the record
// when it is done. The record outlives only a killed lp-load: the next
// lp-load, holding the lock (so the recorded pid is no longer running one),
// finds it and finishes the job as the killed one would have: waits out the
// rest of the timeout, reverts a forward transition that does not finish
// (as apply does), removes the modules left over, and reports what it found.
// /run is a tmpfs: a reboot ends every transition and the record with it.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lpguard/core/error.hpp"
#include "lpguard/guest/apply.hpp"
#include "lpguard/guest/install.hpp"

namespace lpguard {

struct InflightRecord {
	std::string command; // "apply", "boot", "install" (--now) or "disable"
	std::string patch;
	std::string sha256; // apply, boot: the image's
	int pid = 0;
	std::string started_at;	      // UTC, ISO 8601
	double started_monotonic = 0; // CLOCK_MONOTONIC, seconds (the same clock for every process of a boot)
	double timeout_s = 60;	      // the forward transition's (disable: the unpatch transition's)
	double revert_timeout_s = 60; // the reverse transition's
	std::optional<unsigned long> taint_before;
	std::vector<std::string> before; // the patches enabled before (apply: to name the replaced ones)

	bool disables() const { return command == "disable"; }
};

// A record for this process, started now.
InflightRecord new_inflight(const std::string &command, const std::string &patch, const std::string &sha256,
			    double timeout_s, double revert_timeout_s, std::optional<unsigned long> taint_before,
			    std::vector<std::string> before);
void write_inflight(const LpLoadPaths &paths, const InflightRecord &r);
void clear_inflight(const LpLoadPaths &paths);
std::optional<InflightRecord> read_inflight(const LpLoadPaths &paths);

struct RecoveryReport {
	InflightRecord found;
	// "not-started" (the patch never registered), "completed" (the patch is
	// active), "reverted" (an apply's patch reverted and removed),
	// "disabled" (a disable finished), "re-enabled" (a disable reversed at
	// its timeout: the patch stays active), "revert-failed" (the reverse
	// transition did not finish: the kernel keeps trying), "cleanup-failed"
	std::string outcome;
	Kind kind = Kind::ok;
	std::string message; // one line: "found <patch>'s transition left by lp-load pid N (killed?): ..."
	CleanupReport cleanup;
	std::vector<TaskState> blocking;
	std::vector<std::string> active_after;
	std::optional<PatchMark> mark; // a D or W taint since the apply (boot_check.hpp)
};

struct RecoveryOptions {
	Backoff backoff;
	Clock::duration removal_timeout = std::chrono::seconds(10);
	// Progress while waiting (the rest of the timeout may be most of it).
	std::function<void(const TransitionProgress &)> progress;
};

// With the lock held: finishes or reverts the transition a killed lp-load
// left, and clears its record. nullopt when there is no record.
std::optional<RecoveryReport> recover_transition(const LivepatchSysfs &sys, ModuleLoader &loader,
						 const LpLoadPaths &paths, const RecoveryOptions &opts = {});

nlohmann::json to_json(const InflightRecord &r);
nlohmann::json to_json(const RecoveryReport &r);

} // namespace lpguard
