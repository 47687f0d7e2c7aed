// SPDX-License-Identifier: GPL-2.0
// core/ima_log.cpp: the binary measurement list, template hashes, the
// replay of PCR 10 against swtpm's value (tests/unit/data/attest), ima-buf.

#include <catch2/catch_test_macros.hpp>

#include "attest_data.hpp"
#include "lpguard/core/error.hpp"
#include "lpguard/core/ima_log.hpp"

using namespace lpguard;

TEST_CASE("the golden list replays to swtpm's PCR 10", "[ima_log]")
{
	auto log = parse_ima_log(attest_data::file("ima-log.bin"));
	REQUIRE(log.size() == 11);
	CHECK(log[0].template_name == "ima-ng");
	CHECK(log[0].fields.size() == 2);
	std::size_t violations = 0;
	for (const auto &e : log) {
		CHECK(e.pcr == 10);
		if (e.violation())
			violations++;
		else
			CHECK(ima_template_hash(e) == e.template_digest);
	}
	CHECK(violations == 1);
	auto pcrs = replay_ima_log(log);
	auto want = attest_data::hex_file("pcr10.hex");
	CHECK(std::vector<uint8_t>(pcrs.at(10).begin(), pcrs.at(10).end()) == want);
	CHECK(replay_ima_log(log, 3) != replay_ima_log(log));
	Sha256 ff;
	ff.fill(0xff);
	for (const auto &e : log)
		CHECK(ima_extend_value(e) == (e.violation() ? ff : e.template_digest));

	auto b = parse_ima_buf(log[2]);
	CHECK(b.digest_algo == "sha256");
	CHECK(b.digest.size() == 32);
	CHECK(b.event_name == "lpguard-load");
	CHECK(std::string(b.buf.begin(), b.buf.end()).rfind("lpguard/1 seq=1 event=load ", 0) == 0);
	CHECK_THROWS_AS(parse_ima_buf(log[0]), Error); // ima-ng
}

TEST_CASE("the measurement list is bounded", "[ima_log]")
{
	auto bytes = attest_data::file("ima-log.bin");
	auto one = parse_ima_log(bytes)[0];
	std::size_t first = 4 + 32 + 4 + one.template_name.size() + 4 + one.template_data.size();
	for (std::size_t n = 1; n < first; n++)
		CHECK_THROWS_AS(parse_ima_log(std::span(bytes).first(n)), Error);
	CHECK(parse_ima_log(std::span(bytes).first(first)).size() == 1);
	CHECK(parse_ima_log({}).empty());
	auto bad = bytes;
	bad[0] = 24; // PCR 24
	CHECK_THROWS_AS(parse_ima_log(bad), Error);
	bad = bytes;
	bad[36] = 0xff; // template name length
	CHECK_THROWS_AS(parse_ima_log(bad), Error);
	bad = bytes;
	bad[first - one.template_data.size()] = 0xff; // first field length past the data
	CHECK_THROWS_AS(parse_ima_log(bad), Error);
}

TEST_CASE("the legacy ima template hashes its name padded to 256 bytes", "[ima_log]")
{
	// pcr 10, digest, "ima", d (20 bytes), n (u32 len + "/init")
	std::vector<uint8_t> bytes = {10, 0, 0, 0};
	std::vector<uint8_t> d(20, 0xab), name = {'/', 'i', 'n', 'i', 't'};
	ImaEntry e;
	e.template_name = "ima";
	e.fields = {d, name};
	e.template_data = d;
	e.template_data.insert(e.template_data.end(), name.begin(), name.end());
	auto h = ima_template_hash(e);
	bytes.insert(bytes.end(), h.begin(), h.end());
	bytes.insert(bytes.end(), {3, 0, 0, 0, 'i', 'm', 'a'});
	bytes.insert(bytes.end(), d.begin(), d.end());
	bytes.insert(bytes.end(), {5, 0, 0, 0});
	bytes.insert(bytes.end(), name.begin(), name.end());
	auto log = parse_ima_log(bytes);
	REQUIRE(log.size() == 1);
	CHECK(log[0].fields == e.fields);
	CHECK(ima_template_hash(log[0]) == log[0].template_digest);

	e.fields[1].clear(); // an empty name hashes as 256 zero bytes
	CHECK(ima_template_hash(e) != h);
}
