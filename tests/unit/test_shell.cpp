// SPDX-License-Identifier: GPL-2.0
// Shell quoting (host/shell.cpp), proven by running the quoted words
// through /bin/sh.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "lpguard/host/shell.hpp"
#include "test_module_keys.hpp"

using namespace lpguard;
using namespace lpguard::test;
using Catch::Matchers::ContainsSubstring;

namespace {

const std::vector<std::string> kHostile = {
	"",
	"plain",
	"with space",
	"it's",
	"\"double\"",
	"$(touch CANARY)",
	"`touch CANARY`",
	"; touch CANARY",
	"a && touch CANARY",
	"| touch CANARY",
	"$HOME ${HOME} $0",
	"back\\slash",
	"new\nline",
	"tab\there",
	"*?[a]~",
	"-rf",
	"'; touch CANARY; echo '",
	"\xc3\xa9t\xc3\xa9",
};

} // namespace

TEST_CASE("shell_quote: /bin/sh expands each quoted word to exactly the input and runs nothing", "[quote][attack]")
{
	auto dir = scratch_dir() / "quote";
	std::filesystem::create_directories(dir);
	for (const auto &s : kHostile) {
		auto r = run_shell("cd " + shell_quote(dir.string()) + " && printf '%s' " + shell_quote(s));
		CHECK(r.rc == 0);
		CHECK(r.out == s);
	}
	CHECK_FALSE(std::filesystem::exists(dir / "CANARY"));
}

TEST_CASE("shell_quote leaves safe words alone and quotes the rest", "[quote]")
{
	CHECK(shell_quote("abc-1.2_/x:y@z%+=,") == "abc-1.2_/x:y@z%+=,");
	CHECK(shell_quote("") == "''");
	CHECK(shell_quote("a b") == "'a b'");
	CHECK(shell_quote("it's") == "'it'\\''s'");
	CHECK(shell_join({"ssh", "host", "rm -rf /"}) == "ssh host 'rm -rf /'");
}
