// SPDX-License-Identifier: GPL-2.0
// A tool's exit codes: one table of {kind, code, meaning} rows maps the
// kinds of lpguard::Error (and of the guest's reports) to the tool's codes,
// and generates the exit-code section of its --help and the table in its
// docs page (a unit test compares the two).
#pragma once

#include <span>
#include <string>

#include "lpguard/core/error.hpp"

namespace lpguard {

struct ExitCode {
	Kind kind;
	int code;
	// What the code means, for --help and the docs; "" on a row that only
	// maps one more kind to the code of the row above it.
	const char *meaning;
};

using ExitTable = std::span<const ExitCode>;

// The code of kind's row; a kind without a row gets the code of
// Kind::internal's row (an unexpected failure).
int exit_code_for(ExitTable table, Kind kind);

// "Exit codes:\n  0  success\n  1  ...\n" (backquotes dropped).
std::string exit_codes_help(ExitTable table);

// "| code | kind | meaning |" and one row per code, as in docs/<tool>.md.
std::string exit_codes_markdown(ExitTable table);

} // namespace lpguard
