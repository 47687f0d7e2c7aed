// SPDX-License-Identifier: GPL-2.0
// lp-load verify PATCH.ko: the pre-checks only; the kernel never sees it.
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/guest/precheck.hpp"

namespace lpload_tool {

void setup_verify(CLI::App *sub, Context &ctx)
{
	static std::string ko;
	static bool json = false;
	sub->add_option("patch", ko, "The livepatch module (.ko)")->required();
	add_json_flag(sub, json);
	sub->callback([&ctx] {
		ctx.recover_if_left(json);
		auto r = lpguard::precheck_patch(ko, ctx.sys, ctx.paths.cert_dir());
		ctx.outcome = r.ok ? lpguard::Kind::ok : lpguard::Kind::precheck;
		if (json)
			return lpguard::print_json(std::cout, with_recovered(lpguard::to_json(r)));
		for (const auto &c : r.checks)
			std::cout << (c.ok ? "ok    " : "FAIL  ") << c.check << ": " << c.detail << "\n";
		print_message(ctx.outcome, r.message);
	});
}

} // namespace lpload_tool
