// SPDX-License-Identifier: GPL-2.0
#include "exit_codes.hpp"

namespace cvmcli {

using lpguard::Kind;

namespace {

const lpguard::ExitCode kRows[] = {
	{Kind::ok, 0, "success"},
	{Kind::internal, 1, "unexpected failure (bug, out of memory)"},
	{Kind::usage, 2, "bad command line"},
	{Kind::input, 3,
	 "module file or patch kit (`--kit`, `--preflight`) missing, unreadable or malformed, or a kit without what "
	 "preflight boots"},
	{Kind::key, 4, "key or certificate missing, unreadable or not matching (the message names "
		       "`cvm-cli generate-livepatch-keys`)"},
	{Kind::signature, 5, "signature missing or does not verify"},
	{Kind::refused, 6, "refused: not a livepatch, vermagic mismatch, compiler not the patch kit's, would overwrite keys"},
	{Kind::remote, 7, "ssh/scp/gcloud/az/aws failed or missing, or the upload was corrupted"},
	{Kind::guest, 8, "lp-load on the guest refused the patch or failed (its message is printed)"},
	{Kind::output, 9, "cannot write the output file"},
	{Kind::preflight, 22,
	 "the patch failed preflight on the patch kit's kernel: WARN, BUG, oops, lockdep report, taint beyond K and O, "
	 "lp-load refused it, the transition or the smoke command failed"},
	{Kind::system, 23,
	 "preflight could not run to its end: QEMU missing, the trial VM did not boot, hung or its report is incomplete"},
};

} // namespace

const lpguard::ExitTable kExitCodes{kRows};

} // namespace cvmcli
