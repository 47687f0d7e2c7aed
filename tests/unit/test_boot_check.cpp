// SPDX-License-Identifier: GPL-2.0
// Crash-loop protection (guest/boot_check.cpp): 'lp-load boot' records its
// attempt, 'lp-load boot-ok' confirms it or marks the patch bad on a new D
// or W taint, an earlier boot's unconfirmed attempt marks it, and boot
// refuses a marked patch until a new one is installed.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/core/error.hpp"
#include "lpguard/guest/boot_check.hpp"
#include "lpguard/guest/status.hpp"
#include "test_module_builder.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;

namespace {

const char kBootA[] = "11111111-1111-4111-8111-111111111111";
const char kBootB[] = "22222222-2222-4222-8222-222222222222";

std::string patch_image(const std::string &name)
{
	auto b = lpguard::test::build_module(name).bytes;
	return std::string(b.begin(), b.end());
}

struct Guest {
	fakesys::FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	lpguard::InstalledPatch installed;

	Guest()
	{
		boot(kBootA);
		fakesys::put(t.root / "src/a.ko", patch_image("lp_a"));
		installed = lpguard::install_patch(paths, t.root / "src/a.ko", "lp_a", "");
	}
	// A new boot: another boot_id, no livepatch, no taint.
	void boot(const char *id)
	{
		std::error_code ec;
		fs::remove_all(t.root / "sys/kernel/livepatch/lp_a", ec);
		fakesys::put(t.root / "proc/sys/kernel/random/boot_id", std::string(id) + "\n");
		fakesys::put(t.root / "proc/sys/kernel/tainted", "0\n");
	}
	void taint(unsigned long v) { fakesys::put(t.root / "proc/sys/kernel/tainted", std::to_string(v) + "\n"); }
	lpguard::BootPlan plan(bool expect = true) { return lpguard::plan_boot(paths, t.sys(), expect); }
	// What lp-load boot does when the apply went well.
	lpguard::BootPlan boot_applies()
	{
		auto p = plan();
		REQUIRE(p.result == "apply");
		t.add_active_patch("lp_a");
		lpguard::finish_boot(paths, p, lpguard::Kind::ok, false);
		return p;
	}
};

} // namespace

TEST_CASE("new D or W taint since a reading, named; taint seen before does not count", "[lpload][boot-check]")
{
	using lpguard::new_bad_taint;
	CHECK(new_bad_taint(0, 0).empty());
	CHECK(new_bad_taint(0, 1UL << 15).empty()); // K: a livepatch, as expected
	CHECK(new_bad_taint(0, 1UL << 9) == "a warning (taint W)");
	CHECK(new_bad_taint(1UL << 15, (1UL << 15) | (1UL << 7)) == "an oops or BUG (taint D)");
	CHECK(new_bad_taint(0, (1UL << 7) | (1UL << 9)) == "an oops or BUG (taint D) and a warning (taint W)");
	CHECK(new_bad_taint(1UL << 9, 1UL << 9).empty()); // sticky: a warning before the apply
}

TEST_CASE("boot records its attempt and boot-ok confirms it", "[lpload][boot-check]")
{
	Guest g;
	auto p = g.boot_applies();
	CHECK(p.attempt_recorded);
	auto a = lpguard::read_boot_attempt(g.paths);
	REQUIRE(a);
	CHECK(a->sha256 == g.installed.file_sha256);
	CHECK(a->name == "lp_a");
	CHECK(a->boot_id == kBootA);
	CHECK(a->taint_before == 0ul);
	CHECK_THAT(lpguard::status_text(g.t.sys(), g.paths),
		   ContainsSubstring("boot check:  lp_a applied by lp-load boot at " + a->started_at +
				     ", not yet confirmed by lp-load boot-ok\n"));
	CHECK(lpguard::status_json(g.t.sys(), g.paths)["boot_attempt"]["this_boot"] == true);

	g.taint(1UL << 15); // K only
	auto r = lpguard::confirm_boot(g.paths, g.t.sys());
	CHECK(r.result == "confirmed");
	CHECK(r.kind == lpguard::Kind::ok);
	CHECK(r.message == "confirmed lp_a: this boot reached multi-user.target with no oops, BUG or warning (taint D "
			   "or W) since lp-load boot applied it at " +
		      a->started_at);
	CHECK_FALSE(fs::exists(g.paths.boot_attempt()));
	CHECK_FALSE(lpguard::installed_patch(g.paths)->marked_bad);

	// The next boot applies it again; boot-ok with nothing to confirm.
	g.boot(kBootB);
	CHECK(g.plan().result == "apply");
	fs::remove(g.paths.boot_attempt());
	auto none = lpguard::confirm_boot(g.paths, g.t.sys());
	CHECK(none.result == "none");
	CHECK(none.message == "no boot attempt to confirm: lp-load boot applied no patch in this boot");
}

TEST_CASE("a boot that never got to boot-ok: the next boot marks the patch bad and does not apply it",
	  "[lpload][boot-check]")
{
	Guest g;
	g.boot_applies();
	auto started = lpguard::read_boot_attempt(g.paths)->started_at;
	// The guest crashed before multi-user.target; a new boot.
	g.boot(kBootB);
	auto p = g.plan();
	CHECK(p.result == "marked-bad");
	CHECK(p.kind == lpguard::Kind::marked_bad);
	const std::string reason = "the boot of " + started + " after applying it did not reach multi-user.target";
	CHECK(p.message == "not applying lp_a (" + g.installed.ko.string() + "): it is marked bad: " + reason + " (install a fixed patch with lp-load install, or lp-load install --clear-mark PATCH.ko "
														"if the mark is wrong)");
	CHECK_FALSE(fs::exists(g.paths.boot_attempt()));
	// Left installed, marked; said by status too.
	auto inst = lpguard::installed_patch(g.paths);
	REQUIRE(inst);
	REQUIRE(inst->marked_bad);
	CHECK(inst->marked_bad->reason == reason);
	CHECK_THAT(lpguard::status_text(g.t.sys(), g.paths), ContainsSubstring(" (marked bad: " + reason + ")\n"));
	// Every later boot too.
	g.boot(kBootA);
	CHECK(g.plan().result == "marked-bad");

	// Installing the same file keeps the mark; a newer patch clears it.
	CHECK(lpguard::install_patch(g.paths, g.t.root / "src/a.ko", "lp_a", "").marked_bad);
	CHECK(g.plan().result == "marked-bad");
	fakesys::put(g.t.root / "src/b.ko", patch_image("lp_b"));
	lpguard::install_patch(g.paths, g.t.root / "src/b.ko", "lp_b", "");
	CHECK(g.plan().result == "apply");
}

TEST_CASE("boot-ok marks the patch bad when the kernel warned or oopsed after boot applied it",
	  "[lpload][boot-check]")
{
	for (unsigned long bit : {lpguard::kTaintWarn, lpguard::kTaintDie}) {
		Guest g;
		g.taint(1UL << 12); // O before the apply: not a reason
		g.boot_applies();
		auto started = lpguard::read_boot_attempt(g.paths)->started_at;
		g.taint((1UL << 12) | (1UL << 15) | bit);
		auto r = lpguard::confirm_boot(g.paths, g.t.sys());
		CHECK(r.result == "marked-bad");
		CHECK(r.kind == lpguard::Kind::marked_bad);
		std::string what = bit == lpguard::kTaintWarn ? "a warning (taint W)" : "an oops or BUG (taint D)";
		REQUIRE(r.mark);
		CHECK(r.mark->reason == "the kernel reported " + what + " after lp-load boot applied it at " + started);
		CHECK(r.message == "marked lp_a bad: " + r.mark->reason + " (lp-load boot will not apply it again; see the kernel log, and install a fixed "
									  "patch with lp-load install)");
		CHECK_FALSE(fs::exists(g.paths.boot_attempt()));
		g.boot(kBootB);
		CHECK(g.plan().result == "marked-bad");
	}
}

TEST_CASE("boot-ok in a boot that did not apply: the earlier boot's attempt marks the patch", "[lpload][boot-check]")
{
	Guest g;
	g.boot_applies();
	g.boot(kBootB); // lp_load.enable=0 this time: lp-load boot did nothing
	auto r = lpguard::confirm_boot(g.paths, g.t.sys());
	CHECK(r.result == "marked-bad");
	REQUIRE(r.mark);
	CHECK_THAT(r.mark->reason, ContainsSubstring("after applying it did not reach multi-user.target"));
	CHECK_THAT(lpguard::status_text(g.t.sys(), g.paths), ContainsSubstring("(marked bad: the boot of "));
}

TEST_CASE("boot without --expect-boot-ok (the initramfs) records nothing; skipped, none, active",
	  "[lpload][boot-check]")
{
	Guest g;
	auto p = g.plan(false);
	CHECK(p.result == "apply");
	CHECK_FALSE(p.attempt_recorded);
	CHECK_FALSE(fs::exists(g.paths.boot_attempt()));
	// Then the unit in the same boot finds it active: boot-ok still judges this boot.
	g.t.add_active_patch("lp_a");
	auto active = g.plan();
	CHECK(active.result == "already-active");
	CHECK(active.message == "lp_a is already active");
	CHECK(active.attempt_recorded);
	CHECK(lpguard::read_boot_attempt(g.paths)->boot_id == kBootA);
	// A second run in the same boot neither records again nor judges it.
	CHECK_FALSE(g.plan().attempt_recorded);
	CHECK_FALSE(lpguard::installed_patch(g.paths)->marked_bad);

	fakesys::put(g.t.root / "proc/cmdline", "root=/dev/vda lp_load.enable=0\n");
	auto off = g.plan();
	CHECK(off.result == "skipped");
	CHECK(off.message == "lp_load.enable=0 on the kernel command line: not applying the installed patch");
	fakesys::put(g.t.root / "proc/cmdline", "root=/dev/vda\n");
	lpguard::uninstall_patch(g.paths);
	CHECK(g.plan().result == "none");
}

TEST_CASE("a boot whose apply did not go on leaves nothing to confirm", "[lpload][boot-check]")
{
	Guest g;
	auto p = g.plan();
	REQUIRE(p.attempt_recorded);
	lpguard::finish_boot(g.paths, p, lpguard::Kind::reverted, false);
	CHECK_FALSE(fs::exists(g.paths.boot_attempt()));
	p = g.plan();
	lpguard::finish_boot(g.paths, p, lpguard::Kind::ok, true); // marked by the apply itself
	CHECK_FALSE(fs::exists(g.paths.boot_attempt()));
	p = g.plan();
	lpguard::finish_boot(g.paths, p, lpguard::Kind::ok, false);
	CHECK(fs::exists(g.paths.boot_attempt()));
}

TEST_CASE("a changed installed file is refused at boot before anything else", "[lpload][boot-check]")
{
	Guest g;
	fakesys::put(g.installed.ko, patch_image("lp_other"));
	auto p = g.plan();
	CHECK(p.result == "refused");
	CHECK(p.kind == lpguard::Kind::refused);
	CHECK_THAT(p.message, StartsWith("refusing to apply " + g.installed.ko.string() + ": its SHA-256 is "));
	CHECK_FALSE(fs::exists(g.paths.boot_attempt()));
}

TEST_CASE("the taint right after a transition marks the patch applied", "[lpload][boot-check]")
{
	Guest g;
	const std::string sha = g.installed.file_sha256;
	CHECK_FALSE(lpguard::check_taint_after_apply(g.paths, g.t.sys(), sha, "lp_a", 0ul, "apply", "T"));
	g.taint(1UL << 15);
	CHECK_FALSE(lpguard::check_taint_after_apply(g.paths, g.t.sys(), sha, "lp_a", 0ul, "apply", "T"));
	g.taint((1UL << 15) | (1UL << 9));
	CHECK_FALSE(lpguard::check_taint_after_apply(g.paths, g.t.sys(), sha, "lp_a", std::nullopt, "apply", "T"));
	CHECK_FALSE(lpguard::check_taint_after_apply(g.paths, g.t.sys(), sha, "lp_a", 1UL << 9, "apply", "T"));
	auto m = lpguard::check_taint_after_apply(g.paths, g.t.sys(), sha, "lp_a", 0ul, "apply", "T");
	REQUIRE(m);
	CHECK(m->reason == "the kernel reported a warning (taint W) while lp-load apply applied it at T");
	CHECK(lpguard::installed_patch(g.paths)->marked_bad->reason == m->reason);
	CHECK(g.plan().result == "marked-bad");
}
