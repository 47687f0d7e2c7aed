// SPDX-License-Identifier: GPL-2.0
// lp-load status: the active patch, transition, lpguard, taint, installed patch.
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/lpload_status.hpp"

namespace lpload_tool {

void add_status(CLI::App &app, Context &ctx)
{
	static bool json = false;
	auto *sub = app.add_subcommand("status", "Show the active livepatch, transition state, lpguard and taint");
	sub->add_flag("--json", json, "Print as JSON (schema in docs/lp-load.md)");
	sub->callback([&ctx] {
		if (json)
			print_json(lpguard::status_json(ctx.sys, ctx.paths));
		else
			std::cout << lpguard::status_text(ctx.sys, ctx.paths);
		ctx.exit_code = 0;
	});
}

} // namespace lpload_tool
