// SPDX-License-Identifier: GPL-2.0
#include "lpguard/lpload_exit.hpp"

namespace lpguard::lpload {

const char *exit_code_help()
{
	return "Exit codes:\n"
	       "  0  done (or nothing to do for boot)\n"
	       "  1  unexpected error (I/O, permissions, internal)\n"
	       "  2  bad command line\n"
	       "  3  the patch failed a pre-check; the kernel never saw it\n"
	       "  4  the kernel refused the module (the reason is printed)\n"
	       "  5  the transition timed out; the patch was reverted, the system is as before\n"
	       "  6  the transition timed out and the revert did not finish: act now\n"
	       "  7  another lp-load is running\n"
	       "  8  nothing to act on (no active patch, nothing installed)\n"
	       "  9  the patch is active but replaced modules could not be removed\n";
}

} // namespace lpguard::lpload
