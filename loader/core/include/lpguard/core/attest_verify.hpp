// SPDX-License-Identifier: GPL-2.0
// Verifying a guest's attestation evidence (what `lp-load attest --json`
// returns; schema in docs/lp-load.md): a TPM 2.0 quote over PCR 10 of the
// sha256 bank, IMA's measurement list, and lpguard's records in it. The
// checks run in this order and stop at the first failure:
//
//   1. signature      the quote's signature with the attestation key the
//                     caller trusts (not the one the guest sent)
//   2. quote          TPMS_ATTEST magic (TPM_GENERATED_VALUE) and type (quote)
//   3. nonce          extraData is the caller's nonce
//   4. pcr-selection  the sha256 bank only, PCR 10 in it, a value for every
//                     other PCR selected
//   5. pcr-digest     the quote's PCR digest against PCR 10 replayed from the
//                     IMA log (the longest prefix of the log that matches:
//                     entries added after the quote are not covered); a log
//                     that does not parse fails ima-log before this step
//   6. ima-log        every covered entry's data hashes to its template
//                     digest (ima-buf: and its buffer to its d-ng digest)
//   7. records        lpguard's records in the covered entries: version 1,
//                     event name lpguard-<event>, seq 1..n without gaps
//
// Pure code (OpenSSL for the hashes and the signature, no I/O), for
// cvm-cli attest on the owner's machine.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lpguard/core/ima_log.hpp"
#include "lpguard/core/json.hpp"
#include "lpguard/core/lpguard_record.hpp"
#include "lpguard/core/tpm_quote.hpp"

namespace lpguard {

struct AttestEvidence {
	std::vector<uint8_t> quote;	// marshalled TPMS_ATTEST
	std::vector<uint8_t> signature; // marshalled TPMT_SIGNATURE
	std::string ak_public_pem;	// the key the guest says signed (for pinning; never trusted as such)
	std::vector<uint8_t> ima_log;	// binary_runtime_measurements_sha256
	// sha256-bank values of selected PCRs that IMA does not extend (--pcrs);
	// PCR 10 and the PCRs of IMA's entries are always replayed instead.
	std::map<unsigned, std::vector<uint8_t>> pcr_values;
};

// The evidence inside lp-load attest's JSON document (docs/lp-load.md).
// Throws lpguard::Error (Kind::input) naming the member that is missing or
// malformed.
AttestEvidence evidence_from_json(const Json &j);

enum class AttestCheck { ok,
			 signature,
			 quote,
			 nonce,
			 pcr_selection,
			 pcr_digest,
			 ima_log,
			 records };
const char *to_string(AttestCheck c); // "ok", "signature", ..., "pcr-selection", ...

struct AttestedPatch {
	std::string name;
	std::string sha256; // "" when no record of it carries one
	std::string keyid;
	uint32_t generation = 0;
};

struct AttestReport {
	TpmsAttest attest;
	std::size_t covered_entries = 0;    // IMA entries the quote covers
	std::size_t uncovered_entries = 0;  // entries added after the quote: not evidence
	std::map<unsigned, Sha256> pcrs;    // the quoted sha256 values
	std::vector<LpguardRecord> records; // the history since boot, seq 1..n
	std::optional<AttestedPatch> active;
	std::vector<LpguardRecord> refused;  // generation-refused: rollback attempts
	std::vector<LpguardRecord> disabled; // the active patch turned off
};

struct AttestVerdict {
	AttestCheck failed = AttestCheck::ok;
	std::string reason; // one line; "" when ok
	AttestReport report;

	bool ok() const { return failed == AttestCheck::ok; }
};

// Verifies the evidence against the attestation key the caller trusts
// (ak_public: SubjectPublicKeyInfo, PEM or DER; RSA or EC) and the nonce it
// sent. Never throws for bad evidence: the verdict names the first failed
// check. Throws lpguard::Error (Kind::key) when ak_public is not a usable
// public key.
AttestVerdict verify_attestation(const AttestEvidence &evidence, std::span<const uint8_t> ak_public,
				 std::span<const uint8_t> nonce);

// {"verified": bool, "failed": "<check>"|null, "reason": ..., "active": ...,
//  "history": [...], "refused": [...], "disabled": [...], ...} (docs/lp-load.md).
Json attest_verdict_json(const AttestVerdict &v);

// A record as JSON: seq, event, module, sha256, keyid, generation, active.
Json lpguard_record_json(const LpguardRecord &r);

} // namespace lpguard
