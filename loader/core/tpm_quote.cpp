// SPDX-License-Identifier: GPL-2.0
#include "lpguard/core/tpm_quote.hpp"

#include <cstdio>

#include "lpguard/core/byte_cursor.hpp"
#include "lpguard/core/error.hpp"

namespace lpguard {

namespace {

// Limits of the TPM 2.0 structures (tss2_tpm2_types.h): larger sizes are
// not marshalled by any TPM and are refused.
constexpr std::size_t kMaxName = 68;	 // sizeof(TPMU_NAME)
constexpr std::size_t kMaxData = 66;	 // sizeof(TPMT_HA): TPM2B_DATA
constexpr std::size_t kMaxDigest = 64;	 // sizeof(TPMU_HA): TPM2B_DIGEST
constexpr std::size_t kMaxBanks = 16;	 // TPM2_NUM_PCR_BANKS
constexpr std::size_t kMaxSelect = 4;	 // TPM2_PCR_SELECT_MAX
constexpr std::size_t kMaxRsa = 512;	 // TPM2_MAX_RSA_KEY_BYTES
constexpr std::size_t kMaxEcc = 128;	 // TPM2_MAX_ECC_KEY_BYTES
constexpr std::size_t kMaxAttest = 2304; // sizeof(TPMS_ATTEST) bound of TPM2B_ATTEST

[[noreturn]] void bad_attest(const std::string &why)
{
	throw Error("invalid TPM quote (TPMS_ATTEST)", why, "take a new quote with lp-load attest", Kind::input);
}

[[noreturn]] void bad_signature(const std::string &why)
{
	throw Error("invalid TPM quote signature (TPMT_SIGNATURE)", why, "take a new quote with lp-load attest",
		    Kind::input);
}

std::vector<uint8_t> vec(std::span<const uint8_t> s) { return {s.begin(), s.end()}; }

} // namespace

std::string tpm_alg_name(uint16_t alg)
{
	switch (alg) {
	case kTpmAlgSha1:
		return "sha1";
	case kTpmAlgSha256:
		return "sha256";
	case kTpmAlgSha384:
		return "sha384";
	case kTpmAlgSha512:
		return "sha512";
	case kTpmAlgNull:
		return "null";
	case kTpmAlgRsassa:
		return "rsassa";
	case kTpmAlgRsapss:
		return "rsapss";
	case kTpmAlgEcdsa:
		return "ecdsa";
	}
	char buf[8];
	std::snprintf(buf, sizeof(buf), "0x%04x", alg);
	return buf;
}

TpmsAttest parse_tpms_attest(std::span<const uint8_t> bytes)
{
	if (bytes.size() > kMaxAttest)
		bad_attest(std::to_string(bytes.size()) + " bytes, more than a TPMS_ATTEST can hold (" +
			   std::to_string(kMaxAttest) + ")");
	ByteCursor c(bytes, bad_attest);
	TpmsAttest a;
	a.magic = c.be<uint32_t>("magic");
	a.type = c.be<uint16_t>("type");
	a.qualified_signer = vec(c.tpm2b("qualifiedSigner", kMaxName));
	a.extra_data = vec(c.tpm2b("extraData", kMaxData));
	a.clock = c.be<uint64_t>("clockInfo.clock");
	a.reset_count = c.be<uint32_t>("clockInfo.resetCount");
	a.restart_count = c.be<uint32_t>("clockInfo.restartCount");
	uint8_t safe = c.be<uint8_t>("clockInfo.safe");
	if (safe > 1)
		bad_attest("clockInfo.safe is " + std::to_string(safe) + ", not YES (1) or NO (0)");
	a.safe = safe == 1;
	a.firmware_version = c.be<uint64_t>("firmwareVersion");
	if (a.type != kTpmStAttestQuote)
		return a;
	uint32_t count = c.be<uint32_t>("pcrSelect.count");
	if (count > kMaxBanks)
		bad_attest("pcrSelect.count is " + std::to_string(count) + ", more than " + std::to_string(kMaxBanks));
	for (uint32_t i = 0; i < count; i++) {
		PcrBankSelection sel;
		sel.hash = c.be<uint16_t>("pcrSelections.hash");
		uint8_t size = c.be<uint8_t>("pcrSelections.sizeofSelect");
		if (size > kMaxSelect)
			bad_attest("pcrSelections.sizeofSelect is " + std::to_string(size) + ", more than " +
				   std::to_string(kMaxSelect));
		auto bits = c.take(size, "pcrSelections.pcrSelect");
		for (unsigned pcr = 0; pcr < size * 8u; pcr++)
			if (bits[pcr / 8] & (1u << (pcr % 8)))
				sel.pcrs.push_back(pcr);
		a.pcr_select.push_back(std::move(sel));
	}
	a.pcr_digest = vec(c.tpm2b("pcrDigest", kMaxDigest));
	if (!c.done())
		bad_attest(std::to_string(c.left()) + " bytes after the quote's pcrDigest");
	return a;
}

std::span<const uint8_t> tpm2b_attest_body(std::span<const uint8_t> bytes)
{
	ByteCursor c(bytes, bad_attest);
	auto body = c.tpm2b("TPM2B_ATTEST", kMaxAttest);
	if (!c.done())
		bad_attest(std::to_string(c.left()) + " bytes after the TPM2B_ATTEST");
	return body;
}

TpmtSignature parse_tpmt_signature(std::span<const uint8_t> bytes)
{
	ByteCursor c(bytes, bad_signature);
	TpmtSignature s;
	s.sig_alg = c.be<uint16_t>("sigAlg");
	switch (s.sig_alg) {
	case kTpmAlgRsassa:
	case kTpmAlgRsapss:
		s.hash = c.be<uint16_t>("signature.hash");
		s.rsa = vec(c.tpm2b("signature.sig", kMaxRsa));
		if (s.rsa.empty())
			bad_signature("the RSA signature is empty");
		break;
	case kTpmAlgEcdsa:
		s.hash = c.be<uint16_t>("signature.hash");
		s.ecdsa_r = vec(c.tpm2b("signature.signatureR", kMaxEcc));
		s.ecdsa_s = vec(c.tpm2b("signature.signatureS", kMaxEcc));
		if (s.ecdsa_r.empty() || s.ecdsa_s.empty())
			bad_signature("the ECDSA signature has an empty r or s");
		break;
	default:
		bad_signature("signature algorithm " + tpm_alg_name(s.sig_alg) +
			      " is not supported: the attestation key must sign with RSASSA, RSAPSS or ECDSA");
	}
	if (!c.done())
		bad_signature(std::to_string(c.left()) + " bytes after the signature");
	return s;
}

} // namespace lpguard
