// SPDX-License-Identifier: GPL-2.0
// lp-load boot: apply the installed patch early at boot (systemd unit,
// initramfs init), unless lp_load.enable=0 is on the kernel command line or
// the patch is marked bad. lp-load boot-ok: the boot got to multi-user.target;
// confirm the patch boot applied, or mark it bad (boot_check.hpp).
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/guest/boot_check.hpp"

namespace lpload_tool {

void setup_boot(CLI::App *sub, Context &ctx)
{
	static ApplyArgs args;
	static bool expect_boot_ok = false;
	add_seconds_option(sub, "--timeout", args.timeout_s, "Seconds to wait for the transition before reverting");
	sub->add_flag("--expect-boot-ok", expect_boot_ok,
		      "Record a boot attempt that 'lp-load boot-ok' confirms once the boot reached multi-user.target; "
		      "the next boot marks the patch bad if nothing did (lp-load.service)");
	add_json_flag(sub, args.json);
	sub->callback([&ctx] {
		ctx.lock(args.json);
		auto plan = lpguard::plan_boot(ctx.paths, ctx.sys, expect_boot_ok);
		if (plan.result != "apply") {
			ctx.outcome = plan.kind;
			if (args.json)
				print_report({{"command", "boot"}, {"result", plan.result}, {"message", plan.message}},
					     plan.kind);
			else if (plan.kind == lpguard::Kind::ok)
				std::cout << "lp-load: " << plan.message << "\n";
			else
				std::cerr << "lp-load: " << plan.message << "\n";
			return;
		}
		args.ko = plan.installed->ko.string();
		auto out = run_apply(ctx, args, "boot");
		ctx.outcome = out.kind;
		lpguard::finish_boot(ctx.paths, plan, out.kind, out.marked.has_value());
	});
}

void setup_boot_ok(CLI::App *sub, Context &ctx)
{
	static bool json = false;
	add_json_flag(sub, json);
	sub->callback([&ctx] {
		// An administrator's lp-load may hold the lock: boot-ok waits
		// for it rather than leave the boot unconfirmed.
		ctx.lock_waiting(json, std::chrono::seconds(120));
		auto r = lpguard::confirm_boot(ctx.paths, ctx.sys);
		ctx.outcome = r.kind;
		if (json)
			return print_report(lpguard::to_json(r, ctx.sys.boot_id()), r.kind);
		(r.kind == lpguard::Kind::ok ? std::cout : std::cerr) << "lp-load: " << r.message << "\n";
	});
}

} // namespace lpload_tool
