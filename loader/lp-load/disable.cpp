// SPDX-License-Identifier: GPL-2.0
// lp-load disable: back to the unpatched kernel, and remove the module.
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/guest/apply.hpp"
#include "lpguard/guest/kmod_loader.hpp"
#include "lpguard/guest/recovery.hpp"

namespace lpload_tool {

void setup_disable(CLI::App *sub, Context &ctx)
{
	static bool json = false;
	static double timeout_s = 60;
	add_seconds_option(sub, "--timeout", timeout_s, "Seconds to wait for the transition before re-enabling");
	add_json_flag(sub, json);
	sub->callback([&ctx] {
		ctx.lock(json);
		lpguard::WaitOptions w;
		w.timeout = lpguard::seconds(timeout_s);
		lpguard::KmodLoader loader;
		// What a killed lp-load leaves for the next one (recovery.hpp).
		auto record = [&ctx](const std::string &name) {
			lpguard::write_inflight(ctx.paths, lpguard::new_inflight("disable", name, "", timeout_s, timeout_s, ctx.sys.kernel_taint(), {}));
		};
		auto r = lpguard::disable_patches(ctx.sys, loader, w, w.timeout, std::chrono::seconds(10), record);
		lpguard::clear_inflight(ctx.paths);
		ctx.outcome = r.kind;
		if (json)
			return print_report(lpguard::to_json(r), r.kind);
		print_message(r.kind, r.message);
		std::cerr << lpguard::format_blocking(r.blocking);
	});
}

} // namespace lpload_tool
