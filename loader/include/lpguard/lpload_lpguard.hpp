// SPDX-License-Identifier: GPL-2.0
// What lp-load reads back from lpguard's securityfs directory
// (/sys/kernel/security/lpguard/): the decision log, the status file and
// the certificates of the .livepatch keyring.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lpguard/livepatch_sysfs.hpp"

namespace lpguard {

// One line of the decision log.
struct LpguardDecision {
	std::string time;
	std::string module;
	std::string sha256;
	std::string signer;
	std::string verdict; // "allowed", "refused", ...
	std::string reason;
	std::string raw;     // the line as read

	bool refused() const { return verdict != "allowed" && verdict != "allow" && verdict != "ok"; }
};

// Parses key=value lines (values may be double-quoted, with backslash escapes).
// Lines without a module and a verdict are skipped.
std::vector<LpguardDecision> parse_lpguard_log(const std::string &text);

// The most recent decision for module (and, when given, that image hash).
std::optional<LpguardDecision> last_lpguard_decision(const LivepatchSysfs &sys, const std::string &module,
						     const std::string &sha256 = {});

struct LpguardStatus {
	bool present = false;  // securityfs directory exists
	std::vector<std::pair<std::string, std::string>> fields; // "key: value" or "key=value" lines, in order
	std::vector<std::string> other_lines;                    // lines that are neither
	std::vector<LpguardDecision> recent;                     // last decisions from the log
};

LpguardStatus read_lpguard_status(const LivepatchSysfs &sys, std::size_t max_decisions = 5);

// Where the pre-check takes certificates from: lpguard's securityfs bundle
// when present, else the given directory (normally /etc/lp-load/certs).
std::filesystem::path certificate_source(const LivepatchSysfs &sys, const std::filesystem::path &fallback_dir);

} // namespace lpguard
