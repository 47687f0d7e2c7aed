// SPDX-License-Identifier: GPL-2.0
// cvm-cli's signer against the kernel's scripts/sign-file, kmod's modinfo
// and openssl cms.

#include <random>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "lpguard/core/module_parse.hpp"
#include "lpguard/host/module_sign.hpp"
#include "lpguard/host/shell.hpp"
#include "lpguard/host/transport.hpp"
#include "test_module_builder.hpp"
#include "test_module_keys.hpp"

using namespace lpguard;
using namespace lpguard::test;
using Catch::Matchers::ContainsSubstring;

namespace {

// The kernel's sign-file: $LPGUARD_SIGN_FILE, else the 6.12 build tree's,
// else compiled from the unpacked 6.12 source. Never skipped: the
// byte-equality check fails when none is available.
std::filesystem::path sign_file()
{
	static std::filesystem::path found = []() -> std::filesystem::path {
		if (const char *e = std::getenv("LPGUARD_SIGN_FILE"); e && *e)
			return e;
		auto built = repo_root() / "build/kernel-6.12/scripts/sign-file";
		if (access(built.c_str(), X_OK) == 0)
			return built;
		auto src = repo_root() / "build/src/linux-source-6.12/scripts";
		auto out = scratch_dir() / "sign-file";
		if (std::filesystem::exists(src / "sign-file.c") &&
		    run_shell("gcc -O2 -I" + shell_quote(src.string()) + " -o " + shell_quote(out.string()) + " " +
			      shell_quote((src / "sign-file.c").string()) + " -lcrypto 2>&1")
				    .rc == 0)
			return out;
		return {};
	}();
	return found;
}

std::vector<uint8_t> cvm_sign(const std::vector<uint8_t> &module, const TestKeys &k, const std::string &hash)
{
	auto key = SigningKey::load(k.key, k.crt);
	auto image = ModuleImage::from_bytes(module);
	std::vector<uint8_t> appendix;
	auto n = sign_module(image, key, hash, &appendix);
	std::vector<uint8_t> out(image.bytes.begin(), image.bytes.begin() + long(n));
	out.insert(out.end(), appendix.begin(), appendix.end());
	return out;
}

// The path cvm-cli sign takes: the module file mapped, hashed through its
// descriptor, written next to it with write_signed_module.
std::vector<uint8_t> cvm_sign_file(const std::filesystem::path &in, const TestKeys &k, const std::string &hash)
{
	auto key = SigningKey::load(k.key, k.crt);
	MappedFile mf(in, "module", Kind::input);
	std::vector<uint8_t> appendix;
	auto n = sign_module(mf, key, hash, &appendix);
	auto out = in.string() + ".signed";
	write_signed_module(out, mf, n, appendix, 0644);
	return read_bytes(out);
}

// A real module followed by n random bytes: still a valid ELF (the section
// table does not move), and larger than one 64 KiB read of the signer.
std::vector<uint8_t> padded_module(std::size_t n)
{
	auto m = read_bytes(std::string(LPGUARD_TEST_DATA) + "/x86_pkg_temp_thermal.ko");
	std::mt19937 rng(42);
	for (std::size_t i = 0; i < n; i++)
		m.push_back(uint8_t(rng()));
	return m;
}

} // namespace

TEST_CASE("signed output is byte-identical to scripts/sign-file", "[sign][sign-file]")
{
	auto sf = sign_file();
	INFO("set LPGUARD_SIGN_FILE to the kernel's scripts/sign-file, or unpack linux-source-6.12 into build/src");
	REQUIRE(!sf.empty());
	const auto &k = test_keys("rsa");
	auto real = read_bytes(std::string(LPGUARD_TEST_DATA) + "/x86_pkg_temp_thermal.ko");
	for (const auto &module : {real, build_module().bytes, padded_module(200001)}) {
		for (const std::string hash : {"sha256", "sha512"}) {
			DYNAMIC_SECTION(hash << " on " << module.size() << " bytes")
			{
				auto in = scratch_dir() / "in.ko", theirs = scratch_dir() / "theirs.ko";
				write_bytes(in, module);
				auto r = run_shell(shell_join({sf.string(), hash, k.key.string(), k.crt.string(), in.string(),
							       theirs.string()}) +
						   " 2>&1");
				INFO(r.out);
				REQUIRE(r.rc == 0);
				auto expected = read_bytes(theirs);
				CHECK(difference(cvm_sign(module, k, hash), expected) == "");
				CHECK(difference(cvm_sign_file(in, k, hash), expected) == "");
			}
		}
	}
}

TEST_CASE("the signed image has the kernel's trailer and parses back", "[sign]")
{
	const auto &k = test_keys("rsa");
	auto module = build_module().bytes;
	auto out = cvm_sign(module, k, "sha512");
	auto t = parse_signature_trailer(out);
	REQUIRE(t);
	CHECK(t->payload_size == module.size());
	CHECK(std::equal(module.begin(), module.end(), out.begin()));
	auto img = ModuleImage::from_bytes(out);
	REQUIRE(img.signature);
	CHECK(img.signature->hash_algo == "sha512");
	CHECK(img.signature->signer == "lpguard unit test rsa");
	CHECK(img.signature->serial_hex == Certificate::from_file(k.crt).serial_hex());
	CHECK(img.signature->key_id_hex.empty());
	CHECK(img.payload_size == module.size());
}

TEST_CASE("re-signing replaces the signature, never stacks it", "[sign]")
{
	const auto &k = test_keys("rsa");
	const auto &other = test_keys("other");
	auto module = build_module().bytes;
	auto once = cvm_sign(module, other, "sha256");
	auto twice = cvm_sign(once, k, "sha256");
	CHECK(difference(twice, cvm_sign(module, k, "sha256")) == "");
	CHECK(strip_signatures(twice).size() == module.size());
	// A stacked image (two trailers, as sign-file run twice leaves it) is cleaned too.
	auto stacked = cvm_sign(module, other, "sha256");
	auto extra = cvm_sign(module, other, "sha256");
	stacked.insert(stacked.end(), extra.begin() + long(module.size()), extra.end());
	CHECK(difference(cvm_sign(stacked, k, "sha256"), cvm_sign(module, k, "sha256")) == "");
	// The same from a file, where the payload is read past the trailers.
	auto f = scratch_dir() / "stacked.ko";
	write_bytes(f, stacked);
	CHECK(difference(cvm_sign_file(f, k, "sha256"), cvm_sign(module, k, "sha256")) == "");
}

TEST_CASE("kmod's modinfo shows signer, sig_key and sig_hashalgo", "[sign][modinfo]")
{
	const auto &k = test_keys("rsa");
	auto path = scratch_dir() / "modinfo.ko";
	write_bytes(path, cvm_sign(read_bytes(std::string(LPGUARD_TEST_DATA) + "/x86_pkg_temp_thermal.ko"), k, "sha512"));
	auto field = [&](const std::string &f) {
		auto r = run_shell("PATH=$PATH:/usr/sbin:/sbin modinfo -F " + f + " " + shell_quote(path.string()) + " 2>&1");
		REQUIRE(r.rc == 0);
		while (!r.out.empty() && r.out.back() == '\n')
			r.out.pop_back();
		return r.out;
	};
	CHECK(field("signer") == "lpguard unit test rsa");
	CHECK(field("sig_hashalgo") == "sha512");
	CHECK(field("sig_id") == "PKCS#7");
	std::string serial = Certificate::from_file(k.crt).serial_hex(), colon;
	for (std::size_t i = 0; i < serial.size(); i += 2)
		colon += (i ? ":" : "") + serial.substr(i, 2);
	std::transform(colon.begin(), colon.end(), colon.begin(), ::toupper);
	CHECK(field("sig_key") == colon);
}

TEST_CASE("openssl cms -verify accepts the signature, and only with the right certificate", "[sign][openssl]")
{
	const auto &k = test_keys("rsa");
	auto module = build_module().bytes;
	auto out = cvm_sign(module, k, "sha256");
	auto t = parse_signature_trailer(out);
	REQUIRE(t);
	auto payload = scratch_dir() / "payload", sig = scratch_dir() / "sig.p7";
	write_bytes(payload, module);
	write_bytes(sig, std::vector<uint8_t>(out.begin() + long(t->sig_offset), out.begin() + long(t->sig_offset + t->sig_len)));
	auto verify = [&](const std::filesystem::path &crt) {
		return run_shell(shell_join({"openssl", "cms", "-verify", "-binary", "-inform", "DER", "-in", sig.string(),
					     "-content", payload.string(), "-noverify", "-certfile", crt.string(), "-out",
					     "/dev/null"}) +
				 " 2>&1");
	};
	auto ok = verify(k.crt);
	INFO(ok.out);
	CHECK(ok.rc == 0);
	CHECK_THAT(ok.out, ContainsSubstring("Verification successful"));
	CHECK(verify(test_keys("other").crt).rc != 0);
}

TEST_CASE("ECDSA P-384 keys sign and verify", "[sign][ecdsa]")
{
	const auto &k = test_keys("ec");
	auto out = cvm_sign(build_module().bytes, k, "sha384");
	auto img = ModuleImage::from_bytes(out);
	REQUIRE(img.signature);
	CHECK(img.signature->hash_algo == "sha384");
	auto r = verify_module(img, Certificate::load_all(k.crt));
	CHECK(r.ok);
	CHECK_FALSE(verify_module(img, Certificate::load_all(test_keys("rsa").crt)).ok);
}

TEST_CASE("signing refuses what it cannot sign", "[sign]")
{
	const auto &k = test_keys("rsa");
	auto key = SigningKey::load(k.key, k.crt);
	auto img = ModuleImage::from_bytes(build_module().bytes);
	std::vector<uint8_t> appendix;
	CHECK_THROWS_WITH(sign_module(img, key, "sha1", &appendix), ContainsSubstring("not supported"));
	CHECK_THROWS_WITH(SigningKey::load(k.key, test_keys("other").crt), ContainsSubstring("does not match certificate"));
	try {
		SigningKey::load(scratch_dir() / "missing.key", k.crt);
		FAIL("loaded a missing key");
	} catch (const Error &e) {
		CHECK(e.kind() == Kind::key);
		CHECK_THAT(e.what(), ContainsSubstring("cvm-cli generate-livepatch-keys"));
	}
	auto notkey = scratch_dir() / "notkey.pem";
	write_bytes(notkey, {'x', 'y'});
	CHECK_THROWS_WITH(SigningKey::load(notkey, k.crt), ContainsSubstring("not an unencrypted PEM private key"));
}

TEST_CASE("a module that shrinks while it is signed is refused, not signed short", "[sign]")
{
	const auto &k = test_keys("rsa");
	auto key = SigningKey::load(k.key, k.crt);
	// Size 3000 bytes into its last page: cutting 1000 bytes keeps the end
	// of the mapping readable (zeros), so the checks pass and only the
	// digest, which reads the file, sees the file end early.
	auto real = padded_module(0).size();
	auto module = padded_module((real / 4096 + 2) * 4096 + 3000 - real);
	auto f = scratch_dir() / "shrinking.ko";
	write_bytes(f, module);
	MappedFile mf(f, "module", Kind::input);
	std::filesystem::resize_file(f, module.size() - 1000);
	std::vector<uint8_t> appendix;
	try {
		sign_module(mf, key, "sha256", &appendix);
		FAIL("signed a module that got shorter");
	} catch (const Error &e) {
		CHECK(e.kind() == Kind::input);
		CHECK_THAT(e.what(), ContainsSubstring("cannot read module: the file got shorter while it was hashed"));
	}
}

TEST_CASE("write_file_atomic replaces the file and leaves no temporary behind", "[sign]")
{
	auto dir = scratch_dir() / "atomic";
	std::filesystem::create_directories(dir);
	auto p = dir / "m.ko";
	write_bytes(p, {1, 2, 3});
	std::vector<uint8_t> a{4, 5}, b{6};
	write_file_atomic(p, {std::span<const uint8_t>(a), std::span<const uint8_t>(b)}, 0640);
	CHECK(read_bytes(p) == std::vector<uint8_t>{4, 5, 6});
	CHECK((std::filesystem::status(p).permissions() & std::filesystem::perms::all) ==
	      (std::filesystem::perms::owner_read | std::filesystem::perms::owner_write | std::filesystem::perms::group_read));
	int n = 0;
	for (auto &e : std::filesystem::directory_iterator(dir)) {
		(void)e;
		n++;
	}
	CHECK(n == 1);
	CHECK_THROWS_WITH(write_file_atomic(dir / "nodir" / "x", {std::span<const uint8_t>(a)}), ContainsSubstring("cannot write"));
}

TEST_CASE("write_file_atomic has rename()'s semantics for links and directories", "[sign]")
{
	namespace fs = std::filesystem;
	auto dir = scratch_dir() / "atomic-kinds";
	fs::remove_all(dir);
	fs::create_directories(dir);
	std::vector<uint8_t> data{7, 8, 9};
	auto count = [&] { return std::distance(fs::directory_iterator(dir), fs::directory_iterator()); };

	// A second hard link keeps the old content; the name gets the new file.
	write_bytes(dir / "m.ko", {1});
	fs::create_hard_link(dir / "m.ko", dir / "other-link.ko");
	write_file_atomic(dir / "m.ko", {std::span<const uint8_t>(data)}, 0644, Durability::volatile_);
	CHECK(read_bytes(dir / "m.ko") == data);
	CHECK(read_bytes(dir / "other-link.ko") == std::vector<uint8_t>{1});
	CHECK(fs::hard_link_count(dir / "m.ko") == 1);

	// A symlink is replaced by the file; its target is left alone.
	write_bytes(dir / "target.ko", {2});
	fs::create_symlink("target.ko", dir / "link.ko");
	write_file_atomic(dir / "link.ko", {std::span<const uint8_t>(data)}, 0644, Durability::volatile_);
	CHECK(!fs::is_symlink(dir / "link.ko"));
	CHECK(read_bytes(dir / "link.ko") == data);
	CHECK(read_bytes(dir / "target.ko") == std::vector<uint8_t>{2});

	// A directory is refused and stays where it is; no temporary is left.
	fs::create_directories(dir / "sub.ko");
	write_bytes(dir / "sub.ko" / "inside", {3});
	auto before = count();
	CHECK_THROWS_WITH(write_file_atomic(dir / "sub.ko", {std::span<const uint8_t>(data)}, 0644, Durability::volatile_),
			  ContainsSubstring("renaming into place"));
	CHECK(fs::is_directory(dir / "sub.ko"));
	CHECK(read_bytes(dir / "sub.ko" / "inside") == std::vector<uint8_t>{3});
	CHECK(count() == before);
}
