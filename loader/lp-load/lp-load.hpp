// SPDX-License-Identifier: GPL-2.0
// lp-load: one file per subcommand; this header is what they share.
#pragma once

#include <string>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "lpguard/livepatch_sysfs.hpp"
#include "lpguard/lpload_install.hpp"

namespace lpload_tool {

struct Context {
	lpguard::LpLoadPaths paths;           // /run, /var/lib/lp-load, /etc/lp-load/certs
	lpguard::LivepatchSysfs sys{"/"};     // /sys and /proc
	int exit_code = 0;                    // set by the subcommand that ran
};

struct ApplyArgs {
	std::string ko;
	double timeout_s = 60;
	double revert_timeout_s = 60;
	bool json = false;
	bool no_precheck = false; // let the kernel (lpguard) decide; the image must still parse
};

// apply and boot share this: pre-check, lock, insert, wait, report.
int run_apply(Context &ctx, const ApplyArgs &args, const char *command = "apply");

void print_json(const nlohmann::json &j);

void add_apply(CLI::App &app, Context &ctx);
void add_status(CLI::App &app, Context &ctx);
void add_list(CLI::App &app, Context &ctx);
void add_disable(CLI::App &app, Context &ctx);
void add_verify(CLI::App &app, Context &ctx);
void add_install(CLI::App &app, Context &ctx);
void add_boot(CLI::App &app, Context &ctx);

} // namespace lpload_tool
