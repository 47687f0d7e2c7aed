// SPDX-License-Identifier: GPL-2.0
// cvm-cli's exit codes (docs/cvm-cli.md, `cvm-cli --help`).
#pragma once

#include "lpguard/core/exit_table.hpp"

namespace cvmcli {

extern const lpguard::ExitTable kExitCodes;

inline int exit_code(lpguard::Kind kind) { return lpguard::exit_code_for(kExitCodes, kind); }

} // namespace cvmcli
