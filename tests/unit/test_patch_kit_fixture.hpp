// SPDX-License-Identifier: GPL-2.0
// A fake patch kit: just patch-kit.json, as scripts/mkpatchkit.sh writes it.
#pragma once

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "test_module_builder.hpp"

namespace lpguard::test {

inline nlohmann::json patch_kit_json(const std::string &compiler = kUbuntuGcc,
				     const std::string &vermagic = "6.12.117 SMP preempt mod_unload ")
{
	return {{"schema", "lpguard-patch-kit/1"},
		{"kernel_release", "6.12.117"},
		{"arch", "x86_64"},
		{"vermagic", vermagic},
		{"compiler", compiler},
		{"compiler_banner", "gcc (Ubuntu 12.3.0-1ubuntu1~22.04) 12.3.0, GNU ld (GNU Binutils for Ubuntu) 2.38"},
		{"debug_info", true},
		{"builders", {"kpatch-build"}}};
}

// Writes dir/patch-kit.json (text as given) and returns dir.
inline std::filesystem::path write_patch_kit_text(const std::filesystem::path &dir, const std::string &text)
{
	std::filesystem::create_directories(dir);
	std::ofstream(dir / "patch-kit.json") << text;
	return dir;
}

inline std::filesystem::path write_patch_kit(const std::filesystem::path &dir, const nlohmann::json &j = patch_kit_json())
{
	return write_patch_kit_text(dir, j.dump(2));
}

} // namespace lpguard::test
