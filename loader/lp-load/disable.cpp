// SPDX-License-Identifier: GPL-2.0
// lp-load disable: back to the unpatched kernel, and remove the module.
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/guest/apply.hpp"
#include "lpguard/guest/kmod_loader.hpp"
#include "lpguard/guest/lock_file.hpp"

namespace lpload_tool {

void setup_disable(CLI::App *sub, Context &ctx)
{
	static bool json = false;
	static double timeout_s = 60;
	add_seconds_option(sub, "--timeout", timeout_s, "Seconds to wait for the transition before re-enabling");
	add_json_flag(sub, json);
	sub->callback([&ctx] {
		auto lock = lpguard::LockFile::acquire(ctx.paths.lock());
		lpguard::WaitOptions w;
		w.timeout = lpguard::seconds(timeout_s);
		lpguard::KmodLoader loader;
		auto r = lpguard::disable_patches(ctx.sys, loader, w, w.timeout);
		ctx.outcome = r.kind;
		if (json)
			return print_report(lpguard::to_json(r), r.kind);
		print_message(r.kind, r.message);
		std::cerr << lpguard::format_blocking(r.blocking);
	});
}

} // namespace lpload_tool
