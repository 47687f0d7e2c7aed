// SPDX-License-Identifier: GPL-2.0
// cvm-cli preflight's judgement: the guest's report, the kernel log, taint.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "lpguard/host/preflight.hpp"

using namespace lpguard;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;

namespace {

const std::string kNonce = "0123abcd";
const std::string kApplyMark = "lpguard-preflight: 0123abcd applying the patch";

std::string mark(const std::string &rest)
{
	return "LPGUARD-PREFLIGHT " + kNonce + " " + rest + "\r\n";
}

std::string section(const std::string &name, const std::string &text, int rc = 0)
{
	return mark("BEGIN " + name) + text + mark("END " + name + " " + std::to_string(rc));
}

const std::string kApplied = R"({"command": "apply", "result": "applied", "exit_code": 0, "message": "lpg_replace_a applied",
 "transition_ms": 12.5, "replaced": [], "active": ["lpg_replace_a"]})";

const std::string kLivepatch = "patch lpg_replace_a enabled=1 transition=0\n"
			       "object lpg_replace_a vmlinux patched=1\n"
			       "func lpg_replace_a vmlinux cmdline_proc_show,1\n";

const std::string kBootLog = "[    0.000000] Linux version 6.12.117\n"
			     "[    1.200000] Run /init as init process\n"
			     "[    2.000000] " +
	kApplyMark + "\n"
		     "[    2.100000] lpg_replace_a: tainting kernel with TAINT_LIVEPATCH\n";

// A whole report; each part can be replaced.
struct Report {
	std::string taint_boot = "0\n", apply = kApplied, apply_rc = "0", smoke = "lpguard test: replace A\n",
		    taint = "36864\n", livepatch = kLivepatch, dmesg = kBootLog;
	int smoke_rc = 0;
	bool done = true;
	std::string text() const
	{
		std::string t = "console noise before init\n" + section("release", "6.12.117\n") +
			section("taint-boot", taint_boot) + mark("BEGIN apply") + apply + "\n" +
			mark("END apply " + apply_rc) + section("apply-stderr", "") +
			section("smoke", smoke, smoke_rc) + section("taint", taint) +
			section("livepatch", livepatch) + section("dmesg", dmesg);
		return done ? t + mark("DONE") : t;
	}
};

PreflightVerdict judge(const Report &r, const std::string &console = "")
{
	return judge_preflight(parse_guest_report(r.text(), kNonce), console, "lpg_replace_a", kNonce, "/tmp/x/console.log");
}

} // namespace

TEST_CASE("the guest's report is split into its marked sections", "[preflight]")
{
	Report r;
	auto g = parse_guest_report(r.text() + mark("BEGIN other") + "x\n", "ffff" /* another run's nonce */);
	CHECK_FALSE(g.started);
	g = parse_guest_report(r.text(), kNonce);
	CHECK(g.started);
	CHECK(g.done);
	REQUIRE(g.find("smoke"));
	CHECK(g.find("smoke")->text == "lpguard test: replace A\n");
	CHECK(g.find("smoke")->rc == 0);
	CHECK(g.find("release")->text == "6.12.117\n"); // carriage returns dropped
	CHECK(g.order.front() == "release");
	CHECK(g.last_section() == "dmesg");
	// Output without a final newline before the END marker stays in its section.
	g = parse_guest_report(mark("BEGIN smoke") + "no newline" + mark("END smoke 3"), kNonce);
	CHECK(g.find("smoke")->text == "no newline\n");
	CHECK(g.find("smoke")->rc == 3);
	// A section cut short has no rc.
	g = parse_guest_report(mark("BEGIN smoke") + "x\n", kNonce);
	CHECK_FALSE(g.find("smoke")->rc);
	CHECK_FALSE(g.done);
}

TEST_CASE("the kernel log's WARN, BUG, oops, lockdep and panic lines are found", "[preflight]")
{
	std::string log = "[    1.000000] WARNING: CPU: 0 PID: 1 at init/main.c:1 boot_warn+0x1/0x2\n" + kApplyMark + "\n"
														      "[    3.000000] WARNING: CPU: 1 PID: 57 at lpg_warn.c:31 lpg_cmdline_proc_show+0x10/0x40 [lpg_warn]\n"
														      "<4>[    3.100000] WARNING: possible recursive locking detected\n"
														      "[    3.200000] WARNING: possible circular locking dependency detected\n"
														      "[    3.300000] WARNING: inconsistent lock state\n"
														      "[    3.400000] BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
														      "[    3.500000] Oops: 0002 [#1] PREEMPT SMP NOPTI\n"
														      "[    3.600000] kernel BUG at fs/proc/cmdline.c:12!\n"
														      "[    3.700000] watchdog: BUG: soft lockup - CPU#0 stuck for 22s! [cat:57]\n"
														      "[    3.800000] Kernel panic - not syncing: Fatal exception\n"
														      "[    3.900000] INFO: task cat:57 blocked for more than 120 seconds.\n"
														      "[    4.000000] a line that mentions WARNING: in the middle is not a report\n";
	auto f = scan_kernel_log(log, kApplyMark);
	REQUIRE(f.size() == 11);
	CHECK(f[0].kind == "warn");
	CHECK(f[0].before_patch);
	CHECK(f[1].kind == "warn");
	CHECK_FALSE(f[1].before_patch);
	CHECK(f[1].line == "WARNING: CPU: 1 PID: 57 at lpg_warn.c:31 lpg_cmdline_proc_show+0x10/0x40 [lpg_warn]");
	CHECK(f[2].kind == "lockdep");
	CHECK(f[2].line == "WARNING: possible recursive locking detected");
	CHECK(f[3].kind == "lockdep");
	CHECK(f[4].kind == "lockdep");
	CHECK(f[5].kind == "bug");
	CHECK(f[6].kind == "oops");
	CHECK(f[7].kind == "bug");
	CHECK(f[8].kind == "bug");
	CHECK(f[9].kind == "panic");
	CHECK(f[10].kind == "hung-task");
	// Without the mark nothing was applied: every finding is from before.
	CHECK(scan_kernel_log("WARNING: CPU: 0 PID: 1 at x\n", kApplyMark).at(0).before_patch);
	CHECK(scan_kernel_log(kBootLog, kApplyMark).empty());
}

TEST_CASE("taint is decoded, and flags beyond K and O are singled out", "[preflight]")
{
	CHECK(taint_letters(0).empty());
	CHECK(taint_letters((1UL << 12) | (1UL << 15)) == "OK");
	CHECK(unexpected_taint((1UL << 12) | (1UL << 15)).empty());
	CHECK(taint_letters((1UL << 9) | (1UL << 12) | (1UL << 15)) == "WOK");
	CHECK(unexpected_taint((1UL << 9) | (1UL << 12) | (1UL << 15)) == "W");
	CHECK(unexpected_taint(1UL << 18) == "N");
	CHECK(unexpected_taint(1UL << 7) == "D");
	CHECK(taint_letters(1UL << 30) == "?30");
}

TEST_CASE("a clean trial passes, with the transition and the patched functions", "[preflight]")
{
	auto v = judge(Report{});
	INFO(v.message());
	CHECK(v.kind == Kind::ok);
	CHECK_THAT(v.message(), StartsWith("preflight of lpg_replace_a passed: transition 13 ms, patched cmdline_proc_show"));
	CHECK_THAT(v.message(), ContainsSubstring("taint OK"));
	CHECK(v.report["transition"]["completed"] == true);
	CHECK(v.report["transition"]["ms"] == 12.5);
	REQUIRE(v.report["patched"].size() == 1);
	CHECK(v.report["patched"][0]["function"] == "cmdline_proc_show");
	CHECK(v.report["patched"][0]["object"] == "vmlinux");
	CHECK(v.report["patched"][0]["sympos"] == 1);
	CHECK(v.report["taint"]["flags"] == "OK");
	CHECK(v.report["guest_release"] == "6.12.117");
	CHECK(v.report["smoke"]["exit"] == 0);
	CHECK(v.report["findings"].empty());
}

TEST_CASE("the first problem of a trial fails it, in one actionable line", "[preflight]")
{
	Report warn;
	warn.dmesg += "[    3.0] WARNING: CPU: 1 PID: 57 at lpg_warn.c:31 lpg_cmdline_proc_show+0x10/0x40 [lpg_warn]\n";
	warn.taint = "37376\n"; // W, O, K
	auto v = judge(warn);
	CHECK(v.kind == Kind::preflight);
	CHECK(v.message() == "preflight of lpg_replace_a failed: the kernel WARNed while the patch was applied or the "
			     "smoke command ran: \"WARNING: CPU: 1 PID: 57 at lpg_warn.c:31 "
			     "lpg_cmdline_proc_show+0x10/0x40 [lpg_warn]\" (fix the patch and try it again with cvm-cli "
			     "preflight before it reaches a VM; the trial's serial console is /tmp/x/console.log)");
	CHECK(v.message().find('\n') == std::string::npos);
	CHECK(v.report["findings"][0]["kind"] == "warn");

	Report lockdep;
	lockdep.dmesg += "[    3.0] WARNING: possible circular locking dependency detected\n";
	CHECK_THAT(judge(lockdep).message(), ContainsSubstring("lockdep reported a locking problem while the patch"));

	Report boot_warn;
	boot_warn.dmesg = "[ 0.5] WARNING: CPU: 0 PID: 1 at x.c:1 f+0x0/0x1\n" + kBootLog;
	CHECK_THAT(judge(boot_warn).message(), ContainsSubstring("at boot, before the patch was applied"));
	CHECK_THAT(judge(boot_warn).message(), ContainsSubstring("the kit's kernel itself is at fault"));

	Report taint;
	taint.taint = std::to_string((1UL << 12) | (1UL << 15) | (1UL << 14)) + "\n";
	CHECK_THAT(judge(taint).message(), ContainsSubstring("tainted after the trial with L (a soft lockup) beyond K and O"));
	Report kunit;
	kunit.taint_boot = std::to_string(1UL << 18) + "\n";
	CHECK_THAT(judge(kunit).message(), ContainsSubstring("at boot, before the patch was applied with N (a test module"));

	Report refused;
	refused.apply = R"({"command": "apply", "result": "precheck-failed", "exit_code": 3,
		"message": "lpg_replace_a: signature: not signed by a livepatch key", "transition_ms": null})";
	refused.apply_rc = "3";
	refused.livepatch = "";
	auto r = judge(refused);
	CHECK(r.kind == Kind::preflight);
	CHECK_THAT(r.message(), ContainsSubstring("lp-load apply in the trial VM: lpg_replace_a: signature: not signed"));

	Report stuck;
	stuck.apply = R"({"command": "apply", "result": "reverted", "exit_code": 5, "message": "timed out", "transition_ms": null})";
	CHECK_THAT(judge(stuck).message(), ContainsSubstring("lp-load apply in the trial VM: timed out"));

	Report garbage;
	garbage.apply = "not json";
	CHECK_THAT(judge(garbage).message(), ContainsSubstring("printed no JSON report"));

	Report smoke;
	smoke.smoke_rc = 2;
	CHECK_THAT(judge(smoke).message(), ContainsSubstring("the smoke command exited 2 with the patch applied"));

	Report nofunc;
	nofunc.livepatch = "patch other enabled=1 transition=0\nfunc other vmlinux f,1\n";
	CHECK_THAT(judge(nofunc).message(), ContainsSubstring("/sys/kernel/livepatch/lpg_replace_a lists no patched function"));
}

TEST_CASE("missing markers: the trial did not run or did not finish", "[preflight]")
{
	auto none = judge_preflight(parse_guest_report("", kNonce), "Linux version 6.12\n", "lpg_replace_a", kNonce, "c.log");
	CHECK(none.kind == Kind::system);
	CHECK_THAT(none.message(), StartsWith("preflight of lpg_replace_a did not run: the guest never reached its /init"));

	Report cut;
	cut.done = false;
	auto text = cut.text();
	text = text.substr(0, text.find(mark("END smoke 0")));
	auto hung = judge_preflight(parse_guest_report(text, kNonce), "", "lpg_replace_a", kNonce, "c.log");
	CHECK(hung.kind == Kind::system);
	CHECK_THAT(hung.message(), ContainsSubstring("stopped reporting in section \"smoke\""));
	CHECK_THAT(hung.message(), ContainsSubstring("check that the smoke command ends on its own"));

	// A panic on the console is what the guest could not report.
	auto panic = judge_preflight(parse_guest_report(text, kNonce),
				     kApplyMark + "\nKernel panic - not syncing: Fatal exception\n", "lpg_replace_a", kNonce,
				     "c.log");
	CHECK(panic.kind == Kind::preflight);
	CHECK_THAT(panic.message(), ContainsSubstring("the kernel panicked while the patch was applied"));
}
