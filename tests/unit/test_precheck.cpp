// SPDX-License-Identifier: GPL-2.0
// lp-load's pre-checks on built and signed module images, with the
// certificates taken from lpguard's securityfs bundle or /etc/lp-load/certs.
#include <catch2/catch_test_macros.hpp>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/guest/precheck.hpp"
#include "lpguard/host/module_sign.hpp"
#include "test_module_builder.hpp"
#include "test_module_keys.hpp"

namespace fs = std::filesystem;
using lpguard::test::build_module;
using lpguard::test::test_keys;

namespace {

// Writes a module built for release (signed by keys when given) to dir/file.
fs::path make_ko(const fs::path &dir, const std::string &file, const std::string &name, bool livepatch,
		 const std::string &release, const lpguard::test::TestKeys *keys)
{
	auto image = lpguard::ModuleImage::from_bytes(build_module(name, livepatch, release + " SMP mod_unload ").bytes);
	if (keys) {
		auto key = lpguard::SigningKey::load(keys->key, keys->crt);
		std::vector<uint8_t> appendix;
		image.bytes.resize(lpguard::sign_module(image, key, "sha256", &appendix));
		image.bytes.insert(image.bytes.end(), appendix.begin(), appendix.end());
	}
	fs::path p = dir / file;
	lpguard::test::write_bytes(p, image.bytes);
	return p;
}

const lpguard::PrecheckItem &item(const lpguard::PrecheckReport &r, const std::string &check)
{
	for (const auto &c : r.checks)
		if (c.check == check)
			return c;
	FAIL("no " << check << " check in the report");
	throw;
}

} // namespace

TEST_CASE("pre-check: a livepatch for the running kernel signed by lpguard's key passes", "[lpload][precheck]")
{
	fakesys::FakeTree t;
	const auto &rsa = test_keys("rsa");
	// lpguard exposes its certificates: they are used, the fallback directory is not.
	fakesys::put(t.root / "sys/kernel/security/lpguard/certificates", fakesys::get(rsa.crt));
	auto ko = make_ko(t.root, "lp_good.ko", "lp_good", true, "6.12.0-test", &rsa);
	auto r = lpguard::precheck_patch(ko, t.sys(), t.root / "etc/lp-load/certs");
	CHECK(r.ok);
	CHECK(r.name == "lp_good");
	CHECK(r.sha256.size() == 64);
	CHECK(r.cert_source == (t.root / "sys/kernel/security/lpguard/certificates").string());
	REQUIRE(r.checks.size() == 4);
	CHECK(item(r, "format").ok);
	CHECK(item(r, "livepatch").detail == "livepatch=Y");
	CHECK(item(r, "vermagic").detail == "6.12.0-test SMP mod_unload ");
	CHECK(item(r, "signature").ok);
	CHECK(r.signer.find("lpguard unit test rsa") != std::string::npos);
	CHECK(r.message == ko.string() + ": livepatch lp_good for 6.12.0-test, signed by " + r.signer);
	auto j = lpguard::to_json(r);
	CHECK(j["ok"] == true);
	CHECK(j["checks"].size() == 4);
	CHECK(j["name"] == "lp_good");
}

TEST_CASE("pre-check: each failure names the check and what to do", "[lpload][precheck]")
{
	fakesys::FakeTree t;
	const auto &rsa = test_keys("rsa");
	const auto &other = test_keys("other");
	fs::path certs = t.root / "etc/lp-load/certs";
	fs::create_directories(certs);
	fs::copy_file(rsa.der, certs / "livepatch.der");

	SECTION("fallback certificates verify when securityfs has none")
	{
		auto ko = make_ko(t.root, "a.ko", "lp_a", true, "6.12.0-test", &rsa);
		auto r = lpguard::precheck_patch(ko, t.sys(), certs);
		CHECK(r.ok);
		CHECK(r.cert_source == certs.string());
	}
	SECTION("unsigned")
	{
		auto ko = make_ko(t.root, "a.ko", "lp_a", true, "6.12.0-test", nullptr);
		auto r = lpguard::precheck_patch(ko, t.sys(), certs);
		CHECK_FALSE(r.ok);
		CHECK_FALSE(item(r, "signature").ok);
		CHECK(r.message == ko.string() + " fails the signature check: the module is not signed (sign it with "
						 "the livepatch key: cvm-cli sign)");
	}
	SECTION("signed by another key")
	{
		auto ko = make_ko(t.root, "a.ko", "lp_a", true, "6.12.0-test", &other);
		auto r = lpguard::precheck_patch(ko, t.sys(), certs);
		CHECK_FALSE(r.ok);
		CHECK_FALSE(item(r, "signature").ok);
		CHECK(r.message.rfind(ko.string() + " fails the signature check: ", 0) == 0);
		CHECK(r.message.find(", checked against the certificates in " + certs.string() + " (sign it with") !=
		      std::string::npos);
	}
	SECTION("tampered after signing")
	{
		auto ko = make_ko(t.root, "a.ko", "lp_a", true, "6.12.0-test", &rsa);
		auto bytes = lpguard::test::read_bytes(ko);
		bytes[0x50] ^= 1;
		lpguard::test::write_bytes(ko, bytes);
		auto r = lpguard::precheck_patch(ko, t.sys(), certs);
		CHECK_FALSE(r.ok);
		CHECK_FALSE(item(r, "signature").ok);
	}
	SECTION("built for another kernel")
	{
		auto ko = make_ko(t.root, "a.ko", "lp_a", true, "6.12.1-other", &rsa);
		auto r = lpguard::precheck_patch(ko, t.sys(), certs);
		CHECK_FALSE(r.ok);
		CHECK(item(r, "signature").ok);
		CHECK(r.message == ko.string() + " fails the vermagic check: built for 6.12.1-other, running "
						 "6.12.0-test (rebuild the patch against the running kernel)");
	}
	SECTION("not a livepatch")
	{
		auto ko = make_ko(t.root, "a.ko", "plain", false, "6.12.0-test", &rsa);
		auto r = lpguard::precheck_patch(ko, t.sys(), certs);
		CHECK_FALSE(r.ok);
		CHECK(r.message == ko.string() + " fails the livepatch check: no livepatch= tag in .modinfo: an "
						 "ordinary module (lp-load only loads livepatch modules; use modprobe "
						 "for others)");
	}
	SECTION("not a module")
	{
		fakesys::put(t.root / "junk.ko", "not an ELF file");
		auto r = lpguard::precheck_patch(t.root / "junk.ko", t.sys(), certs);
		CHECK_FALSE(r.ok);
		CHECK(r.name.empty());
		REQUIRE(r.checks.size() == 1);
		CHECK(r.checks[0].check == "format");
		auto path = (t.root / "junk.ko").string();
		CHECK(r.message.rfind(path + " fails the format check: ", 0) == 0);
		CHECK(r.message.find(path, 1) == std::string::npos); // the path once
		CHECK(r.message.find("((") == std::string::npos);
	}
	SECTION("no certificates anywhere")
	{
		auto ko = make_ko(t.root, "a.ko", "lp_a", true, "6.12.0-test", &rsa);
		fs::remove_all(certs);
		auto r = lpguard::precheck_patch(ko, t.sys(), certs);
		CHECK_FALSE(r.ok);
		CHECK_FALSE(item(r, "signature").ok);
		CHECK(r.message.find("install the livepatch certificate in " + certs.string()) != std::string::npos);
	}
}
