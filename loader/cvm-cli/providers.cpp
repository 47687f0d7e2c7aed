// SPDX-License-Identifier: GPL-2.0
#include "providers.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <openssl/rand.h>

#include "lpguard/core/error.hpp"
#include "lpguard/core/text.hpp"

namespace cvmcli {

namespace {

// An option left empty on the command line means "not given": the transport's own default.
template <class T> std::optional<T> given(const std::string &value)
{
	if (value.empty())
		return std::nullopt;
	return T(value);
}

} // namespace

std::string random_hex(std::size_t bytes)
{
	std::vector<unsigned char> b(bytes);
	if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1)
		throw lpguard::Error("cannot create random bytes", "RAND_bytes failed", "check the system's entropy source",
				     lpguard::Kind::internal);
	return lpguard::hex(b.data(), b.size());
}

TempDir::TempDir()
{
	std::string t = "/tmp/cvm-cli.XXXXXX";
	if (!mkdtemp(t.data()))
		throw lpguard::Error("cannot create a temporary directory under /tmp", std::strerror(errno),
				     "check that /tmp is writable", lpguard::Kind::output);
	path_ = t;
}

TempDir::~TempDir()
{
	std::error_code ec;
	std::filesystem::remove_all(path_, ec);
}

void add_provider_commands(CLI::App *parent, const ProviderSetup &setup)
{
	{
		struct Opts {
			std::string target, identity;
			std::vector<std::string> options;
		};
		auto o = std::make_shared<Opts>();
		auto *cmd = parent->add_subcommand("ssh", "OpenSSH, one multiplexed connection for the whole operation");
		cmd->add_option("target", o->target, "[USER@]HOST[:PORT] (IPv6: [ADDR]:PORT)")->required();
		auto run = setup(cmd);
		cmd->add_option("-i,--identity", o->identity, "ssh private key");
		cmd->add_option("-o,--ssh-option", o->options, "ssh option Name=value (repeatable)");
		cmd->callback([o, run] {
			ProviderTarget t{"ssh", o->target, {}, {}, {}, [o](const std::filesystem::path &tmp) {
						 lpguard::SshOptions s;
						 s.target = lpguard::parse_ssh_target(o->target);
						 s.identity = given<std::filesystem::path>(o->identity);
						 s.options = o->options;
						 s.control_path = tmp / "cm";
						 return lpguard::make_ssh_transport(s);
					 }};
			run(t);
		});
	}
	{
		struct Opts {
			std::string target, zone, project;
			bool iap = false, internal = false;
			std::vector<std::string> ssh_flags;
		};
		auto o = std::make_shared<Opts>();
		auto *cmd = parent->add_subcommand("gcp", "Google Cloud: gcloud compute ssh/scp");
		cmd->add_option("target", o->target, "[USER@]INSTANCE name")->required();
		auto run = setup(cmd);
		cmd->add_option("--zone", o->zone, "Compute Engine zone");
		cmd->add_option("--project", o->project, "Google Cloud project ID");
		auto *iap = cmd->add_flag("--tunnel-through-iap", o->iap, "Connect through Identity-Aware Proxy");
		auto *internal = cmd->add_flag("--internal-ip", o->internal, "Connect to the internal IP");
		iap->excludes(internal);
		cmd->add_option("--ssh-flag", o->ssh_flags, "Extra flag for ssh, as --ssh-flag=-F (repeatable)");
		cmd->callback([o, run] {
			ProviderTarget t;
			t.provider = "gcp";
			t.target = o->target;
			t.gcp_instance = o->target.substr(o->target.find('@') == std::string::npos ? 0 : o->target.find('@') + 1);
			t.gcp_zone = given<std::string>(o->zone);
			t.gcp_project = given<std::string>(o->project);
			t.make = [o](const std::filesystem::path &tmp) {
				lpguard::GcpOptions g;
				g.vm = o->target;
				g.zone = given<std::string>(o->zone);
				g.project = given<std::string>(o->project);
				g.tunnel_through_iap = o->iap;
				g.internal_ip = o->internal;
				g.ssh_flags = o->ssh_flags;
				g.control_path = tmp / "cm";
				return lpguard::make_gcp_transport(g);
			};
			run(t);
		});
	}
	{
		struct Opts {
			std::string target, group, local_user, identity;
		};
		auto o = std::make_shared<Opts>();
		auto *cmd = parent->add_subcommand("azure", "Azure: az ssh config, then OpenSSH with one connection");
		cmd->add_option("target", o->target, "VM name")->required();
		auto run = setup(cmd);
		cmd->add_option("-g,--resource-group", o->group, "Resource group of the VM")->required();
		cmd->add_option("--local-user", o->local_user, "Local user on the VM (default: Azure AD login)");
		cmd->add_option("-i,--identity", o->identity, "ssh private key (with --local-user)");
		cmd->callback([o, run] {
			ProviderTarget t{"azure", o->target, {}, {}, {}, [o](const std::filesystem::path &tmp) {
						 lpguard::AzureOptions a;
						 a.vm = o->target;
						 a.resource_group = o->group;
						 a.local_user = given<std::string>(o->local_user);
						 a.identity = given<std::filesystem::path>(o->identity);
						 a.config_file = tmp / "ssh_config";
						 a.control_path = tmp / "cm";
						 return lpguard::make_azure_transport(a);
					 }};
			run(t);
		});
	}
	{
		struct Opts {
			std::string target, user = "ec2-user", region, profile, identity;
		};
		auto o = std::make_shared<Opts>();
		auto *cmd = parent->add_subcommand("aws", "AWS: OpenSSH through SSM's AWS-StartSSHSession, one connection");
		cmd->add_option("target", o->target, "Instance ID (i-0123456789abcdef0)")->required();
		auto run = setup(cmd);
		cmd->add_option("--user", o->user, "Login user on the instance")->capture_default_str();
		cmd->add_option("--region", o->region, "AWS region");
		cmd->add_option("--profile", o->profile, "AWS CLI profile");
		cmd->add_option("-i,--identity", o->identity, "ssh private key");
		cmd->callback([o, run] {
			ProviderTarget t{"aws", o->target, {}, {}, {}, [o](const std::filesystem::path &tmp) {
						 lpguard::AwsOptions a;
						 a.instance_id = o->target;
						 a.user = o->user;
						 a.region = given<std::string>(o->region);
						 a.profile = given<std::string>(o->profile);
						 a.identity = given<std::filesystem::path>(o->identity);
						 a.control_path = tmp / "cm";
						 return lpguard::make_aws_transport(a);
					 }};
			run(t);
		});
	}
}

} // namespace cvmcli
