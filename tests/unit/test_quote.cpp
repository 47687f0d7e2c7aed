// SPDX-License-Identifier: GPL-2.0
// Shell quoting, proven by running the quoted words through /bin/sh, and the
// remote shell snippets run locally against hostile names.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "lpguard/deploy.hpp"
#include "lpguard/remote.hpp"
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

TEST_CASE("remote snippets keep hostile directory names inert", "[quote][attack]")
{
	// The guest side, run locally: install (checksum + rename) and apply
	// with a stand-in lp-load that records its arguments.
	auto base = scratch_dir() / "remote";
	std::filesystem::create_directories(base / "bin");
	auto fake = base / "bin" / "lp-load";
	write_bytes(fake, [] {
		std::string s = "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done\necho\nexit 3\n";
		return std::vector<uint8_t>(s.begin(), s.end());
	}());
	std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
	for (std::string name : {"d $(touch CANARY)", "d'; touch CANARY; '", "d`touch CANARY`", "d\"x\" ; touch CANARY"}) {
		auto dir = base / name;
		std::filesystem::create_directories(dir);
		std::vector<uint8_t> content{'k', 'o'};
		write_bytes(dir / "p.ko.part", content);
		// sha256("ko")
		auto sha = run_shell("printf ko | sha256sum | cut -d' ' -f1").out.substr(0, 64);
		auto install = remote_install_command(dir.string(), "p.ko.part", "p.ko", sha);
		auto r = run_shell("cd " + shell_quote(base.string()) + " && sh -c " + shell_quote(install) + " 2>&1");
		INFO(install << "\n" << r.out);
		CHECK(r.rc == 0);
		CHECK(std::filesystem::exists(dir / "p.ko"));
		CHECK_FALSE(std::filesystem::exists(dir / "p.ko.part"));

		auto apply = remote_apply_command(dir.string(), "p.ko", 2.5);
		r = run_shell("cd " + shell_quote(base.string()) + " && PATH=" + shell_quote((base / "bin").string()) +
			      ":$PATH sh -c " + shell_quote(apply));
		INFO(apply << "\n" << r.out);
		CHECK(r.rc == 3); // lp-load's exit status comes back
		CHECK(r.out == "[apply][" + (dir / "p.ko").string() + "][--json][--timeout][2.5]\n");
		CHECK_FALSE(std::filesystem::exists(dir)); // cleaned up after lp-load
	}
	CHECK_FALSE(std::filesystem::exists(base / "CANARY"));
}

TEST_CASE("the install snippet refuses a corrupted upload and removes it", "[quote]")
{
	auto dir = scratch_dir() / "corrupt";
	std::filesystem::create_directories(dir);
	write_bytes(dir / "p.ko.part", {'x'});
	auto cmd = remote_install_command(dir.string(), "p.ko.part", "p.ko", std::string(64, '0'));
	auto r = run_shell("sh -c " + shell_quote(cmd) + " 2>&1");
	CHECK(r.rc == kRemoteChecksumMismatch);
	CHECK_THAT(r.out, ContainsSubstring("SHA-256 differs"));
	CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("remote_as_root runs directly as root and through sudo -n otherwise", "[quote]")
{
	// A guest shell where `id -u` is not 0 and sudo is a double: it logs
	// its arguments and allows without a password only when told to.
	auto dir = scratch_dir() / "sudo-guest";
	std::filesystem::remove_all(dir);
	std::filesystem::create_directories(dir);
	auto put = [&](const std::string &name, const std::string &body) {
		write_bytes(dir / name, std::vector<uint8_t>(body.begin(), body.end()));
		std::filesystem::permissions(dir / name, std::filesystem::perms::owner_all);
	};
	put("id", "#!/bin/sh\necho 1000\n");
	put("sudo", "#!/bin/sh\necho \"sudo $*\" >> \"$(dirname \"$0\")/log\"\n"
		    "[ -e \"$(dirname \"$0\")/nopasswd\" ] || { echo 'sudo: a password is required' >&2; exit 1; }\n"
		    "[ \"$2\" = -l ] && exit 0\nshift\nexec \"$@\"\n");
	auto cmd = remote_as_root("echo ran as root");
	auto in_guest = "PATH=" + shell_quote(dir.string()) + ":$PATH sh -c " + shell_quote(cmd) + " 2>&1";

	SECTION("sudo without a password runs the command")
	{
		put("nopasswd", "");
		auto r = run_shell(in_guest);
		CHECK(r.rc == 0);
		CHECK(r.out == "ran as root\n");
		auto log = read_bytes(dir / "log");
		CHECK(std::string(log.begin(), log.end()) == "sudo -n -l echo ran as root\nsudo -n echo ran as root\n");
	}
	SECTION("sudo asking for a password: a distinct exit status, the command never runs")
	{
		auto r = run_shell(in_guest);
		CHECK(r.rc == kRemoteSudoPassword);
		CHECK(r.out == "cvm-cli: sudo on the guest needs a password for lp-load\n");
	}
	SECTION("as root: no sudo at all")
	{
		put("id", "#!/bin/sh\necho 0\n");
		put("nopasswd", "");
		auto r = run_shell(in_guest);
		CHECK(r.rc == 0);
		CHECK(r.out == "ran as root\n");
		CHECK_FALSE(std::filesystem::exists(dir / "log"));
	}
	CHECK(remote_prepare_command("/tmp/x y") == "umask 077 && mkdir -m 700 -- '/tmp/x y'");
	CHECK(remote_cleanup_command("/tmp/a'b") == "rm -rf -- '/tmp/a'\\''b'");
	CHECK(vermagic_release("6.12.117 SMP preempt mod_unload ") == "6.12.117");
	CHECK(vermagic_release("6.15.2") == "6.15.2");
}
