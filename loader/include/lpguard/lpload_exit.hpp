// SPDX-License-Identifier: GPL-2.0
// lp-load exit codes (documented in docs/lp-load.md and in --help).
#pragma once

namespace lpguard::lpload {

enum : int {
	exit_ok = 0,             // done (or nothing to do)
	exit_failure = 1,        // unexpected error: I/O, permissions, internal
	exit_usage = 2,          // bad command line
	exit_precheck = 3,       // the patch failed a pre-check; the kernel never saw it
	exit_refused = 4,        // the kernel refused the module (reason printed)
	exit_reverted = 5,       // transition timed out; patch reverted, system as before
	exit_revert_failed = 6,  // transition timed out and the revert did not finish: act now
	exit_locked = 7,         // another lp-load holds the lock
	exit_not_found = 8,      // nothing to act on (no active patch, nothing installed)
	exit_cleanup = 9,        // patch active, but replaced modules could not be removed
};

const char *exit_code_help();

} // namespace lpguard::lpload
