// SPDX-License-Identifier: GPL-2.0
// Running local programs (ssh, scp, gcloud, az, aws) as argv vectors,
// without a shell.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace lpguard {

using Argv = std::vector<std::string>;

// Runs argv (PATH lookup, no shell). stdout is captured into *out when out is
// non-null, else inherited (or /dev/null with stdout_null: for processes
// that stay in the background); stdin comes from /dev/null. Returns the exit
// status (128+signal when killed, 127 when the program cannot be run).
int run_command(const Argv &argv, std::string *out = nullptr, bool stdout_null = false);

// The absolute path of a program on PATH, or nullopt.
std::optional<std::filesystem::path> find_program(const std::string &name);

} // namespace lpguard
