// SPDX-License-Identifier: GPL-2.0
// Turning a failed module insertion (an errno) into one line a person can
// act on, using lpguard's own log when lpguard made the decision.
#pragma once

#include <optional>
#include <string>

#include "lpguard/guest/lpguard_securityfs.hpp"

namespace lpguard {

struct InsertFailure {
	int err = 0;
	std::string errno_name;			// "EPERM"
	std::string why;			// the reason, one line
	std::string todo;			// what to do
	std::optional<LpguardDecision> lpguard; // lpguard's decision, when it logged one

	std::string line(const std::string &module) const; // "cannot load M: why (todo)"
};

InsertFailure explain_insert_error(int err, const std::string &module,
				   const std::optional<LpguardDecision> &decision);

} // namespace lpguard
