// SPDX-License-Identifier: GPL-2.0
// lp-load apply PATCH.ko: pre-check, insert, wait out the transition,
// remove what it replaced; on timeout revert.
#include <chrono>
#include <cstdio>
#include <iostream>
#include <unistd.h>

#include "lp-load.hpp"
#include "lpguard/kmod_loader.hpp"
#include "lpguard/lock_file.hpp"
#include "lpguard/lpload_apply.hpp"
#include "lpguard/lpload_exit.hpp"
#include "lpguard/lpload_precheck.hpp"

namespace lpload_tool {

void print_json(const nlohmann::json &j)
{
	std::cout << j.dump(2) << std::endl;
}

static std::chrono::steady_clock::duration seconds(double s)
{
	return std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::duration<double>(s));
}

int run_apply(Context &ctx, const ApplyArgs &args, const char *command)
{
	auto lock = lpguard::LockFile::acquire(ctx.paths.lock());

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
			r.exit_code = lpguard::lpload::exit_precheck;
			r.message = pre.message;
			auto j = lpguard::to_json(r);
			j["command"] = command;
			j["precheck"] = lpguard::to_json(pre);
			print_json(j);
		} else {
			std::cerr << "lp-load: " << pre.message << "\n";
		}
		return lpguard::lpload::exit_precheck;
	}

	lpguard::ApplyRequest req;
	req.ko = args.ko;
	req.name = pre.name;
	req.sha256 = pre.sha256;
	req.wait.timeout = seconds(args.timeout_s);
	req.revert_timeout = seconds(args.revert_timeout_s);
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

	lpguard::KmodLoader loader;
	auto r = lpguard::apply_patch(ctx.sys, loader, req);
	if (drew)
		std::fprintf(stderr, "\r\033[K");

	if (args.json) {
		auto j = lpguard::to_json(r);
		j["command"] = command;
		j["precheck"] = lpguard::to_json(pre);
		print_json(j);
		return r.exit_code;
	}
	if (r.exit_code == lpguard::lpload::exit_ok) {
		std::cout << r.message << "\n";
		for (const auto &m : r.cleanup.removed)
			std::cout << "removed module " << m << "\n";
		return r.exit_code;
	}
	std::cerr << "lp-load: " << r.message << "\n";
	if (!r.blocking.empty())
		std::cerr << "tasks that kept the transition from finishing, with their kernel stacks:\n"
			  << lpguard::format_blocking(r.blocking);
	return r.exit_code;
}

void add_apply(CLI::App &app, Context &ctx)
{
	static ApplyArgs args;
	auto *sub = app.add_subcommand("apply", "Verify PATCH.ko, load it and wait for its transition (the default)");
	sub->add_option("patch", args.ko, "The livepatch module (.ko)")->required();
	sub->add_option("--timeout", args.timeout_s, "Seconds to wait for the transition before reverting")
		->default_val(60)
		->check(CLI::PositiveNumber);
	sub->add_option("--revert-timeout", args.revert_timeout_s, "Seconds to wait for a revert")
		->default_val(60)
		->check(CLI::PositiveNumber);
	sub->add_flag("--json", args.json, "Print the report as JSON (schema in docs/lp-load.md)");
	sub->add_flag("--no-precheck", args.no_precheck,
		      "Load even if lp-load's own checks fail, and let the kernel (lpguard) decide");
	sub->callback([&ctx] { ctx.exit_code = run_apply(ctx, args); });
}

} // namespace lpload_tool
