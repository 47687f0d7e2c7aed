// SPDX-License-Identifier: GPL-2.0
// generate_livepatch_keys: files, modes, certificate profile, overwrite rules.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <sys/stat.h>

#include <openssl/x509v3.h>

#include "lpguard/host/keygen.hpp"
#include "lpguard/core/module_image.hpp"
#include "test_module_keys.hpp"

using namespace lpguard;
using namespace lpguard::test;
using Catch::Matchers::ContainsSubstring;

namespace {

unsigned mode_of(const std::filesystem::path &p)
{
	struct stat st;
	REQUIRE(lstat(p.c_str(), &st) == 0);
	return st.st_mode & 07777;
}

} // namespace

TEST_CASE("the key is created 0600 whatever the umask, certificates 0644", "[keys]")
{
	KeygenOptions o;
	o.out_dir = scratch_dir() / "keys-umask";
	o.type = KeyType::ecdsa_p384; // fast
	mode_t old = umask(0);
	auto r = generate_livepatch_keys(o);
	umask(old);
	CHECK(mode_of(r.key) == 0600);
	CHECK(mode_of(r.crt) == 0644);
	CHECK(mode_of(r.der) == 0644);
	CHECK(r.key == o.out_dir / "livepatch.key");
	CHECK(r.crt == o.out_dir / "livepatch.crt");
	CHECK(r.der == o.out_dir / "livepatch.der");
	auto key = read_bytes(r.key);
	CHECK_THAT(std::string(key.begin(), key.end()), ContainsSubstring("BEGIN PRIVATE KEY"));
}

TEST_CASE("the certificate is an X.509 v3 code-signing certificate", "[keys]")
{
	const auto &k = test_keys("rsa");
	auto c = Certificate::from_file(k.crt);
	X509 *x = static_cast<X509 *>(c.x509());
	CHECK(X509_get_version(x) == X509_VERSION_3);
	CHECK(c.common_name() == "lpguard unit test rsa");
	CHECK(X509_NAME_cmp(X509_get_subject_name(x), X509_get_issuer_name(x)) == 0);
	CHECK(X509_check_ca(x) == 0);
	int crit = -1;
	auto *bc = static_cast<BASIC_CONSTRAINTS *>(X509_get_ext_d2i(x, NID_basic_constraints, &crit, nullptr));
	REQUIRE(bc);
	CHECK_FALSE(bc->ca);
	CHECK(crit == 1);
	BASIC_CONSTRAINTS_free(bc);
	CHECK(X509_get_key_usage(x) == KU_DIGITAL_SIGNATURE);
	auto *ku = X509_get_ext_d2i(x, NID_key_usage, &crit, nullptr);
	CHECK(crit == 1);
	ASN1_BIT_STRING_free(static_cast<ASN1_BIT_STRING *>(ku));
	CHECK(X509_get_extended_key_usage(x) == XKU_CODE_SIGN);
	const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(x);
	const ASN1_OCTET_STRING *akid = X509_get0_authority_key_id(x);
	REQUIRE(skid);
	REQUIRE(akid);
	CHECK(ASN1_OCTET_STRING_cmp(skid, akid) == 0);
	CHECK(c.key_id_hex().size() == 40);
	// Self-signed and valid for the default 3650 days.
	EVP_PKEY *pub = X509_get0_pubkey(x);
	CHECK(X509_verify(x, pub) == 1);
	CHECK(EVP_PKEY_get_bits(pub) == 4096);
	CHECK(EVP_PKEY_get_base_id(pub) == EVP_PKEY_RSA);
	int days = 0, secs = 0;
	REQUIRE(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(x), X509_get0_notAfter(x)));
	CHECK(days == 3650);
	// The DER file is the same certificate.
	CHECK(Certificate::from_file(k.der).serial_hex() == c.serial_hex());
	// A positive serial of at most 20 octets.
	CHECK(c.serial_hex().size() <= 40);
	CHECK(c.serial_hex()[0] != '-');
}

TEST_CASE("ECDSA P-384 keys", "[keys]")
{
	auto c = Certificate::from_file(test_keys("ec").crt);
	EVP_PKEY *pub = X509_get0_pubkey(static_cast<X509 *>(c.x509()));
	CHECK(EVP_PKEY_get_base_id(pub) == EVP_PKEY_EC);
	char curve[64] = {};
	size_t len = 0;
	REQUIRE(EVP_PKEY_get_utf8_string_param(pub, "group", curve, sizeof(curve), &len));
	CHECK(std::string(curve) == "secp384r1");
	CHECK(parse_key_type("ecdsa-p384") == KeyType::ecdsa_p384);
	CHECK(parse_key_type("rsa4096") == KeyType::rsa4096);
	CHECK_THROWS_WITH(parse_key_type("rsa1024"), ContainsSubstring("unknown key type"));
}

TEST_CASE("existing keys are not overwritten without force", "[keys][attack]")
{
	KeygenOptions o;
	o.out_dir = scratch_dir() / "keys-force";
	o.type = KeyType::ecdsa_p384;
	auto first = generate_livepatch_keys(o);
	auto key_before = read_bytes(first.key);
	auto serial_before = first.serial_hex;
	try {
		generate_livepatch_keys(o);
		FAIL("overwrote existing keys");
	} catch (const Error &e) {
		CHECK(e.kind() == Kind::refused);
		CHECK_THAT(e.what(), ContainsSubstring("--force"));
	}
	CHECK(read_bytes(first.key) == key_before);

	// Only one of the three present is enough to refuse.
	KeygenOptions p = o;
	p.out_dir = scratch_dir() / "keys-partial";
	std::filesystem::create_directories(p.out_dir);
	write_bytes(p.out_dir / "livepatch.der", {1});
	CHECK_THROWS_WITH(generate_livepatch_keys(p), ContainsSubstring("refusing to overwrite"));
	CHECK_FALSE(std::filesystem::exists(p.out_dir / "livepatch.key"));

	// A symlink planted at the key path is neither followed nor replaced.
	KeygenOptions s = o;
	s.out_dir = scratch_dir() / "keys-symlink";
	std::filesystem::create_directories(s.out_dir);
	auto target = scratch_dir() / "symlink-target";
	write_bytes(target, {'x'});
	std::filesystem::create_symlink(target, s.out_dir / "livepatch.key");
	CHECK_THROWS(generate_livepatch_keys(s));
	CHECK(read_bytes(target) == std::vector<uint8_t>{'x'});

	o.force = true;
	auto second = generate_livepatch_keys(o);
	CHECK(read_bytes(second.key) != key_before);
	CHECK(mode_of(second.key) == 0600);
	CHECK(Certificate::from_file(second.crt).serial_hex() != serial_before);
	CHECK(second.serial_hex == Certificate::from_file(second.crt).serial_hex());
}

TEST_CASE("invalid key options are refused", "[keys]")
{
	KeygenOptions o;
	o.out_dir = scratch_dir() / "keys-invalid";
	o.days = 0;
	CHECK_THROWS_WITH(generate_livepatch_keys(o), ContainsSubstring("--days"));
	o.days = 10;
	o.subject = "";
	CHECK_THROWS_WITH(generate_livepatch_keys(o), ContainsSubstring("--subject"));
	o.subject = "x";
	write_bytes(scratch_dir() / "afile", {1});
	o.out_dir = scratch_dir() / "afile";
	CHECK_THROWS_WITH(generate_livepatch_keys(o), ContainsSubstring("not a directory"));
}
