// SPDX-License-Identifier: GPL-2.0
// cvm-cli livepatch <provider> <target> PATCH.ko: sign, check the guest,
// upload atomically, run lp-load on the guest and exit with its verdict.

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>

#include <openssl/evp.h>
#include <openssl/rand.h>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "lpguard/core/json.hpp"
#include "lpguard/core/module_edit.hpp"
#include "lpguard/core/text.hpp"
#include "lpguard/host/deploy.hpp"
#include "lpguard/host/module_sign.hpp"
#include "lpguard/host/process.hpp"
#include "lpguard/host/transport.hpp"

namespace cvmcli {

namespace {

struct Common {
	std::string key = kDefaultKey, cert = kDefaultCert, hash = "sha256", target, patch;
	std::optional<uint32_t> generation;
	double timeout = 0;
	bool dry_run = false, json = false;
	KitCheckOptions kit;
	std::string preflight_kit; // --preflight DIR
	PreflightOptions preflight;
};

using TransportFactory = std::function<std::unique_ptr<lpguard::Transport>(const std::filesystem::path &tmp)>;

std::string random_hex(std::size_t bytes)
{
	std::vector<unsigned char> b(bytes);
	if (RAND_bytes(b.data(), static_cast<int>(b.size())) != 1)
		throw lpguard::Error("cannot create a random name", "RAND_bytes failed", "check the system's entropy source",
				     lpguard::Kind::internal);
	return lpguard::hex(b.data(), b.size());
}

class TempDir {
public:
	TempDir()
	{
		std::string t = "/tmp/cvm-cli.XXXXXX";
		if (!mkdtemp(t.data()))
			throw lpguard::Error("cannot create a temporary directory under /tmp", std::strerror(errno),
					     "check that /tmp is writable", lpguard::Kind::output);
		path_ = t;
	}
	~TempDir()
	{
		std::error_code ec;
		std::filesystem::remove_all(path_, ec);
	}
	const std::filesystem::path &path() const { return path_; }

private:
	std::filesystem::path path_;
};

void add_common(CLI::App *cmd, Common &c, const char *target_help)
{
	cmd->add_option("target", c.target, target_help)->required();
	cmd->add_option("patch", c.patch, "The livepatch module (.ko); it is signed before upload")->required();
	cmd->add_option("--key", c.key, "Livepatch signing key")->capture_default_str();
	cmd->add_option("--cert", c.cert, "Certificate of the signing key")->capture_default_str();
	cmd->add_option("--hash", c.hash, "Signature digest")
		->check(CLI::IsMember(hash_names()))
		->capture_default_str();
	add_generation_option(cmd, c.generation);
	cmd->add_option("--timeout", c.timeout, "Transition timeout passed to lp-load apply (seconds)")
		->check(CLI::PositiveNumber);
	add_kit_options(cmd, c.kit);
	auto *pf = cmd->add_option("--preflight", c.preflight_kit,
				   "Patch kit whose kernel the signed patch is tried on under QEMU first (cvm-cli "
				   "preflight); nothing reaches the VM when it fails")
			   ->type_name("DIR");
	add_preflight_options(cmd, c.preflight);
	for (const char *name : {"--smoke", "--vm-timeout", "--accel"})
		cmd->get_option(name)->needs(pf);
	cmd->add_flag("--dry-run", c.dry_run, "Sign locally and print the exact commands without running them");
	cmd->add_flag("--json", c.json, "Print the outcome as JSON (schema in docs/cvm-cli.md)");
}

void run_livepatch(const Common &c, const std::string &provider, const TransportFactory &make)
{
	auto image = lpguard::ModuleImage::from_file(c.patch);
	if (c.generation)
		image = lpguard::with_path(c.patch, [&] {
			return lpguard::ModuleImage::from_bytes(lpguard::with_generation(image.bytes, *c.generation));
		});
	require_livepatch(image, c.patch);
	// --preflight DIR is a patch kit too: without --kit, the patch is checked against it.
	auto kit_check = c.kit;
	if (kit_check.kit.empty())
		kit_check.kit = c.preflight_kit;
	check_against_kit(kit_check, image, c.patch);
	std::optional<lpguard::PatchKit> preflight_kit;
	if (!c.preflight_kit.empty())
		preflight_kit = lpguard::PatchKit::load(c.preflight_kit);
	auto key = lpguard::SigningKey::load(c.key, c.cert);
	TempDir tmp;
	auto transport = make(tmp.path());
	if (!c.dry_run)
		for (const auto &[tool, package] : transport->required_tools())
			if (!lpguard::find_program(tool))
				throw lpguard::Error(tool + " not found on PATH", "the " + provider + " provider runs " + tool,
						     "install " + package, lpguard::Kind::remote);

	std::vector<uint8_t> appendix;
	std::size_t payload = lpguard::sign_module(image, key, c.hash, &appendix);
	auto signed_path = tmp.path() / (image.name + ".ko");
	lpguard::write_file_atomic(signed_path, {std::span<const uint8_t>(image.bytes.data(), payload), appendix}, 0600,
				   lpguard::Durability::volatile_);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned md_len = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr) &&
		EVP_DigestUpdate(ctx, image.bytes.data(), payload) &&
		EVP_DigestUpdate(ctx, appendix.data(), appendix.size()) && EVP_DigestFinal_ex(ctx, md, &md_len);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		throw lpguard::Error("cannot hash the signed patch", "EVP_Digest failed", "report this as a bug",
				     lpguard::Kind::internal);
	std::string sha = lpguard::hex(md, md_len);

	const nlohmann::json patch_json = {
		{"path", c.patch}, {"name", image.name}, {"vermagic", image.vermagic}, {"generation", image.generation}, {"sha256_signed", sha}};

	// The trial on the kit's kernel, before any transport command runs.
	nlohmann::json preflight_report = nullptr;
	if (preflight_kit) {
		auto o = c.preflight;
		o.patch = c.patch;
		o.transition_timeout = c.timeout;
		auto r = preflight(o, *preflight_kit, lpguard::ModuleImage::from_file(signed_path));
		preflight_report = r.report;
		preflight_report["exit_code"] = exit_code(r.kind);
		if (r.kind != lpguard::Kind::ok) {
			if (c.json) {
				nlohmann::json j = {{"provider", provider}, {"target", c.target}, {"patch", patch_json}, {"dry_run", c.dry_run}, {"preflight", preflight_report}, {"exit_code", exit_code(r.kind)}, {"message", r.message}};
				lpguard::print_json(std::cout, j);
			} else {
				std::cerr << "cvm-cli: " << r.message << "\n";
			}
			outcome() = r.kind;
			return;
		}
		std::cerr << "cvm-cli: " << r.message << "\n";
	}

	lpguard::DeployRequest req;
	req.signed_module = signed_path;
	req.module_name = image.name;
	req.vermagic = image.vermagic;
	req.sha256 = sha;
	if (c.timeout > 0)
		req.timeout = c.timeout;
	req.remote_dir = "/tmp/cvm-cli-" + random_hex(8);
	req.dry_run = c.dry_run;

	std::ostringstream commands;
	std::ostream null_log(nullptr);
	auto res = lpguard::deploy_livepatch(*transport, req, lpguard::process_runner(),
					     c.json ? static_cast<std::ostream &>(commands) : std::cout,
					     c.json ? null_log : std::cerr);
	if (c.json) {
		nlohmann::json cmds = nlohmann::json::array();
		std::istringstream in(commands.str());
		for (std::string line; std::getline(in, line);)
			cmds.push_back(line);
		nlohmann::json j = {{"provider", provider},
				    {"target", c.target},
				    {"patch", patch_json},
				    {"dry_run", c.dry_run},
				    {"preflight", preflight_report},
				    {"commands", cmds},
				    {"guest_release", res.guest_release.empty() ? nlohmann::json(nullptr) : nlohmann::json(res.guest_release)},
				    {"guest_status", res.guest_status},
				    {"lp_load", res.lp_load},
				    {"lp_load_exit", res.lp_load_exit < 0 ? nlohmann::json(nullptr) : nlohmann::json(res.lp_load_exit)},
				    {"exit_code", exit_code(res.kind)},
				    {"message", res.message}};
		lpguard::print_json(std::cout, j);
	} else if (res.kind == lpguard::Kind::ok) {
		if (!c.dry_run)
			std::cout << "cvm-cli: " << res.message << "\n";
	} else {
		std::cerr << "cvm-cli: " << res.message << "\n";
	}
	outcome() = res.kind;
}

} // namespace

void add_livepatch_command(CLI::App &app)
{
	auto *lp = app.add_subcommand("livepatch", "Sign a livepatch, upload it to a VM and apply it there with lp-load");
	lp->require_subcommand(1);

	{
		struct Opts {
			Common c;
			std::string identity;
			std::vector<std::string> options;
		};
		auto o = std::make_shared<Opts>();
		auto *cmd = lp->add_subcommand("ssh", "OpenSSH, one multiplexed connection for the whole operation");
		add_common(cmd, o->c, "[USER@]HOST[:PORT] (IPv6: [ADDR]:PORT)");
		cmd->add_option("-i,--identity", o->identity, "ssh private key");
		cmd->add_option("-o,--ssh-option", o->options, "ssh option Name=value (repeatable)");
		cmd->callback([o] {
			run_livepatch(o->c, "ssh", [o](const std::filesystem::path &tmp) {
				lpguard::SshOptions s;
				s.target = lpguard::parse_ssh_target(o->c.target);
				if (!o->identity.empty())
					s.identity = o->identity;
				s.options = o->options;
				s.control_path = tmp / "cm";
				return lpguard::make_ssh_transport(s);
			});
		});
	}
	{
		struct Opts {
			Common c;
			std::string zone, project;
			bool iap = false, internal = false;
			std::vector<std::string> ssh_flags;
		};
		auto o = std::make_shared<Opts>();
		auto *cmd = lp->add_subcommand("gcp", "Google Cloud: gcloud compute ssh/scp");
		add_common(cmd, o->c, "[USER@]INSTANCE name");
		cmd->add_option("--zone", o->zone, "Compute Engine zone");
		cmd->add_option("--project", o->project, "Google Cloud project ID");
		auto *iap = cmd->add_flag("--tunnel-through-iap", o->iap, "Connect through Identity-Aware Proxy");
		auto *internal = cmd->add_flag("--internal-ip", o->internal, "Connect to the internal IP");
		iap->excludes(internal);
		cmd->add_option("--ssh-flag", o->ssh_flags, "Extra flag for ssh, as --ssh-flag=-F (repeatable)");
		cmd->callback([o] {
			run_livepatch(o->c, "gcp", [o](const std::filesystem::path &tmp) {
				lpguard::GcpOptions g;
				g.vm = o->c.target;
				if (!o->zone.empty())
					g.zone = o->zone;
				if (!o->project.empty())
					g.project = o->project;
				g.tunnel_through_iap = o->iap;
				g.internal_ip = o->internal;
				g.ssh_flags = o->ssh_flags;
				g.control_path = tmp / "cm";
				return lpguard::make_gcp_transport(g);
			});
		});
	}
	{
		struct Opts {
			Common c;
			std::string group, local_user, identity;
		};
		auto o = std::make_shared<Opts>();
		auto *cmd = lp->add_subcommand("azure", "Azure: az ssh config, then OpenSSH with one connection");
		add_common(cmd, o->c, "VM name");
		cmd->add_option("-g,--resource-group", o->group, "Resource group of the VM")->required();
		cmd->add_option("--local-user", o->local_user, "Local user on the VM (default: Azure AD login)");
		cmd->add_option("-i,--identity", o->identity, "ssh private key (with --local-user)");
		cmd->callback([o] {
			run_livepatch(o->c, "azure", [o](const std::filesystem::path &tmp) {
				lpguard::AzureOptions a;
				a.vm = o->c.target;
				a.resource_group = o->group;
				if (!o->local_user.empty())
					a.local_user = o->local_user;
				if (!o->identity.empty())
					a.identity = o->identity;
				a.config_file = tmp / "ssh_config";
				a.control_path = tmp / "cm";
				return lpguard::make_azure_transport(a);
			});
		});
	}
	{
		struct Opts {
			Common c;
			std::string user = "ec2-user", region, profile, identity;
		};
		auto o = std::make_shared<Opts>();
		auto *cmd = lp->add_subcommand("aws", "AWS: OpenSSH through SSM's AWS-StartSSHSession, one connection");
		add_common(cmd, o->c, "Instance ID (i-0123456789abcdef0)");
		cmd->add_option("--user", o->user, "Login user on the instance")->capture_default_str();
		cmd->add_option("--region", o->region, "AWS region");
		cmd->add_option("--profile", o->profile, "AWS CLI profile");
		cmd->add_option("-i,--identity", o->identity, "ssh private key");
		cmd->callback([o] {
			run_livepatch(o->c, "aws", [o](const std::filesystem::path &tmp) {
				lpguard::AwsOptions a;
				a.instance_id = o->c.target;
				a.user = o->user;
				if (!o->region.empty())
					a.region = o->region;
				if (!o->profile.empty())
					a.profile = o->profile;
				if (!o->identity.empty())
					a.identity = o->identity;
				a.control_path = tmp / "cm";
				return lpguard::make_aws_transport(a);
			});
		});
	}
}

} // namespace cvmcli
