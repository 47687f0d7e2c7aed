// SPDX-License-Identifier: GPL-2.0
// lp-load: verify, load and keep signed kernel livepatches on this machine.
#include <algorithm>
#include <cstring>
#include <iostream>
#include <vector>

#include "lp-load.hpp"
#include "lpguard/error.hpp"
#include "lpguard/lpload_exit.hpp"

using namespace lpload_tool;

static const char *const subcommands[] = {"apply", "status", "list", "disable", "verify", "install", "uninstall", "boot"};

// 'lp-load PATCH.ko' means 'lp-load apply PATCH.ko'.
static std::vector<std::string> with_default_command(int argc, char **argv)
{
	std::vector<std::string> args(argv + 1, argv + argc);
	bool has_command = false, has_positional = false;
	for (const auto &a : args) {
		for (const char *s : subcommands)
			has_command |= a == s;
		has_positional |= !a.empty() && a[0] != '-';
	}
	if (!has_command && has_positional)
		args.insert(args.begin(), "apply");
	std::reverse(args.begin(), args.end()); // CLI11 parses a reversed vector
	return args;
}

int main(int argc, char **argv)
{
	Context ctx;
	CLI::App app{"lp-load: verify, load and keep signed kernel livepatches (lpguard)"};
	app.name("lp-load");
	app.require_subcommand(0, 1);
	app.footer(std::string("'lp-load PATCH.ko' is 'lp-load apply PATCH.ko'. See docs/lp-load.md.\n\n") +
		   lpguard::lpload::exit_code_help());
	add_apply(app, ctx);
	add_status(app, ctx);
	add_list(app, ctx);
	add_disable(app, ctx);
	add_verify(app, ctx);
	add_install(app, ctx);
	add_boot(app, ctx);

	auto args = with_default_command(argc, argv);
	try {
		app.parse(args);
	} catch (const CLI::ParseError &e) {
		int rc = app.exit(e);
		return rc == 0 ? 0 : lpguard::lpload::exit_usage;
	} catch (const lpguard::Error &e) {
		std::cerr << "lp-load: " << e.what() << "\n";
		return e.exit_code();
	} catch (const std::exception &e) {
		std::cerr << "lp-load: " << e.what() << "\n";
		return lpguard::lpload::exit_failure;
	}
	if (app.get_subcommands().empty()) {
		std::cerr << app.help();
		return lpguard::lpload::exit_usage;
	}
	return ctx.exit_code;
}
