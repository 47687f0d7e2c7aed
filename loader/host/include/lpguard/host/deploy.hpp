// SPDX-License-Identifier: GPL-2.0
// Deploying a signed livepatch to a guest over a Transport: ask the guest for
// its kernel release and lp-load status, refuse a vermagic mismatch, make a
// private directory and refuse when it has less free space than the patch,
// upload under a temporary name, compare SHA-256 on the guest, rename, run
// lp-load. A failed upload is removed, and its message names the free space.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

#include "lpguard/core/error.hpp"
#include "lpguard/host/transport.hpp"

namespace lpguard {

// Remote shell snippets (every value shell-quoted). Exposed for tests.
std::string remote_as_root(const std::string &quoted_command);
std::string remote_probe_command();
std::string remote_prepare_command(const std::string &dir);
std::string remote_install_command(const std::string &dir, const std::string &part, const std::string &final_name,
				   const std::string &sha256);
std::string remote_apply_command(const std::string &dir, const std::string &final_name,
				 std::optional<double> timeout);
std::string remote_cleanup_command(const std::string &dir);
// After a failed upload: the free space where it went (df -Pk), then the cleanup.
std::string remote_df_cleanup_command(const std::string &dir);

// The "Available" column (kB) of `df -Pk DIR` output; nullopt when it does not parse.
std::optional<uint64_t> parse_df_available_kb(const std::string &df_output);

// Exit status of remote_install_command when the checksum differs.
inline constexpr int kRemoteChecksumMismatch = 86;
// Exit status of remote_as_root when sudo would ask for a password.
inline constexpr int kRemoteSudoPassword = 87;
// lp-load's exit status when another lp-load holds its lock (docs/lp-load.md).
inline constexpr int kLpLoadLocked = 7;

struct DeployRequest {
	std::filesystem::path signed_module; // absolute path of the signed patch
	std::string module_name;
	std::string vermagic;
	std::string sha256;	       // of the signed patch file
	std::optional<double> timeout; // lp-load apply --timeout
	std::string remote_dir;	       // e.g. /tmp/cvm-cli-<random>: made by this run only, removed after it
	bool dry_run = false;
};

struct DeployResult {
	Kind kind = Kind::ok; // the outcome; cvm-cli maps it to its exit code
	std::string message;  // one line
	std::string guest_release;
	std::optional<uint64_t> guest_free_kb; // free space where the upload goes, when df answered
	nlohmann::json guest_status;	       // lp-load status --json, or null
	nlohmann::json lp_load;		       // lp-load apply --json, or null
	int lp_load_exit = -1;
	int commands_run = 0;
	int connections_opened = 0; // commands that open a new connection
};

// Runs a command; out null: stdout inherited; background: stdout to /dev/null.
using CommandRunner = std::function<int(const Argv &argv, std::string *out, bool background)>;

// The real runner (run_command).
CommandRunner process_runner();

// In dry-run mode the commands are written to `commands` and not run (the
// guest checks are skipped). Progress lines go to `log`.
DeployResult deploy_livepatch(const Transport &t, const DeployRequest &req, const CommandRunner &run,
			      std::ostream &commands, std::ostream &log);

} // namespace lpguard
