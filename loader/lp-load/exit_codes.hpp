// SPDX-License-Identifier: GPL-2.0
// lp-load's exit codes (docs/lp-load.md, `lp-load --help`).
#pragma once

#include "lpguard/core/exit_table.hpp"
#include "lpguard/core/json.hpp"

namespace lpload_tool {

extern const lpguard::ExitTable kExitCodes;

inline int exit_code(lpguard::Kind kind) { return lpguard::exit_code_for(kExitCodes, kind); }

// A --json report: j with "exit_code", lp-load's code for kind.
inline lpguard::Json report_json(lpguard::Json j, lpguard::Kind kind)
{
	j["exit_code"] = exit_code(kind);
	return j;
}

} // namespace lpload_tool
