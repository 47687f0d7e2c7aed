// SPDX-License-Identifier: GPL-2.0
// verify_module: accepts only signatures by the given certificates' keys
// over the exact module bytes; the attacks are tested, not just the happy path.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <openssl/cms.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "lpguard/core/module_parse.hpp"
#include "lpguard/host/module_sign.hpp"
#include "test_module_builder.hpp"
#include "test_module_keys.hpp"

using namespace lpguard;
using namespace lpguard::test;
using Catch::Matchers::ContainsSubstring;

namespace {

std::vector<uint8_t> signed_module(const TestKeys &k, const std::string &hash = "sha256")
{
	auto key = SigningKey::load(k.key, k.crt);
	auto image = ModuleImage::from_bytes(build_module().bytes);
	std::vector<uint8_t> appendix;
	auto n = sign_module(image, key, hash, &appendix);
	image.bytes.resize(n);
	image.bytes.insert(image.bytes.end(), appendix.begin(), appendix.end());
	return image.bytes;
}

// Signs payload with arbitrary CMS flags and signer certificate, as an
// attacker with their own tooling would.
std::vector<uint8_t> raw_sign(const std::vector<uint8_t> &payload, EVP_PKEY *pkey, X509 *cert, const EVP_MD *md,
			      unsigned extra_flags, bool detached = true)
{
	unsigned base = CMS_BINARY | CMS_PARTIAL | (detached ? CMS_DETACHED : 0u);
	CMS_ContentInfo *cms = CMS_sign(nullptr, nullptr, nullptr, nullptr, base | (extra_flags & CMS_NOCERTS));
	REQUIRE(cms);
	REQUIRE(CMS_add1_signer(cms, cert, pkey, md, CMS_BINARY | extra_flags));
	BIO *in = BIO_new_mem_buf(payload.data(), int(payload.size()));
	REQUIRE(CMS_final(cms, in, nullptr, base) == 1);
	BIO_free(in);
	unsigned char *der = nullptr;
	int n = i2d_CMS_ContentInfo(cms, &der);
	REQUIRE(n > 0);
	std::vector<uint8_t> blob(der, der + n);
	OPENSSL_free(der);
	CMS_ContentInfo_free(cms);
	std::vector<uint8_t> out = payload;
	out.insert(out.end(), blob.begin(), blob.end());
	auto t = make_signature_trailer(blob.size());
	out.insert(out.end(), t.begin(), t.end());
	return out;
}

EVP_PKEY *load_key(const TestKeys &k)
{
	FILE *f = fopen(k.key.c_str(), "r");
	REQUIRE(f);
	EVP_PKEY *p = PEM_read_PrivateKey(f, nullptr, nullptr, nullptr);
	fclose(f);
	REQUIRE(p);
	return p;
}

std::string parse_error(const std::vector<uint8_t> &bytes)
{
	try {
		ModuleImage::from_bytes(bytes);
	} catch (const Error &e) {
		return e.what();
	}
	FAIL("the image was accepted");
	return "";
}

VerifyResult verify_with(const std::vector<uint8_t> &bytes, std::initializer_list<const TestKeys *> keys)
{
	std::vector<Certificate> certs;
	for (auto *k : keys)
		certs.push_back(Certificate::from_file(k->crt));
	return verify_module(ModuleImage::from_bytes(bytes), certs);
}

// A DER element, for editing signatures: constructed ones by their children.
struct Der {
	uint8_t tag = 0;
	std::vector<uint8_t> body; // primitive contents
	std::vector<Der> kids;	   // constructed contents

	static Der parse(const uint8_t *&p, const uint8_t *end)
	{
		REQUIRE(end - p >= 2);
		Der d;
		d.tag = *p++;
		std::size_t len = *p++;
		if (len & 0x80) {
			int n = len & 0x7f;
			for (len = 0; n--;)
				len = (len << 8) | *p++;
		}
		REQUIRE(len <= std::size_t(end - p));
		const uint8_t *q = p, *qend = p + len;
		if (d.tag & 0x20)
			while (q < qend)
				d.kids.push_back(parse(q, qend));
		else
			d.body.assign(q, qend);
		p = qend;
		return d;
	}
	static Der parse(const std::vector<uint8_t> &b)
	{
		const uint8_t *p = b.data();
		return parse(p, b.data() + b.size());
	}
	std::vector<uint8_t> encode(bool indefinite = false) const
	{
		std::vector<uint8_t> c = body;
		for (const auto &k : kids) {
			auto e = k.encode();
			c.insert(c.end(), e.begin(), e.end());
		}
		std::vector<uint8_t> out{tag};
		if (indefinite) {
			out.push_back(0x80);
			c.insert(c.end(), {0, 0});
		} else if (c.size() < 0x80) {
			out.push_back(uint8_t(c.size()));
		} else if (c.size() < 0x100) {
			out.insert(out.end(), {0x81, uint8_t(c.size())});
		} else {
			out.insert(out.end(), {0x82, uint8_t(c.size() >> 8), uint8_t(c.size())});
		}
		out.insert(out.end(), c.begin(), c.end());
		return out;
	}
	// SignedData's last element: the SignerInfos SET.
	Der &signer_infos() { return kids.at(1).kids.at(0).kids.back(); }
};

// Splits a signed module into payload and blob, and joins them again.
std::pair<std::vector<uint8_t>, std::vector<uint8_t>> split_signed(const std::vector<uint8_t> &m)
{
	auto t = parse_signature_trailer(m);
	REQUIRE(t);
	return {{m.begin(), m.begin() + long(t->payload_size)},
		{m.begin() + long(t->sig_offset), m.begin() + long(t->sig_offset + t->sig_len)}};
}

std::vector<uint8_t> join_signed(std::vector<uint8_t> payload, const std::vector<uint8_t> &blob)
{
	payload.insert(payload.end(), blob.begin(), blob.end());
	auto t = make_signature_trailer(blob.size());
	payload.insert(payload.end(), t.begin(), t.end());
	return payload;
}

} // namespace

// OpenSSL reads BER; lpguard reads the signer identifiers with its own strict
// DER walk and refuses what it cannot read, so lp-load and cvm-cli refuse
// these too rather than promise a load the kernel refuses.
TEST_CASE("signatures that are not the DER lpguard reads are refused", "[verify]")
{
	const auto &k = test_keys("rsa");
	auto [payload, blob] = split_signed(signed_module(k));
	REQUIRE(Der::parse(blob).encode() == blob);
	REQUIRE(parse_pkcs7_signer(blob).serial_hex == Certificate::from_file(k.crt).serial_hex());

	SECTION("SignerInfos SET without its constructed bit")
	{
		auto d = Der::parse(blob);
		REQUIRE(d.signer_infos().tag == 0x31);
		d.signer_infos().tag = 0x11;
		CHECK_THAT(parse_error(join_signed(payload, d.encode())), ContainsSubstring("not DER"));
	}
	SECTION("indefinite length")
	{
		auto m = join_signed(payload, Der::parse(blob).encode(true));
		CHECK_THAT(parse_error(m), ContainsSubstring("not DER"));
	}
	SECTION("a length of four bytes")
	{
		auto d = Der::parse(blob).encode();
		std::vector<uint8_t> four{0x30, 0x84, 0, 0, uint8_t((d.size() - 4) >> 8), uint8_t(d.size() - 4)};
		four.insert(four.end(), d.begin() + 4, d.end());
		CHECK_THAT(parse_error(join_signed(payload, four)), ContainsSubstring("not DER"));
	}
}

TEST_CASE("a signer key id must not be empty", "[verify]")
{
	const auto &k = test_keys("rsa");
	EVP_PKEY *pkey = load_key(k);
	auto cert = Certificate::from_file(k.crt);
	auto m = raw_sign(build_module().bytes, pkey, static_cast<X509 *>(cert.x509()), EVP_sha256(),
			  CMS_NOCERTS | CMS_NOATTR | CMS_USE_KEYID);
	EVP_PKEY_free(pkey);
	auto [payload, blob] = split_signed(m);
	auto d = Der::parse(blob);
	Der &sid = d.signer_infos().kids.at(0).kids.at(1);
	REQUIRE(sid.tag == 0x80);
	sid.body.clear(); // lpguard refuses an empty subjectKeyIdentifier
	CHECK_THAT(parse_error(join_signed(payload, d.encode())), ContainsSubstring("empty subject key identifier"));
}

TEST_CASE("a module signed by the livepatch key verifies", "[verify]")
{
	const auto &k = test_keys("rsa");
	auto r = verify_with(signed_module(k), {&k});
	CHECK(r.ok);
	CHECK(r.reason.empty());
	REQUIRE(r.signer_subject);
	CHECK_THAT(*r.signer_subject, ContainsSubstring("lpguard unit test rsa"));
	CHECK(verify_with(signed_module(k, "sha512"), {&test_keys("other"), &k}).ok);
}

TEST_CASE("a module signed by another key fails", "[verify][attack]")
{
	const auto &k = test_keys("rsa");
	auto r = verify_with(signed_module(test_keys("other")), {&k});
	CHECK_FALSE(r.ok);
	CHECK_THAT(r.reason, ContainsSubstring("none of the given certificates match"));
}

TEST_CASE("one flipped byte anywhere in the payload fails", "[verify][attack]")
{
	const auto &k = test_keys("rsa");
	auto good = signed_module(k);
	auto payload = parse_signature_trailer(good)->payload_size;
	for (std::size_t off : {std::size_t(0x40), payload / 2, payload - 1}) {
		auto bad = good;
		bad[off] ^= 1;
		std::vector<uint8_t> tmp = bad;
		VerifyResult r;
		try {
			r = verify_module(ModuleImage::from_bytes(tmp), Certificate::load_all(k.crt));
		} catch (const Error &) {
			continue; // the flip broke the ELF structure: refused earlier, fine
		}
		CHECK_FALSE(r.ok);
		CHECK_THAT(r.reason, ContainsSubstring("does not match the module contents"));
	}
	// A flip inside the RSA signature value itself (last byte of the blob).
	auto bad = good;
	bad[good.size() - 41] ^= 0x80;
	auto r = verify_with(bad, {&k});
	CHECK_FALSE(r.ok);
	// Bytes appended after the signature make the image unsigned-looking garbage.
	auto appended = good;
	appended.push_back(0);
	CHECK_FALSE(ModuleImage::from_bytes(appended).signature);
}

TEST_CASE("a forged certificate with the trusted issuer and serial does not help", "[verify][attack]")
{
	const auto &trusted = test_keys("rsa");
	auto tc = Certificate::from_file(trusted.crt);
	X509 *real = static_cast<X509 *>(tc.x509());
	EVP_PKEY *evil = load_key(test_keys("other"));
	X509 *forged = X509_new();
	X509_set_version(forged, X509_VERSION_3);
	X509_set_serialNumber(forged, X509_get_serialNumber(real));
	X509_set_issuer_name(forged, X509_get_issuer_name(real));
	X509_set_subject_name(forged, X509_get_subject_name(real));
	X509_gmtime_adj(X509_getm_notBefore(forged), 0);
	X509_gmtime_adj(X509_getm_notAfter(forged), 3600);
	X509_set_pubkey(forged, evil);
	REQUIRE(X509_sign(forged, evil, EVP_sha256()));
	auto payload = build_module().bytes;

	SECTION("signer identified by issuer+serial, no certificate in the blob")
	{
		auto m = raw_sign(payload, evil, forged, EVP_sha256(), CMS_NOCERTS | CMS_NOATTR);
		auto r = verify_with(m, {&trusted});
		CHECK_FALSE(r.ok);
		CHECK_THAT(r.reason, ContainsSubstring("does not match"));
	}
	SECTION("forged certificate carried inside the blob is ignored")
	{
		auto m = raw_sign(payload, evil, forged, EVP_sha256(), CMS_NOATTR);
		CHECK_FALSE(verify_with(m, {&trusted}).ok);
		// Without any trusted certificate matching, the embedded one is not used either.
		CHECK_FALSE(verify_with(m, {&test_keys("ec")}).ok);
	}
	X509_free(forged);
	EVP_PKEY_free(evil);
}

TEST_CASE("signatures outside the sign-file profile", "[verify]")
{
	const auto &k = test_keys("rsa");
	EVP_PKEY *pkey = load_key(k);
	auto cert = Certificate::from_file(k.crt);
	X509 *x = static_cast<X509 *>(cert.x509());
	auto payload = build_module().bytes;

	SECTION("signer by subjectKeyIdentifier verifies and reports the key id")
	{
		auto m = raw_sign(payload, pkey, x, EVP_sha256(), CMS_NOCERTS | CMS_NOATTR | CMS_USE_KEYID);
		auto img = ModuleImage::from_bytes(m);
		REQUIRE(img.signature);
		CHECK(img.signature->key_id_hex == cert.key_id_hex());
		CHECK(img.signature->serial_hex.empty());
		CHECK(verify_module(img, Certificate::load_all(k.crt)).ok);
	}
	SECTION("signed attributes are verified too")
	{
		auto m = raw_sign(payload, pkey, x, EVP_sha256(), CMS_NOCERTS);
		CHECK(verify_with(m, {&k}).ok);
		auto bad = m;
		bad[0x50] ^= 1;
		CHECK_FALSE(verify_with(bad, {&k}).ok);
	}
	SECTION("SHA-1 is refused")
	{
		auto m = raw_sign(payload, pkey, x, EVP_sha1(), CMS_NOCERTS | CMS_NOATTR);
		auto r = verify_with(m, {&k});
		CHECK_FALSE(r.ok);
		CHECK_THAT(r.reason, ContainsSubstring("digest sha1 is not accepted"));
	}
	SECTION("content carried inside the blob is refused")
	{
		auto m = raw_sign(payload, pkey, x, EVP_sha256(), CMS_NOCERTS | CMS_NOATTR, false);
		CHECK_THROWS_WITH(ModuleImage::from_bytes(m), ContainsSubstring("detached"));
	}
	EVP_PKEY_free(pkey);
}

TEST_CASE("verification needs a signature and certificates", "[verify]")
{
	const auto &k = test_keys("rsa");
	auto unsigned_img = ModuleImage::from_bytes(build_module().bytes);
	auto r = verify_module(unsigned_img, Certificate::load_all(k.crt));
	CHECK_FALSE(r.ok);
	CHECK(r.reason == "the module is not signed");
	auto r2 = verify_module(ModuleImage::from_bytes(signed_module(k)), {});
	CHECK_FALSE(r2.ok);
	CHECK(r2.reason == "no certificates to verify against");
}

TEST_CASE("certificates load from PEM bundles, DER, concatenated DER and directories", "[verify][certs]")
{
	const auto &a = test_keys("rsa");
	const auto &b = test_keys("other");
	auto dir = scratch_dir() / "certdir";
	std::filesystem::create_directories(dir);
	auto pa = read_bytes(a.crt), pb = read_bytes(b.crt), da = read_bytes(a.der), db = read_bytes(b.der);
	auto bundle = pa;
	bundle.insert(bundle.end(), pb.begin(), pb.end());
	CHECK(Certificate::parse_all(bundle).size() == 2);
	auto ders = da;
	ders.insert(ders.end(), db.begin(), db.end());
	auto two = Certificate::parse_all(ders);
	REQUIRE(two.size() == 2);
	CHECK(two[1].common_name() == "lpguard unit test other");
	CHECK(two[0].serial_hex() == Certificate::from_file(a.crt).serial_hex());
	write_bytes(dir / "a.pem", pa);
	write_bytes(dir / "b.der", db);
	write_bytes(dir / "README", {'h', 'i'});
	auto all = Certificate::load_all(dir);
	CHECK(all.size() == 2);
	CHECK(verify_module(ModuleImage::from_bytes(signed_module(b)), all).ok);

	auto trailing = da;
	trailing.push_back(0x30);
	CHECK_THROWS_WITH(Certificate::parse_all(trailing), ContainsSubstring("invalid DER certificate"));
	CHECK_THROWS_WITH(Certificate::parse_all({}), ContainsSubstring("no certificate"));
	auto empty_dir = scratch_dir() / "empty-certs";
	std::filesystem::create_directories(empty_dir);
	CHECK_THROWS_WITH(Certificate::load_all(empty_dir), ContainsSubstring("no certificates in"));
	CHECK_THROWS_WITH(Certificate::load_all(scratch_dir() / "nope.pem"), ContainsSubstring("cannot read certificate"));
	auto key_only = scratch_dir() / "key-only.pem";
	write_bytes(key_only, read_bytes(a.key));
	CHECK_THROWS_WITH(Certificate::from_file(key_only), ContainsSubstring("no CERTIFICATE block"));
}
