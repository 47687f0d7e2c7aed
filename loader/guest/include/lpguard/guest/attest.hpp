// SPDX-License-Identifier: GPL-2.0
// lp-load attest: the evidence a verifier checks (docs/lp-load.md,
// Attestation): a TPM quote over PCR 10 with the caller's nonce, the AK's
// public key, IMA's measurement list and lpguard's records decoded from it.
#pragma once

#include <filesystem>
#include <span>
#include <vector>

#include "lpguard/core/json.hpp"
#include "lpguard/core/lpguard_record.hpp"
#include "lpguard/guest/livepatch_sysfs.hpp"
#include "lpguard/guest/tpm.hpp"

namespace lpguard {

// <root>/sys/kernel/security/ima/binary_runtime_measurements_sha256
std::filesystem::path ima_log_path(const LivepatchSysfs &sys);

// lpguard's records in a measurement list, in list order; entries that do
// not parse are left out (the verifier refuses them).
std::vector<LpguardRecord> lpguard_records_in(std::span<const uint8_t> ima_log);

struct AttestRequest {
	TpmOptions tpm;
	std::vector<uint8_t> nonce;
	std::vector<unsigned> pcrs{10}; // always with 10
	std::filesystem::path ima_log;	// "" : ima_log_path(sys)
};

// Reads lpguard's status first (it waits until every record is measured),
// quotes, then reads the list (which only grows: the verifier takes the
// prefix the quote covers). Throws lpguard::Error: Kind::no_ima when the
// list is missing, Kind::no_tpm without TPM or AK, Kind::no_records when
// the list holds no lpguard record.
Json attest_evidence(const LivepatchSysfs &sys, const AttestRequest &req);

} // namespace lpguard
