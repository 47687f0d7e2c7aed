// SPDX-License-Identifier: GPL-2.0
// cvm-cli livepatch <provider> <target> PATCH.ko: sign, check the guest,
// upload atomically, run lp-load on the guest and exit with its verdict.

#include <algorithm>
#include <cctype>
#include <iostream>
#include <sstream>

#include "attest.hpp"
#include "commands.hpp"
#include "exit_codes.hpp"
#include "providers.hpp"
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
	std::string key = kDefaultKey, cert = kDefaultCert, hash = "sha256", patch;
	std::optional<uint32_t> generation;
	double timeout = 0;
	bool dry_run = false, json = false, attest = false;
	KitCheckOptions kit;
	std::string preflight_kit;	 // --preflight DIR
	std::string remote_dir = "/tmp"; // --remote-dir: where the private upload directory is made
	PreflightOptions preflight;
	AttestKeyOptions ak;
};

void add_common(CLI::App *cmd, Common &c)
{
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
	cmd->add_option("--remote-dir", c.remote_dir,
			"Directory on the guest where a private cvm-cli-<random> upload directory is made (and removed "
			"after)")
		->type_name("DIR")
		->capture_default_str()
		->check(CLI::Validator(
			[](std::string &s) {
				bool ok = !s.empty() && s[0] == '/' &&
					std::all_of(s.begin(), s.end(), [](char ch) {
						return std::isalnum(static_cast<unsigned char>(ch)) || ch == '/' || ch == '.' ||
							ch == '_' || ch == '-';
					});
				return ok ? std::string() : std::string("an absolute path of letters, digits and /._- only");
			},
			""));
	cmd->add_flag("--dry-run", c.dry_run, "Sign locally and print the exact commands without running them");
	cmd->add_flag("--json", c.json, "Print the outcome as JSON (schema in docs/cvm-cli.md)");
	cmd->add_flag("--attest", c.attest,
		      "Attest right after applying (cvm-cli attest, expecting this patch); the verdict is the last line");
	add_attest_key_options(cmd, c.ak);
}

void run_livepatch(const Common &c, const ProviderTarget &t)
{
	const std::string &provider = t.provider;
	const auto &make = t.make;
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
	std::string sha = sha256_hex(std::span<const uint8_t>(image.bytes.data(), payload), appendix);

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
				nlohmann::json j = {{"provider", provider}, {"target", t.target}, {"patch", patch_json}, {"dry_run", c.dry_run}, {"preflight", preflight_report}, {"exit_code", exit_code(r.kind)}, {"message", r.message}};
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
	// A name of its own per run: two cvm-cli against one guest never share files.
	std::string base = c.remote_dir;
	while (!base.empty() && base.back() == '/')
		base.pop_back();
	req.remote_dir = base + "/cvm-cli-" + random_hex(8);
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
				    {"target", t.target},
				    {"patch", patch_json},
				    {"dry_run", c.dry_run},
				    {"preflight", preflight_report},
				    {"commands", cmds},
				    {"guest_release", res.guest_release.empty() ? nlohmann::json(nullptr) : nlohmann::json(res.guest_release)},
				    {"guest_status", res.guest_status},
				    {"upload_dir", req.remote_dir},
				    {"guest_free_kb", res.guest_free_kb ? nlohmann::json(*res.guest_free_kb) : nlohmann::json(nullptr)},
				    {"lp_load", res.lp_load},
				    {"lp_load_exit", res.lp_load_exit < 0 ? nlohmann::json(nullptr) : nlohmann::json(res.lp_load_exit)},
				    {"exit_code", exit_code(res.kind)},
				    {"message", res.message}};
		if (c.attest && res.kind == lpguard::Kind::ok && !c.dry_run) {
			auto a = attest_guest(attest_request(c.ak, c.patch, sha), t, AttestOutput::json_value);
			res.kind = a.kind;
			j["attest"] = a.json;
			j["exit_code"] = exit_code(res.kind);
		}
		lpguard::print_json(std::cout, j);
	} else if (res.kind == lpguard::Kind::ok) {
		if (!c.dry_run)
			std::cout << "cvm-cli: " << res.message << "\n";
		if (c.attest) {
			auto req = attest_request(c.ak, c.patch, sha);
			req.dry_run = c.dry_run;
			res.kind = attest_guest(req, t, AttestOutput::verdict_line).kind;
		}
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
	add_provider_commands(lp, [](CLI::App *cmd) {
		auto c = std::make_shared<Common>();
		add_common(cmd, *c);
		return std::function<void(const ProviderTarget &)>([c](const ProviderTarget &t) { run_livepatch(*c, t); });
	});
}

} // namespace cvmcli
