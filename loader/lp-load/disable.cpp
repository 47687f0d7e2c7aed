// SPDX-License-Identifier: GPL-2.0
// lp-load disable: back to the unpatched kernel, and remove the module.
#include <chrono>
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/kmod_loader.hpp"
#include "lpguard/lock_file.hpp"
#include "lpguard/lpload_apply.hpp"

namespace lpload_tool {

void add_disable(CLI::App &app, Context &ctx)
{
	static bool json = false;
	static double timeout_s = 60;
	auto *sub = app.add_subcommand("disable", "Disable the active livepatch and remove its module");
	sub->add_option("--timeout", timeout_s, "Seconds to wait for the transition before re-enabling")
		->default_val(60)
		->check(CLI::PositiveNumber);
	sub->add_flag("--json", json, "Print the report as JSON (schema in docs/lp-load.md)");
	sub->callback([&ctx] {
		auto lock = lpguard::LockFile::acquire(ctx.paths.lock());
		lpguard::WaitOptions w;
		w.timeout = std::chrono::duration_cast<lpguard::Clock::duration>(std::chrono::duration<double>(timeout_s));
		lpguard::KmodLoader loader;
		auto r = lpguard::disable_patches(ctx.sys, loader, w, w.timeout);
		ctx.exit_code = r.exit_code;
		if (json) {
			print_json(lpguard::to_json(r));
			return;
		}
		(r.exit_code == 0 ? std::cout : std::cerr) << (r.exit_code == 0 ? "" : "lp-load: ") << r.message << "\n";
		if (!r.blocking.empty())
			std::cerr << "tasks that kept the transition from finishing, with their kernel stacks:\n"
				  << lpguard::format_blocking(r.blocking);
	});
}

} // namespace lpload_tool
