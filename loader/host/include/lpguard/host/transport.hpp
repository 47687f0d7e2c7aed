// SPDX-License-Identifier: GPL-2.0
// Reaching a guest: the command lines of each provider (OpenSSH, gcloud,
// az, aws). Commands are argv vectors run without a local shell
// (process.hpp); the one string that reaches the guest's shell is built
// from shell-quoted values only (shell.hpp).
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "lpguard/host/process.hpp"

namespace lpguard {

struct SshTarget {
	std::string user; // empty: ssh's default
	std::string host;
	std::optional<int> port;
	std::string destination() const; // [user@]host, for ssh
	std::string scp_host() const;	 // [user@]host or [user@][v6addr], for scp
};

// [USER@]HOST[:PORT], [USER@][IPV6]:PORT. Refuses values starting with '-'
// and characters that ssh would read as options or patterns.
SshTarget parse_ssh_target(const std::string &s);

// The commands a provider runs. open() returns the commands that establish
// the one shared connection (may be empty: the first run() does it), run()
// one remote shell command over it, upload() a local file to a remote path,
// close() tears the connection down.
class Transport {
public:
	virtual ~Transport() = default;
	virtual std::string name() const = 0;
	virtual std::vector<Argv> open() const = 0;
	virtual Argv run(const std::string &remote_command) const = 0;
	virtual Argv upload(const std::filesystem::path &local, const std::string &remote_path) const = 0;
	virtual std::vector<Argv> close() const = 0;
	// Local programs this transport needs, with the package that provides each.
	virtual std::vector<std::pair<std::string, std::string>> required_tools() const = 0;
};

struct SshOptions {
	SshTarget target;
	std::optional<std::filesystem::path> identity;
	std::vector<std::string> options; // extra -o values
	std::filesystem::path control_path;
	std::optional<std::filesystem::path> config_file; // -F
};

struct GcpOptions {
	std::string vm;
	std::optional<std::string> zone, project;
	bool tunnel_through_iap = false, internal_ip = false;
	std::vector<std::string> ssh_flags;
	std::filesystem::path control_path;
};

struct AzureOptions {
	std::string vm, resource_group;
	std::optional<std::string> local_user;
	std::optional<std::filesystem::path> identity;
	std::filesystem::path config_file; // written by `az ssh config`
	std::filesystem::path control_path;
};

struct AwsOptions {
	std::string instance_id;
	std::string user = "ec2-user";
	std::optional<std::string> region, profile;
	std::optional<std::filesystem::path> identity;
	std::filesystem::path control_path;
};

std::unique_ptr<Transport> make_ssh_transport(SshOptions o);
std::unique_ptr<Transport> make_gcp_transport(GcpOptions o);
std::unique_ptr<Transport> make_azure_transport(AzureOptions o);
std::unique_ptr<Transport> make_aws_transport(AwsOptions o);

// Validators for provider values (throw lpguard::Error, exit code usage).
void check_gcp_name(const std::string &what, const std::string &v);
void check_aws_instance_id(const std::string &v);

} // namespace lpguard
