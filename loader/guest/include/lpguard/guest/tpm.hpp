// SPDX-License-Identifier: GPL-2.0
// The guest's TPM 2.0, through tpm2-tss (ESYS, MU, TCTI loader): the
// attestation key (AK) and quotes for lp-load attest (docs/lp-load.md,
// Attestation).
//
// The AK is a primary key of the endorsement hierarchy, created from this
// fixed template and persisted at kAkHandle:
//   type RSA 2048, exponent 65537, nameAlg sha256, scheme RSASSA with
//   sha256, symmetric NULL, empty authPolicy and unique; attributes
//   fixedTPM|fixedParent|sensitiveDataOrigin|userWithAuth|restricted|sign.
// A primary key is derived from the TPM's endorsement seed and the
// template, so the same TPM always re-creates the same AK; restricted, it
// signs only what the TPM itself generated (quotes, not chosen data).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace lpguard {

// 0x81010010: the endorsement-primary range of persistent handles, clear
// of the EK handles the TCG EK Credential Profile assigns (0x81010001 RSA,
// 0x81010002 ECC).
inline constexpr uint32_t kAkHandle = 0x81010010;
inline constexpr const char *kDefaultTcti = "device:/dev/tpmrm0";

struct TpmOptions {
	std::string tcti = kDefaultTcti; // a tpm2-tss TCTI string: "device:...", "swtpm:path=...", "mssim:..."
	uint32_t ak_handle = kAkHandle;
};

struct AkInfo {
	uint32_t handle = 0;
	std::string public_pem; // SubjectPublicKeyInfo
	bool created = false;	// false: it was already there
};

// Creates the AK from the template above and persists it (owner and
// endorsement authorisations empty, as on a vTPM). When the handle already
// holds a restricted signing key, returns it unchanged. Throws
// lpguard::Error: Kind::no_tpm when the TPM cannot be reached, Kind::system
// when it refuses.
AkInfo create_ak(const TpmOptions &opt);

// The public key at the AK handle. Kind::no_tpm when there is no TPM or
// no key there.
AkInfo read_ak(const TpmOptions &opt);

struct TpmQuote {
	std::vector<uint8_t> attest;		       // marshalled TPMS_ATTEST
	std::vector<uint8_t> signature;		       // marshalled TPMT_SIGNATURE
	std::map<unsigned, std::vector<uint8_t>> pcrs; // sha256 values of the selected PCRs, read after quoting
};

// TPM2_Quote with the AK over the sha256 bank of `pcrs` (0..23), with the
// nonce (1..64 bytes) as qualifying data.
TpmQuote tpm_quote(const TpmOptions &opt, std::span<const uint8_t> nonce, const std::vector<unsigned> &pcrs);

// "0x81010010"
std::string tpm_handle_hex(uint32_t handle);

// The TPM2B_PUBLIC of an RSA or ECC key as PEM (exposed for tests).
std::string tpm_public_pem(const void *tpm2b_public);

} // namespace lpguard
