// SPDX-License-Identifier: GPL-2.0
// lp-load boot: apply the installed patch early at boot (systemd unit,
// initramfs init), unless lp_load.enable=0 is on the kernel command line.
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/lpload_exit.hpp"

namespace lpload_tool {

void add_boot(CLI::App &app, Context &ctx)
{
	static ApplyArgs args;
	auto *sub = app.add_subcommand("boot", "Apply the installed patch (for the boot unit and initramfs)");
	sub->add_option("--timeout", args.timeout_s, "Seconds to wait for the transition before reverting")
		->default_val(60)
		->check(CLI::PositiveNumber);
	sub->add_flag("--json", args.json, "Print the report as JSON (schema in docs/lp-load.md)");
	sub->callback([&ctx] {
		auto say = [&](const std::string &result, const std::string &msg) {
			ctx.exit_code = 0;
			if (args.json)
				print_json({{"command", "boot"}, {"result", result}, {"exit_code", 0}, {"message", msg}});
			else
				std::cout << "lp-load: " << msg << "\n";
		};
		if (!lpguard::boot_apply_enabled(ctx.sys.kernel_cmdline()))
			return say("skipped", "lp_load.enable=0 on the kernel command line: not applying the installed patch");
		auto inst = lpguard::installed_patch(ctx.paths);
		if (!inst)
			return say("none", "no patch installed");
		if (!inst->name.empty()) {
			auto p = ctx.sys.patch(inst->name);
			if (p && p->enabled && !p->transition)
				return say("already-active", inst->name + " is already active");
		}
		args.ko = inst->ko.string();
		ctx.exit_code = run_apply(ctx, args, "boot");
	});
}

} // namespace lpload_tool
