// SPDX-License-Identifier: GPL-2.0
// cvm-cli preflight PATCH.ko --kit DIR: the signed patch tried on the patch
// kit's kernel under QEMU (lpguard/host/preflight.hpp).

#include <iostream>

#include <unistd.h>

#include "commands.hpp"
#include "exit_codes.hpp"
#include "lpguard/core/json.hpp"
#include "lpguard/host/patch_kit.hpp"

namespace cvmcli {

void add_preflight_options(CLI::App *cmd, PreflightOptions &o)
{
	cmd->add_option("--smoke", o.smoke, "Shell command run in the trial VM once the patch is applied")
		->type_name("CMD");
	cmd->add_option("--vm-timeout", o.vm_timeout, "Seconds the whole trial may take, boot included")
		->check(CLI::PositiveNumber)
		->capture_default_str();
	cmd->add_option("--accel", o.accel, "QEMU accelerator: auto (KVM when it boots the guest, else TCG), kvm, tcg")
		->check(CLI::IsMember({"auto", "kvm", "tcg"}))
		->capture_default_str();
}

lpguard::PreflightResult preflight(const lpguard::PreflightOptions &o, const lpguard::PatchKit &kit,
				   const lpguard::ModuleImage &patch)
{
	if (!patch.signature)
		throw lpguard::Error("cannot run preflight of " + o.patch.string(), "the patch is not signed",
				     "sign it with cvm-cli sign (or use cvm-cli livepatch --preflight, which signs it first)",
				     lpguard::Kind::signature);
	return lpguard::run_preflight(o, kit, patch, std::cerr, isatty(2) == 1);
}

namespace {

struct Opts {
	PreflightOptions p;
	KitCheckOptions kit;
	std::string patch;
	bool json = false;
};

void run(const Opts &o)
{
	auto image = lpguard::ModuleImage::from_file(o.patch);
	require_livepatch(image, o.patch);
	check_against_kit(o.kit, image, o.patch);
	auto kit = lpguard::PatchKit::load(o.kit.kit);
	auto p = o.p;
	p.patch = o.patch;
	auto r = preflight(p, kit, image);
	if (o.json) {
		auto j = r.report;
		j["exit_code"] = exit_code(r.kind);
		lpguard::print_json(std::cout, j);
	} else if (r.kind == lpguard::Kind::ok) {
		std::cout << "cvm-cli: " << r.message << "\n";
	} else {
		std::cerr << "cvm-cli: " << r.message << "\n";
	}
	outcome() = r.kind;
}

} // namespace

void add_preflight_command(CLI::App &app)
{
	auto o = std::make_shared<Opts>();
	auto *cmd = app.add_subcommand("preflight", "Try a signed livepatch on the patch kit's kernel under QEMU: apply it, "
						    "run a smoke command, check for WARN, BUG, oops, lockdep and taint");
	cmd->add_option("patch", o->patch, "The signed livepatch module (.ko)")->required();
	add_kit_options(cmd, o->kit);
	cmd->get_option("--kit")->required();
	add_preflight_options(cmd, o->p);
	cmd->add_option("--timeout", o->p.transition_timeout, "Transition timeout passed to lp-load apply (seconds)")
		->check(CLI::PositiveNumber);
	cmd->add_flag("--json", o->json, "Print the report as JSON (schema in docs/cvm-cli.md)");
	cmd->callback([o] { run(*o); });
}

} // namespace cvmcli
