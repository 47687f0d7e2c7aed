// SPDX-License-Identifier: GPL-2.0
// The command lines of each provider: OpenSSH, gcloud, az, aws.

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <regex>

#include "lpguard/core/error.hpp"
#include "lpguard/host/shell.hpp"
#include "lpguard/host/transport.hpp"

namespace lpguard {

namespace {

constexpr const char *kControlPersist = "300";

[[noreturn]] void bad_value(const std::string &what, const std::string &v, const std::string &rule)
{
	throw Error("invalid " + what + " " + shell_quote(v), rule, "correct the value", Kind::usage);
}

bool all_of(const std::string &s, const char *allowed)
{
	return std::all_of(s.begin(), s.end(), [&](char c) {
		return std::isalnum(static_cast<unsigned char>(c)) || std::strchr(allowed, c);
	});
}

// Flags shared by every ssh/scp invocation of one transport.
struct SshCommon {
	std::filesystem::path control_path;
	std::optional<std::filesystem::path> config_file, identity;
	std::vector<std::string> options;
	std::optional<int> port;

	Argv opts(bool scp) const
	{
		Argv a;
		if (config_file)
			a.insert(a.end(), {"-F", config_file->string()});
		a.insert(a.end(), {"-o", "ControlPath=" + control_path.string()});
		if (identity)
			a.insert(a.end(), {"-i", identity->string()});
		for (const auto &o : options)
			a.insert(a.end(), {"-o", o});
		if (port)
			a.insert(a.end(), {scp ? "-P" : "-p", std::to_string(*port)});
		return a;
	}
	Argv master(const std::string &dest) const
	{
		Argv a{"ssh", "-M", "-N", "-f", "-o", "ControlMaster=yes", "-o",
		       std::string("ControlPersist=") + kControlPersist};
		auto o = opts(false);
		a.insert(a.end(), o.begin(), o.end());
		a.insert(a.end(), {"--", dest});
		return a;
	}
	Argv run(const std::string &dest, const std::string &cmd) const
	{
		Argv a{"ssh", "-o", "ControlMaster=no"};
		auto o = opts(false);
		a.insert(a.end(), o.begin(), o.end());
		a.insert(a.end(), {"--", dest, cmd});
		return a;
	}
	Argv scp(const std::filesystem::path &local, const std::string &remote) const
	{
		Argv a{"scp", "-q", "-o", "ControlMaster=no"};
		auto o = opts(true);
		a.insert(a.end(), o.begin(), o.end());
		a.insert(a.end(), {"--", local.string(), remote});
		return a;
	}
	Argv exit(const std::string &dest) const
	{
		Argv a{"ssh"};
		if (config_file)
			a.insert(a.end(), {"-F", config_file->string()});
		// -q: no "Exit request sent." on stderr.
		a.insert(a.end(), {"-q", "-o", "ControlPath=" + control_path.string(), "-O", "exit", "--", dest});
		return a;
	}
};

void check_remote_path(const std::string &p)
{
	if (p.empty() || p[0] != '/' || !all_of(p, "/._-"))
		bad_value("remote path", p, "remote paths are absolute and use only letters, digits and /._-");
}

void check_local_upload(const std::filesystem::path &p)
{
	if (!p.is_absolute())
		bad_value("upload path", p.string(), "the file to upload must be given by an absolute path");
}

class SshTransport : public Transport {
public:
	explicit SshTransport(SshOptions o) : o_(std::move(o))
	{
		c_.control_path = o_.control_path;
		c_.config_file = o_.config_file;
		c_.identity = o_.identity;
		c_.options = o_.options;
		c_.port = o_.target.port;
		for (const auto &opt : o_.options)
			if (opt.empty() || opt[0] == '-' || opt.find('=') == std::string::npos)
				bad_value("ssh option", opt, "-o takes Name=value, e.g. -o StrictHostKeyChecking=no");
	}
	std::string name() const override { return "ssh"; }
	std::vector<Argv> open() const override { return {c_.master(o_.target.destination())}; }
	Argv run(const std::string &cmd) const override { return c_.run(o_.target.destination(), cmd); }
	Argv upload(const std::filesystem::path &local, const std::string &remote) const override
	{
		check_local_upload(local);
		check_remote_path(remote);
		return c_.scp(local, o_.target.scp_host() + ":" + remote);
	}
	std::vector<Argv> close() const override { return {c_.exit(o_.target.destination())}; }
	std::vector<std::pair<std::string, std::string>> required_tools() const override
	{
		return {{"ssh", "openssh-client"}, {"scp", "openssh-client"}};
	}

private:
	SshOptions o_;
	SshCommon c_;
};

class GcpTransport : public Transport {
public:
	explicit GcpTransport(GcpOptions o) : o_(std::move(o))
	{
		check_gcp_name("VM name", o_.vm);
		if (o_.zone && !(std::regex_match(*o_.zone, std::regex("[a-z]+-[a-z]+[0-9]+-[a-z]"))))
			bad_value("zone", *o_.zone, "a zone looks like us-central1-a");
		if (o_.project && !std::regex_match(*o_.project, std::regex("([a-z0-9.-]+:)?[a-z][a-z0-9-]{4,28}[a-z0-9]")))
			bad_value("project", *o_.project, "a project ID is 6-30 lowercase letters, digits or hyphens");
		if (o_.tunnel_through_iap && o_.internal_ip)
			throw Error("conflicting options", "--tunnel-through-iap and --internal-ip exclude each other",
				    "pass only one of them", Kind::usage);
		for (const auto &f : o_.ssh_flags)
			if (f.empty() || f[0] != '-')
				bad_value("--ssh-flag", f, "each ssh flag starts with '-', e.g. --ssh-flag=-4");
	}
	std::string name() const override { return "gcp"; }
	std::vector<Argv> open() const override { return {}; }
	Argv run(const std::string &cmd) const override
	{
		Argv a{"gcloud", "compute", "ssh", o_.vm};
		common(a);
		for (const auto &f : mux())
			a.push_back("--ssh-flag=" + f);
		for (const auto &f : o_.ssh_flags)
			a.push_back("--ssh-flag=" + f);
		a.push_back("--command=" + cmd);
		return a;
	}
	Argv upload(const std::filesystem::path &local, const std::string &remote) const override
	{
		check_local_upload(local);
		check_remote_path(remote);
		Argv a{"gcloud", "compute", "scp"};
		common(a);
		for (const auto &f : mux())
			a.push_back("--scp-flag=" + f);
		a.insert(a.end(), {local.string(), o_.vm + ":" + remote});
		return a;
	}
	std::vector<Argv> close() const override
	{
		return {{"ssh", "-q", "-o", "ControlPath=" + o_.control_path.string(), "-O", "exit", "--", "gcp-vm"}};
	}
	std::vector<std::pair<std::string, std::string>> required_tools() const override
	{
		return {{"gcloud", "google-cloud-cli (https://cloud.google.com/sdk/docs/install)"},
			{"ssh", "openssh-client"}};
	}

private:
	void common(Argv &a) const
	{
		if (o_.zone)
			a.push_back("--zone=" + *o_.zone);
		if (o_.project)
			a.push_back("--project=" + *o_.project);
		if (o_.tunnel_through_iap)
			a.push_back("--tunnel-through-iap");
		if (o_.internal_ip)
			a.push_back("--internal-ip");
	}
	Argv mux() const
	{
		return {"-oControlMaster=auto", "-oControlPath=" + o_.control_path.string(),
			std::string("-oControlPersist=") + kControlPersist};
	}
	GcpOptions o_;
};

class AzureTransport : public Transport {
public:
	explicit AzureTransport(AzureOptions o) : o_(std::move(o))
	{
		if (!std::regex_match(o_.vm, std::regex("[A-Za-z0-9][A-Za-z0-9._-]{0,63}")))
			bad_value("VM name", o_.vm, "Azure VM names use letters, digits, '.', '_' and '-'");
		if (!std::regex_match(o_.resource_group, std::regex("[A-Za-z0-9._()-]{1,90}")) ||
		    o_.resource_group.back() == '.')
			bad_value("resource group", o_.resource_group,
				  "resource group names use letters, digits and ._()-, not ending in '.'");
		if (o_.local_user && !std::regex_match(*o_.local_user, std::regex("[a-z_][a-z0-9_.-]{0,31}")))
			bad_value("local user", *o_.local_user, "a user name is lowercase letters, digits, _.-");
		c_.control_path = o_.control_path;
		c_.config_file = o_.config_file;
		c_.identity = o_.identity;
	}
	std::string name() const override { return "azure"; }
	std::vector<Argv> open() const override
	{
		Argv cfg{"az", "ssh", "config", "--resource-group", o_.resource_group, "--name", o_.vm,
			 "--file", o_.config_file.string()};
		if (o_.local_user)
			cfg.insert(cfg.end(), {"--local-user", *o_.local_user});
		if (o_.identity)
			cfg.insert(cfg.end(), {"--private-key-file", o_.identity->string()});
		return {cfg, c_.master(alias())};
	}
	Argv run(const std::string &cmd) const override { return c_.run(alias(), cmd); }
	Argv upload(const std::filesystem::path &local, const std::string &remote) const override
	{
		check_local_upload(local);
		check_remote_path(remote);
		return c_.scp(local, alias() + ":" + remote);
	}
	std::vector<Argv> close() const override { return {c_.exit(alias())}; }
	std::vector<std::pair<std::string, std::string>> required_tools() const override
	{
		return {{"az", "azure-cli, with its ssh extension (az extension add --name ssh)"},
			{"ssh", "openssh-client"},
			{"scp", "openssh-client"}};
	}
	// The Host entry `az ssh config` writes: <resource group>-<vm>[-<local user>].
	std::string alias() const
	{
		return o_.resource_group + "-" + o_.vm + (o_.local_user ? "-" + *o_.local_user : "");
	}

private:
	AzureOptions o_;
	SshCommon c_;
};

class AwsTransport : public Transport {
public:
	explicit AwsTransport(AwsOptions o) : o_(std::move(o))
	{
		check_aws_instance_id(o_.instance_id);
		if (!std::regex_match(o_.user, std::regex("[a-z_][a-z0-9_.-]{0,31}")))
			bad_value("user", o_.user, "a user name is lowercase letters, digits, _.-");
		if (o_.region && !std::regex_match(*o_.region, std::regex("[a-z]{2}(-[a-z]+)+-[0-9]")))
			bad_value("region", *o_.region, "a region looks like eu-west-1");
		if (o_.profile && !std::regex_match(*o_.profile, std::regex("[A-Za-z0-9_.+-]{1,64}")))
			bad_value("profile", *o_.profile, "profile names use letters, digits and _.+-");
		// ssh runs ProxyCommand through the user's shell: quote every value.
		std::string proxy = "aws ssm start-session --target %h --document-name AWS-StartSSHSession "
				    "--parameters portNumber=%p";
		if (o_.region)
			proxy += " --region " + shell_quote(*o_.region);
		if (o_.profile)
			proxy += " --profile " + shell_quote(*o_.profile);
		c_.control_path = o_.control_path;
		c_.identity = o_.identity;
		c_.options = {"ProxyCommand=" + proxy};
	}
	std::string name() const override { return "aws"; }
	std::vector<Argv> open() const override { return {c_.master(dest())}; }
	Argv run(const std::string &cmd) const override { return c_.run(dest(), cmd); }
	Argv upload(const std::filesystem::path &local, const std::string &remote) const override
	{
		check_local_upload(local);
		check_remote_path(remote);
		return c_.scp(local, dest() + ":" + remote);
	}
	std::vector<Argv> close() const override { return {c_.exit(dest())}; }
	std::vector<std::pair<std::string, std::string>> required_tools() const override
	{
		return {{"aws", "awscli (AWS CLI v2) and AWS's session-manager-plugin"},
			{"session-manager-plugin", "AWS's session-manager-plugin"},
			{"ssh", "openssh-client"},
			{"scp", "openssh-client"}};
	}

private:
	std::string dest() const { return o_.user + "@" + o_.instance_id; }
	AwsOptions o_;
	SshCommon c_;
};

} // namespace

std::string SshTarget::destination() const { return user.empty() ? host : user + "@" + host; }

std::string SshTarget::scp_host() const
{
	std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
	return user.empty() ? h : user + "@" + h;
}

SshTarget parse_ssh_target(const std::string &s)
{
	const std::string rule = "expected [USER@]HOST[:PORT] (IPv6 as [ADDR]:PORT)";
	SshTarget t;
	std::string rest = s;
	if (std::count(s.begin(), s.end(), '@') > 1)
		bad_value("ssh target", s, rule);
	if (auto at = rest.find('@'); at != std::string::npos) {
		t.user = rest.substr(0, at);
		rest = rest.substr(at + 1);
		if (t.user.empty() || t.user[0] == '-' || !all_of(t.user, "._-"))
			bad_value("ssh target", s, "the user name may use letters, digits and ._- only");
	}
	std::string port;
	if (!rest.empty() && rest[0] == '[') {
		auto close = rest.find(']');
		if (close == std::string::npos)
			bad_value("ssh target", s, rule);
		t.host = rest.substr(1, close - 1);
		std::string after = rest.substr(close + 1);
		if (!after.empty()) {
			if (after[0] != ':')
				bad_value("ssh target", s, rule);
			port = after.substr(1);
			if (port.empty())
				bad_value("ssh target", s, rule);
		}
		if (t.host.find(':') == std::string::npos || !all_of(t.host, ":.%"))
			bad_value("ssh target", s, "the bracketed part must be an IPv6 address");
	} else if (std::count(rest.begin(), rest.end(), ':') == 1) {
		auto colon = rest.find(':');
		t.host = rest.substr(0, colon);
		port = rest.substr(colon + 1);
		if (port.empty())
			bad_value("ssh target", s, rule);
	} else {
		t.host = rest;
	}
	if (t.host.empty() || t.host[0] == '-' || !all_of(t.host, ".-_:%"))
		bad_value("ssh target", s, "the host may use letters, digits and .-_ only (and ':' in IPv6)");
	if (!port.empty()) {
		if (port.size() > 5 || !std::all_of(port.begin(), port.end(), ::isdigit) || std::stoi(port) < 1 ||
		    std::stoi(port) > 65535)
			bad_value("ssh port", port, "a port is a number from 1 to 65535");
		t.port = std::stoi(port);
	}
	return t;
}

void check_gcp_name(const std::string &what, const std::string &v)
{
	// [USER@]INSTANCE; instance names follow RFC 1035 labels (gcloud's rule).
	static const std::regex re("([a-z_][a-z0-9_.-]{0,31}@)?[a-z]([-a-z0-9]{0,61}[a-z0-9])?");
	if (!std::regex_match(v, re))
		bad_value(what, v, "a Compute Engine instance name is [USER@]NAME with NAME lowercase letters, "
				   "digits and '-', starting with a letter");
}

void check_aws_instance_id(const std::string &v)
{
	static const std::regex re("(i|mi)-[0-9a-f]{8,17}");
	if (!std::regex_match(v, re))
		bad_value("instance ID", v, "an instance ID looks like i-0123456789abcdef0");
}

std::unique_ptr<Transport> make_ssh_transport(SshOptions o) { return std::make_unique<SshTransport>(std::move(o)); }
std::unique_ptr<Transport> make_gcp_transport(GcpOptions o) { return std::make_unique<GcpTransport>(std::move(o)); }
std::unique_ptr<Transport> make_azure_transport(AzureOptions o)
{
	return std::make_unique<AzureTransport>(std::move(o));
}
std::unique_ptr<Transport> make_aws_transport(AwsOptions o) { return std::make_unique<AwsTransport>(std::move(o)); }

} // namespace lpguard
