// SPDX-License-Identifier: GPL-2.0
// lp-load install (guest/install.cpp): the content-addressed module and the
// record that commits it, read back and checked against each other; a power
// cut at every step; the older lp-load's layout; generations; marks.
#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>

#include <openssl/sha.h>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/core/error.hpp"
#include "lpguard/core/module_edit.hpp"
#include "lpguard/core/text.hpp"
#include "lpguard/guest/install.hpp"
#include "lpguard/guest/status.hpp"
#include "test_module_builder.hpp"

namespace fs = std::filesystem;
using Catch::Matchers::ContainsSubstring;

namespace {

// A livepatch image of the given generation, as the fake tree's text file.
std::string patch_image(const std::string &name, std::optional<uint32_t> generation = std::nullopt)
{
	auto b = lpguard::test::build_module(name).bytes;
	if (generation)
		b = lpguard::with_generation(b, *generation);
	return std::string(b.begin(), b.end());
}

std::string sha256(const std::string &s)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(reinterpret_cast<const unsigned char *>(s.data()), s.size(), md);
	return lpguard::hex(md, sizeof(md));
}

std::vector<std::string> files_in(const fs::path &dir)
{
	std::vector<std::string> out;
	for (const auto &e : fs::directory_iterator(dir))
		out.push_back(e.path().filename().string());
	std::sort(out.begin(), out.end());
	return out;
}

struct PowerCut {};

// The old install of each layout: this lp-load's, or an older one's (patch.ko,
// a record without "file").
void install_old(const fakesys::FakeTree &t, const lpguard::LpLoadPaths &paths, bool legacy)
{
	if (!legacy) {
		lpguard::install_patch(paths, t.root / "src/old.ko", "lp_old", "");
		return;
	}
	std::string img = patch_image("lp_old", 1);
	fakesys::put(paths.legacy_ko(), img);
	fakesys::put(paths.installed_record(),
		     R"({"name": "lp_old", "sha256": ")" + sha256(img) + R"(", "source": "/src/old.ko", "generation": 1})");
}

} // namespace

TEST_CASE("install writes the module under its SHA-256, then the record that names it; uninstall removes both",
	  "[lpload][install]")
{
	fakesys::FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	fakesys::put(t.root / "src/a.ko", patch_image("lp_a"));
	fakesys::put(t.root / "src/b.ko", patch_image("lp_b"));
	const std::string sha_b = sha256(patch_image("lp_b"));
	CHECK_FALSE(lpguard::installed_patch(paths));
	CHECK_FALSE(lpguard::uninstall_patch(paths));

	lpguard::install_patch(paths, t.root / "src/a.ko", "lp_a", sha256(patch_image("lp_a")));
	auto p = lpguard::install_patch(paths, t.root / "src/b.ko", "lp_b", sha_b);
	CHECK(p.ko == t.root / ("var/lib/lp-load/patch-" + sha_b + ".ko"));
	CHECK(fakesys::get(p.ko) == patch_image("lp_b"));
	auto rec = nlohmann::json::parse(fakesys::get(t.root / "var/lib/lp-load/patch.json"));
	CHECK(rec["file"] == "patch-" + sha_b + ".ko");
	CHECK(rec["sha256"] == sha_b);
	auto back = lpguard::installed_patch(paths);
	REQUIRE(back);
	CHECK(back->name == "lp_b");
	CHECK(back->sha256 == sha_b);
	CHECK(back->file_sha256 == sha_b);
	CHECK(back->problem.empty());
	CHECK_FALSE(back->marked_bad);
	CHECK(back->source == (t.root / "src/b.ko").string());
	CHECK(back->installed_at.size() == 20);
	CHECK(fs::status(p.ko).permissions() == (fs::perms::owner_read | fs::perms::owner_write));
	CHECK(fs::status(t.root / "var/lib/lp-load/patch.json").permissions() ==
	      (fs::perms::owner_read | fs::perms::owner_write));
	// lp_a's module is gone, and no temporary file is left behind.
	CHECK(files_in(paths.var_dir()) == std::vector<std::string>{"patch-" + sha_b + ".ko", "patch.json"});

	auto j = lpguard::status_json(t.sys(), paths);
	CHECK(j["installed"]["name"] == "lp_b");
	CHECK(j["installed"]["path"] == p.ko.string());
	CHECK(j["installed"]["problem"].is_null());
	CHECK(j["installed"]["marked_bad"].is_null());

	CHECK(lpguard::uninstall_patch(paths));
	CHECK_FALSE(lpguard::installed_patch(paths));
	CHECK(files_in(paths.var_dir()).empty());
	CHECK_THROWS_AS(lpguard::install_patch(paths, t.root / "src/missing.ko", "x", ""), lpguard::Error);
}

TEST_CASE("install refuses a file that changed between its pre-check and the copy", "[lpload][install]")
{
	fakesys::FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	fakesys::put(t.root / "src/a.ko", patch_image("lp_a"));
	try {
		lpguard::install_patch(paths, t.root / "src/a.ko", "lp_a", std::string(64, 'e'));
		FAIL("installed a file whose SHA-256 is not the pre-checked one");
	} catch (const lpguard::Error &e) {
		CHECK(e.kind() == lpguard::Kind::input);
		CHECK_THAT(std::string(e.what()), ContainsSubstring("it changed between its pre-check and the copy"));
	}
	CHECK_FALSE(lpguard::installed_patch(paths));
}

TEST_CASE("install: a power cut at any step leaves the old patch or the new one, never a mix", "[lpload][install]")
{
	const std::string old_img = patch_image("lp_old", 1), new_img = patch_image("lp_new", 2);
	for (bool legacy : {false, true}) {
		for (std::string cut : {"module", "record", "marks", "removing", "removed"}) {
			DYNAMIC_SECTION((legacy ? "over an older lp-load's install, " : "") << "cut after " << cut)
			{
				fakesys::FakeTree t;
				lpguard::LpLoadPaths paths{t.root};
				fakesys::put(t.root / "src/old.ko", old_img);
				fakesys::put(t.root / "src/new.ko", new_img);
				install_old(t, paths, legacy);
				// The temporary files of writes cut short before their rename.
				fakesys::put(paths.var_dir() / (".patch-" + sha256(new_img) + ".ko.Ab12Cd"), "half a mod");
				fakesys::put(paths.var_dir() / ".patch.json.Ef34Gh", "{\"name\": \"lp_n");

				lpguard::InstallOptions o;
				o.after_step = [&](const std::string &step) {
					if (step == cut)
						throw PowerCut{};
				};
				CHECK_THROWS_AS(lpguard::install_patch(paths, t.root / "src/new.ko", "lp_new", "", o), PowerCut);

				// What the next boot reads.
				auto p = lpguard::installed_patch(paths);
				REQUIRE(p);
				bool is_new = cut != "module";
				const std::string &img = is_new ? new_img : old_img;
				CHECK(p->name == (is_new ? "lp_new" : "lp_old"));
				CHECK(p->sha256 == sha256(img));
				CHECK(p->file_sha256 == sha256(img));
				CHECK(p->generation == (is_new ? 2u : 1u));
				CHECK(p->problem.empty());
				CHECK(fakesys::get(p->ko) == img);
				CHECK_NOTHROW(lpguard::check_installed_file(*p));
				CHECK_NOTHROW(lpguard::check_installed_generation(*p));

				// The next install completes and leaves exactly its own files.
				auto again = lpguard::install_patch(paths, t.root / "src/new.ko", "lp_new", "");
				CHECK(files_in(paths.var_dir()) ==
				      std::vector<std::string>{"patch-" + sha256(new_img) + ".ko", "patch.json"});
				CHECK(fakesys::get(again.ko) == new_img);
			}
		}
	}
}

TEST_CASE("the installed file is checked against its record", "[lpload][install]")
{
	fakesys::FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	const std::string img = patch_image("lp_a", 3);
	fakesys::put(t.root / "src/a.ko", img);
	auto p = lpguard::install_patch(paths, t.root / "src/a.ko", "lp_a", "");
	const std::string ko = p.ko.string();

	SECTION("a changed file")
	{
		fakesys::put(p.ko, patch_image("lp_a", 4)); // newer, but not what was installed
		auto q = lpguard::installed_patch(paths);
		REQUIRE(q);
		CHECK(q->problem == "its SHA-256 is " + sha256(patch_image("lp_a", 4)) + ", not " + sha256(img) + " as recorded: the file was changed since it was installed");
		try {
			lpguard::check_installed_file(*q);
			FAIL("a changed file passed");
		} catch (const lpguard::Error &e) {
			CHECK(e.kind() == lpguard::Kind::refused);
			CHECK(std::string(e.what()) == "refusing to apply " + ko + ": " + q->problem + " (install the patch again with lp-load install)");
		}
		CHECK_THAT(lpguard::status_text(t.sys(), paths),
			   ContainsSubstring("installed:   lp_a (" + ko + "), generation 3 (does not match its record: " +
					     q->problem + ")\n"));
		CHECK(lpguard::status_json(t.sys(), paths)["installed"]["problem"] == q->problem);
	}
	SECTION("a removed file")
	{
		fs::remove(p.ko);
		auto q = lpguard::installed_patch(paths);
		REQUIRE(q);
		CHECK(q->problem == "its file is missing: it was removed since it was installed");
		CHECK(q->generation == 3);
		CHECK_THROWS_AS(lpguard::check_installed_file(*q), lpguard::Error);
	}
	SECTION("a record that names something else")
	{
		auto rec = nlohmann::json::parse(fakesys::get(paths.installed_record()));
		rec["file"] = "../../etc/shadow";
		fakesys::put(paths.installed_record(), rec.dump());
		auto q = lpguard::installed_patch(paths);
		REQUIRE(q);
		CHECK(q->problem == "its record names \"../../etc/shadow\", not a module file lp-load installs");
		CHECK_THROWS_AS(lpguard::check_installed_file(*q), lpguard::Error);
	}
}

TEST_CASE("an older lp-load's install (patch.ko) is read, and replaced by the next install", "[lpload][install]")
{
	fakesys::FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	const std::string img = patch_image("lp_old", 2);
	fakesys::put(paths.legacy_ko(), img);

	// Cut between its two writes: the module without a record.
	auto p = lpguard::installed_patch(paths);
	REQUIRE(p);
	CHECK(p->ko == paths.legacy_ko());
	CHECK(p->name.empty());
	CHECK(p->sha256 == sha256(img));
	CHECK(p->generation == 2);
	CHECK(p->problem.empty());

	// With its record; and its torn state: a new patch.ko with the old record.
	fakesys::put(paths.installed_record(), R"({"name": "lp_old", "sha256": ")" + sha256(img) + R"("})");
	p = lpguard::installed_patch(paths);
	REQUIRE(p);
	CHECK(p->name == "lp_old");
	CHECK(p->problem.empty());
	fakesys::put(paths.legacy_ko(), patch_image("lp_new", 3));
	p = lpguard::installed_patch(paths);
	REQUIRE(p);
	CHECK_THAT(p->problem, ContainsSubstring("as recorded: the file was changed since it was installed"));

	fakesys::put(t.root / "src/new.ko", patch_image("lp_new", 3));
	auto n = lpguard::install_patch(paths, t.root / "src/new.ko", "lp_new", "");
	CHECK(n.ko == paths.module_file(sha256(patch_image("lp_new", 3))));
	CHECK_FALSE(fs::exists(paths.legacy_ko()));
	CHECK(lpguard::uninstall_patch(paths));
	CHECK_FALSE(lpguard::installed_patch(paths));
}

TEST_CASE("install records the generation and never goes back to a lower one", "[lpload][install][generation]")
{
	fakesys::FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	fakesys::put(t.root / "src/g2.ko", patch_image("lp_b", 2));
	fakesys::put(t.root / "src/g1.ko", patch_image("lp_a", 1));
	fakesys::put(t.root / "src/g3.ko", patch_image("lp_a", 3));
	fakesys::put(t.root / "src/untagged.ko", patch_image("lp_a"));

	auto p = lpguard::install_patch(paths, t.root / "src/g2.ko", "lp_b", "");
	CHECK(p.generation == 2);
	auto rec = nlohmann::json::parse(fakesys::get(t.root / "var/lib/lp-load/patch.json"));
	CHECK(rec["generation"] == 2);
	CHECK(lpguard::installed_patch(paths)->generation == 2);
	CHECK(lpguard::status_json(t.sys(), paths)["installed"]["generation"] == 2);
	CHECK_THAT(lpguard::status_text(t.sys(), paths),
		   ContainsSubstring("installed:   lp_b (" + p.ko.string() + "), generation 2\n"));

	for (const char *lower : {"g1.ko", "untagged.ko"}) {
		auto src = t.root / "src" / lower;
		try {
			lpguard::install_patch(paths, src, "lp_a", "");
			FAIL("a lower generation was installed");
		} catch (const lpguard::Error &e) {
			CHECK(e.kind() == lpguard::Kind::refused);
			std::string g = std::string(lower) == "g1.ko" ? "1" : "0";
			CHECK(std::string(e.what()) == "refusing to install " + src.string() + ": its generation " + g + " is lower than generation 2 of the installed patch lp_b (install a patch of "
															 "generation 2 or higher)");
		}
		CHECK(fakesys::get(p.ko) == patch_image("lp_b", 2)); // untouched
		CHECK(files_in(paths.var_dir()) == std::vector<std::string>{p.ko.filename().string(), "patch.json"});
	}
	// The same generation (a rebuilt patch) and higher ones are installed.
	CHECK(lpguard::install_patch(paths, t.root / "src/g2.ko", "lp_b", "").generation == 2);
	CHECK(lpguard::install_patch(paths, t.root / "src/g3.ko", "lp_a", "").generation == 3);
	lpguard::check_installed_generation(*lpguard::installed_patch(paths));

	// A record of an older lp-load has no generation: the installed file's counts.
	lpguard::uninstall_patch(paths);
	fakesys::put(paths.legacy_ko(), patch_image("lp_a", 3));
	fakesys::put(t.root / "var/lib/lp-load/patch.json", R"({"name": "lp_a"})");
	CHECK(lpguard::installed_patch(paths)->generation == 3);
	CHECK_THROWS_AS(lpguard::install_patch(paths, t.root / "src/g2.ko", "lp_b", ""), lpguard::Error);
	fakesys::put(t.root / "var/lib/lp-load/patch.json", R"({"name": "lp_a", "generation": "3"})");
	CHECK(lpguard::installed_patch(paths)->generation == 3);
}

TEST_CASE("boot refuses an installed file older than its record", "[lpload][install][generation]")
{
	fakesys::FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	fakesys::put(t.root / "src/g3.ko", patch_image("lp_a", 3));
	auto p = lpguard::install_patch(paths, t.root / "src/g3.ko", "lp_a", "");
	lpguard::check_installed_generation(*lpguard::installed_patch(paths));

	// Swapped behind lp-load's back for an older patch.
	fakesys::put(p.ko, patch_image("lp_a", 1));
	try {
		lpguard::check_installed_generation(*lpguard::installed_patch(paths));
		FAIL("the older file was accepted");
	} catch (const lpguard::Error &e) {
		CHECK(e.kind() == lpguard::Kind::refused);
		CHECK(std::string(e.what()) == "refusing to apply " + p.ko.string() + ": its generation 1 is lower than generation 3 "
										      "recorded when lp_a was installed: the file was replaced since (install "
										      "a patch of generation 3 or higher with lp-load install)");
	}
	// A newer one passes the generation check (and fails the record's).
	fakesys::put(p.ko, patch_image("lp_a", 4));
	lpguard::check_installed_generation(*lpguard::installed_patch(paths));
	CHECK_THROWS_AS(lpguard::check_installed_file(*lpguard::installed_patch(paths)), lpguard::Error);
	// Not a module: left to the pre-check of the apply, which says why.
	fakesys::put(p.ko, "junk");
	lpguard::check_installed_generation(*lpguard::installed_patch(paths));
}

TEST_CASE("marks go with the file: a new patch clears them, the same file keeps its mark unless cleared",
	  "[lpload][install][boot-check]")
{
	fakesys::FakeTree t;
	lpguard::LpLoadPaths paths{t.root};
	fakesys::put(t.root / "src/a.ko", patch_image("lp_a", 1));
	fakesys::put(t.root / "src/b.ko", patch_image("lp_b", 2));
	const std::string sha_a = sha256(patch_image("lp_a", 1));
	lpguard::install_patch(paths, t.root / "src/a.ko", "lp_a", "");
	auto m = lpguard::mark_patch_bad(paths, sha_a, "lp_a", "the boot of X after applying it did not reach multi-user.target");
	CHECK(m.marked_at.size() == 20);
	auto p = lpguard::installed_patch(paths);
	REQUIRE(p->marked_bad);
	CHECK(p->marked_bad->reason == "the boot of X after applying it did not reach multi-user.target");
	CHECK_THAT(lpguard::status_text(t.sys(), paths),
		   ContainsSubstring(", generation 1 (marked bad: the boot of X after applying it did not reach "
				     "multi-user.target)\n"));
	CHECK(lpguard::status_json(t.sys(), paths)["installed"]["marked_bad"]["reason"] == m.reason);

	// The same file again: still marked.
	CHECK(lpguard::install_patch(paths, t.root / "src/a.ko", "lp_a", "").marked_bad);
	// Unless asked.
	CHECK_FALSE(lpguard::install_patch(paths, t.root / "src/a.ko", "lp_a", "", {true, {}}).marked_bad);
	CHECK_FALSE(fs::exists(paths.marks()));

	// A newer patch clears the mark of the one it replaces.
	lpguard::mark_patch_bad(paths, sha_a, "lp_a", "r");
	CHECK(lpguard::patch_mark(paths, sha_a));
	CHECK_FALSE(lpguard::install_patch(paths, t.root / "src/b.ko", "lp_b", "").marked_bad);
	CHECK_FALSE(lpguard::patch_mark(paths, sha_a));
}
