// SPDX-License-Identifier: GPL-2.0
// cvm-cli subcommands: each file adds one to the application.
#pragma once

#include <cstdint>
#include <optional>

#include <CLI/CLI.hpp>

#include "lpguard/core/error.hpp"
#include "lpguard/core/module_image.hpp"
#include "lpguard/host/patch_kit.hpp"
#include "lpguard/host/preflight.hpp"

namespace cvmcli {

void add_generate_keys_command(CLI::App &app);
void add_sign_command(CLI::App &app);
void add_verify_command(CLI::App &app);
void add_inspect_command(CLI::App &app);
void add_livepatch_command(CLI::App &app);
void add_preflight_command(CLI::App &app);

// Default key paths (the output of generate-livepatch-keys without --out).
inline constexpr const char *kDefaultKey = "keys/livepatch.key";
inline constexpr const char *kDefaultCert = "keys/livepatch.crt";

// Certificates from files and directories (verify.cpp).
std::vector<lpguard::Certificate> load_certs(const std::vector<std::string> &paths);

// --kit DIR and --allow-compiler-mismatch (kit_check.cpp): a patch checked
// against the kernel of a patch kit before anything else is done with it.
struct KitCheckOptions {
	std::string kit;
	bool allow_compiler_mismatch = false;
};
void add_kit_options(CLI::App *cmd, KitCheckOptions &o);
// Nothing without --kit; throws the refusal, or prints the warning on stderr.
void check_against_kit(const KitCheckOptions &o, const lpguard::ModuleImage &patch, const std::string &path);

// Refuses (Kind::refused) a module without the livepatch modinfo tag.
void require_livepatch(const lpguard::ModuleImage &image, const std::string &path);

// cvm-cli preflight (preflight.cpp), also run by livepatch --preflight.
using lpguard::PreflightOptions;
// --smoke, --vm-timeout, --accel.
void add_preflight_options(CLI::App *cmd, PreflightOptions &o);
// The trial of a signed patch (o.patch names it in the report), with
// progress on stderr; throws the Error that keeps it from running.
lpguard::PreflightResult preflight(const PreflightOptions &o, const lpguard::PatchKit &kit,
				   const lpguard::ModuleImage &patch);

// The outcome of the subcommand that ran, when it did not throw (set by its
// callback; main maps it to the exit code).
lpguard::Kind &outcome();

// The --hash values: the digests module signatures may use.
std::vector<std::string> hash_names();

// --generation N: lpguard.generation=N written into .modinfo before signing
// (sign.cpp). N is what lpguard accepts: 0 to 4294967295.
void add_generation_option(CLI::App *cmd, std::optional<uint32_t> &generation);

} // namespace cvmcli
