// SPDX-License-Identifier: GPL-2.0
// core/attest_verify.cpp: swtpm's quotes over the golden IMA list
// (tests/unit/data/attest) verify, and every forgery is refused by the
// check it is meant for, in order.

#include <catch2/catch_test_macros.hpp>

#include "attest_data.hpp"
#include "lpguard/core/attest_verify.hpp"
#include "lpguard/core/error.hpp"

using namespace lpguard;

namespace {

AttestEvidence golden(const std::string &alg = "rsa", const std::string &log = "ima-log.bin")
{
	AttestEvidence ev;
	ev.quote = attest_data::file("quote-" + alg + ".attest");
	ev.signature = attest_data::file("quote-" + alg + ".sig");
	ev.ima_log = attest_data::file(log);
	return ev;
}

AttestVerdict verify(const AttestEvidence &ev, const std::string &ak = "ak-rsa.pem")
{
	return verify_attestation(ev, attest_data::file(ak), attest_data::hex_file("nonce.hex"));
}

// The offset of IMA entry i (0-based) in the list.
std::size_t entry_offset(const std::vector<uint8_t> &bytes, std::size_t i)
{
	auto log = parse_ima_log(bytes);
	std::size_t off = 0;
	for (std::size_t k = 0; k < i; k++)
		off += 4 + 32 + 4 + log[k].template_name.size() + 4 + log[k].template_data.size();
	return off;
}

} // namespace

TEST_CASE("swtpm's RSASSA, RSAPSS and ECDSA quotes verify and report A then B", "[attest_verify]")
{
	auto v = verify(golden());
	INFO(v.reason);
	REQUIRE(v.ok());
	const auto &r = v.report;
	CHECK(r.covered_entries == 11);
	CHECK(r.uncovered_entries == 0);
	REQUIRE(r.records.size() == 8);
	CHECK(r.records.front().module == "lpg_a");
	REQUIRE(r.active);
	CHECK(r.active->name == "lpg_b");
	CHECK(r.active->sha256 == std::string(64, '2'));
	CHECK(r.active->generation == 2);
	CHECK(r.active->keyid.rfind("3c9d", 0) == 0);
	REQUIRE(r.refused.size() == 1);
	CHECK(r.refused[0].module == "lpg_a");
	CHECK(r.disabled.empty());
	auto pcr10 = attest_data::hex_file("pcr10.hex");
	CHECK(std::vector<uint8_t>(r.pcrs.at(10).begin(), r.pcrs.at(10).end()) == pcr10);

	auto j = attest_verdict_json(v);
	CHECK(j["verified"] == true);
	CHECK(j["failed"].is_null());
	CHECK(j["active"]["name"] == "lpg_b");
	CHECK(j["history"].size() == 8);
	CHECK(j["refused"][0]["event"] == "generation-refused");

	for (std::string alg : {"ecc", "pss"}) {
		auto e = verify(golden(alg), "ak-" + alg + ".pem");
		INFO(alg << ": " << e.reason);
		CHECK(e.ok());
	}
	CHECK(parse_tpmt_signature(attest_data::file("quote-pss.sig")).sig_alg == kTpmAlgRsapss);
}

TEST_CASE("forgeries fail the check they are meant for", "[attest_verify]")
{
	SECTION("a quote signed by another TPM's key")
	{
		auto v = verify(golden(), "ak-other.pem");
		CHECK(v.failed == AttestCheck::signature);
		CHECK(v.reason.find("does not verify") != std::string::npos);
		CHECK(verify(golden("ecc"), "ak-rsa.pem").failed == AttestCheck::signature);
	}
	SECTION("one byte of the quote changed")
	{
		auto ev = golden();
		ev.quote.back() ^= 1;
		CHECK(verify(ev).failed == AttestCheck::signature);
	}
	SECTION("an earlier quote: another nonce")
	{
		auto ev = golden();
		auto v = verify_attestation(ev, attest_data::file("ak-rsa.pem"), std::vector<uint8_t>{1, 2, 3});
		CHECK(v.failed == AttestCheck::nonce);
		CHECK(to_string(v.failed) == std::string("nonce"));
	}
	SECTION("one byte of a record changed")
	{
		auto ev = golden();
		std::size_t off = entry_offset(ev.ima_log, 5);
		ev.ima_log[off + 60] ^= 1; // inside entry 6's template data
		auto v = verify(ev);
		CHECK(v.failed == AttestCheck::ima_log);
		CHECK(v.reason.find("IMA entry 6") != std::string::npos);
	}
	SECTION("one byte of a template digest changed")
	{
		auto ev = golden();
		ev.ima_log[entry_offset(ev.ima_log, 3) + 4] ^= 1;
		CHECK(verify(ev).failed == AttestCheck::pcr_digest);
	}
	SECTION("a record removed, in the middle or at the end")
	{
		for (std::size_t i : {4u, 10u}) {
			auto ev = golden();
			auto from = entry_offset(ev.ima_log, i), to = entry_offset(ev.ima_log, i + 1);
			if (i == 10)
				to = ev.ima_log.size();
			ev.ima_log.erase(ev.ima_log.begin() + std::ptrdiff_t(from), ev.ima_log.begin() + std::ptrdiff_t(to));
			CHECK(verify(ev).failed == AttestCheck::pcr_digest);
		}
	}
	SECTION("a truncated list")
	{
		auto ev = golden();
		ev.ima_log.pop_back();
		CHECK(verify(ev).failed == AttestCheck::ima_log);
	}
	SECTION("a record missing from what the TPM measured")
	{
		auto v = verify(golden("gap", "ima-log-gap.bin"), "ak-gap.pem");
		CHECK(v.failed == AttestCheck::records);
		CHECK(v.reason.find("seq=4 where seq=3 was due") != std::string::npos);
	}
}

TEST_CASE("entries after the quote are not evidence", "[attest_verify]")
{
	auto ev = golden();
	auto first = std::vector<uint8_t>(ev.ima_log.begin(), ev.ima_log.begin() + std::ptrdiff_t(entry_offset(ev.ima_log, 1)));
	ev.ima_log.insert(ev.ima_log.end(), first.begin(), first.end());
	auto v = verify(ev);
	REQUIRE(v.ok());
	CHECK(v.report.covered_entries == 11);
	CHECK(v.report.uncovered_entries == 1);
}

TEST_CASE("the evidence JSON and the AK key", "[attest_verify]")
{
	auto ev = golden();
	Json j{{"quote", {{"attest", base64(ev.quote)}, {"signature", base64(ev.signature)}}},
	       {"ima_log", base64(ev.ima_log)},
	       {"ak", {{"public_pem", "PEM"}}}};
	auto back = evidence_from_json(j);
	CHECK(back.quote == ev.quote);
	CHECK(back.signature == ev.signature);
	CHECK(back.ima_log == ev.ima_log);
	CHECK(back.ak_public_pem == "PEM");
	CHECK(verify(back).ok());

	j["quote"]["pcrs"] = {{"sha256", {{"7", std::string(64, '0')}}}};
	CHECK(evidence_from_json(j).pcr_values.at(7).size() == 32);
	j["quote"]["pcrs"] = {{"sha256", {{"24", std::string(64, '0')}}}};
	CHECK_THROWS_AS(evidence_from_json(j), Error);
	j["quote"].erase("pcrs");
	j["ima_log"] = "not base64!";
	CHECK_THROWS_AS(evidence_from_json(j), Error);
	CHECK_THROWS_AS(evidence_from_json(Json::array()), Error);

	auto pem = attest_data::file("ak-rsa.pem");
	CHECK_THROWS_AS(verify_attestation(ev, std::vector<uint8_t>{1, 2, 3}, pem), Error);
}
