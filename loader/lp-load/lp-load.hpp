// SPDX-License-Identifier: GPL-2.0
// lp-load: one file per subcommand; this header is what they share.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "lpguard/core/error.hpp"
#include "lpguard/core/json.hpp"
#include "lpguard/guest/install.hpp"
#include "lpguard/guest/livepatch_sysfs.hpp"
#include "lpguard/guest/lock_file.hpp"

namespace lpload_tool {

struct Context {
	lpguard::LpLoadPaths paths;		   // /run, /var/lib/lp-load, /etc/lp-load/certs
	lpguard::LivepatchSysfs sys{"/"};	   // /sys and /proc
	lpguard::Kind outcome = lpguard::Kind::ok; // set by the subcommand that ran
	std::optional<lpguard::LockFile> held;	   // the lock, once taken

	// Takes the lock (once per process; Kind::locked when another lp-load
	// has it), then finishes a transition that a killed lp-load left
	// (recovery.hpp): one line on stderr, or "recovered" in the JSON.
	void lock(bool json);
	// The same, waiting up to timeout for the lock.
	void lock_waiting(bool json, std::chrono::milliseconds timeout);
	// For the commands that change nothing (status, list, verify, attest):
	// the recovery only, and only when a killed lp-load left its record
	// and no other lp-load runs.
	void recover_if_left(bool json);

private:
	void recover(bool json);
};

// What the recovery found, for the JSON reports ("recovered"); null when nothing.
lpguard::Json &recovered_report();

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

struct ApplyOutcome {
	lpguard::Kind kind = lpguard::Kind::ok;
	std::string sha256;			  // of the image applied ("" when the pre-check failed)
	std::optional<lpguard::PatchMark> marked; // marked bad by the taint check after the transition
};

// apply, boot and install --now share this: lock, pre-check, record the
// transition (recovery.hpp), insert, wait, check the taint, report.
ApplyOutcome run_apply(Context &ctx, const ApplyArgs &args, const char *command = "apply");

// A --json document: j with "exit_code" set to lp-load's code for kind
// (and "recovered" when the recovery found something).
void print_report(lpguard::Json j, lpguard::Kind kind);

// j with "recovered" added when the recovery found something (status, list,
// verify: reports without an exit code).
lpguard::Json with_recovered(lpguard::Json j);

// The one-line message on stdout (ok) or, as "lp-load: ...", on stderr.
void print_message(lpguard::Kind kind, const std::string &message);

// A refusal (install, boot): sets ctx.outcome to its kind and prints its
// message, or with json the report j with "result" and "message".
void report_refusal(Context &ctx, bool json, lpguard::Json j, const lpguard::Error &e,
		    const char *result = "refused");

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
void setup_boot_ok(CLI::App *sub, Context &ctx);
void setup_attest(CLI::App *sub, Context &ctx);

} // namespace lpload_tool
