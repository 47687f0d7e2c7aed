// SPDX-License-Identifier: GPL-2.0
// lp-load install PATCH.ko / lp-load uninstall: the patch applied at boot.
#include <iostream>
#include <optional>

#include "lp-load.hpp"
#include "lpguard/guest/precheck.hpp"

namespace lpload_tool {

void setup_install(CLI::App *sub, Context &ctx)
{
	static std::string ko;
	static bool json = false, now = false, clear_mark = false;
	sub->add_option("patch", ko, "The livepatch module (.ko)")->required();
	sub->add_flag("--now", now, "Also apply it now");
	sub->add_flag("--clear-mark", clear_mark,
		      "Clear the mark of a patch marked bad (lp-load boot applies it again)");
	add_json_flag(sub, json);
	sub->callback([&ctx] {
		ctx.lock(json);
		auto pre = lpguard::precheck_patch(ko, ctx.sys, ctx.paths.cert_dir());
		if (!pre.ok) {
			ctx.outcome = lpguard::Kind::precheck;
			if (json)
				print_report({{"command", "install"}, {"result", "precheck-failed"}, {"message", pre.message}, {"installed", nullptr}, {"precheck", lpguard::to_json(pre)}},
					     ctx.outcome);
			else
				print_message(ctx.outcome, pre.message);
			return;
		}
		std::optional<lpguard::InstalledPatch> installed;
		try {
			installed = lpguard::install_patch(ctx.paths, ko, pre.name, pre.sha256, {clear_mark, {}});
		} catch (const lpguard::Error &e) {
			if (e.kind() != lpguard::Kind::refused)
				throw;
			auto old = lpguard::installed_patch(ctx.paths);
			return report_refusal(ctx, json,
					      {{"command", "install"},
					       {"installed", old ? lpguard::to_json(*old) : lpguard::Json(nullptr)},
					       {"precheck", lpguard::to_json(pre)}},
					      e);
		}
		const auto &p = *installed;
		std::string msg, result = "installed";
		if (p.marked_bad) {
			// The same file as the one marked: it stays marked.
			ctx.outcome = lpguard::Kind::marked_bad;
			result = "marked-bad";
			msg = "installed " + p.name + " as " + p.ko.string() + ", but it stays marked bad: " +
				p.marked_bad->reason +
				" (lp-load boot will not apply it; install a fixed patch, or add --clear-mark if the "
				"mark is wrong)";
		} else {
			ctx.outcome = lpguard::Kind::ok;
			msg = "installed " + p.name + " as " + p.ko.string() + "; it is applied at boot";
		}
		bool apply_now = now && ctx.outcome == lpguard::Kind::ok;
		if (json && !apply_now)
			print_report({{"command", "install"}, {"result", result}, {"message", msg}, {"installed", lpguard::to_json(p)}, {"precheck", lpguard::to_json(pre)}},
				     ctx.outcome);
		else if (!json)
			print_message(ctx.outcome, msg);
		if (apply_now) {
			ApplyArgs a;
			a.ko = p.ko.string();
			a.json = json;
			ctx.outcome = run_apply(ctx, a, "install").kind;
		}
	});
}

void setup_uninstall(CLI::App *sub, Context &ctx)
{
	static bool json = false;
	add_json_flag(sub, json);
	sub->callback([&ctx] {
		ctx.lock(json);
		auto before = lpguard::installed_patch(ctx.paths);
		bool removed = lpguard::uninstall_patch(ctx.paths);
		ctx.outcome = removed ? lpguard::Kind::ok : lpguard::Kind::not_found;
		std::string msg = removed ? "uninstalled " + (before ? before->name : std::string("the patch")) +
				"; the running patch stays until 'lp-load disable' or reboot"
					  : "no patch installed in " + ctx.paths.var_dir().string();
		if (json)
			print_report({{"command", "uninstall"}, {"result", removed ? "uninstalled" : "none"}, {"message", msg}, {"installed", before ? lpguard::to_json(*before) : lpguard::Json(nullptr)}},
				     ctx.outcome);
		else
			print_message(ctx.outcome, msg);
	});
}

} // namespace lpload_tool
