// SPDX-License-Identifier: GPL-2.0
// Each tool's exit-code table: the docs page shows exactly the table the
// tool's --help is generated from, and every kind maps to a code.

#include <catch2/catch_test_macros.hpp>

#include <fstream>
#include <sstream>

#include "cvm-cli/exit_codes.hpp"
#include "lp-load/exit_codes.hpp"

using namespace lpguard;

namespace {

// The table that starts with the "| code | kind | meaning |" header in a docs page.
std::string docs_table(const std::string &page)
{
	std::ifstream in(std::string(LPGUARD_SOURCE_DIR) + "/docs/" + page);
	REQUIRE(in);
	std::string line, table;
	bool inside = false;
	while (std::getline(in, line)) {
		if (line == "| code | kind | meaning |")
			inside = true;
		else if (inside && (line.empty() || line[0] != '|'))
			break;
		if (inside)
			table += line + "\n";
	}
	return table;
}

} // namespace

TEST_CASE("docs/cvm-cli.md shows cvm-cli's exit-code table", "[exit-codes]")
{
	CHECK(docs_table("cvm-cli.md") == exit_codes_markdown(cvmcli::kExitCodes));
}

TEST_CASE("docs/lp-load.md shows lp-load's exit-code table", "[exit-codes]")
{
	CHECK(docs_table("lp-load.md") == exit_codes_markdown(lpload_tool::kExitCodes));
}

TEST_CASE("exit codes keep their values; lp-load maps the library's kinds to its own codes", "[exit-codes]")
{
	CHECK(cvmcli::exit_code(Kind::ok) == 0);
	CHECK(cvmcli::exit_code(Kind::usage) == 2);
	CHECK(cvmcli::exit_code(Kind::input) == 3);
	CHECK(cvmcli::exit_code(Kind::key) == 4);
	CHECK(cvmcli::exit_code(Kind::signature) == 5);
	CHECK(cvmcli::exit_code(Kind::refused) == 6);
	CHECK(cvmcli::exit_code(Kind::remote) == 7);
	CHECK(cvmcli::exit_code(Kind::guest) == 8);
	CHECK(cvmcli::exit_code(Kind::output) == 9);
	CHECK(cvmcli::exit_code(Kind::preflight) == 22);
	CHECK(cvmcli::exit_code(Kind::system) == 23);
	CHECK(cvmcli::exit_code(Kind::locked) == 24);

	CHECK(lpload_tool::exit_code(Kind::ok) == 0);
	CHECK(lpload_tool::exit_code(Kind::system) == 1);
	CHECK(lpload_tool::exit_code(Kind::input) == 1); // not cvm-cli's 3: that is lp-load's pre-check code
	CHECK(lpload_tool::exit_code(Kind::output) == 1);
	CHECK(lpload_tool::exit_code(Kind::key) == 1);
	CHECK(lpload_tool::exit_code(Kind::usage) == 2);
	CHECK(lpload_tool::exit_code(Kind::precheck) == 3);
	CHECK(lpload_tool::exit_code(Kind::refused) == 4);
	CHECK(lpload_tool::exit_code(Kind::reverted) == 5);
	CHECK(lpload_tool::exit_code(Kind::revert_failed) == 6);
	CHECK(lpload_tool::exit_code(Kind::locked) == 7);
	CHECK(lpload_tool::exit_code(Kind::not_found) == 8);
	CHECK(lpload_tool::exit_code(Kind::cleanup) == 9);
	CHECK(lpload_tool::exit_code(Kind::marked_bad) == 13);
	CHECK(cvmcli::exit_code(Kind::marked_bad) == 1); // no row: cvm-cli never runs lp-load boot
}

TEST_CASE("--help lists each code once, from the same table", "[exit-codes]")
{
	auto help = exit_codes_help(lpload_tool::kExitCodes);
	CHECK(help.starts_with("Exit codes:\n  0  done (boot: also skipped"));
	CHECK(help.find("  1  unexpected error") != std::string::npos);
	CHECK(help.find("  1 ", help.find("  1  unexpected error") + 1) == std::string::npos);
	CHECK(help.find('`') == std::string::npos);
}
