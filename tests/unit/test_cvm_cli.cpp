// SPDX-License-Identifier: GPL-2.0
// The cvm-cli binary from the outside: exit codes, one-line errors, output.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <nlohmann/json.hpp>

#include "cvm-cli/exit_codes.hpp"
#include "lpguard/host/module_sign.hpp"
#include "lpguard/host/shell.hpp"
#include "lpguard/host/transport.hpp"
#include "test_module_builder.hpp"
#include "test_module_keys.hpp"

using namespace lpguard;
using namespace lpguard::test;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::EndsWith;
using Catch::Matchers::StartsWith;

namespace {

std::filesystem::path cvm_cli()
{
	return std::filesystem::read_symlink("/proc/self/exe").parent_path() / "cvm-cli";
}

struct CliResult {
	int rc;
	std::string out, err;
	int err_lines() const { return int(std::count(err.begin(), err.end(), '\n')); }
};

CliResult cli(const std::vector<std::string> &args, const std::filesystem::path &cwd, const std::string &env = "")
{
	Argv argv{cvm_cli().string()};
	argv.insert(argv.end(), args.begin(), args.end());
	auto errf = scratch_dir() / "cli.stderr";
	auto r = run_shell("cd " + shell_quote(cwd.string()) + " && " + env + " " + shell_join(argv) + " 2>" +
			   shell_quote(errf.string()));
	auto e = read_bytes(errf);
	return {r.rc, r.out, std::string(e.begin(), e.end())};
}

std::filesystem::path workdir(const std::string &name)
{
	auto d = scratch_dir() / ("cli-" + name);
	std::filesystem::create_directories(d);
	return d;
}

} // namespace

TEST_CASE("cvm-cli --help documents the exit codes", "[cli]")
{
	REQUIRE(std::filesystem::exists(cvm_cli()));
	auto r = cli({"--help"}, workdir("help"));
	CHECK(r.rc == 0);
	CHECK_THAT(r.out, ContainsSubstring("Exit codes:"));
	CHECK_THAT(r.out, ContainsSubstring("8  lp-load on the guest refused"));
	for (const char *sub : {"generate-livepatch-keys", "sign", "verify", "inspect", "livepatch"})
		CHECK_THAT(r.out, ContainsSubstring(sub));
	auto lp = cli({"livepatch", "--help"}, workdir("help"));
	CHECK(lp.rc == 0);
	for (const char *p : {"ssh", "gcp", "azure", "aws"})
		CHECK_THAT(lp.out, ContainsSubstring(p));
}

TEST_CASE("command line errors are one line and exit 2", "[cli]")
{
	auto d = workdir("usage");
	for (const std::vector<std::string> &args :
	     {std::vector<std::string>{}, {"frobnicate"}, {"sign"}, {"sign", "--hash", "md5", "x.ko"}, {"generate-livepatch-keys", "--type", "dsa"}, {"livepatch", "gcp", "vm"}, {"livepatch", "gcp", "vm", "p.ko", "--tunnel-through-iap", "--internal-ip"}}) {
		auto r = cli(args, d);
		INFO(shell_join(args) << " -> " << r.err);
		CHECK(r.rc == cvmcli::exit_code(Kind::usage));
		CHECK(r.err_lines() == 1);
		CHECK_THAT(r.err, StartsWith("cvm-cli: invalid command line: "));
	}
}

TEST_CASE("generate-livepatch-keys writes the keys, never prints the private key, refuses to overwrite", "[cli][keys]")
{
	auto d = workdir("keygen");
	auto r = cli({"generate-livepatch-keys", "--type", "ecdsa-p384", "--subject", "cli test"}, d);
	CHECK(r.rc == 0);
	CHECK(std::filesystem::exists(d / "keys/livepatch.key"));
	CHECK(std::filesystem::exists(d / "keys/livepatch.crt"));
	CHECK(std::filesystem::exists(d / "keys/livepatch.der"));
	CHECK_THAT(r.out, ContainsSubstring("CONFIG_SECURITY_LPGUARD_CERTS=\"keys/livepatch.crt\""));
	CHECK_THAT(r.out, ContainsSubstring("CONFIG_SYSTEM_TRUSTED_KEYS"));
	CHECK_THAT(r.out, ContainsSubstring("CONFIG_CRYPTO_ECDSA"));
	auto key = read_bytes(d / "keys/livepatch.key");
	std::string key_text(key.begin(), key.end());
	CHECK(r.out.find("PRIVATE KEY") == std::string::npos);
	CHECK(r.out.find(key_text.substr(40, 30)) == std::string::npos);
	CHECK(r.err.empty());
	auto again = cli({"generate-livepatch-keys"}, d);
	CHECK(again.rc == cvmcli::exit_code(Kind::refused));
	CHECK(again.err_lines() == 1);
	CHECK_THAT(again.err, ContainsSubstring("pass --force"));
	CHECK(read_bytes(d / "keys/livepatch.key") == key);
	CHECK(cli({"generate-livepatch-keys", "--force", "--type", "ecdsa-p384"}, d).rc == 0);
	CHECK(read_bytes(d / "keys/livepatch.key") != key);
}

TEST_CASE("sign, verify and inspect from the command line", "[cli][sign]")
{
	auto d = workdir("sign");
	const auto &k = test_keys("rsa");
	write_bytes(d / "lp.ko", build_module("lp_cli").bytes);
	write_bytes(d / "bad.ko", {1, 2, 3});

	auto nokey = cli({"sign", "lp.ko"}, d);
	CHECK(nokey.rc == cvmcli::exit_code(Kind::key));
	CHECK(nokey.err_lines() == 1);
	CHECK(nokey.err == "cvm-cli: cannot read signing key keys/livepatch.key: No such file or directory "
			   "(create a key pair with: cvm-cli generate-livepatch-keys --out keys)\n");

	auto bad = cli({"sign", "--key", k.key.string(), "--cert", k.crt.string(), "bad.ko"}, d);
	CHECK(bad.rc == cvmcli::exit_code(Kind::input));
	CHECK(bad.err == "cvm-cli: invalid module image bad.ko: file is 3 bytes, shorter than an ELF header "
			 "(rebuild the module with the kernel's build system (make M=...))\n");

	auto missing = cli({"inspect", "nope.ko"}, d);
	CHECK(missing.rc == cvmcli::exit_code(Kind::input));
	CHECK(missing.err_lines() == 1);

	auto s = cli({"sign", "--key", k.key.string(), "--cert", k.crt.string(), "--hash", "sha512", "-o", "lp.signed.ko",
		      "lp.ko"},
		     d);
	CHECK(s.rc == 0);
	CHECK_THAT(s.out, StartsWith("lp.signed.ko: signed by \"lpguard unit test rsa\" (sha512"));
	CHECK(read_bytes(d / "lp.ko") == build_module("lp_cli").bytes); // input untouched with -o

	auto v = cli({"verify", "--cert", k.crt.string(), "lp.signed.ko"}, d);
	CHECK(v.rc == 0);
	CHECK_THAT(v.out, StartsWith("lp.signed.ko: signature OK (sha512"));
	auto vo = cli({"verify", "--cert", test_keys("other").crt.string(), "lp.signed.ko"}, d);
	CHECK(vo.rc == cvmcli::exit_code(Kind::signature));
	CHECK(vo.err_lines() == 1);
	CHECK_THAT(vo.err, StartsWith("cvm-cli: lp.signed.ko: signature does not verify: signed by a key none of"));
	auto vu = cli({"verify", "--cert", k.crt.string(), "lp.ko"}, d);
	CHECK(vu.rc == cvmcli::exit_code(Kind::signature));
	CHECK_THAT(vu.err, ContainsSubstring("the module is not signed (sign it with cvm-cli sign)"));

	auto j = cli({"inspect", "--json", "--cert", k.crt.string(), "lp.signed.ko"}, d);
	REQUIRE(j.rc == 0);
	auto js = nlohmann::json::parse(j.out);
	CHECK(js["name"] == "lp_cli");
	CHECK(js["livepatch"] == "Y");
	CHECK(js["release"] == "6.12.117");
	CHECK(js["payload_size"] == build_module("lp_cli").bytes.size());
	CHECK(js["signature"]["hash_algo"] == "sha512");
	CHECK(js["signature"]["signer"] == "lpguard unit test rsa");
	CHECK(js["signature"]["serial"] == Certificate::from_file(k.crt).serial_hex());
	CHECK(js["verification"]["verified"] == true);
	CHECK(js["sha256"].get<std::string>().size() == 64);
	auto h = cli({"inspect", "lp.ko"}, d);
	CHECK(h.rc == 0);
	CHECK_THAT(h.out, ContainsSubstring("livepatch:  yes (livepatch=Y)"));
	CHECK_THAT(h.out, ContainsSubstring("signature:  none"));

	// In place: the signature is replaced and the file mode kept.
	std::filesystem::permissions(d / "lp.ko", std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
	auto first = cli({"sign", "--key", k.key.string(), "--cert", k.crt.string(), "lp.ko"}, d);
	CHECK(first.rc == 0);
	CHECK_THAT(first.out, !ContainsSubstring("previous signature replaced"));
	auto again = cli({"sign", "--key", k.key.string(), "--cert", k.crt.string(), "lp.ko"}, d);
	CHECK(again.rc == 0);
	CHECK_THAT(again.out, EndsWith(", previous signature replaced\n"));
	auto img = ModuleImage::from_file(d / "lp.ko");
	CHECK(img.payload_size == build_module("lp_cli").bytes.size());
	CHECK((std::filesystem::status(d / "lp.ko").permissions() & std::filesystem::perms::all) ==
	      (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write));
}

TEST_CASE("sign --generation writes lpguard.generation=, inspect shows it", "[cli][sign][generation]")
{
	auto d = workdir("generation");
	const auto &k = test_keys("rsa");
	write_bytes(d / "lp.ko", build_module("lp_gen").bytes);
	std::vector<std::string> sign{"sign", "--key", k.key.string(), "--cert", k.crt.string()};
	auto with = [&](std::vector<std::string> args) {
		args.insert(args.begin(), sign.begin(), sign.end());
		return cli(args, d);
	};

	auto h = cli({"inspect", "lp.ko"}, d);
	CHECK_THAT(h.out, ContainsSubstring("generation: 0 (no lpguard.generation= tag)\n"));
	auto s = with({"--generation", "7", "-o", "lp.g7.ko", "lp.ko"});
	CHECK(s.rc == 0);
	CHECK_THAT(s.out, EndsWith("), generation 7\n"));
	CHECK(read_bytes(d / "lp.ko") == build_module("lp_gen").bytes); // input untouched with -o
	CHECK(cli({"verify", "--cert", k.crt.string(), "lp.g7.ko"}, d).rc == 0);
	CHECK_THAT(cli({"inspect", "lp.g7.ko"}, d).out, ContainsSubstring("generation: 7\n"));
	auto j = nlohmann::json::parse(cli({"inspect", "--json", "lp.g7.ko"}, d).out);
	CHECK(j["generation"] == 7);

	// In place over a signed module: the tag and the signature are replaced.
	auto again = with({"--generation", "4294967295", "lp.g7.ko"});
	CHECK(again.rc == 0);
	CHECK_THAT(again.out, EndsWith(", generation 4294967295, previous signature replaced\n"));
	auto img = ModuleImage::from_file(d / "lp.g7.ko");
	CHECK(img.generation == 4294967295u);
	CHECK(std::count_if(img.modinfo.begin(), img.modinfo.end(),
			    [](const auto &kv) { return kv.first == "lpguard.generation"; }) == 1);
	// Without --generation, sign keeps the tag there is.
	CHECK(with({"lp.g7.ko"}).rc == 0);
	CHECK(ModuleImage::from_file(d / "lp.g7.ko").generation == 4294967295u);

	for (const char *bad : {"-1", "01", "4294967296", "1e3", "0x10", "seven", ""}) {
		auto r = with({"--generation", bad, "lp.ko"});
		INFO(bad << " -> " << r.err);
		CHECK(r.rc == cvmcli::exit_code(Kind::usage));
		CHECK(r.err_lines() == 1);
		CHECK_THAT(r.err, StartsWith("cvm-cli: invalid command line: --generation: "));
	}
	auto no_modinfo = build_elf({{".gnu.linkonce.this_module", 1, this_module_bytes("m")}}).bytes;
	write_bytes(d / "nomodinfo.ko", no_modinfo);
	auto r = with({"--generation", "1", "nomodinfo.ko"});
	CHECK(r.rc == cvmcli::exit_code(Kind::input));
	CHECK(r.err == "cvm-cli: cannot set the generation of module nomodinfo.ko: it has no .modinfo section, so it is "
		       "not a kernel module (pass the .ko built by kpatch-build or the kernel's build system)\n");
	CHECK(read_bytes(d / "nomodinfo.ko") == no_modinfo);
}

TEST_CASE("livepatch refuses what it must refuse before touching the network", "[cli][livepatch]")
{
	auto d = workdir("livepatch");
	const auto &k = test_keys("rsa");
	write_bytes(d / "plain.ko", build_module("plain", false).bytes);
	write_bytes(d / "lp.ko", build_module("lp_x").bytes);
	std::vector<std::string> keyargs{"--key", k.key.string(), "--cert", k.crt.string()};

	auto notlp = cli({"livepatch", "ssh", "root@h", "plain.ko", "--dry-run"}, d);
	CHECK(notlp.rc == cvmcli::exit_code(Kind::refused));
	CHECK(notlp.err_lines() == 1);
	CHECK_THAT(notlp.err, ContainsSubstring("it is not a livepatch"));

	auto nokey = cli({"livepatch", "ssh", "root@h", "lp.ko", "--dry-run"}, d);
	CHECK(nokey.rc == cvmcli::exit_code(Kind::key));
	CHECK_THAT(nokey.err, ContainsSubstring("cvm-cli generate-livepatch-keys"));

	auto args = std::vector<std::string>{"livepatch", "gcp", "vm1", "lp.ko"};
	args.insert(args.end(), keyargs.begin(), keyargs.end());
	auto nogcloud = cli(args, d, "PATH=/nonexistent");
	CHECK(nogcloud.rc == cvmcli::exit_code(Kind::remote));
	CHECK(nogcloud.err == "cvm-cli: gcloud not found on PATH: the gcp provider runs gcloud "
			      "(install google-cloud-cli (https://cloud.google.com/sdk/docs/install))\n");
	auto aws = std::vector<std::string>{"livepatch", "aws", "i-0123456789abcdef0", "lp.ko"};
	aws.insert(aws.end(), keyargs.begin(), keyargs.end());
	CHECK_THAT(cli(aws, d, "PATH=/nonexistent").err, ContainsSubstring("aws not found on PATH"));
	auto az = std::vector<std::string>{"livepatch", "azure", "vm1", "lp.ko", "-g", "rg"};
	az.insert(az.end(), keyargs.begin(), keyargs.end());
	CHECK_THAT(cli(az, d, "PATH=/nonexistent").err, ContainsSubstring("install azure-cli"));

	for (std::string evil : {"vm; touch CANARY", "vm$(touch CANARY)", "'vm'"}) {
		auto a = std::vector<std::string>{"livepatch", "gcp", evil, "lp.ko", "--dry-run"};
		a.insert(a.end(), keyargs.begin(), keyargs.end());
		auto r = cli(a, d);
		CHECK(r.rc == cvmcli::exit_code(Kind::usage));
		CHECK(r.err_lines() == 1);
		auto s = std::vector<std::string>{"livepatch", "ssh", evil, "lp.ko", "--dry-run"};
		s.insert(s.end(), keyargs.begin(), keyargs.end());
		CHECK(cli(s, d).rc == cvmcli::exit_code(Kind::usage));
	}
	CHECK_FALSE(std::filesystem::exists(d / "CANARY"));
}

TEST_CASE("livepatch --dry-run prints every command, quoted, without running any", "[cli][livepatch]")
{
	auto d = workdir("dry run $(touch CANARY)");
	const auto &k = test_keys("rsa");
	write_bytes(d / "lp.ko", build_module("lp_x").bytes);
	auto r = cli({"livepatch", "ssh", "root@127.0.0.1:2222", "lp.ko", "--dry-run", "--key", k.key.string(), "--cert",
		      k.crt.string(), "-o", "StrictHostKeyChecking=no", "--timeout", "30"},
		     d, "PATH=/nonexistent");
	INFO(r.err);
	REQUIRE(r.rc == 0);
	std::vector<std::string> lines;
	std::istringstream in(r.out);
	for (std::string l; std::getline(in, l);)
		lines.push_back(l);
	REQUIRE(lines.size() == 7);
	CHECK_THAT(lines[0], StartsWith("ssh -M -N -f -o ControlMaster=yes -o ControlPersist=300 -o ControlPath=/tmp/cvm-cli."));
	CHECK_THAT(lines[0], ContainsSubstring("-o StrictHostKeyChecking=no -p 2222 -- root@127.0.0.1"));
	CHECK_THAT(lines[3], StartsWith("scp -q -o ControlMaster=no"));
	CHECK_THAT(lines[3], ContainsSubstring("/lp_x.ko root@127.0.0.1:/tmp/cvm-cli-"));
	CHECK_THAT(lines[5], ContainsSubstring("lp-load apply /tmp/cvm-cli-"));
	CHECK_THAT(lines[5], ContainsSubstring("--json --timeout 30"));
	CHECK_THAT(lines[6], ContainsSubstring("-O exit -- root@127.0.0.1"));
	CHECK_FALSE(std::filesystem::exists(d / "CANARY"));

	auto j = cli({"livepatch", "aws", "i-0123456789abcdef0", "lp.ko", "--dry-run", "--json", "--key", k.key.string(),
		      "--cert", k.crt.string(), "--region", "eu-west-1"},
		     d, "PATH=/nonexistent");
	REQUIRE(j.rc == 0);
	auto js = nlohmann::json::parse(j.out);
	CHECK(js["provider"] == "aws");
	CHECK(js["dry_run"] == true);
	CHECK(js["commands"].size() == 7);
	CHECK(js["patch"]["name"] == "lp_x");
	CHECK(js["patch"]["generation"] == 0);
	CHECK(js["exit_code"] == 0);

	// --generation: the uploaded patch carries it (sha256_signed is of the edited module).
	auto g = cli({"livepatch", "ssh", "root@h", "lp.ko", "--dry-run", "--json", "--generation", "12", "--key",
		      k.key.string(), "--cert", k.crt.string()},
		     d, "PATH=/nonexistent");
	REQUIRE(g.rc == 0);
	auto gs = nlohmann::json::parse(g.out);
	CHECK(gs["patch"]["generation"] == 12);
	CHECK(gs["patch"]["sha256_signed"] != js["patch"]["sha256_signed"]);
	CHECK(read_bytes(d / "lp.ko") == build_module("lp_x").bytes);
}
