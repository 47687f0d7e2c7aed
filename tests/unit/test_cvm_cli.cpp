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
#include "test_patch_kit_fixture.hpp"

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
	CHECK_THAT(r.out, ContainsSubstring("22  the patch failed preflight"));
	for (const char *sub : {"generate-livepatch-keys", "sign", "verify", "inspect", "livepatch", "preflight"})
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
	CHECK_THAT(r.out, ContainsSubstring("LPGUARD_CERTS=keys/livepatch.der image-kernel"));
	CHECK_THAT(r.out, ContainsSubstring("CONFIG_SECURITY_LPGUARD_CERTS=\"keys/livepatch.crt\""));
	// The trusted keys are added to, never replaced: the image's own keys stay.
	CHECK_THAT(r.out, ContainsSubstring("append keys/livepatch.crt"));
	CHECK(r.out.find("CONFIG_SYSTEM_TRUSTED_KEYS=\"keys/livepatch.crt\"") == std::string::npos);
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

TEST_CASE("inspect shows the compilers of .comment", "[cli][comment]")
{
	auto d = workdir("inspect-compiler");
	write_bytes(d / "none.ko", build_module("lp_none").bytes);
	write_bytes(d / "two.ko", build_module("lp_two", true, "6.12.117 ", {kUbuntuGcc, kDebianGcc, kUbuntuGcc}).bytes);
	auto real = std::string(LPGUARD_TEST_DATA) + "/x86_pkg_temp_thermal.ko";

	auto r = cli({"inspect", real}, d);
	REQUIRE(r.rc == 0);
	CHECK_THAT(r.out, ContainsSubstring("\ncompiler:   " + std::string(kDebianGcc) + "\n"));
	CHECK(nlohmann::json::parse(cli({"inspect", "--json", real}, d).out)["compilers"] ==
	      nlohmann::json::array({kDebianGcc}));
	CHECK_THAT(cli({"inspect", "two.ko"}, d).out, EndsWith("compiler:   " + std::string(kUbuntuGcc) + "\ncompiler:   " + kDebianGcc + "\n"));
	CHECK(nlohmann::json::parse(cli({"inspect", "--json", "two.ko"}, d).out)["compilers"] ==
	      nlohmann::json::array({kUbuntuGcc, kDebianGcc}));
	CHECK_THAT(cli({"inspect", "none.ko"}, d).out, EndsWith("compiler:   unknown (.comment names none)\n"));
	CHECK(nlohmann::json::parse(cli({"inspect", "--json", "none.ko"}, d).out)["compilers"] == nlohmann::json::array());
}

TEST_CASE("livepatch --kit refuses another compiler or kernel before anything runs", "[cli][livepatch][patch-kit]")
{
	auto d = workdir("livepatch-kit");
	const auto &k = test_keys("rsa");
	const std::string vermagic = "6.12.117 SMP preempt mod_unload ";
	write_bytes(d / "ubuntu.ko", build_module("lp_u", true, vermagic, {kUbuntuGcc, kUbuntuGcc}).bytes);
	write_bytes(d / "debian.ko", build_module("lp_d", true, vermagic, {kDebianGcc}).bytes);
	write_bytes(d / "none.ko", build_module("lp_n", true, vermagic).bytes);
	write_bytes(d / "other.ko", build_module("lp_o", true, "6.12.118 SMP preempt mod_unload ", {kUbuntuGcc}).bytes);
	write_patch_kit(d / "kit");
	write_patch_kit_text(d / "badkit", "{\"schema\": \"lpguard-patch-kit/1\", \"vermagic\": \"x\"}");
	// ssh and scp stand-ins that only leave a mark: whatever reaches them
	// would have reached the VM.
	std::filesystem::create_directories(d / "bin");
	for (const char *tool : {"ssh", "scp"}) {
		std::string script = "#!/bin/sh\ntouch " + shell_quote((d / "TOUCHED").string()) + "\nexit 255\n";
		write_bytes(d / "bin" / tool, std::vector<uint8_t>(script.begin(), script.end()));
		std::filesystem::permissions(d / "bin" / tool, std::filesystem::perms::owner_all);
	}
	const std::string path_env = "PATH=" + shell_quote((d / "bin").string()) + ":/usr/bin:/bin";
	auto lp = [&](const std::string &module, std::vector<std::string> extra, bool dry_run = true) {
		std::vector<std::string> a{"livepatch", "ssh", "root@192.0.2.1", module, "--key", k.key.string(),
					   "--cert", k.crt.string()};
		if (dry_run)
			a.push_back("--dry-run");
		a.insert(a.end(), extra.begin(), extra.end());
		std::filesystem::remove(d / "TOUCHED");
		return cli(a, d, path_env);
	};
	const std::string manifest = "kit/patch-kit.json"; // as given, relative to the working directory
	const std::string why = "; kpatch-build requires the kernel's exact compiler, and code from another one may not "
				"match the kernel it patches";

	// The kit's compiler: on to the VM (the ssh stand-in runs, and fails).
	auto ok = lp("ubuntu.ko", {"--kit", "kit"});
	CHECK(ok.rc == 0);
	CHECK(ok.err.empty());
	auto real = lp("ubuntu.ko", {"--kit", "kit"}, false);
	CHECK(real.rc == cvmcli::exit_code(Kind::remote));
	CHECK(std::filesystem::exists(d / "TOUCHED"));

	// Another compiler: refused in one line, and nothing ran.
	auto bad = lp("debian.ko", {"--kit", "kit"}, false);
	CHECK(bad.rc == cvmcli::exit_code(Kind::refused));
	CHECK(bad.err == "cvm-cli: refusing debian.ko: it was compiled by \"" + std::string(kDebianGcc) + "\", the kernel of patch kit " + manifest + " by \"" + kUbuntuGcc + "\"" + why + " (build the patch with the image's exact toolchain (docs/kpatch.md, \"The image's exact "
																							   "toolchain\"), or pass --allow-compiler-mismatch)\n");
	CHECK_FALSE(std::filesystem::exists(d / "TOUCHED"));
	CHECK(lp("debian.ko", {"--kit", "kit", "--json"}).rc == cvmcli::exit_code(Kind::refused));

	// --allow-compiler-mismatch: one warning line, then on as usual.
	auto allowed = lp("debian.ko", {"--kit", "kit", "--allow-compiler-mismatch"});
	CHECK(allowed.rc == 0);
	CHECK(allowed.err == "cvm-cli: warning: debian.ko: it was compiled by \"" + std::string(kDebianGcc) + "\", the kernel of patch kit " + manifest + " by \"" + kUbuntuGcc + "\"" + why + "; applying it anyway (--allow-compiler-mismatch)\n");
	CHECK_THAT(allowed.out, ContainsSubstring("lp-load apply /tmp/cvm-cli-"));
	CHECK(lp("debian.ko", {"--kit", "kit", "--allow-compiler-mismatch"}, false).rc == cvmcli::exit_code(Kind::remote));
	CHECK(std::filesystem::exists(d / "TOUCHED"));

	// No compiler in .comment: cannot be checked, so refused too, unless allowed.
	auto none = lp("none.ko", {"--kit", "kit"}, false);
	CHECK(none.rc == cvmcli::exit_code(Kind::refused));
	CHECK(none.err_lines() == 1);
	CHECK_THAT(none.err, StartsWith("cvm-cli: refusing none.ko: its .comment section names no compiler, so it cannot "
					"be checked against the kernel of patch kit " +
					manifest));
	CHECK_FALSE(std::filesystem::exists(d / "TOUCHED"));
	auto none_allowed = lp("none.ko", {"--kit", "kit", "--allow-compiler-mismatch"});
	CHECK(none_allowed.rc == 0);
	CHECK_THAT(none_allowed.err, StartsWith("cvm-cli: warning: none.ko: its .comment section names no compiler"));

	// Another kernel: refused, whatever the flag says.
	for (auto extra : {std::vector<std::string>{"--kit", "kit"},
			   std::vector<std::string>{"--kit", "kit", "--allow-compiler-mismatch"}}) {
		auto other = lp("other.ko", extra, false);
		CHECK(other.rc == cvmcli::exit_code(Kind::refused));
		CHECK_THAT(other.err, StartsWith("cvm-cli: refusing other.ko: it was built for vermagic \"6.12.118 SMP "
						 "preempt mod_unload \", the kernel of patch kit " +
						 manifest));
		CHECK_FALSE(std::filesystem::exists(d / "TOUCHED"));
	}

	// A missing or incomplete kit.
	auto missing = lp("ubuntu.ko", {"--kit", "nokit"}, false);
	CHECK(missing.rc == cvmcli::exit_code(Kind::input));
	CHECK_THAT(missing.err, StartsWith("cvm-cli: cannot read patch kit nokit/patch-kit.json: No such file or directory "
					   "(a kit without patch-kit.json is incomplete"));
	CHECK_FALSE(std::filesystem::exists(d / "TOUCHED"));
	auto incomplete = lp("ubuntu.ko", {"--kit", "badkit"});
	CHECK(incomplete.rc == cvmcli::exit_code(Kind::input));
	CHECK(incomplete.err == "cvm-cli: invalid patch kit badkit/patch-kit.json: \"kernel_release\" is missing or not a "
				"non-empty string; the kit is incomplete (make the kit again with scripts/mkpatchkit.sh "
				"KOUT)\n");

	// Without --kit nothing is checked; the flag alone is a usage error.
	CHECK(lp("debian.ko", {}).rc == 0);
	CHECK(lp("debian.ko", {"--allow-compiler-mismatch"}).rc == cvmcli::exit_code(Kind::usage));
}

TEST_CASE("preflight: command line, unsigned patch, incomplete kit, missing QEMU; livepatch stops before ssh",
	  "[cli][preflight]")
{
	auto d = workdir("preflight");
	const auto &k = test_keys("rsa");
	const std::string vermagic = "6.12.117 SMP preempt mod_unload ";
	write_bytes(d / "lp.ko", build_module("lp_pf", true, vermagic, {kUbuntuGcc}).bytes);
	REQUIRE(cli({"sign", "--key", k.key.string(), "--cert", k.crt.string(), "-o", "lp.signed.ko", "lp.ko"}, d).rc == 0);
	write_patch_kit(d / "oldkit"); // made before bzImage and the preflight guest were recorded
	auto j = patch_kit_json();
	j["files"] = {{"bzimage", {{"path", "bzImage"}}}, {"preflight_initramfs", {{"path", "guest.cpio.gz"}}}};
	write_patch_kit(d / "kit", j);
	write_bytes(d / "kit/bzImage", {1});
	write_bytes(d / "kit/guest.cpio.gz", {1});
	// ssh and scp stand-ins that leave a mark; no qemu-system-x86_64 on this PATH.
	std::filesystem::create_directories(d / "bin");
	for (const char *tool : {"ssh", "scp"}) {
		std::string script = "#!/bin/sh\ntouch " + shell_quote((d / "TOUCHED").string()) + "\nexit 255\n";
		write_bytes(d / "bin" / tool, std::vector<uint8_t>(script.begin(), script.end()));
		std::filesystem::permissions(d / "bin" / tool, std::filesystem::perms::owner_all);
	}
	const std::string path_env = "PATH=" + shell_quote((d / "bin").string());

	for (const std::vector<std::string> &args :
	     {std::vector<std::string>{"preflight", "lp.signed.ko"}, {"preflight", "--kit", "kit"}, {"preflight", "lp.signed.ko", "--kit", "kit", "--accel", "hvf"}, {"livepatch", "ssh", "h", "lp.ko", "--smoke", "true"}}) {
		auto r = cli(args, d);
		INFO(shell_join(args) << " -> " << r.err);
		CHECK(r.rc == cvmcli::exit_code(Kind::usage));
		CHECK(r.err_lines() == 1);
	}
	auto unsigned_ = cli({"preflight", "lp.ko", "--kit", "kit"}, d);
	CHECK(unsigned_.rc == cvmcli::exit_code(Kind::signature));
	CHECK(unsigned_.err == "cvm-cli: cannot run preflight of lp.ko: the patch is not signed (sign it with cvm-cli sign "
			       "(or use cvm-cli livepatch --preflight, which signs it first))\n");
	auto old = cli({"preflight", "lp.signed.ko", "--kit", "oldkit"}, d);
	CHECK(old.rc == cvmcli::exit_code(Kind::input));
	CHECK(old.err == "cvm-cli: cannot run preflight with patch kit oldkit/patch-kit.json: the kit records no bzImage "
			 "(make the kit again with scripts/mkpatchkit.sh KOUT (with lp-load built))\n");
	auto noqemu = cli({"preflight", "lp.signed.ko", "--kit", "kit"}, d, path_env);
	CHECK(noqemu.rc == cvmcli::exit_code(Kind::system));
	CHECK_THAT(noqemu.err, EndsWith("cvm-cli: qemu-system-x86_64 not found on PATH: preflight boots the kit's kernel "
					"under QEMU (install qemu-system-x86 (Debian package))\n"));
	// The kit's checks come first: another kernel's patch never boots.
	write_bytes(d / "other.ko", build_module("lp_o", true, "6.12.118 SMP preempt mod_unload ", {kUbuntuGcc}).bytes);
	CHECK(cli({"preflight", "other.ko", "--kit", "kit"}, d).rc == cvmcli::exit_code(Kind::refused));

	// livepatch --preflight: a failing preflight stops it before any ssh or scp runs.
	for (const char *kit : {"kit", "oldkit"}) {
		std::filesystem::remove(d / "TOUCHED");
		auto r = cli({"livepatch", "ssh", "root@192.0.2.1", "lp.ko", "--key", k.key.string(), "--cert", k.crt.string(),
			      "--preflight", kit, "--smoke", "cat /proc/cmdline"},
			     d, path_env);
		INFO(r.err);
		CHECK(r.rc == (std::string(kit) == "kit" ? cvmcli::exit_code(Kind::system) : cvmcli::exit_code(Kind::input)));
		CHECK_FALSE(std::filesystem::exists(d / "TOUCHED"));
	}
	// --preflight DIR is checked as --kit DIR too.
	CHECK(cli({"livepatch", "ssh", "root@192.0.2.1", "other.ko", "--key", k.key.string(), "--cert", k.crt.string(),
		   "--preflight", "kit"},
		  d, path_env)
		      .rc == cvmcli::exit_code(Kind::refused));
	CHECK_FALSE(std::filesystem::exists(d / "TOUCHED"));
}
