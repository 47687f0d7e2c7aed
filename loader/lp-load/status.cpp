// SPDX-License-Identifier: GPL-2.0
// lp-load status: the active patch, transition, lpguard, taint, installed patch.
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/guest/status.hpp"

namespace lpload_tool {

void setup_status(CLI::App *sub, Context &ctx)
{
	static bool json = false;
	add_json_flag(sub, json);
	sub->callback([&ctx] {
		ctx.recover_if_left(json);
		ctx.outcome = lpguard::Kind::ok;
		if (json)
			lpguard::print_json(std::cout, with_recovered(lpguard::status_json(ctx.sys, ctx.paths)));
		else
			std::cout << lpguard::status_text(ctx.sys, ctx.paths);
	});
}

} // namespace lpload_tool
