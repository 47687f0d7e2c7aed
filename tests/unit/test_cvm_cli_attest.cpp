// SPDX-License-Identifier: GPL-2.0
// cvm-cli attest from the outside: the real lp-load attest against swtpm
// behind a stand-in ssh (it runs the remote command here) and the gcloud
// double; saved and forged evidence through `cvm-cli attest verify`.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <csignal>
#include <thread>

#include <sys/wait.h>

#include "attest_data.hpp"
#include "cvm-cli/exit_codes.hpp"
#include "lpguard/core/attest_verify.hpp"
#include "lpguard/core/module_image.hpp"
#include "lpguard/host/module_sign.hpp"
#include "lpguard/host/shell.hpp"
#include "test_module_builder.hpp"
#include "test_module_keys.hpp"
#include "test_swtpm.hpp"

using namespace lpguard;
using namespace lpguard::test;
using Catch::Matchers::ContainsSubstring;

namespace {

using Tpm = Swtpm;

std::filesystem::path bin_dir() { return std::filesystem::read_symlink("/proc/self/exe").parent_path(); }

std::string text(const std::filesystem::path &p)
{
	auto b = read_bytes(p);
	return std::string(b.begin(), b.end());
}

void write_text(const std::filesystem::path &p, const std::string &s, bool exec = false)
{
	write_bytes(p, std::vector<uint8_t>(s.begin(), s.end()));
	if (exec)
		std::filesystem::permissions(p, std::filesystem::perms::owner_all);
}

struct Out {
	int rc;
	std::string out, err;
};

// A guest: a swtpm whose PCR 10 holds a fake IMA list (make-ima-log.py)
// whose records name the SHA-256 of two real signed modules, and a stand-in
// ssh on PATH that runs the remote command here, where `lp-load` is the real
// one pointed at that swtpm and list.
struct Guest {
	std::filesystem::path dir;
	std::unique_ptr<Tpm> tpm;
	std::filesystem::path a_ko, b_ko;
	std::string env;

	Guest(const std::string &name)
	{
		dir = scratch_dir() / ("attest-" + name);
		std::filesystem::remove_all(dir);
		std::filesystem::create_directories(dir / "bin");
		const auto &k = test_keys("rsa");
		for (auto [n, p] : {std::pair{"lpg_a", &a_ko}, std::pair{"lpg_b", &b_ko}}) {
			*p = dir / (std::string(n) + ".ko");
			auto image = ModuleImage::from_bytes(build_module(n, true, "6.12.0 SMP mod_unload ").bytes);
			std::vector<uint8_t> app;
			auto key = SigningKey::load(k.key, k.crt);
			auto payload = sign_module(image, key, "sha256", &app);
			std::vector<uint8_t> signed_(image.bytes.begin(), image.bytes.begin() + payload);
			signed_.insert(signed_.end(), app.begin(), app.end());
			write_bytes(*p, signed_);
		}
		use_tpm("1");
		write_text(dir / "bin/ssh",
			   "#!/bin/sh\n# stand-in: the connection commands succeed, a command runs here\n"
			   "for a; do last=$a; case $a in -N|-O) exit 0 ;; esac; done\n"
			   "exec sh -c \"$last\"\n",
			   true);
		write_text(dir / "bin/lp-load",
			   "#!/bin/sh\n. " + shell_quote((dir / "tcti").string()) + "\nexec " +
				   shell_quote((bin_dir() / "lp-load").string()) +
				   " \"$@\" --tcti \"$TCTI\" --ima-log " + shell_quote((dir / "ima.bin").string()) + "\n",
			   true);
		env = "PATH=" + shell_quote((dir / "bin").string()) + ":$PATH XDG_CONFIG_HOME=" +
			shell_quote((dir / "config").string());
	}
	// (Re)starts the guest's TPM (another TPM: another AK), extends PCR 10
	// with the list and creates the AK.
	void use_tpm(const std::string &n)
	{
		tpm.reset();
		tpm = std::make_unique<Tpm>(dir / ("tpm" + n));
		write_text(dir / "tcti", "TCTI=" + shell_quote(tpm->tcti()) + "\n");
		auto sha = [](const std::filesystem::path &p) { return ModuleImage::from_file(p).sha256_hex(); };
		auto r = run_shell("LPG_A_SHA=" + sha(a_ko) + " LPG_B_SHA=" + sha(b_ko) + " python3 " +
				   shell_quote(std::string(LPGUARD_TEST_DATA) + "/attest/make-ima-log.py") + " " +
				   shell_quote((dir / "ima.bin").string()) + " | while read -r p d; do TPM2TOOLS_TCTI=" +
				   shell_quote(tpm->tcti()) + " tpm2_pcrextend \"$p:sha256=$d\" || exit 1; done");
		REQUIRE(r.rc == 0);
		REQUIRE(run_shell(shell_quote((bin_dir() / "lp-load").string()) + " attest --create-ak --tcti " +
				  shell_quote(tpm->tcti()) + " >/dev/null")
				.rc == 0);
	}
	Out cvm(const std::string &args, const std::string &extra_env = "") const
	{
		auto errf = dir / "stderr";
		auto r = run_shell(env + " " + extra_env + " " + shell_quote((bin_dir() / "cvm-cli").string()) + " " + args +
				   " 2>" + shell_quote(errf.string()));
		return {r.rc, r.out, text(errf)};
	}
};

bool have_tools() { return run_shell("command -v swtpm && command -v tpm2_pcrextend").rc == 0; }

int code(Kind k) { return cvmcli::exit_code(k); }

} // namespace

TEST_CASE("attest ssh: fresh nonces, trust on first use, --expect, a changed AK refused", "[attest][cli][swtpm]")
{
	if (!have_tools())
		SKIP("swtpm or tpm2-tools not installed (make deps)");
	Guest g("ssh");
	const std::string target = "ssh root@vm1";
	auto pin = g.dir / "config/lpguard/ak-pins/ssh-root@vm1.pem";

	// First use: a warning, the pin written, the report.
	auto first = g.cvm("attest " + target + " --save-evidence " + shell_quote((g.dir / "ev1.json").string()));
	INFO(first.out << first.err);
	REQUIRE(first.rc == 0);
	CHECK_THAT(first.err, ContainsSubstring("warning: first use"));
	REQUIRE(std::filesystem::exists(pin));
	CHECK_THAT(first.out, ContainsSubstring("active: lpg_b sha256=" + ModuleImage::from_file(g.b_ko).sha256_hex()));
	CHECK_THAT(first.out, ContainsSubstring("history since boot (8 records)"));
	CHECK_THAT(first.out, ContainsSubstring("refused rollbacks: 1"));

	// Second use: the pin is used, no warning; the nonce differs.
	auto second = g.cvm("attest " + target + " --json --save-evidence " + shell_quote((g.dir / "ev2.json").string()));
	INFO(second.out << second.err);
	REQUIRE(second.rc == 0);
	CHECK(second.err.find("warning") == std::string::npos);
	auto j = Json::parse(second.out);
	CHECK(j["ak"]["source"] == "pin");
	CHECK(j["verdict"]["verified"] == true);
	CHECK(j["verdict"]["active"]["name"] == "lpg_b");
	CHECK(j["verdict"]["history"].size() == 8);
	auto n1 = Json::parse(text(g.dir / "ev1.json"))["nonce"], n2 = Json::parse(text(g.dir / "ev2.json"))["nonce"];
	CHECK(n1 != n2);
	CHECK(n2 == j["nonce"]);
	CHECK(n2.get<std::string>().size() == 64);

	// --expect: B (signed) is active; A is not.
	CHECK(g.cvm("attest " + target + " --expect " + shell_quote(g.b_ko.string())).rc == 0);
	auto a = g.cvm("attest " + target + " --expect " + shell_quote(g.a_ko.string()));
	CHECK(a.rc == code(Kind::attest_not_expected));
	CHECK_THAT(a.err, ContainsSubstring("the active livepatch is lpg_b (generation 2)"));

	// The guest now presents another TPM's key: refused, the pin kept.
	auto pinned = text(pin);
	g.use_tpm("2");
	auto changed = g.cvm("attest " + target);
	CHECK(changed.rc == code(Kind::attest_ak_changed));
	CHECK_THAT(changed.err, ContainsSubstring("another attestation key than the one pinned"));
	CHECK(text(pin) == pinned);
	// With --ak-pub naming the old key: the signature check refuses the quote.
	auto other = g.cvm("attest " + target + " --ak-pub " + shell_quote(pin.string()));
	CHECK(other.rc == code(Kind::attest_signature));
}

TEST_CASE("attest gcp: the AK from gcloud's shielded identity (gcloud double)", "[attest][cli][swtpm][gcp]")
{
	if (!have_tools())
		SKIP("swtpm or tpm2-tools not installed (make deps)");
	Guest g("gcp");
	std::filesystem::create_symlink(std::filesystem::path(LPGUARD_TEST_DATA) / "gcloud-double", g.dir / "bin/gcloud");
	auto ak = g.dir / "ak.pem";
	REQUIRE(run_shell(shell_quote((bin_dir() / "lp-load").string()) + " attest --ak-pub --tcti " +
			  shell_quote(g.tpm->tcti()) + " > " + shell_quote(ak.string()))
			.rc == 0);
	std::string env = "GCLOUD_DOUBLE_INSTANCE=cvm-1 GCLOUD_DOUBLE_DEST=root@vm GCLOUD_DOUBLE_PORT=22 GCLOUD_DOUBLE_LOG=" +
		shell_quote((g.dir / "gcloud.log").string()) + " GCLOUD_DOUBLE_AK_PEM=" + shell_quote(ak.string());
	auto r = g.cvm("attest gcp cvm-1 --zone europe-west4-a --project lpguard-test --json --expect " +
			       shell_quote(g.b_ko.string()),
		       env);
	INFO(r.out << r.err << text(g.dir / "gcloud.log"));
	REQUIRE(r.rc == 0);
	auto j = Json::parse(r.out);
	CHECK(j["ak"]["source"] == "gcp");
	CHECK(j["expect"]["matches"] == true);
	CHECK_THAT(text(g.dir / "gcloud.log"),
		   ContainsSubstring("[\"compute\", \"instances\", \"get-shielded-identity\", \"cvm-1\", "
				     "\"--zone=europe-west4-a\", \"--project=lpguard-test\", \"--format=json\"]"));
	CHECK_FALSE(std::filesystem::exists(g.dir / "config/lpguard/ak-pins")); // no pin for gcp

	// gcloud's answer without a PEM key in signingKey.ekPub: refused before connecting.
	write_text(ak, "not a key\n");
	auto bad = g.cvm("attest gcp cvm-1 --zone europe-west4-a", env);
	CHECK(bad.rc == code(Kind::remote));
	CHECK_THAT(bad.err, ContainsSubstring("signingKey.ekPub is not a PEM public key"));
	// Another key in gcloud's answer: the signature check refuses.
	write_text(ak, text(std::string(LPGUARD_TEST_DATA) + "/attest/ak-other.pem"));
	CHECK(g.cvm("attest gcp cvm-1 --zone europe-west4-a", env).rc == code(Kind::attest_signature));
}

TEST_CASE("attest verify: saved evidence, and each forgery refused with its own exit code", "[attest][cli]")
{
	const std::string d = std::string(LPGUARD_TEST_DATA) + "/attest/";
	auto dir = scratch_dir() / "attest-forge";
	std::filesystem::create_directories(dir);
	auto b64 = [&](const std::string &f) { return base64(attest_data::file(f)); };
	auto nonce = hex(attest_data::hex_file("nonce.hex"));
	auto pem = attest_data::file("ak-rsa.pem");
	Json ev = {{"version", 1},
		   {"nonce", nonce},
		   {"quote", {{"attest", b64("quote-rsa.attest")}, {"signature", b64("quote-rsa.sig")}}},
		   {"ak", {{"handle", "0x81010010"}, {"public_pem", std::string(pem.begin(), pem.end())}}},
		   {"ima_log", b64("ima-log.bin")}};
	auto verify = [&](const Json &e, const std::string &extra = "", const std::string &n = "") {
		write_text(dir / "ev.json", e.dump());
		auto errf = dir / "err";
		auto r = run_shell(shell_quote((bin_dir() / "cvm-cli").string()) + " attest verify --evidence " +
				   shell_quote((dir / "ev.json").string()) + " --nonce " + (n.empty() ? nonce : n) + " --ak-pub " +
				   shell_quote(d + "ak-rsa.pem") + " " + extra + " 2>" + shell_quote(errf.string()));
		return Out{r.rc, r.out, text(errf)};
	};
	auto ok = verify(ev, "--json");
	INFO(ok.out << ok.err);
	REQUIRE(ok.rc == 0);
	CHECK(Json::parse(ok.out)["verdict"]["active"]["name"] == "lpg_b");

	auto log = attest_data::file("ima-log.bin");
	auto with_log = [&](std::vector<uint8_t> l) {
		Json e = ev;
		e["ima_log"] = base64(l);
		return e;
	};
	// A byte of a record's text changed: its data no longer hashes to its digest.
	auto changed = log;
	auto pos = std::string(changed.begin(), changed.end()).find("generation=2");
	REQUIRE(pos != std::string::npos);
	changed[pos + 11] = '9';
	auto c = verify(with_log(changed));
	CHECK(c.rc == code(Kind::attest_ima_log));
	CHECK(std::count(c.err.begin(), c.err.end(), '\n') == 1);
	// A record removed (the list of make-ima-log.py gap, against the full quote).
	CHECK(verify(with_log(attest_data::file("ima-log-gap.bin"))).rc == code(Kind::attest_pcr_digest));
	// An old quote (another nonce than this call's).
	CHECK(verify(ev, "", "00112233445566778899aabbccddeeff").rc == code(Kind::attest_nonce));
	// Another TPM's key signed it.
	Json other = ev;
	other["quote"]["attest"] = b64("quote-gap.attest");
	other["quote"]["signature"] = b64("quote-gap.sig");
	CHECK(verify(other).rc == code(Kind::attest_signature));
	// The quote's TPMS_ATTEST changed after signing: the signature check first.
	auto q = attest_data::file("quote-rsa.attest");
	q[0] ^= 1;
	Json bad_magic = ev;
	bad_magic["quote"]["attest"] = base64(q);
	CHECK(verify(bad_magic).rc == code(Kind::attest_signature));
	// Not evidence at all.
	CHECK(verify(Json{{"version", 1}}).rc == code(Kind::input));
	// --expect with a module that is not the active one.
	write_bytes(dir / "x.ko", build_module("lpg_x", true, "6.12.0 SMP ").bytes);
	const auto &k = test_keys("rsa");
	auto x = verify(ev, "--expect " + shell_quote((dir / "x.ko").string()) + " --key " + shell_quote(k.key.string()) + " --cert " + shell_quote(k.crt.string()));
	CHECK(x.rc == code(Kind::attest_not_expected));
	// An unsigned module with an ECDSA key can never match: refused as such.
	const auto &e = test_keys("ec");
	auto ec = verify(ev, "--expect " + shell_quote((dir / "x.ko").string()) + " --key " + shell_quote(e.key.string()) + " --cert " + shell_quote(e.crt.string()));
	CHECK(ec.rc == code(Kind::usage));
	CHECK_THAT(ec.err, ContainsSubstring("ECDSA signatures are randomised"));
}

TEST_CASE("attest --expect with an unsigned RSA module signs it as cvm-cli sign does; --keylime-policy", "[attest][cli][swtpm]")
{
	if (!have_tools())
		SKIP("swtpm or tpm2-tools not installed (make deps)");
	Guest g("keylime");
	const auto &k = test_keys("rsa");
	// The unsigned B: signing it here gives the very image on the guest (RSA PKCS#1 v1.5 is deterministic).
	auto unsigned_b = g.dir / "lpg_b.unsigned.ko";
	auto b = ModuleImage::from_file(g.b_ko);
	write_bytes(unsigned_b, std::vector<uint8_t>(b.bytes.begin(), b.bytes.begin() + b.payload_size));
	std::string expect = " --expect " + shell_quote(unsigned_b.string()) + " --key " + shell_quote(k.key.string()) +
		" --cert " + shell_quote(k.crt.string());
	CHECK(g.cvm("attest ssh root@vm1" + expect).rc == 0);
	CHECK(g.cvm("attest ssh root@vm1 --keylime-policy").rc == code(Kind::usage));
	auto r = g.cvm("attest ssh root@vm1 --keylime-policy" + expect);
	INFO(r.out << r.err);
	REQUIRE(r.rc == 0);
	// Keylime's RuntimePolicyType (keylime/ima/types.py): the required members and their types.
	auto p = Json::parse(r.out);
	CHECK(p["meta"]["version"] == 1);
	for (const char *m : {"digests", "keyrings", "ima-buf"})
		CHECK(p[m].is_object());
	CHECK(p["excludes"].is_array());
	CHECK(p["verification-keys"].is_string());
	CHECK(p["ima"]["ignored_keyrings"].is_array());
	CHECK(p["ima"]["log_hash_alg"] == "sha1");
	// B's records (load, enable, patched) and nothing else; each digest is its buffer's SHA-256.
	auto buf = p["ima-buf"];
	CHECK(buf.size() == 3);
	for (const char *ev : {"lpguard-load", "lpguard-enable", "lpguard-patched"}) {
		REQUIRE(buf.contains(ev));
		CHECK(buf[ev].size() == 1);
		CHECK(buf[ev][0].get<std::string>().size() == 64);
	}
	CHECK_FALSE(buf.contains("lpguard-replaced"));
}

TEST_CASE("attest --dry-run prints the commands; every call has its own nonce", "[attest][cli]")
{
	auto dir = scratch_dir() / "attest-dry";
	std::filesystem::create_directories(dir);
	auto run = [&] {
		return run_shell(shell_quote((bin_dir() / "cvm-cli").string()) + " attest ssh root@vm1:2222 --ak-pub " +
				 shell_quote(std::string(LPGUARD_TEST_DATA) + "/attest/ak-rsa.pem") + " --dry-run --json");
	};
	auto a = run(), b = run();
	REQUIRE(a.rc == 0);
	auto ja = Json::parse(a.out), jb = Json::parse(b.out);
	CHECK(ja["nonce"] != jb["nonce"]);
	CHECK(ja["commands"].size() == 3);
	CHECK_THAT(ja["commands"][1].get<std::string>(),
		   ContainsSubstring("lp-load attest --nonce " + ja["nonce"].get<std::string>() + " --json"));
}
