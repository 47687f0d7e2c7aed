// SPDX-License-Identifier: GPL-2.0
// Reading livepatch state from a fake /sys and /proc tree.
#include <catch2/catch_test_macros.hpp>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/core/error.hpp"
#include "lpguard/guest/livepatch_sysfs.hpp"

using fakesys::FakeTree;

TEST_CASE("patches and their functions are read from /sys/kernel/livepatch", "[lpload][sysfs]")
{
	FakeTree t;
	t.add_patch("lp_b", true, false, true, {"cmdline_proc_show,1", "meminfo_proc_show,1"});
	t.add_patch("lp_a", false, true, false);
	auto sys = t.sys();
	auto ps = sys.patches();
	REQUIRE(ps.size() == 2);
	CHECK(ps[0].name == "lp_a");
	CHECK_FALSE(ps[0].enabled);
	CHECK(ps[0].transition);
	CHECK(ps[0].replace == false);
	CHECK(ps[1].name == "lp_b");
	CHECK(ps[1].enabled);
	REQUIRE(ps[1].objects.size() == 1);
	CHECK(ps[1].objects[0].name == "vmlinux");
	CHECK(ps[1].objects[0].patched == true);
	CHECK(ps[1].objects[0].functions == std::vector<std::string>{"cmdline_proc_show,1", "meminfo_proc_show,1"});
	CHECK(sys.patch_in_transition() == "lp_a");
	CHECK_FALSE(sys.patch("nope").has_value());
	CHECK_FALSE(sys.transition("nope").has_value());
}

TEST_CASE("livepatch modules are found by their taint flag; built-in and ordinary modules are not",
	  "[lpload][sysfs]")
{
	FakeTree t;
	t.add_active_patch("lp_new");
	t.add_module("lp_old", 0, "OK"); // replaced: no longer registered
	t.add_module("e1000", 2, "");	 // ordinary
	t.add_module("lp_held", 1, "OEK", {"other_mod"});
	auto sys = t.sys();
	auto lps = sys.livepatch_modules();
	REQUIRE(lps.size() == 3);
	CHECK(lps[0].name == "lp_held");
	CHECK(lps[1].name == "lp_new");
	CHECK(lps[2].name == "lp_old");
	auto left = sys.leftovers();
	REQUIRE(left.size() == 2);
	CHECK(left[0].name == "lp_held");
	CHECK(left[0].refcnt == 1);
	CHECK(left[0].holders == std::vector<std::string>{"other_mod"});
	CHECK(left[1].name == "lp_old");
	CHECK(left[1].refcnt == 0);
	CHECK_FALSE(sys.module_loaded("printk")); // built in
	CHECK(sys.module_loaded("e1000"));
}

TEST_CASE("pending tasks are those not yet in the target state, with their stacks", "[lpload][sysfs]")
{
	FakeTree t;
	t.add_task(1, 1, "init", 1);
	t.add_task(42, 42, "busy_loop", 0, {"[<0>] busy_fn+0x10/0x20 [target]", "[<0>] kthread+0xe8/0x120"});
	t.add_task(42, 43, "busy_worker", 0);
	t.add_task(7, 7, "idle", -1);
	auto sys = t.sys();
	auto p = sys.pending_tasks(1, true);
	REQUIRE(p.size() == 2);
	CHECK(p[0].pid == 42);
	CHECK(p[0].tid == 42);
	CHECK(p[0].comm == "busy_loop");
	CHECK(p[0].patch_state == 0);
	CHECK(p[0].stack == std::vector<std::string>{"[<0>] busy_fn+0x10/0x20 [target]", "[<0>] kthread+0xe8/0x120"});
	CHECK(p[1].tid == 43);
	CHECK(p[1].stack.empty());
	// Unpatching: the tasks already patched are the pending ones.
	auto back = sys.pending_tasks(0);
	REQUIRE(back.size() == 1);
	CHECK(back[0].comm == "init");
	CHECK(back[0].stack.empty()); // not requested
}

TEST_CASE("writing enabled goes to the patch's attribute; a vanished patch is an error", "[lpload][sysfs]")
{
	FakeTree t;
	t.add_patch("lp_a", true, false, true);
	auto sys = t.sys();
	sys.set_enabled("lp_a", false);
	CHECK(fakesys::get(t.root / "sys/kernel/livepatch/lp_a/enabled") == "0\n");
	CHECK_THROWS_AS(sys.set_enabled("gone", false), lpguard::Error);
	CHECK_FALSE(std::filesystem::exists(t.root / "sys/kernel/livepatch/gone"));
}

TEST_CASE("kernel release, taint and command line come from /proc", "[lpload][sysfs]")
{
	FakeTree t;
	fakesys::put(t.root / "proc/sys/kernel/tainted", "36864\n"); // K (1<<15) | O (1<<12)
	auto sys = t.sys();
	CHECK(sys.kernel_release() == "6.12.0-test");
	CHECK(sys.kernel_taint() == 36864UL);
	CHECK(lpguard::describe_taint(36864) == std::vector<std::string>{"O (out-of-tree module)", "K (livepatch)"});
	CHECK(sys.kernel_cmdline() == "console=ttyS0 root=/dev/vda");
}
