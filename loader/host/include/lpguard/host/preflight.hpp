// SPDX-License-Identifier: GPL-2.0
// cvm-cli preflight: a signed patch tried on the patch kit's kernel under
// QEMU before any production VM sees it (docs/cvm-cli.md). The guest is the
// kit's preflight initramfs (scripts/mkinitramfs.sh --preflight) with a small
// cpio appended at run time (the patch, the smoke command, a nonce); its
// /init applies the patch with lp-load, runs the smoke command and writes
// what it found, between markers, on its second serial port. The host reads
// that report and the kernel log in it and names the first problem.
#pragma once

#include <filesystem>
#include <map>
#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "lpguard/core/error.hpp"
#include "lpguard/core/json.hpp"
#include "lpguard/core/module_image.hpp"
#include "lpguard/host/patch_kit.hpp"

namespace lpguard {

// ---- the guest's report ---------------------------------------------------

// One marked section: LPGUARD-PREFLIGHT <nonce> BEGIN <name>, its lines,
// LPGUARD-PREFLIGHT <nonce> END <name> <rc>.
struct ReportSection {
	std::string text;
	std::optional<int> rc; // nullopt: no END marker (the guest stopped inside it)
};

struct GuestReport {
	bool started = false;		// a first marker was seen
	bool done = false;		// LPGUARD-PREFLIGHT <nonce> DONE
	std::vector<std::string> order; // section names, in the order they began
	std::map<std::string, ReportSection> sections;
	const ReportSection *find(const std::string &name) const;
	std::string last_section() const; // "" before the first
};

// Parses the report channel's text (carriage returns dropped). Lines of
// other nonces and outside sections are ignored.
GuestReport parse_guest_report(const std::string &text, const std::string &nonce);

// ---- the kernel log -------------------------------------------------------

struct LogFinding {
	std::string kind;	   // "warn", "lockdep", "bug", "oops", "panic", "hung-task", "rcu-stall"
	std::string line;	   // the message, without the timestamp
	bool before_patch = false; // logged before the line apply_mark (at boot)
};

// The kernel's reports of trouble in a log (dmesg or a serial console):
// WARN (WARNING:), lockdep's reports (WARNING: possible recursive locking
// detected, ... circular locking ..., inconsistent lock state, suspicious
// RCU usage, ...), BUG:, kernel BUG at, Oops, general protection fault,
// Kernel panic, hung tasks and RCU stalls; one per report, in log order.
// Lines before the first one containing apply_mark are marked before_patch
// (every line when apply_mark is empty or never logged: nothing was applied).
std::vector<LogFinding> scan_kernel_log(const std::string &log, const std::string &apply_mark);

// /proc/sys/kernel/tainted decoded: one letter per set bit, in bit order, as
// the kernel prints them ("OK", "WOK"); an unknown bit is "?<bit>".
std::string taint_letters(unsigned long value);
// The taint flags other than K (livepatch) and O (out-of-tree module), the
// two every livepatch sets: "" when there are none.
std::string unexpected_taint(unsigned long value);

// A function the kernel lists as patched: /sys/kernel/livepatch/<patch>/<object>/<function,sympos>.
struct PatchedFunction {
	std::string patch, object, function;
	unsigned long sympos = 0;
};

// ---- the verdict ----------------------------------------------------------

struct PreflightVerdict {
	Kind kind = Kind::ok;	     // ok, preflight (the patch failed) or system (the trial did not run to its end)
	std::string what, why, todo; // the first problem, as an Error's parts; empty when ok
	Json report;		     // the report's guest part (docs/cvm-cli.md, preflight --json)
	std::string message() const;
};

// Judges a finished trial: the report, the serial console (for what the
// guest could not report, a panic), the patch's name, the nonce and where
// the logs are kept (named in what to do).
PreflightVerdict judge_preflight(const GuestReport &report, const std::string &console, const std::string &patch_name,
				 const std::string &nonce, const std::string &log_hint);

// ---- the trial ------------------------------------------------------------

struct PreflightOptions {
	std::filesystem::path patch;   // the signed patch
	std::string smoke;	       // shell command run in the guest after the patch is applied; "" for none
	double transition_timeout = 0; // lp-load apply --timeout; 0: lp-load's default
	double vm_timeout = 900;       // the whole trial, boot included
	std::string accel = "auto";    // auto (KVM when a guest boots with it, else TCG), kvm, tcg
	std::string qemu = "qemu-system-x86_64";
};

struct PreflightResult {
	Kind kind = Kind::ok;
	std::string message; // one line
	Json report;	     // the whole --json report
};

// Boots the kit's kernel under QEMU with the patch and judges the trial.
// Throws Error for what keeps it from starting: a kit without a bzImage or
// preflight initramfs (Kind::input), QEMU missing (Kind::system). Progress
// lines (with the elapsed time) go to progress; redrawn in place when tty.
PreflightResult run_preflight(const PreflightOptions &options, const PatchKit &kit, const ModuleImage &patch,
			      std::ostream &progress, bool tty);

} // namespace lpguard
