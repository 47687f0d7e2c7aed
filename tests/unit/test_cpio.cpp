// SPDX-License-Identifier: GPL-2.0
// The cpio newc writer, against its format and against Debian's cpio.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "lpguard/core/error.hpp"
#include "lpguard/host/cpio.hpp"
#include "lpguard/host/shell.hpp"
#include "test_module_keys.hpp"

using namespace lpguard;
using namespace lpguard::test;
using Catch::Matchers::ContainsSubstring;

namespace {

std::vector<uint8_t> bytes(const std::string &s)
{
	return {s.begin(), s.end()};
}

std::string field(const std::vector<uint8_t> &a, std::size_t header, int index)
{
	return std::string(a.begin() + long(header + 6 + 8 * index), a.begin() + long(header + 6 + 8 * index + 8));
}

} // namespace

TEST_CASE("cpio_newc writes newc headers, 4-byte alignment and the trailer", "[cpio]")
{
	auto a = cpio_newc({{"d", 040755, {}}, {"d/f", 0100600, bytes("hello")}});
	REQUIRE(a.size() % 4 == 0);
	CHECK(std::string(a.begin(), a.begin() + 6) == "070701");
	CHECK(field(a, 0, 1) == "000041ED");  // mode
	CHECK(field(a, 0, 4) == "00000002");  // nlink of a directory
	CHECK(field(a, 0, 6) == "00000000");  // size
	CHECK(field(a, 0, 11) == "00000002"); // namesize, NUL included
	// 110 + "d\0" = 112: the second header starts there.
	CHECK(std::string(a.begin() + 112, a.begin() + 118) == "070701");
	CHECK(field(a, 112, 0) == "00000002"); // its own inode
	CHECK(field(a, 112, 6) == "00000005");
	std::string text(a.begin(), a.end());
	CHECK_THAT(text, ContainsSubstring("TRAILER!!!"));
	CHECK(text.find("hello") % 4 == 0);
}

TEST_CASE("Debian's cpio reads what cpio_newc writes", "[cpio]")
{
	std::vector<uint8_t> big(70001);
	for (std::size_t i = 0; i < big.size(); i++)
		big[i] = uint8_t(i * 7);
	auto a = cpio_newc({{"preflight", 040755, {}},
			    {"preflight/env", 0100644, bytes("NONCE=abc\n")},
			    {"preflight/patch.ko", 0100644, big},
			    {"preflight/empty", 0100600, {}}});
	auto dir = scratch_dir() / "cpio-read";
	std::filesystem::remove_all(dir);
	std::filesystem::create_directories(dir / "out");
	write_bytes(dir / "a.cpio", a);
	auto r = run_shell("cd " + shell_quote((dir / "out").string()) + " && cpio -i -d --quiet < ../a.cpio && " +
			   "stat -c '%a %s %n' preflight preflight/env preflight/patch.ko preflight/empty");
	REQUIRE(r.rc == 0);
	CHECK_THAT(r.out, ContainsSubstring("644 10 preflight/env"));
	CHECK_THAT(r.out, ContainsSubstring("644 70001 preflight/patch.ko"));
	CHECK_THAT(r.out, ContainsSubstring("600 0 preflight/empty"));
	CHECK(read_bytes(dir / "out/preflight/patch.ko") == big);
	CHECK(read_bytes(dir / "out/preflight/env") == bytes("NONCE=abc\n"));
}

TEST_CASE("cpio_newc refuses absolute and empty paths and a directory with content", "[cpio]")
{
	for (const auto &e : {CpioEntry{"/abs", 0100644, {}}, CpioEntry{"", 0100644, {}}, CpioEntry{"d", 040755, {1}}}) {
		INFO(e.path);
		CHECK_THROWS_AS(cpio_newc({e}), Error);
	}
}
