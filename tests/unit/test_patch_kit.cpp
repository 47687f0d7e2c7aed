// SPDX-License-Identifier: GPL-2.0
// patch-kit.json, and a patch's vermagic and compiler against the kit's kernel.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "lpguard/host/patch_kit.hpp"
#include "test_module_keys.hpp"
#include "test_patch_kit_fixture.hpp"

using namespace lpguard;
using namespace lpguard::test;
using Catch::Matchers::ContainsSubstring;

namespace {

Error load_error(const std::filesystem::path &path)
{
	try {
		PatchKit::load(path);
	} catch (const Error &e) {
		return e;
	}
	FAIL("the kit was accepted");
	return Error("", "", "", Kind::ok);
}

ModuleImage patch(const std::vector<std::string> &comment, const std::string &vermagic = "6.12.117 SMP preempt mod_unload ")
{
	return ModuleImage::from_bytes(build_module("lp_kit", true, vermagic, comment).bytes);
}

std::string refusal(const ModuleImage &m, const PatchKit &kit)
{
	try {
		check_patch_against_kit(m, "lp.ko", kit, false);
	} catch (const Error &e) {
		CHECK(e.kind() == Kind::refused);
		return e.what();
	}
	FAIL("the patch was accepted");
	return "";
}

} // namespace

TEST_CASE("a patch kit's manifest is read from its directory or as a file", "[patch-kit]")
{
	auto dir = write_patch_kit(scratch_dir() / "kit-good");
	auto kit = PatchKit::load(dir);
	CHECK(kit.manifest == dir / "patch-kit.json");
	CHECK(kit.kernel_release == "6.12.117");
	CHECK(kit.vermagic == "6.12.117 SMP preempt mod_unload ");
	CHECK(kit.compiler == kUbuntuGcc);
	CHECK(PatchKit::load(dir / "patch-kit.json").compiler == kUbuntuGcc);
	// A kit made before bzImage and the preflight guest were recorded.
	CHECK(kit.bzimage.empty());
	CHECK(kit.preflight_initramfs.empty());
}

TEST_CASE("a patch kit's bzImage and preflight guest are resolved against its directory", "[patch-kit]")
{
	auto j = patch_kit_json();
	j["files"] = {{"bzimage", {{"path", "bzImage"}, {"sha256", "00"}}},
		      {"preflight_initramfs", {{"path", "preflight-initramfs.cpio.gz"}, {"sha256", "00"}}}};
	auto dir = write_patch_kit(scratch_dir() / "kit-preflight", j);
	auto kit = PatchKit::load(dir);
	CHECK(kit.bzimage == dir / "bzImage");
	CHECK(kit.preflight_initramfs == dir / "preflight-initramfs.cpio.gz");
}

TEST_CASE("a missing, malformed or incomplete patch kit is refused with one line", "[patch-kit]")
{
	auto base = scratch_dir() / "kit-bad";
	std::filesystem::create_directories(base / "empty");
	auto e = load_error(base / "empty");
	CHECK(e.kind() == Kind::input);
	CHECK(std::string(e.what()) ==
	      "cannot read patch kit " + (base / "empty/patch-kit.json").string() +
		      ": No such file or directory (a kit without patch-kit.json is incomplete: pass the directory "
		      "scripts/mkpatchkit.sh made (KOUT/patch-kit), or make the kit again with scripts/mkpatchkit.sh KOUT)");

	auto invalid = [&](const std::string &name, const std::string &text) {
		auto err = load_error(write_patch_kit_text(base / name, text));
		CHECK(err.kind() == Kind::input);
		CHECK_THAT(std::string(err.what()), Catch::Matchers::StartsWith("invalid patch kit " + (base / name / "patch-kit.json").string() + ": "));
		return std::string(err.what());
	};
	CHECK_THAT(invalid("truncated", "{\"schema\": \"lpguard-patch-kit/1\""), ContainsSubstring(": not a JSON object ("));
	CHECK_THAT(invalid("array", "[]"), ContainsSubstring(": not a JSON object ("));
	CHECK_THAT(invalid("noschema", "{}"), ContainsSubstring(": no \"schema\" string ("));
	auto j = patch_kit_json();
	j["schema"] = "lpguard-patch-kit/2";
	CHECK_THAT(invalid("schema2", j.dump()),
		   ContainsSubstring(": schema is \"lpguard-patch-kit/2\", not lpguard-patch-kit/1 (use a cvm-cli that reads it"));
	for (const char *field : {"kernel_release", "vermagic", "compiler"}) {
		auto k = patch_kit_json();
		k.erase(field);
		CHECK_THAT(invalid(std::string("no-") + field, k.dump()),
			   ContainsSubstring(std::string(": \"") + field + "\" is missing or not a non-empty string; the kit is incomplete (make the kit again with scripts/mkpatchkit.sh KOUT)"));
		k[field] = "";
		CHECK_THAT(invalid(std::string("empty-") + field, k.dump()), ContainsSubstring("is missing or not a non-empty string"));
	}
}

TEST_CASE("a patch must have the kit's vermagic and compiler", "[patch-kit]")
{
	auto kit = PatchKit::load(write_patch_kit(scratch_dir() / "kit-check"));
	auto m = kit.manifest.string();
	CHECK_FALSE(check_patch_against_kit(patch({kUbuntuGcc, kUbuntuGcc}), "lp.ko", kit, false));

	const std::string todo = " (build the patch with the image's exact toolchain (docs/kpatch.md, \"The image's "
				 "exact toolchain\"), or pass --allow-compiler-mismatch)";
	const std::string why = "; kpatch-build requires the kernel's exact compiler, and code from another one may not "
				"match the kernel it patches";
	CHECK(refusal(patch({kDebianGcc}), kit) == "refusing lp.ko: it was compiled by \"" + std::string(kDebianGcc) + "\", the kernel of patch kit " + m + " by \"" + kUbuntuGcc + "\"" + why + todo);
	// Any entry other than the kit's counts, also beside the kit's.
	CHECK_THAT(refusal(patch({kUbuntuGcc, kDebianGcc, "clang version 16.0.6"}), kit),
		   ContainsSubstring("compiled by \"" + std::string(kUbuntuGcc) + "\", \"" + kDebianGcc +
				     "\" and \"clang version 16.0.6\", the kernel"));
	CHECK(refusal(patch({}), kit) == "refusing lp.ko: its .comment section names no compiler, so it cannot be "
					 "checked against the kernel of patch kit " +
		      m + ", compiled by \"" + kUbuntuGcc + "\"" + why + todo);
	// Untrusted bytes are shown escaped.
	CHECK_THAT(refusal(patch({"GCC: \x1b[2J"}), kit), ContainsSubstring("compiled by \"GCC: \\x1b[2J\""));

	// --allow-compiler-mismatch: a warning instead.
	auto w = check_patch_against_kit(patch({kDebianGcc}), "lp.ko", kit, true);
	REQUIRE(w);
	CHECK(*w == "warning: lp.ko: it was compiled by \"" + std::string(kDebianGcc) + "\", the kernel of patch kit " + m + " by \"" + kUbuntuGcc + "\"" + why + "; applying it anyway (--allow-compiler-mismatch)");
	CHECK(check_patch_against_kit(patch({}), "lp.ko", kit, true));

	// Another kernel: refused whatever the flag says.
	for (bool allow : {false, true}) {
		try {
			check_patch_against_kit(patch({kUbuntuGcc}, "6.12.118 SMP preempt mod_unload "), "lp.ko", kit, allow);
			FAIL("another kernel's patch was accepted");
		} catch (const Error &e) {
			CHECK(e.kind() == Kind::refused);
			CHECK(std::string(e.what()) ==
			      "refusing lp.ko: it was built for vermagic \"6.12.118 SMP preempt mod_unload \", the kernel of "
			      "patch kit " +
				      m + " has \"6.12.117 SMP preempt mod_unload \" (build the patch against the "
					  "kit's kernel 6.12.117 (docs/kpatch.md), or pass the kit of the kernel it was built for)");
		}
	}
}
