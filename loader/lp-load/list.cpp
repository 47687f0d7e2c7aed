// SPDX-License-Identifier: GPL-2.0
// lp-load list: loaded livepatch modules and their state.
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/guest/status.hpp"

namespace lpload_tool {

void setup_list(CLI::App *sub, Context &ctx)
{
	static bool json = false;
	add_json_flag(sub, json);
	sub->callback([&ctx] {
		ctx.recover_if_left(json);
		ctx.outcome = lpguard::Kind::ok;
		if (json)
			lpguard::print_json(std::cout, with_recovered(lpguard::list_json(ctx.sys)));
		else
			std::cout << lpguard::list_text(ctx.sys);
	});
}

} // namespace lpload_tool
