// SPDX-License-Identifier: GPL-2.0
// lp-load apply PATCH.ko: pre-check, insert, wait out the transition,
// remove what it replaced; on timeout revert.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "lp-load.hpp"
#include "lpguard/guest/apply.hpp"
#include "lpguard/guest/boot_check.hpp"
#include "lpguard/guest/kmod_loader.hpp"
#include "lpguard/guest/lock_file.hpp"
#include "lpguard/guest/precheck.hpp"
#include "lpguard/guest/recovery.hpp"

namespace lpload_tool {

ApplyOutcome run_apply(Context &ctx, const ApplyArgs &args, const char *command)
{
	ctx.lock(args.json);

	auto pre = lpguard::precheck_patch(args.ko, ctx.sys, ctx.paths.cert_dir());
	if (!pre.ok && args.no_precheck && !pre.name.empty()) {
		if (!args.json)
			std::cerr << "lp-load: warning: " << pre.message << "; loading anyway (--no-precheck)\n";
	} else if (!pre.ok) {
		if (args.json) {
			lpguard::ApplyReport r;
			r.patch = pre.name;
			r.path = pre.path;
			r.sha256 = pre.sha256;
			r.result = "precheck-failed";
			r.kind = lpguard::Kind::precheck;
			r.message = pre.message;
			auto j = lpguard::to_json(r);
			j["command"] = command;
			j["precheck"] = lpguard::to_json(pre);
			print_report(j, r.kind);
		} else {
			std::cerr << "lp-load: " << pre.message << "\n";
		}
		return {lpguard::Kind::precheck, "", std::nullopt};
	}

	lpguard::ApplyRequest req;
	req.ko = args.ko;
	req.name = pre.name;
	req.sha256 = pre.sha256;
	req.wait.timeout = lpguard::seconds(args.timeout_s);
	req.revert_timeout = lpguard::seconds(args.revert_timeout_s);
	bool tty = !args.json && ::isatty(STDERR_FILENO);
	bool drew = false;
	if (tty) {
		req.wait.progress = [&](const lpguard::TransitionProgress &p) {
			double s = std::chrono::duration<double>(p.elapsed).count();
			std::fprintf(stderr, "\r\033[K%s: %s, %.1f s, %zu task%s not yet %s", p.patch.c_str(),
				     p.target ? "patching" : "reverting", s, p.pending_tasks,
				     p.pending_tasks == 1 ? "" : "s", p.target ? "patched" : "unpatched");
			std::fflush(stderr);
			drew = true;
		};
	}

	// What a killed lp-load leaves for the next one to finish (recovery.hpp),
	// and the taint to compare with once the transition is over.
	const auto taint_before = ctx.sys.kernel_taint();
	const std::string started_at = lpguard::utc_now();
	req.before_insert = [&] {
		lpguard::write_inflight(ctx.paths, lpguard::new_inflight(command, pre.name, pre.sha256, args.timeout_s, args.revert_timeout_s, taint_before, lpguard::enabled_patches(ctx.sys)));
	};

	lpguard::KmodLoader loader;
	auto r = lpguard::apply_patch(ctx.sys, loader, req);
	if (drew)
		std::fprintf(stderr, "\r\033[K");
	lpguard::clear_inflight(ctx.paths);

	// A patch that makes the kernel warn or oops on its way in.
	ApplyOutcome out{r.kind, pre.sha256, std::nullopt};
	if (r.kind == lpguard::Kind::ok || r.kind == lpguard::Kind::cleanup)
		out.marked = lpguard::check_taint_after_apply(ctx.paths, ctx.sys, pre.sha256, pre.name, taint_before,
							      command, started_at);
	if (out.marked)
		r.message += "; marked it bad: " + out.marked->reason +
			" (lp-load boot will not apply it; see the kernel log)";

	if (args.json) {
		auto j = lpguard::to_json(r);
		j["command"] = command;
		j["precheck"] = lpguard::to_json(pre);
		j["marked_bad"] = out.marked ? lpguard::to_json(*out.marked) : lpguard::Json(nullptr);
		print_report(j, r.kind);
		return out;
	}
	print_message(r.kind, r.message);
	if (r.kind == lpguard::Kind::ok)
		for (const auto &m : r.cleanup.removed)
			std::cout << "removed module " << m << "\n";
	std::cerr << lpguard::format_blocking(r.blocking);
	return out;
}

void setup_apply(CLI::App *sub, Context &ctx)
{
	static ApplyArgs args;
	sub->add_option("patch", args.ko, "The livepatch module (.ko)")->required();
	add_seconds_option(sub, "--timeout", args.timeout_s, "Seconds to wait for the transition before reverting");
	add_seconds_option(sub, "--revert-timeout", args.revert_timeout_s, "Seconds to wait for a revert");
	add_json_flag(sub, args.json);
	sub->add_flag("--no-precheck", args.no_precheck,
		      "Load even if lp-load's own checks fail, and let the kernel (lpguard) decide");
	sub->callback([&ctx] { ctx.outcome = run_apply(ctx, args).kind; });
}

} // namespace lpload_tool
