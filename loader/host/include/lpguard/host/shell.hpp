// SPDX-License-Identifier: GPL-2.0
// POSIX sh quoting, for the one command string that reaches the guest's shell.
#pragma once

#include <string>
#include <string_view>

#include "lpguard/host/process.hpp"

namespace lpguard {

// POSIX sh quoting: the result is one word that expands to s exactly.
std::string shell_quote(std::string_view s);
// argv as one copy-pasteable shell line.
std::string shell_join(const Argv &argv);

} // namespace lpguard
