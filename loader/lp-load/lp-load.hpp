// SPDX-License-Identifier: GPL-2.0
// lp-load: one file per subcommand; this header is what they share.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "lpguard/core/error.hpp"
#include "lpguard/core/json.hpp"
#include "lpguard/guest/install.hpp"
#include "lpguard/guest/livepatch_sysfs.hpp"

namespace lpload_tool {

struct Context {
	lpguard::LpLoadPaths paths;		   // /run, /var/lib/lp-load, /etc/lp-load/certs
	lpguard::LivepatchSysfs sys{"/"};	   // /sys and /proc
	lpguard::Kind outcome = lpguard::Kind::ok; // set by the subcommand that ran
};

// A subcommand: its name, its one-line help, and the function that adds its
// arguments and callback.
struct Subcommand {
	const char *name;
	const char *help;
	void (*setup)(CLI::App *sub, Context &ctx);
};

// Every subcommand, in --help order (main.cpp).
extern const std::vector<Subcommand> kSubcommands;

struct ApplyArgs {
	std::string ko;
	double timeout_s = 60;
	double revert_timeout_s = 60;
	bool json = false;
	bool no_precheck = false; // let the kernel (lpguard) decide; the image must still parse
};

// apply and boot share this: pre-check, lock, insert, wait, report.
lpguard::Kind run_apply(Context &ctx, const ApplyArgs &args, const char *command = "apply");

// A --json document: j with "exit_code" set to lp-load's code for kind.
void print_report(lpguard::Json j, lpguard::Kind kind);

// The one-line message on stdout (ok) or, as "lp-load: ...", on stderr.
void print_message(lpguard::Kind kind, const std::string &message);

// A refusal (install, boot): sets ctx.outcome to its kind and prints its
// message, or with json the report j with "result": "refused" and "message".
void report_refusal(Context &ctx, bool json, lpguard::Json j, const lpguard::Error &e);

// --timeout S (or --revert-timeout S): positive seconds, default 60.
void add_seconds_option(CLI::App *sub, const std::string &name, double &seconds, const std::string &help);
void add_json_flag(CLI::App *sub, bool &json);

void setup_apply(CLI::App *sub, Context &ctx);
void setup_status(CLI::App *sub, Context &ctx);
void setup_list(CLI::App *sub, Context &ctx);
void setup_disable(CLI::App *sub, Context &ctx);
void setup_verify(CLI::App *sub, Context &ctx);
void setup_install(CLI::App *sub, Context &ctx);
void setup_uninstall(CLI::App *sub, Context &ctx);
void setup_boot(CLI::App *sub, Context &ctx);
void setup_attest(CLI::App *sub, Context &ctx);

} // namespace lpload_tool
