// SPDX-License-Identifier: GPL-2.0
// The patch kit of a kernel build (scripts/mkpatchkit.sh, docs/kpatch.md):
// its manifest, patch-kit.json, and the checks of a patch against it that
// cvm-cli makes before anything reaches a VM.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

#include "lpguard/core/module_image.hpp"

namespace lpguard {

inline constexpr const char *kPatchKitSchema = "lpguard-patch-kit/1";
inline constexpr const char *kPatchKitManifest = "patch-kit.json";

struct PatchKit {
	std::filesystem::path manifest; // the patch-kit.json read
	std::string kernel_release;	// uname -r of the kit's kernel
	std::string vermagic;		// the kernel's VERMAGIC_STRING, trailing space included
	std::string compiler;		// vmlinux's .comment compiler entry ("GCC: (...) 12.2.0")
	// What cvm-cli preflight boots (files.bzimage, files.preflight_initramfs),
	// resolved against the manifest's directory; empty in kits made before
	// mkpatchkit.sh recorded them, or without lp-load built.
	std::filesystem::path bzimage, preflight_initramfs;

	// Reads PATH/patch-kit.json (PATH a kit directory) or PATH itself (a
	// patch-kit.json). Throws Error (Kind::input) when it is missing, is
	// not JSON, has another schema than lpguard-patch-kit/1, or lacks
	// kernel_release, vermagic or compiler.
	static PatchKit load(const std::filesystem::path &path);
};

// Checks a patch against the kernel of a kit, before it is signed or sent:
// - its vermagic must be the kit's: else Error (Kind::refused), always;
// - its compilers (.comment) must be exactly the kit's compiler, as
//   kpatch-build requires: else Error (Kind::refused), also when .comment
//   names no compiler, unless allow_compiler_mismatch. Then the returned
//   line says what differs ("warning: ..."); nullopt when all matched.
std::optional<std::string> check_patch_against_kit(const ModuleImage &patch, const std::string &patch_path,
						   const PatchKit &kit, bool allow_compiler_mismatch);

} // namespace lpguard
