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
	 "module file, patch kit (`--kit`, `--preflight`) or saved evidence (`attest verify`) missing, unreadable or "
	 "malformed, or a kit without what preflight boots"},
	{Kind::key, 4, "key or certificate missing, unreadable or not matching (the message names "
		       "`cvm-cli generate-livepatch-keys`)"},
	{Kind::signature, 5, "signature missing or does not verify"},
	{Kind::refused, 6, "refused: not a livepatch, vermagic mismatch, compiler not the patch kit's, would overwrite keys"},
	{Kind::remote, 7, "ssh/scp/gcloud/az/aws failed or missing, the upload failed or was corrupted, or the guest's "
			  "upload directory has less free space than the patch"},
	{Kind::guest, 8, "lp-load on the guest refused the patch or failed (its message is printed); `attest`: it "
			 "returned no evidence that parses"},
	{Kind::output, 9, "cannot write the output file"},
	{Kind::no_tpm, 10, "`attest`: the guest has no TPM 2.0, or no attestation key (`lp-load attest --create-ak`)"},
	{Kind::no_ima, 11, "`attest`: the guest's kernel keeps no IMA measurement list"},
	{Kind::no_records, 12, "`attest`: the guest's IMA list holds no lpguard record"},
	{Kind::attest_signature, 13, "`attest`: the quote's signature does not verify with the trusted attestation key"},
	{Kind::attest_quote, 14, "`attest`: the quote is not a TPM-generated quote (TPMS_ATTEST magic or type)"},
	{Kind::attest_nonce, 15, "`attest`: the quote is not over this call's nonce (a replayed quote)"},
	{Kind::attest_pcr_selection, 16, "`attest`: the quote does not select PCR 10 of the sha256 bank"},
	{Kind::attest_pcr_digest, 17, "`attest`: the IMA log, replayed, does not give the quoted PCR digest"},
	{Kind::attest_ima_log, 18, "`attest`: the IMA log does not parse, or an entry does not hash to its digest"},
	{Kind::attest_records, 19, "`attest`: lpguard's records in the log are malformed or not in sequence"},
	{Kind::attest_ak_changed, 20, "`attest`: the guest presents another attestation key than the pinned one"},
	{Kind::attest_not_expected, 21, "`attest --expect`: verified, but the active livepatch is not that signed image"},
	{Kind::preflight, 22,
	 "the patch failed preflight on the patch kit's kernel: WARN, BUG, oops, lockdep report, taint beyond K and O, "
	 "lp-load refused it, the transition or the smoke command failed"},
	{Kind::system, 23,
	 "preflight could not run to its end: QEMU missing, the trial VM did not boot, hung or its report is incomplete"},
	{Kind::locked, 24, "`livepatch`: another lp-load runs on the guest (another cvm-cli, an administrator); nothing "
			   "was applied: wait for it to finish and retry"},
};

} // namespace

const lpguard::ExitTable kExitCodes{kRows};

} // namespace cvmcli
