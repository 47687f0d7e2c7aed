// SPDX-License-Identifier: GPL-2.0
#include "exit_codes.hpp"

namespace lpload_tool {

using lpguard::Kind;

namespace {

const lpguard::ExitCode kRows[] = {
	{Kind::ok, 0, "done (`boot`: also skipped / nothing installed / already active)"},
	{Kind::internal, 1, "unexpected error: I/O, permissions, internal; a patch disabled by someone else "
			    "mid-transition"},
	{Kind::system, 1, ""},
	{Kind::input, 1, ""},
	{Kind::output, 1, ""},
	{Kind::usage, 2, "bad command line"},
	{Kind::precheck, 3, "the patch failed a pre-check; the kernel never saw it"},
	{Kind::refused, 4, "the kernel refused the module (reason printed), or refused before loading (EBUSY, "
			   "EEXIST); `disable`: lpguard locks the active patch; `install`, `boot`: a lower generation than "
			   "the installed patch's, or an installed file that is not what its record says"},
	{Kind::reverted, 5, "the transition timed out; the patch was reverted and removed, the system is as "
			    "before"},
	{Kind::revert_failed, 6, "the transition timed out and the revert (or its cleanup) did not finish: act now"},
	{Kind::locked, 7, "another lp-load holds the lock"},
	{Kind::not_found, 8, "nothing to act on: no active patch (`disable`), nothing installed (`uninstall`)"},
	{Kind::cleanup, 9, "the patch is active, but replaced or leftover modules could not be removed"},
	{Kind::no_tpm, 10, "`attest`: no TPM 2.0, or no attestation key at the handle (`attest --create-ak`)"},
	{Kind::no_ima, 11, "`attest`: no IMA measurement list (the kernel does not measure)"},
	{Kind::no_records, 12, "`attest`: IMA holds no lpguard record (no livepatch change since boot, or lpguard "
			       "does not measure)"},
	{Kind::marked_bad, 13, "the installed patch is marked bad (an oops, BUG or warning after it was applied, or a "
			       "boot after applying it that did not reach multi-user.target): `boot` did not apply it; "
			       "`boot-ok`: it marked it now; `install`: the same file, still marked"},
};

} // namespace

const lpguard::ExitTable kExitCodes{kRows};

} // namespace lpload_tool
