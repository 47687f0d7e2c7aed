// SPDX-License-Identifier: GPL-2.0
// Keeping one (cumulative) patch across reboots in /var/lib/lp-load, applied
// at boot by 'lp-load boot' unless the kernel command line says
// lp_load.enable=0.
//
// Layout: the module under its content's name, patch-<sha256>.ko, and the
// record patch.json that names it. Replacing the record is the one commit
// point of an install: a power cut at any moment leaves the old record
// (naming the old module, still there) or the new one (naming the new module,
// written and synced before it). Files the record does not name are removed
// after the commit. An install by an older lp-load (patch.ko, a record
// without "file") is still read.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

namespace lpguard {

// Where lp-load keeps its state; everything under a root for tests.
struct LpLoadPaths {
	std::filesystem::path root = "/";
	std::filesystem::path lock() const { return root / "run/lp-load.lock"; }
	std::filesystem::path run_dir() const { return root / "run/lp-load"; }
	// The transition an lp-load is waiting for (recovery.hpp).
	std::filesystem::path inflight() const { return run_dir() / "transition.json"; }
	std::filesystem::path var_dir() const { return root / "var/lib/lp-load"; }
	std::filesystem::path installed_record() const { return var_dir() / "patch.json"; }
	// The installed module: content-addressed.
	std::filesystem::path module_file(const std::string &sha256) const
	{
		return var_dir() / ("patch-" + sha256 + ".ko");
	}
	// Where an older lp-load kept the installed module.
	std::filesystem::path legacy_ko() const { return var_dir() / "patch.ko"; }
	// Patches marked bad (boot_check.hpp), by SHA-256.
	std::filesystem::path marks() const { return var_dir() / "marks.json"; }
	// The boot that applied the installed patch, until 'lp-load boot-ok' confirms it.
	std::filesystem::path boot_attempt() const { return var_dir() / "boot-attempt.json"; }
	std::filesystem::path cert_dir() const { return root / "etc/lp-load/certs"; }
};

// A patch marked bad: 'lp-load boot' does not apply it.
struct PatchMark {
	std::string sha256;
	std::string name;
	std::string reason;    // one line, e.g. "the boot of ... did not reach multi-user.target"
	std::string marked_at; // UTC, ISO 8601
};

struct InstalledPatch {
	std::string name;
	std::string sha256;	  // as recorded (the file's own when there is no record)
	std::string source;	  // the path it was installed from
	std::string installed_at; // UTC, ISO 8601
	uint32_t generation = 0;  // lpguard.generation of the module when it was installed
	std::filesystem::path ko;
	std::string file_sha256; // of the file as it is now ("" when it cannot be read)
	// Why the file is not what the record describes ("" when it is): its
	// SHA-256 differs, or it is missing. 'lp-load boot' refuses such a file.
	std::string problem;
	std::optional<PatchMark> marked_bad; // a mark on file_sha256
};

struct InstallOptions {
	bool clear_mark = false; // also clear a mark on this very file
	// Called after each step ("module", "record", "marks", "removed") and
	// before each file it removes ("removing"): the tests cut the install
	// short there.
	std::function<void(const std::string &step)> after_step;
};

// Copies the module durably under its content's name, then commits the
// record that names it, then removes what the record no longer names.
// Replaces any earlier installed patch, but never by one of a lower
// generation (Error of Kind::refused naming both). A mark on the new file's
// SHA-256 stays unless clear_mark; marks on other patches are dropped.
// Throws lpguard::Error.
InstalledPatch install_patch(const LpLoadPaths &paths, const std::filesystem::path &ko, const std::string &name,
			     const std::string &sha256, const InstallOptions &opts = {});
// Removes the installed patch; false when none was installed.
bool uninstall_patch(const LpLoadPaths &paths);
// The installed patch, as recorded, with the file checked against the record.
// A record without a generation (written by an older lp-load) gets the
// generation of the installed module.
std::optional<InstalledPatch> installed_patch(const LpLoadPaths &paths);

// Throws Error (Kind::refused) when the installed file is not what its record
// says (InstalledPatch::problem): changed or removed since it was installed.
void check_installed_file(const InstalledPatch &p);

// Throws Error (Kind::refused) when the installed module is of a lower
// generation than its record: the file was replaced by an older patch
// since it was installed. A file that cannot be read as a module passes:
// the pre-check of the apply refuses it, with the reason.
void check_installed_generation(const InstalledPatch &p);

// The mark on a patch, by the SHA-256 of its file.
std::optional<PatchMark> patch_mark(const LpLoadPaths &paths, const std::string &sha256);
// Marks a patch bad (durably; replaces an earlier mark of the same SHA-256).
PatchMark mark_patch_bad(const LpLoadPaths &paths, const std::string &sha256, const std::string &name,
			 const std::string &reason);

// False when the command line carries lp_load.enable=0 (or n/no/off/false);
// the last occurrence wins, as for kernel parameters.
bool boot_apply_enabled(const std::string &cmdline);

// UTC now, ISO 8601 ("2026-01-31T12:00:00Z").
std::string utc_now();
// SHA-256 of a file, hex; "" when it cannot be read.
std::string file_sha256(const std::filesystem::path &path);

nlohmann::json to_json(const PatchMark &m);
nlohmann::json to_json(const InstalledPatch &p);

} // namespace lpguard
