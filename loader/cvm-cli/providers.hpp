// SPDX-License-Identifier: GPL-2.0
// The provider subcommands (ssh, gcp, azure, aws) that reach a guest, with
// their options, shared by `cvm-cli livepatch` and `cvm-cli attest`.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "lpguard/host/transport.hpp"

namespace cvmcli {

// Makes the provider's transport; tmp is a private directory for its
// control socket and configuration files.
using TransportFactory = std::function<std::unique_ptr<lpguard::Transport>(const std::filesystem::path &tmp)>;

// The guest a command runs against, as the provider subcommand parsed it.
struct ProviderTarget {
	std::string provider; // ssh, gcp, azure, aws
	std::string target;   // the positional target, as given
	// gcp only: the instance, zone and project (for gcloud's other commands).
	std::string gcp_instance;
	std::optional<std::string> gcp_zone, gcp_project;
	TransportFactory make;
};

// Adds ssh, gcp, azure and aws under parent. For each, the target
// positional comes first; then setup(cmd) adds the command's own options
// (into storage it owns) and returns what the subcommand runs with the
// parsed target.
using ProviderSetup = std::function<std::function<void(const ProviderTarget &)>(CLI::App *cmd)>;
void add_provider_commands(CLI::App *parent, const ProviderSetup &setup);

// A private directory under /tmp, removed with its contents.
class TempDir {
public:
	TempDir();
	~TempDir();
	TempDir(const TempDir &) = delete;
	TempDir &operator=(const TempDir &) = delete;
	const std::filesystem::path &path() const { return path_; }

private:
	std::filesystem::path path_;
};

// `bytes` random bytes (OpenSSL RAND_bytes) as lower-case hex.
std::string random_hex(std::size_t bytes);

} // namespace cvmcli
