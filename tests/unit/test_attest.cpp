// SPDX-License-Identifier: GPL-2.0
// guest/attest.cpp and guest/tpm.cpp through lp-load attest, against
// swtpm on this machine (no QEMU): the AK, a quote over a fake IMA list
// whose extends went into the swtpm's PCR 10, verified by the core
// verifier and by tpm2_checkquote; a second swtpm's AK is refused; no
// TPM, no IMA, no records each get their exit code.

#include <catch2/catch_test_macros.hpp>

#include <csignal>
#include <fstream>
#include <thread>

#include <sys/wait.h>

#include "attest_data.hpp"
#include "lp-load/exit_codes.hpp"
#include "lpguard/core/attest_verify.hpp"
#include "lpguard/guest/attest.hpp"
#include "lpguard/host/shell.hpp"
#include "test_module_keys.hpp"
#include "test_swtpm.hpp"

using namespace lpguard;
using namespace lpguard::test;

namespace {

// One swtpm on a Unix socket, stopped (SIGTERM, then waited for) when it
// goes out of scope, whatever the test did.
// One swtpm per test, under the scratch directory.
struct NamedSwtpm : Swtpm {
	explicit NamedSwtpm(const std::string &name) : Swtpm(scratch_dir() / ("swtpm-" + name)) {}
	std::string env() const { return "TPM2TOOLS_TCTI=" + shell_quote(tcti()) + " "; }
};

std::string lp_load() { return (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "lp-load").string(); }

Cmd attest(const NamedSwtpm &tpm, const std::string &args)
{
	return run_shell(shell_quote(lp_load()) + " attest --tcti " + shell_quote(tpm.tcti()) + " " + args + " 2>&1");
}

bool have_swtpm() { return run_shell("command -v swtpm && command -v tpm2_checkquote").rc == 0; }

} // namespace

TEST_CASE("lp-load attest against swtpm: verified by the core verifier and tpm2_checkquote", "[attest][swtpm]")
{
	if (!have_swtpm())
		SKIP("swtpm or tpm2-tools not installed (make deps)");
	NamedSwtpm tpm("a"), other("b");
	const std::string data = std::string(LPGUARD_TEST_DATA) + "/attest/";
	const auto log = (tpm.dir / "ima.bin").string();
	// The golden list's extends, made by "the kernel": PCR 10 matches the list.
	auto made = run_shell("python3 " + shell_quote(data + "make-ima-log.py") + " " + shell_quote(log) + " | while read -r p d; do " +
			      tpm.env() + "tpm2_pcrextend \"$p:sha256=$d\" || exit 1; done");
	REQUIRE(made.rc == 0);

	CHECK(attest(tpm, "--ak-pub").rc == exit_code_for(lpload_tool::kExitCodes, Kind::no_tpm));
	auto created = attest(tpm, "--create-ak --json");
	INFO(created.out);
	REQUIRE(created.rc == 0);
	CHECK(Json::parse(created.out)["created"] == true);
	CHECK(Json::parse(attest(tpm, "--create-ak --json").out)["created"] == false); // kept
	auto pem = attest(tpm, "--ak-pub");
	REQUIRE(pem.rc == 0);
	REQUIRE(attest(other, "--create-ak").rc == 0);
	auto other_pem = attest(other, "--ak-pub").out;
	CHECK(other_pem != pem.out);

	const std::string nonce = "0123456789abcdef0123456789abcdef";
	auto r = attest(tpm, "--nonce " + nonce + " --json --pcrs 0,7 --ima-log " + shell_quote(log));
	INFO(r.out);
	REQUIRE(r.rc == 0);
	auto j = Json::parse(r.out);
	CHECK(j["ak"]["public_pem"] == pem.out);
	CHECK(j["records"].size() == 8);
	CHECK(j["quote"]["pcrs"]["sha256"].contains("7"));

	auto ev = evidence_from_json(j);
	auto want = *unhex(nonce);
	auto v = verify_attestation(ev, std::vector<uint8_t>(pem.out.begin(), pem.out.end()), want);
	INFO(v.reason);
	CHECK(v.ok());
	CHECK(v.report.active->name == "lpg_b");
	CHECK(verify_attestation(ev, std::vector<uint8_t>(other_pem.begin(), other_pem.end()), want).failed ==
	      AttestCheck::signature);
	CHECK(verify_attestation(ev, std::vector<uint8_t>(pem.out.begin(), pem.out.end()), std::vector<uint8_t>{1}).failed ==
	      AttestCheck::nonce);

	// tpm2_checkquote: the same quote, key and nonce.
	write_bytes(tpm.dir / "q.attest", ev.quote);
	write_bytes(tpm.dir / "q.sig", ev.signature);
	write_bytes(tpm.dir / "ak.pem", std::vector<uint8_t>(pem.out.begin(), pem.out.end()));
	write_bytes(tpm.dir / "other.pem", std::vector<uint8_t>(other_pem.begin(), other_pem.end()));
	auto check = [&](const std::string &key) {
		return run_shell("tpm2_checkquote -Q -u " + shell_quote((tpm.dir / key).string()) + " -m " +
				 shell_quote((tpm.dir / "q.attest").string()) + " -s " + shell_quote((tpm.dir / "q.sig").string()) +
				 " -q " + nonce + " -g sha256 2>&1")
			.rc;
	};
	CHECK(check("ak.pem") == 0);
	CHECK(check("other.pem") != 0);
}

TEST_CASE("lp-load attest: no TPM, no IMA, no records: one line, own exit code", "[attest][swtpm]")
{
	const std::string data = std::string(LPGUARD_TEST_DATA) + "/attest/";
	auto code = [](Kind k) { return exit_code_for(lpload_tool::kExitCodes, k); };
	auto run = [](const std::string &args) {
		return run_shell(shell_quote(lp_load()) + " attest " + args + " 2>&1 >/dev/null");
	};
	auto no_tpm = run("--nonce 00 --tcti swtpm:path=/nonexistent/sock --ima-log " + shell_quote(data + "ima-log.bin"));
	CHECK(no_tpm.rc == code(Kind::no_tpm));
	CHECK(std::count(no_tpm.out.begin(), no_tpm.out.end(), '\n') == 1);
	CHECK(run("--tcti swtpm:path=/nonexistent/sock").rc == code(Kind::usage)); // no --nonce

	if (!have_swtpm())
		SKIP("swtpm not installed (make deps)");
	NamedSwtpm tpm("c");
	REQUIRE(attest(tpm, "--create-ak").rc == 0);
	// The TPM is checked first; with one, a missing IMA list is its own failure.
	auto no_ima = attest(tpm, "--nonce 00 --ima-log /nonexistent/ima");
	CHECK(no_ima.rc == code(Kind::no_ima));
	CHECK(std::count(no_ima.out.begin(), no_ima.out.end(), '\n') == 1);
	// A list without lpguard records: the golden list's first entry only.
	auto all = attest_data::file("ima-log.bin");
	auto first = parse_ima_log(all)[0];
	std::size_t n = 4 + 32 + 4 + first.template_name.size() + 4 + first.template_data.size();
	write_bytes(tpm.dir / "ima.bin", std::vector<uint8_t>(all.begin(), all.begin() + std::ptrdiff_t(n)));
	auto none = attest(tpm, "--nonce 00 --json --ima-log " + shell_quote((tpm.dir / "ima.bin").string()));
	CHECK(none.rc == code(Kind::no_records));
	CHECK(none.out.find("\"quote\"") == std::string::npos); // nothing that looks like evidence
}
