// SPDX-License-Identifier: GPL-2.0
// lp-load install PATCH.ko / lp-load uninstall: the patch applied at boot.
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/lock_file.hpp"
#include "lpguard/lpload_exit.hpp"
#include "lpguard/lpload_precheck.hpp"

namespace lpload_tool {

void add_install(CLI::App &app, Context &ctx)
{
	static std::string ko;
	static bool json = false, now = false;
	auto *sub = app.add_subcommand("install", "Keep PATCH.ko across reboots (/var/lib/lp-load), replacing any "
						  "installed patch");
	sub->add_option("patch", ko, "The livepatch module (.ko)")->required();
	sub->add_flag("--now", now, "Also apply it now");
	sub->add_flag("--json", json, "Print as JSON (schema in docs/lp-load.md)");
	sub->callback([&ctx] {
		{
			auto lock = lpguard::LockFile::acquire(ctx.paths.lock());
			auto pre = lpguard::precheck_patch(ko, ctx.sys, ctx.paths.cert_dir());
			if (!pre.ok) {
				ctx.exit_code = lpguard::lpload::exit_precheck;
				if (json)
					print_json({{"command", "install"}, {"result", "precheck-failed"},
						    {"exit_code", ctx.exit_code}, {"message", pre.message},
						    {"installed", nullptr}, {"precheck", lpguard::to_json(pre)}});
				else
					std::cerr << "lp-load: " << pre.message << "\n";
				return;
			}
			auto p = lpguard::install_patch(ctx.paths, ko, pre.name, pre.sha256);
			ctx.exit_code = 0;
			std::string msg = "installed " + p.name + " as " + p.ko.string() + "; it is applied at boot";
			if (json && !now)
				print_json({{"command", "install"}, {"result", "installed"}, {"exit_code", 0},
					    {"message", msg}, {"installed", lpguard::to_json(p)},
					    {"precheck", lpguard::to_json(pre)}});
			else if (!json)
				std::cout << msg << "\n";
		}
		if (now) {
			ApplyArgs a;
			a.ko = ctx.paths.installed_ko().string();
			a.json = json;
			ctx.exit_code = run_apply(ctx, a);
		}
	});

	static bool ujson = false;
	auto *un = app.add_subcommand("uninstall", "Stop applying the installed patch at boot (the running "
						   "patch stays; see 'disable')");
	un->add_flag("--json", ujson, "Print as JSON (schema in docs/lp-load.md)");
	un->callback([&ctx] {
		auto lock = lpguard::LockFile::acquire(ctx.paths.lock());
		auto before = lpguard::installed_patch(ctx.paths);
		bool removed = lpguard::uninstall_patch(ctx.paths);
		ctx.exit_code = removed ? lpguard::lpload::exit_ok : lpguard::lpload::exit_not_found;
		std::string msg = removed ? "uninstalled " + (before ? before->name : std::string("the patch")) +
						    "; the running patch stays until 'lp-load disable' or reboot"
					  : "no patch installed in " + ctx.paths.var_dir().string();
		if (ujson)
			print_json({{"command", "uninstall"}, {"result", removed ? "uninstalled" : "none"},
				    {"exit_code", ctx.exit_code}, {"message", msg},
				    {"installed", before ? lpguard::to_json(*before) : nlohmann::json(nullptr)}});
		else
			(removed ? std::cout : std::cerr) << (removed ? "" : "lp-load: ") << msg << "\n";
	});
}

} // namespace lpload_tool
