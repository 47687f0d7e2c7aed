// SPDX-License-Identifier: GPL-2.0
// patch-kit.json and the checks of a patch against the kit's kernel.

#include <algorithm>
#include <system_error>

#include <nlohmann/json.hpp>

#include "lpguard/core/io.hpp"
#include "lpguard/core/text.hpp"
#include "lpguard/host/patch_kit.hpp"

namespace lpguard {

namespace {

const char *const kRemake = "make the kit again with scripts/mkpatchkit.sh KOUT";

std::string quoted(const std::string &s)
{
	return "\"" + printable(s) + "\"";
}

// "A", "A" and "B", "A", "B" and "C"
std::string quoted_list(const std::vector<std::string> &items)
{
	std::string out;
	for (std::size_t i = 0; i < items.size(); i++) {
		if (i > 0)
			out += i + 1 == items.size() ? " and " : ", ";
		out += quoted(items[i]);
	}
	return out;
}

} // namespace

PatchKit PatchKit::load(const std::filesystem::path &path)
{
	PatchKit kit;
	std::error_code ec;
	kit.manifest = std::filesystem::is_regular_file(path, ec) ? path : path / kPatchKitManifest;
	auto bytes = read_file(kit.manifest, "patch kit", Kind::input,
			       std::string("a kit without ") + kPatchKitManifest +
				       " is incomplete: pass the directory scripts/mkpatchkit.sh made (KOUT/patch-kit), or " +
				       kRemake);
	auto invalid = [&](const std::string &why, const std::string &todo = kRemake) {
		return Error("invalid patch kit " + kit.manifest.string(), why, todo, Kind::input).path_named();
	};
	auto j = nlohmann::json::parse(bytes.begin(), bytes.end(), nullptr, false);
	if (j.is_discarded() || !j.is_object())
		throw invalid("not a JSON object");
	auto schema = j.find("schema");
	if (schema == j.end() || !schema->is_string())
		throw invalid("no \"schema\" string");
	if (*schema != kPatchKitSchema)
		throw invalid("schema is " + quoted(schema->get<std::string>()) + ", not " + kPatchKitSchema,
			      std::string("use a cvm-cli that reads it, or ") + kRemake);
	auto field = [&](const char *name) {
		auto f = j.find(name);
		if (f == j.end() || !f->is_string() || f->get<std::string>().empty())
			throw invalid(std::string("\"") + name + "\" is missing or not a non-empty string; the kit is incomplete");
		return f->get<std::string>();
	};
	kit.kernel_release = field("kernel_release");
	kit.vermagic = field("vermagic");
	kit.compiler = field("compiler");
	auto files = j.find("files");
	auto file = [&](const char *name) -> std::filesystem::path {
		if (files == j.end() || !files->is_object())
			return {};
		auto f = files->find(name);
		if (f == files->end() || !f->is_object() || !f->contains("path") || !(*f)["path"].is_string())
			return {};
		return kit.manifest.parent_path() / (*f)["path"].get<std::string>();
	};
	kit.bzimage = file("bzimage");
	kit.preflight_initramfs = file("preflight_initramfs");
	return kit;
}

std::optional<std::string> check_patch_against_kit(const ModuleImage &patch, const std::string &patch_path,
						   const PatchKit &kit, bool allow_compiler_mismatch)
{
	const std::string of_kit = "the kernel of patch kit " + kit.manifest.string();
	if (patch.vermagic != kit.vermagic)
		throw Error("refusing " + patch_path,
			    "it was built for vermagic " + quoted(patch.vermagic) + ", " + of_kit + " has " +
				    quoted(kit.vermagic),
			    "build the patch against the kit's kernel " + kit.kernel_release +
				    " (docs/kpatch.md), or pass the kit of the kernel it was built for",
			    Kind::refused)
			.path_named();
	const auto &c = patch.compilers;
	bool match = !c.empty() && std::all_of(c.begin(), c.end(), [&](const auto &x) { return x == kit.compiler; });
	if (match)
		return std::nullopt;
	std::string why = c.empty() ? "its .comment section names no compiler, so it cannot be checked against " +
			of_kit + ", compiled by " + quoted(kit.compiler)
				    : "it was compiled by " + quoted_list(c) + ", " + of_kit + " by " + quoted(kit.compiler);
	why += "; kpatch-build requires the kernel's exact compiler, and code from another one may not match the "
	       "kernel it patches";
	if (allow_compiler_mismatch)
		return "warning: " + patch_path + ": " + why + "; applying it anyway (--allow-compiler-mismatch)";
	throw Error("refusing " + patch_path, why,
		    "build the patch with the image's exact toolchain (docs/kpatch.md, \"The image's exact "
		    "toolchain\"), or pass --allow-compiler-mismatch",
		    Kind::refused)
		.path_named();
}

} // namespace lpguard
