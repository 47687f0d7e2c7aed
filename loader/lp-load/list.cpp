// SPDX-License-Identifier: GPL-2.0
// lp-load list: loaded livepatch modules and their state.
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/lpload_status.hpp"

namespace lpload_tool {

void add_list(CLI::App &app, Context &ctx)
{
	static bool json = false;
	auto *sub = app.add_subcommand("list", "List loaded livepatch modules: active, in transition, leftover");
	sub->add_flag("--json", json, "Print as JSON (schema in docs/lp-load.md)");
	sub->callback([&ctx] {
		if (json)
			print_json(lpguard::list_json(ctx.sys));
		else
			std::cout << lpguard::list_text(ctx.sys);
		ctx.exit_code = 0;
	});
}

} // namespace lpload_tool
