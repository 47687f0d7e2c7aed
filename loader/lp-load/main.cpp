// SPDX-License-Identifier: GPL-2.0
// lp-load: verify, load and keep signed kernel livepatches on this machine.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <vector>

#include <unistd.h>

#include "exit_codes.hpp"
#include "lp-load.hpp"
#include "lpguard/guest/kmod_loader.hpp"
#include "lpguard/guest/recovery.hpp"

namespace lpload_tool {

const std::vector<Subcommand> kSubcommands = {
	{"apply", "Verify PATCH.ko, load it and wait for its transition (the default)", setup_apply},
	{"status", "Show the active livepatch, transition state, lpguard and taint", setup_status},
	{"list", "List loaded livepatch modules: active, in transition, leftover", setup_list},
	{"disable", "Disable the active livepatch and remove its module", setup_disable},
	{"verify", "Run the pre-checks on PATCH.ko without loading it", setup_verify},
	{"install", "Keep PATCH.ko across reboots (/var/lib/lp-load), replacing any installed patch", setup_install},
	{"uninstall", "Stop applying the installed patch at boot (the running patch stays; see 'disable')",
	 setup_uninstall},
	{"boot", "Apply the installed patch (for the boot unit and initramfs)", setup_boot},
	{"boot-ok", "Confirm that the boot after 'lp-load boot' applied the patch went well, or mark it bad",
	 setup_boot_ok},
	{"attest", "A TPM quote of PCR 10 with IMA's list and lpguard's records, for a verifier", setup_attest},
};

lpguard::Json &recovered_report()
{
	static lpguard::Json j = nullptr;
	return j;
}

lpguard::Json with_recovered(lpguard::Json j)
{
	if (!recovered_report().is_null())
		j["recovered"] = recovered_report();
	return j;
}

void print_report(lpguard::Json j, lpguard::Kind kind)
{
	lpguard::print_json(std::cout, report_json(with_recovered(std::move(j)), kind));
}

void Context::recover(bool json)
{
	bool tty = !json && ::isatty(STDERR_FILENO);
	bool drew = false;
	lpguard::RecoveryOptions o;
	if (tty)
		o.progress = [&](const lpguard::TransitionProgress &p) {
			std::fprintf(stderr, "\r\033[K%s: finishing a transition left by a killed lp-load, %s, %zu task%s pending",
				     p.patch.c_str(), p.target ? "patching" : "reverting", p.pending_tasks,
				     p.pending_tasks == 1 ? "" : "s");
			drew = true;
		};
	lpguard::KmodLoader loader;
	auto r = lpguard::recover_transition(sys, loader, paths, o);
	if (drew)
		std::fprintf(stderr, "\r\033[K");
	if (!r)
		return;
	recovered_report() = lpguard::to_json(*r);
	if (!json)
		std::cerr << "lp-load: " << r->message << "\n";
}

void Context::lock(bool json)
{
	if (held)
		return;
	held.emplace(lpguard::LockFile::acquire(paths.lock()));
	recover(json);
}

void Context::lock_waiting(bool json, std::chrono::milliseconds timeout)
{
	if (held)
		return;
	held.emplace(lpguard::LockFile::acquire_waiting(paths.lock(), timeout));
	recover(json);
}

void Context::recover_if_left(bool json)
{
	std::error_code ec;
	if (held || !std::filesystem::exists(paths.inflight(), ec))
		return;
	try {
		held.emplace(lpguard::LockFile::acquire(paths.lock()));
	} catch (const lpguard::Error &) {
		return; // another lp-load runs (and waits for its transition itself)
	}
	recover(json);
}

void print_message(lpguard::Kind kind, const std::string &message)
{
	if (kind == lpguard::Kind::ok)
		std::cout << message << "\n";
	else
		std::cerr << "lp-load: " << message << "\n";
}

void report_refusal(Context &ctx, bool json, lpguard::Json j, const lpguard::Error &e, const char *result)
{
	ctx.outcome = e.kind();
	if (!json)
		return print_message(ctx.outcome, e.what());
	j["result"] = result;
	j["message"] = e.what();
	print_report(std::move(j), ctx.outcome);
}

void add_seconds_option(CLI::App *sub, const std::string &name, double &seconds, const std::string &help)
{
	sub->add_option(name, seconds, help)->default_val(60)->check(CLI::PositiveNumber);
}

void add_json_flag(CLI::App *sub, bool &json)
{
	sub->add_flag("--json", json, "Print as JSON (schema in docs/lp-load.md)");
}

} // namespace lpload_tool

using namespace lpload_tool;

// 'lp-load PATCH.ko' means 'lp-load apply PATCH.ko'.
static std::vector<std::string> with_default_command(int argc, char **argv)
{
	std::vector<std::string> args(argv + 1, argv + argc);
	bool has_command = false, has_positional = false;
	for (const auto &a : args) {
		for (const auto &s : kSubcommands)
			has_command |= a == s.name;
		has_positional |= !a.empty() && a[0] != '-';
	}
	if (!has_command && has_positional)
		args.insert(args.begin(), "apply");
	std::reverse(args.begin(), args.end()); // CLI11 parses a reversed vector
	return args;
}

// The subcommand of a command line with --json (args reversed, as CLI11 takes them), or "".
static std::string json_command(const std::vector<std::string> &args)
{
	if (std::find(args.begin(), args.end(), "--json") == args.end())
		return "";
	for (auto it = args.rbegin(); it != args.rend(); ++it)
		for (const auto &s : kSubcommands)
			if (*it == s.name)
				return s.name;
	return "";
}

int main(int argc, char **argv)
{
	Context ctx;
	CLI::App app{"lp-load: verify, load and keep signed kernel livepatches (lpguard)"};
	app.name("lp-load");
	app.require_subcommand(0, 1);
	app.footer(std::string("'lp-load PATCH.ko' is 'lp-load apply PATCH.ko'. See docs/lp-load.md.\n\n") +
		   lpguard::exit_codes_help(kExitCodes));
	for (const auto &s : kSubcommands)
		s.setup(app.add_subcommand(s.name, s.help), ctx);

	auto args = with_default_command(argc, argv);
	const auto command = json_command(args); // CLI11 consumes args
	try {
		app.parse(args);
	} catch (const CLI::ParseError &e) {
		int rc = app.exit(e);
		return rc == 0 ? 0 : exit_code(lpguard::Kind::usage);
	} catch (const lpguard::Error &e) {
		// With --json the failure is the report (cvm-cli reads it); attest
		// keeps its one line on stderr (docs/lp-load.md, attest).
		if (!command.empty() && command != "attest") {
			lpguard::Json j = {{"command", command},
					   {"result", e.kind() == lpguard::Kind::locked ? "locked" : "failed"},
					   {"message", e.what()}};
			print_report(std::move(j), e.kind());
		} else {
			std::cerr << "lp-load: " << e.what() << "\n";
		}
		return exit_code(e.kind());
	} catch (const std::exception &e) {
		std::cerr << "lp-load: " << e.what() << "\n";
		return exit_code(lpguard::Kind::internal);
	}
	if (app.get_subcommands().empty()) {
		std::cerr << app.help();
		return exit_code(lpguard::Kind::usage);
	}
	return exit_code(ctx.outcome);
}
