// SPDX-License-Identifier: GPL-2.0
// lp-load run as a process: with --json, a failure before any report (the
// lock held by another lp-load) is still one JSON report that cvm-cli reads.
#include <catch2/catch_test_macros.hpp>

#include <filesystem>

#include <nlohmann/json.hpp>

#include "lp-load/exit_codes.hpp"
#include "lpguard/core/error.hpp"
#include "lpguard/guest/lock_file.hpp"
#include "lpguard/host/shell.hpp"
#include "test_module_keys.hpp"

using namespace lpguard;
using namespace lpguard::test;

namespace {

std::string lp_load() { return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "lp-load").string(); }

} // namespace

TEST_CASE("lp-load --json while another lp-load holds the lock: a locked report, exit 7", "[lpload][cli][lock]")
{
	// The lock lp-load takes is /run/lp-load.lock: hold it as the other lp-load would.
	if (::geteuid() != 0 || !std::filesystem::is_directory("/run"))
		SKIP("needs root and /run");
	std::optional<LockFile> held;
	try {
		held.emplace(LockFile::acquire(LockFile::default_path));
	} catch (const Error &e) {
		SKIP("an lp-load runs on this machine: " << e.what());
	}
	const std::string want = "another lp-load is running: pid " + std::to_string(::getpid()) +
		" holds /run/lp-load.lock (wait for it to finish and retry)";
	for (std::string cmd : {"apply /nonexistent/lp.ko", "install /nonexistent/lp.ko", "disable", "boot"}) {
		auto r = run_shell(shell_quote(lp_load()) + " " + cmd + " --json 2>&1");
		INFO(cmd << ": " << r.out);
		CHECK(r.rc == lpload_tool::exit_code(Kind::locked));
		CHECK(r.rc == 7);
		auto j = nlohmann::json::parse(r.out);
		CHECK(j == nlohmann::json{{"command", cmd.substr(0, cmd.find(' '))}, {"result", "locked"}, {"exit_code", 7}, {"message", want}});
	}
	// Without --json: the one line on stderr.
	auto r = run_shell(shell_quote(lp_load()) + " apply /nonexistent/lp.ko 2>&1 >/dev/null");
	CHECK(r.rc == 7);
	CHECK(r.out == "lp-load: " + want + "\n");
}
