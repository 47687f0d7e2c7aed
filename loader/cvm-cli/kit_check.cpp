// SPDX-License-Identifier: GPL-2.0
// --kit DIR [--allow-compiler-mismatch]: the patch's vermagic and compiler
// against the patch kit's kernel (lpguard/host/patch_kit.hpp).

#include <iostream>

#include "commands.hpp"
#include "lpguard/host/patch_kit.hpp"

namespace cvmcli {

void add_kit_options(CLI::App *cmd, KitCheckOptions &o)
{
	auto *kit = cmd->add_option("--kit", o.kit,
				    "Patch kit of the target kernel (directory with patch-kit.json): refuse a patch "
				    "built for another kernel or with another compiler")
			    ->type_name("DIR");
	cmd->add_flag("--allow-compiler-mismatch", o.allow_compiler_mismatch,
		      "Warn instead of refusing a patch whose compiler is not the kit kernel's")
		->needs(kit);
}

void require_livepatch(const lpguard::ModuleImage &image, const std::string &path)
{
	if (!image.is_livepatch())
		throw lpguard::Error("refusing " + path,
				     "it is not a livepatch: no livepatch= tag in .modinfo, module \"" + image.name +
					     "\" would load as an ordinary module",
				     "build it as a livepatch with kpatch-build, or add MODULE_INFO(livepatch, \"Y\")",
				     lpguard::Kind::refused);
}

void check_against_kit(const KitCheckOptions &o, const lpguard::ModuleImage &patch, const std::string &path)
{
	if (o.kit.empty())
		return;
	auto kit = lpguard::PatchKit::load(o.kit);
	if (auto warning = lpguard::check_patch_against_kit(patch, path, kit, o.allow_compiler_mismatch))
		std::cerr << "cvm-cli: " << *warning << "\n";
}

} // namespace cvmcli
