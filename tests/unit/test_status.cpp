// SPDX-License-Identifier: GPL-2.0
// 'lp-load status' / 'list' JSON on the fake tree; install and the boot switch.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/core/error.hpp"
#include "lpguard/core/module_edit.hpp"
#include "lpguard/guest/install.hpp"
#include "lpguard/guest/status.hpp"
#include "test_module_builder.hpp"

namespace fs = std::filesystem;

namespace {

// A livepatch image of the given generation, as the fake tree's text file.
std::string patch_image(const std::string &name, std::optional<uint32_t> generation = std::nullopt)
{
	auto b = lpguard::test::build_module(name).bytes;
	if (generation)
		b = lpguard::with_generation(b, *generation);
	return std::string(b.begin(), b.end());
}

} // namespace

TEST_CASE("list names each livepatch module with its state", "[lpload][list][json]")
{
	fakesys::FakeTree t;
	t.add_active_patch("lp_b");
	t.add_module("lp_a", 0, "OK");
	t.add_module("lp_c", 1, "OK");
	t.add_patch("lp_c", true, true, true);
	t.add_module("e1000", 0, "");
	auto j = lpguard::list_json(t.sys());
	CHECK(j == nlohmann::json::parse(R"({"command":"list","modules":[
		{"name":"lp_a","state":"leftover","refcnt":0,"replace":null},
		{"name":"lp_b","state":"active","refcnt":1,"replace":true},
		{"name":"lp_c","state":"in-transition","refcnt":1,"replace":true}]})"));
	CHECK(lpguard::list_text(t.sys()) == "lp_a\tleftover\trefcnt 0\nlp_b\tactive\trefcnt 1\nlp_c\tin-transition\trefcnt 1\n");
	fakesys::FakeTree empty;
	CHECK(lpguard::list_text(empty.sys()) == "no livepatch modules loaded\n");
}

TEST_CASE("status reports the active patch, its functions, lpguard, taint and the installed patch",
	  "[lpload][status][json]")
{
	fakesys::FakeTree t;
	t.add_active_patch("lp_b");
	t.add_module("lp_a", 0, "OK");
	fakesys::put(t.root / "proc/sys/kernel/tainted", "32768\n");
	fakesys::put(t.root / "sys/kernel/security/lpguard/status",
		     "form: builtin\nenforcing: yes\nkeys: 2\nkey: serial=1 subject=\"a\" keyid=01\n"
		     "key: serial=2 subject=\"b\" keyid=02\nactive: lp_b\n");
	t.lpguard_log("1.5 livepatch allowed obj=\"lp_b\" signer=\"CN=k\" sha256=ab check_ns=3 reason=\"ok\"\n");
	lpguard::LpLoadPaths paths{t.root};
	auto j = lpguard::status_json(t.sys(), paths);
	CHECK(j["command"] == "status");
	CHECK(j["kernel_release"] == "6.12.0-test");
	CHECK(j["active"] == "lp_b");
	REQUIRE(j["patches"].size() == 1);
	CHECK(j["patches"][0] == nlohmann::json::parse(R"({"name":"lp_b","enabled":true,"transition":false,
		"replace":true,"objects":[{"name":"vmlinux","patched":true,"functions":["cmdline_proc_show,1"]}]})"));
	CHECK(j["transition"].is_null());
	CHECK(j["leftovers"] == nlohmann::json::array({"lp_a"}));
	CHECK(j["lpguard"]["status"] == nlohmann::json::parse(R"({"form":"builtin","enforcing":"yes","keys":"2",
		"key":["serial=1 subject=\"a\" keyid=01","serial=2 subject=\"b\" keyid=02"],"active":"lp_b"})"));
	CHECK(j["lpguard"]["recent_decisions"][0]["verdict"] == "allowed");
	CHECK(j["lpguard"]["recent_decisions"][0]["signer"] == "CN=k");
	CHECK(j["taint"]["value"] == 32768);
	CHECK(j["taint"]["flags"] == nlohmann::json::array({"K (livepatch)"}));
	CHECK(j["installed"].is_null());
	CHECK(j["boot_apply"] == true);
	CHECK(j.size() == 10);

	// While a transition runs, status says towards what and how many tasks are left.
	t.add_module("lp_c", 1, "OK");
	t.add_patch("lp_c", true, true, true);
	t.add_task(9, 9, "slow", 0);
	t.add_task(10, 10, "fast", 1);
	auto k = lpguard::status_json(t.sys(), paths);
	CHECK(k["transition"] == nlohmann::json::parse(R"({"patch":"lp_c","target":"patched","pending_tasks":1})"));
	auto text = lpguard::status_text(t.sys(), paths);
	CHECK(text.find("active:      lp_b\n") != std::string::npos);
	CHECK(text.find("    vmlinux: cmdline_proc_show,1\n") != std::string::npos);
	CHECK(text.find("transition:  lp_c → patched, 1 tasks pending\n") != std::string::npos);
	CHECK(text.find("  form: builtin\n") != std::string::npos);
	CHECK(text.find("  key: serial=2 subject=\"b\" keyid=02\n") != std::string::npos);
}

TEST_CASE("install keeps one patch under /var/lib/lp-load; uninstall removes it", "[lpload][install]")
{
	fakesys::FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	fakesys::put(t.root / "src/a.ko", patch_image("lp_a"));
	fakesys::put(t.root / "src/b.ko", patch_image("lp_b"));
	CHECK_FALSE(lpguard::installed_patch(paths));
	CHECK_FALSE(lpguard::uninstall_patch(paths));

	lpguard::install_patch(paths, t.root / "src/a.ko", "lp_a", "aa");
	auto p = lpguard::install_patch(paths, t.root / "src/b.ko", "lp_b", "bb");
	CHECK(p.ko == t.root / "var/lib/lp-load/patch.ko");
	CHECK(fakesys::get(t.root / "var/lib/lp-load/patch.ko") == patch_image("lp_b"));
	auto back = lpguard::installed_patch(paths);
	REQUIRE(back);
	CHECK(back->name == "lp_b");
	CHECK(back->sha256 == "bb");
	CHECK(back->source == (t.root / "src/b.ko").string());
	CHECK(back->installed_at.size() == 20);
	CHECK(fs::status(t.root / "var/lib/lp-load/patch.ko").permissions() ==
	      (fs::perms::owner_read | fs::perms::owner_write));
	std::vector<std::string> files;
	for (const auto &e : fs::directory_iterator(t.root / "var/lib/lp-load"))
		files.push_back(e.path().filename().string());
	std::sort(files.begin(), files.end());
	CHECK(files == std::vector<std::string>{"patch.json", "patch.ko"}); // no temporary left behind

	auto j = lpguard::status_json(t.sys(), paths);
	CHECK(j["installed"]["name"] == "lp_b");
	CHECK(j["installed"]["path"] == (t.root / "var/lib/lp-load/patch.ko").string());

	CHECK(lpguard::uninstall_patch(paths));
	CHECK_FALSE(lpguard::installed_patch(paths));
	CHECK_FALSE(fs::exists(t.root / "var/lib/lp-load/patch.ko"));
	CHECK_THROWS_AS(lpguard::install_patch(paths, t.root / "src/missing.ko", "x", "y"), lpguard::Error);
}

TEST_CASE("install records the generation and never goes back to a lower one", "[lpload][install][generation]")
{
	fakesys::FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	fakesys::put(t.root / "src/g2.ko", patch_image("lp_b", 2));
	fakesys::put(t.root / "src/g1.ko", patch_image("lp_a", 1));
	fakesys::put(t.root / "src/g3.ko", patch_image("lp_a", 3));
	fakesys::put(t.root / "src/untagged.ko", patch_image("lp_a"));

	auto p = lpguard::install_patch(paths, t.root / "src/g2.ko", "lp_b", "bb");
	CHECK(p.generation == 2);
	auto rec = nlohmann::json::parse(fakesys::get(t.root / "var/lib/lp-load/patch.json"));
	CHECK(rec["generation"] == 2);
	CHECK(lpguard::installed_patch(paths)->generation == 2);
	CHECK(lpguard::status_json(t.sys(), paths)["installed"]["generation"] == 2);
	CHECK_THAT(lpguard::status_text(t.sys(), paths),
		   Catch::Matchers::ContainsSubstring("installed:   lp_b (" + (t.root / "var/lib/lp-load/patch.ko").string() +
						      "), generation 2\n"));

	for (const char *lower : {"g1.ko", "untagged.ko"}) {
		auto src = t.root / "src" / lower;
		try {
			lpguard::install_patch(paths, src, "lp_a", "aa");
			FAIL("a lower generation was installed");
		} catch (const lpguard::Error &e) {
			CHECK(e.kind() == lpguard::Kind::refused);
			std::string g = std::string(lower) == "g1.ko" ? "1" : "0";
			CHECK(std::string(e.what()) == "refusing to install " + src.string() + ": its generation " + g + " is lower than generation 2 of the installed patch lp_b (install a patch of "
															 "generation 2 or higher)");
		}
		CHECK(fakesys::get(t.root / "var/lib/lp-load/patch.ko") == patch_image("lp_b", 2)); // untouched
	}
	// The same generation (a rebuilt patch) and higher ones are installed.
	CHECK(lpguard::install_patch(paths, t.root / "src/g2.ko", "lp_b", "bb").generation == 2);
	CHECK(lpguard::install_patch(paths, t.root / "src/g3.ko", "lp_a", "aa").generation == 3);
	lpguard::check_installed_generation(*lpguard::installed_patch(paths));

	// A record of an older lp-load has no generation: the installed file's counts.
	fakesys::put(t.root / "var/lib/lp-load/patch.json", R"({"name": "lp_a", "sha256": "aa"})");
	CHECK(lpguard::installed_patch(paths)->generation == 3);
	CHECK_THROWS_AS(lpguard::install_patch(paths, t.root / "src/g2.ko", "lp_b", "bb"), lpguard::Error);
	fakesys::put(t.root / "var/lib/lp-load/patch.json", R"({"name": "lp_a", "generation": "3"})");
	CHECK(lpguard::installed_patch(paths)->generation == 3);
}

TEST_CASE("boot refuses an installed file older than its record", "[lpload][install][generation]")
{
	fakesys::FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	fakesys::put(t.root / "src/g3.ko", patch_image("lp_a", 3));
	lpguard::install_patch(paths, t.root / "src/g3.ko", "lp_a", "aa");
	lpguard::check_installed_generation(*lpguard::installed_patch(paths));

	// Swapped behind lp-load's back for an older patch.
	fakesys::put(t.root / "var/lib/lp-load/patch.ko", patch_image("lp_a", 1));
	try {
		lpguard::check_installed_generation(*lpguard::installed_patch(paths));
		FAIL("the older file was accepted");
	} catch (const lpguard::Error &e) {
		CHECK(e.kind() == lpguard::Kind::refused);
		auto ko = (t.root / "var/lib/lp-load/patch.ko").string();
		CHECK(std::string(e.what()) == "refusing to apply " + ko + ": its generation 1 is lower than generation 3 "
									   "recorded when lp_a was installed: the file was replaced since (install "
									   "a patch of generation 3 or higher with lp-load install)");
	}
	// A newer one (a crash between writing the file and the record) is applied.
	fakesys::put(t.root / "var/lib/lp-load/patch.ko", patch_image("lp_a", 4));
	lpguard::check_installed_generation(*lpguard::installed_patch(paths));
	// Not a module: left to the pre-check of the apply, which says why.
	fakesys::put(t.root / "var/lib/lp-load/patch.ko", "junk");
	lpguard::check_installed_generation(*lpguard::installed_patch(paths));
}

TEST_CASE("lp_load.enable=0 on the command line turns boot apply off", "[lpload][install]")
{
	CHECK(lpguard::boot_apply_enabled("console=ttyS0 root=/dev/vda"));
	CHECK_FALSE(lpguard::boot_apply_enabled("console=ttyS0 lp_load.enable=0 quiet"));
	CHECK_FALSE(lpguard::boot_apply_enabled("lp_load.enable=off"));
	CHECK(lpguard::boot_apply_enabled("lp_load.enable=0 lp_load.enable=1"));
	CHECK(lpguard::boot_apply_enabled("xlp_load.enable=0"));
	CHECK(lpguard::boot_apply_enabled("quiet -- lp_load.enable=0"));
}
