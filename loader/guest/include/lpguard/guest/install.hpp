// SPDX-License-Identifier: GPL-2.0
// Keeping one (cumulative) patch across reboots: /var/lib/lp-load/patch.ko
// plus a small JSON record, applied at boot by 'lp-load boot' unless the
// kernel command line says lp_load.enable=0.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace lpguard {

// Where lp-load keeps its state; everything under a root for tests.
struct LpLoadPaths {
	std::filesystem::path root = "/";
	std::filesystem::path lock() const { return root / "run/lp-load.lock"; }
	std::filesystem::path var_dir() const { return root / "var/lib/lp-load"; }
	std::filesystem::path installed_ko() const { return var_dir() / "patch.ko"; }
	std::filesystem::path installed_record() const { return var_dir() / "patch.json"; }
	std::filesystem::path cert_dir() const { return root / "etc/lp-load/certs"; }
};

struct InstalledPatch {
	std::string name;
	std::string sha256;
	std::string source;	  // the path it was installed from
	std::string installed_at; // UTC, ISO 8601
	uint32_t generation = 0;  // lpguard.generation of the module when it was installed
	std::filesystem::path ko;
};

// Copies the module (atomically: temporary file, fsync, rename) and records it,
// with its generation. Replaces any earlier installed patch, but never by one
// of a lower generation (Error of Kind::refused naming both). Throws lpguard::Error.
InstalledPatch install_patch(const LpLoadPaths &paths, const std::filesystem::path &ko, const std::string &name,
			     const std::string &sha256);
// Removes the installed patch; false when none was installed.
bool uninstall_patch(const LpLoadPaths &paths);
// The installed patch, as recorded. A record without a generation (written
// by an older lp-load) gets the generation of the installed module.
std::optional<InstalledPatch> installed_patch(const LpLoadPaths &paths);

// Throws Error (Kind::refused) when the installed module is of a lower
// generation than its record: the file was replaced by an older patch
// since it was installed. A file that cannot be read as a module passes:
// the pre-check of the apply refuses it, with the reason.
void check_installed_generation(const InstalledPatch &p);

// False when the command line carries lp_load.enable=0 (or n/no/off/false);
// the last occurrence wins, as for kernel parameters.
bool boot_apply_enabled(const std::string &cmdline);

nlohmann::json to_json(const InstalledPatch &p);

} // namespace lpguard
