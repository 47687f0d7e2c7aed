// SPDX-License-Identifier: GPL-2.0
// lp-load verify PATCH.ko: the pre-checks only; the kernel never sees it.
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/lpload_exit.hpp"
#include "lpguard/lpload_precheck.hpp"

namespace lpload_tool {

void add_verify(CLI::App &app, Context &ctx)
{
	static std::string ko;
	static bool json = false;
	auto *sub = app.add_subcommand("verify", "Run the pre-checks on PATCH.ko without loading it");
	sub->add_option("patch", ko, "The livepatch module (.ko)")->required();
	sub->add_flag("--json", json, "Print as JSON (schema in docs/lp-load.md)");
	sub->callback([&ctx] {
		auto r = lpguard::precheck_patch(ko, ctx.sys, ctx.paths.cert_dir());
		ctx.exit_code = r.ok ? lpguard::lpload::exit_ok : lpguard::lpload::exit_precheck;
		if (json) {
			print_json(lpguard::to_json(r));
			return;
		}
		for (const auto &c : r.checks)
			std::cout << (c.ok ? "ok    " : "FAIL  ") << c.check << ": " << c.detail << "\n";
		(r.ok ? std::cout : std::cerr) << (r.ok ? "" : "lp-load: ") << r.message << "\n";
	});
}

} // namespace lpload_tool
