// SPDX-License-Identifier: GPL-2.0
// TPM 2.0 quotes (TCG TPM 2.0 Library, Part 2: Structures): TPMS_ATTEST of
// type TPM_ST_ATTEST_QUOTE and its TPMT_SIGNATURE. Pure, total parsers
// (they return or throw lpguard::Error of Kind::input) for bytes from an
// untrusted guest; fuzzed by tests/fuzz/fuzz_tpm_quote.cpp. The structures
// are parsed here rather than with libtss2-mu so that the host verifier
// needs no TSS and the whole path from bytes to verdict can be fuzzed.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

namespace lpguard {

inline constexpr uint32_t kTpmGeneratedValue = 0xff544347; // TPM_GENERATED_VALUE, "\xffTCG"
inline constexpr uint16_t kTpmStAttestQuote = 0x8018;	   // TPM_ST_ATTEST_QUOTE
inline constexpr uint16_t kTpmAlgSha1 = 0x0004;
inline constexpr uint16_t kTpmAlgSha256 = 0x000b;
inline constexpr uint16_t kTpmAlgSha384 = 0x000c;
inline constexpr uint16_t kTpmAlgSha512 = 0x000d;
inline constexpr uint16_t kTpmAlgNull = 0x0010;
inline constexpr uint16_t kTpmAlgRsassa = 0x0014;
inline constexpr uint16_t kTpmAlgRsapss = 0x0016;
inline constexpr uint16_t kTpmAlgEcdsa = 0x0018;

// One TPMS_PCR_SELECTION: a bank and the PCRs selected in it, ascending.
struct PcrBankSelection {
	uint16_t hash = 0;
	std::vector<unsigned> pcrs;
};

struct TpmsAttest {
	uint32_t magic = 0;
	uint16_t type = 0;
	std::vector<uint8_t> qualified_signer; // TPM2B_NAME
	std::vector<uint8_t> extra_data;       // TPM2B_DATA: the nonce
	uint64_t clock = 0;		       // TPMS_CLOCK_INFO
	uint32_t reset_count = 0;
	uint32_t restart_count = 0;
	bool safe = false;
	uint64_t firmware_version = 0;
	// TPMS_QUOTE_INFO (when type is TPM_ST_ATTEST_QUOTE)
	std::vector<PcrBankSelection> pcr_select;
	std::vector<uint8_t> pcr_digest;
};

// Parses the marshalled TPMS_ATTEST (what TPM2_Quote returns inside
// TPM2B_ATTEST, and what tpm2_quote -m writes). The magic and type are
// returned, not checked; a type other than quote leaves the quote fields
// empty and ignores what follows firmwareVersion. Trailing bytes after a
// quote are an error.
TpmsAttest parse_tpms_attest(std::span<const uint8_t> bytes);

// The TPMS_ATTEST inside a marshalled TPM2B_ATTEST (u16 size first).
std::span<const uint8_t> tpm2b_attest_body(std::span<const uint8_t> bytes);

struct TpmtSignature {
	uint16_t sig_alg = 0;	  // kTpmAlgRsassa, kTpmAlgRsapss or kTpmAlgEcdsa
	uint16_t hash = 0;	  // the scheme's hash
	std::vector<uint8_t> rsa; // RSASSA / RSAPSS: the signature
	std::vector<uint8_t> ecdsa_r, ecdsa_s;
};

// Parses a marshalled TPMT_SIGNATURE (tpm2_quote -s writes one). Other
// algorithms are an error.
TpmtSignature parse_tpmt_signature(std::span<const uint8_t> bytes);

// "sha256", "rsassa", ... for a TPM_ALG_ID; "0x...." for others.
std::string tpm_alg_name(uint16_t alg);

} // namespace lpguard
