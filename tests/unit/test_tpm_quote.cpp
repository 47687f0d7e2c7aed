// SPDX-License-Identifier: GPL-2.0
// core/tpm_quote.cpp: TPMS_ATTEST and TPMT_SIGNATURE from swtpm's quotes
// (tests/unit/data/attest), and their bounds.

#include <catch2/catch_test_macros.hpp>

#include "attest_data.hpp"
#include "lpguard/core/error.hpp"
#include "lpguard/core/tpm_quote.hpp"

using namespace lpguard;

TEST_CASE("a swtpm quote parses field by field", "[tpm_quote]")
{
	auto bytes = attest_data::file("quote-rsa.attest");
	auto a = parse_tpms_attest(bytes);
	CHECK(a.magic == kTpmGeneratedValue);
	CHECK(a.type == kTpmStAttestQuote);
	CHECK(a.qualified_signer.size() == 34); // sha256 name: alg + digest
	CHECK(a.extra_data == attest_data::hex_file("nonce.hex"));
	REQUIRE(a.pcr_select.size() == 1);
	CHECK(a.pcr_select[0].hash == kTpmAlgSha256);
	CHECK(a.pcr_select[0].pcrs == std::vector<unsigned>{10});
	CHECK(a.pcr_digest.size() == 32);

	auto rsa = parse_tpmt_signature(attest_data::file("quote-rsa.sig"));
	CHECK(rsa.sig_alg == kTpmAlgRsassa);
	CHECK(rsa.hash == kTpmAlgSha256);
	CHECK(rsa.rsa.size() == 256);
	auto ecc = parse_tpmt_signature(attest_data::file("quote-ecc.sig"));
	CHECK(ecc.sig_alg == kTpmAlgEcdsa);
	CHECK(ecc.ecdsa_r.size() == 32);
	CHECK(ecc.ecdsa_s.size() == 32);
}

TEST_CASE("TPMS_ATTEST and TPMT_SIGNATURE are bounded", "[tpm_quote]")
{
	auto bytes = attest_data::file("quote-rsa.attest");
	for (std::size_t n = 0; n < bytes.size(); n++)
		CHECK_THROWS_AS(parse_tpms_attest(std::span(bytes).first(n)), Error);
	auto longer = bytes;
	longer.push_back(0);
	CHECK_THROWS_AS(parse_tpms_attest(longer), Error);
	auto big = bytes;
	big[6] = 0xff; // qualifiedSigner size
	CHECK_THROWS_AS(parse_tpms_attest(big), Error);

	// TPM2B_ATTEST: size + body
	std::vector<uint8_t> b2 = {uint8_t(bytes.size() >> 8), uint8_t(bytes.size())};
	b2.insert(b2.end(), bytes.begin(), bytes.end());
	CHECK(tpm2b_attest_body(b2).size() == bytes.size());
	b2.pop_back();
	CHECK_THROWS_AS(tpm2b_attest_body(b2), Error);

	auto sig = attest_data::file("quote-ecc.sig");
	for (std::size_t n = 0; n < sig.size(); n++)
		CHECK_THROWS_AS(parse_tpmt_signature(std::span(sig).first(n)), Error);
	sig[1] = 0x05; // TPM_ALG_HMAC
	CHECK_THROWS_AS(parse_tpmt_signature(sig), Error);
	CHECK(tpm_alg_name(0x0005) == "0x0005");
}
