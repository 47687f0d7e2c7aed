// SPDX-License-Identifier: GPL-2.0
// lp-load boot: apply the installed patch early at boot (systemd unit,
// initramfs init), unless lp_load.enable=0 is on the kernel command line.
#include <iostream>

#include "lp-load.hpp"

namespace lpload_tool {

void setup_boot(CLI::App *sub, Context &ctx)
{
	static ApplyArgs args;
	add_seconds_option(sub, "--timeout", args.timeout_s, "Seconds to wait for the transition before reverting");
	add_json_flag(sub, args.json);
	sub->callback([&ctx] {
		auto say = [&](const std::string &result, const std::string &msg) {
			ctx.outcome = lpguard::Kind::ok;
			if (args.json)
				print_report({{"command", "boot"}, {"result", result}, {"message", msg}}, ctx.outcome);
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
		try {
			lpguard::check_installed_generation(*inst);
		} catch (const lpguard::Error &e) { // an older file than the record
			return report_refusal(ctx, args.json, {{"command", "boot"}}, e);
		}
		args.ko = inst->ko.string();
		ctx.outcome = run_apply(ctx, args, "boot");
	});
}

} // namespace lpload_tool
