// SPDX-License-Identifier: GPL-2.0
// What lp-load reads back from lpguard's securityfs directory
// (/sys/kernel/security/lpguard/): the decision log, the status file and
// the certificates of the .livepatch keyring.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "lpguard/guest/livepatch_sysfs.hpp"

namespace lpguard {

// One line of the decision log, as kmod/policy.c writes it:
//   <sec>.<usec> <what> <allowed|refused> obj="<name>" signer="<signer>"
//   sha256=<hex|-> check_ns=<n> reason="<reason>"
// where <what> is livepatch, module or klp_enable_patch.
//
// Values in double quotes hold untrusted strings (a module name, a signer)
// in lpguard's log encoding (kmod/escape.c): the bytes 0x20..0x7e other
// than '"' (0x22) and '\' (0x5c) stand for themselves, and every other byte
// -- '"', '\', control bytes, bytes >= 0x7f -- is written \xHH with two
// lower-case hex digits. Nothing else is escaped and no other escape
// sequence occurs. The fields below hold the decoded bytes.
struct LpguardDecision {
	std::string time;
	std::string what;
	std::string module;
	std::string sha256;
	std::string signer;
	std::string verdict; // "allowed", "refused", ...
	std::string reason;
	std::string check_ns;
	std::string raw; // the line as read

	bool refused() const { return verdict == "refused"; }
};

// Parses the log: key=value fields, quoted values decoded (\xHH -> the
// byte); bare words are the time, what and verdict. A line is malformed and
// skipped when a quoted value holds a backslash not followed by x and two
// lower-case hex digits, a raw byte outside 0x20..0x7e, or no closing
// quote; so are lines without a module and a verdict. Lines written before
// the encoding (no backslashes) parse the same.
std::vector<LpguardDecision> parse_lpguard_log(const std::string &text);

// The log's current text ("" when lpguard is absent).
std::string read_lpguard_log(const LivepatchSysfs &sys);

// The decision lpguard logged for module (and, when given, that image hash;
// records without a hash match any) after the log read `before`: the latest
// refusal, else the latest decision. The log is a ring, so "after" means
// after the last line of `before` that is still in the log.
std::optional<LpguardDecision> last_lpguard_decision(const LivepatchSysfs &sys, const std::string &module,
						     const std::string &sha256 = {},
						     const std::string &before = {});

struct LpguardStatus {
	bool present = false;					 // securityfs directory exists
	std::vector<std::pair<std::string, std::string>> fields; // "key: value" or "key=value" lines, in order
	std::vector<std::string> other_lines;			 // lines that are neither
	std::vector<LpguardDecision> recent;			 // last decisions from the log
};

LpguardStatus read_lpguard_status(const LivepatchSysfs &sys, std::size_t max_decisions = 5);

// Where the pre-check takes certificates from: lpguard's securityfs bundle
// when present, else the given directory (normally /etc/lp-load/certs).
std::filesystem::path certificate_source(const LivepatchSysfs &sys, const std::filesystem::path &fallback_dir);

} // namespace lpguard
