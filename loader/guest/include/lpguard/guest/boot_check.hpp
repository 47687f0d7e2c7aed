// SPDX-License-Identifier: GPL-2.0
// Crash-loop protection for the installed patch. 'lp-load boot
// --expect-boot-ok' records a boot attempt (the patch's SHA-256, this boot's
// boot_id, the time, the kernel's taint) durably before it applies the patch;
// 'lp-load boot-ok', run once the boot reached multi-user.target, confirms it
// or, when the kernel reported an oops, BUG or warning since (taint D or W
// set after the apply), marks the patch bad. An attempt of an earlier boot
// that nothing confirmed means that boot never got there: its patch is
// marked bad, and 'lp-load boot' does not apply a marked patch.
#pragma once

#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "lpguard/core/error.hpp"
#include "lpguard/guest/install.hpp"
#include "lpguard/guest/livepatch_sysfs.hpp"

namespace lpguard {

struct BootAttempt {
	std::string sha256;
	std::string name;
	std::string boot_id;			   // /proc/sys/kernel/random/boot_id of the boot that applied it
	std::string started_at;			   // UTC, ISO 8601
	std::optional<unsigned long> taint_before; // /proc/sys/kernel/tainted before the apply
};

std::optional<BootAttempt> read_boot_attempt(const LpLoadPaths &paths);
void record_boot_attempt(const LpLoadPaths &paths, const BootAttempt &a); // durable
void clear_boot_attempt(const LpLoadPaths &paths);			  // durable

// The taint bits that mark a patch bad: D (an oops or BUG) and W (a warning).
inline constexpr unsigned long kTaintDie = 1UL << 7;
inline constexpr unsigned long kTaintWarn = 1UL << 9;

// What the kernel reported between two readings of its taint: "a warning
// (taint W)", "an oops or BUG (taint D) and a warning (taint W)"; "" when
// neither bit is newly set. Taint is sticky for a boot, so a second warning
// after a first one shows no new bit.
std::string new_bad_taint(unsigned long before, unsigned long after);

// The mark's reason for an attempt that no boot-ok confirmed.
std::string unconfirmed_boot_reason(const BootAttempt &a);

// An attempt of an earlier boot (another boot_id), never confirmed: marks its
// patch bad and clears the attempt. nullopt when there is none.
std::optional<PatchMark> judge_earlier_boot(const LpLoadPaths &paths, const LivepatchSysfs &sys);

// After 'lp-load <command>' finished a transition of the patch: marks it bad
// when the kernel's taint gained D or W since taint_before. nullopt otherwise.
std::optional<PatchMark> check_taint_after_apply(const LpLoadPaths &paths, const LivepatchSysfs &sys,
						 const std::string &sha256, const std::string &name,
						 std::optional<unsigned long> taint_before, const std::string &command,
						 const std::string &started_at);

struct BootOkReport {
	std::string result; // "none", "confirmed", "marked-bad"
	Kind kind = Kind::ok;
	std::string message; // one line
	std::optional<BootAttempt> attempt;
	std::optional<PatchMark> mark;
};

// 'lp-load boot-ok': confirms this boot's attempt, or marks its patch bad.
BootOkReport confirm_boot(const LpLoadPaths &paths, const LivepatchSysfs &sys);

// The one-line refusal of 'lp-load boot' for a marked patch (Kind::marked_bad).
Error marked_bad_error(const InstalledPatch &p);

// What 'lp-load boot' does, decided with the lock held: nothing
// (lp_load.enable=0, nothing installed, already active), refuse (a file
// that is not what its record says, an older generation, a patch marked
// bad, also by an earlier boot's unconfirmed attempt found now), or apply.
// With expect_boot_ok it records this boot's attempt when it applies, or
// finds the patch active (applied earlier in this boot, by the initramfs).
struct BootPlan {
	// "skipped", "none", "already-active", "refused", "marked-bad", "apply"
	std::string result;
	Kind kind = Kind::ok;
	std::string message; // one line, for all but "apply"
	std::optional<InstalledPatch> installed;
	bool attempt_recorded = false;
};
BootPlan plan_boot(const LpLoadPaths &paths, const LivepatchSysfs &sys, bool expect_boot_ok);
// After the apply of plan: its attempt is cleared when the patch did not go
// on (refused, reverted) or the apply itself marked it: nothing for boot-ok
// to judge.
void finish_boot(const LpLoadPaths &paths, const BootPlan &plan, Kind apply_kind, bool marked_by_apply);

nlohmann::json to_json(const BootAttempt &a, const std::string &current_boot_id);
nlohmann::json to_json(const BootOkReport &r, const std::string &current_boot_id);

} // namespace lpguard
