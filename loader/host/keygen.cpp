// SPDX-License-Identifier: GPL-2.0
// Livepatch key pair and self-signed code-signing certificate.

#include <openssl/pem.h>
#include <openssl/rand.h>

#include "lpguard/host/keygen.hpp"
#include "lpguard/core/module_image.hpp"
#include "lpguard/core/io.hpp"
#include "lpguard/core/ossl.hpp"

namespace lpguard {

namespace {

Error crypto_error(const std::string &step)
{
	return Error("cannot generate the livepatch key", step + " failed: " + ossl::last_error(),
		     "check the OpenSSL installation (libssl3)", Kind::internal);
}

std::vector<uint8_t> bio_bytes(BIO *b)
{
	char *p = nullptr;
	long n = BIO_get_mem_data(b, &p);
	return std::vector<uint8_t>(p, p + (n > 0 ? n : 0));
}

void add_ext(X509 *x, X509V3_CTX *ctx, int nid, const char *value)
{
	ossl::Ext ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value));
	if (!ext || !X509_add_ext(x, ext.get(), -1))
		throw crypto_error(std::string("adding extension ") + OBJ_nid2sn(nid));
}

} // namespace

KeyType parse_key_type(const std::string &s)
{
	if (s == "rsa4096")
		return KeyType::rsa4096;
	if (s == "ecdsa-p384")
		return KeyType::ecdsa_p384;
	throw Error("unknown key type \"" + s + "\"", "supported types are rsa4096 and ecdsa-p384",
		    "pass --type rsa4096 or --type ecdsa-p384", Kind::usage);
}

KeygenResult generate_livepatch_keys(const KeygenOptions &opt)
{
	if (opt.days <= 0 || opt.days > 36500)
		throw Error("invalid validity", std::to_string(opt.days) + " days is not between 1 and 36500",
			    "pass --days N with 1 <= N <= 36500", Kind::usage);
	if (opt.subject.empty() || opt.subject.size() > 64)
		throw Error("invalid subject", "the commonName must be 1 to 64 characters",
			    "pass a shorter --subject", Kind::usage);
	KeygenResult res;
	res.key = opt.out_dir / "livepatch.key";
	res.crt = opt.out_dir / "livepatch.crt";
	res.der = opt.out_dir / "livepatch.der";

	std::error_code ec;
	if (!std::filesystem::exists(opt.out_dir, ec)) {
		std::filesystem::create_directories(opt.out_dir, ec);
		if (ec)
			throw Error("cannot create directory " + opt.out_dir.string(), ec.message(),
				    "check the path and its permissions", Kind::output);
		std::filesystem::permissions(opt.out_dir, std::filesystem::perms::owner_all, ec);
	} else if (!std::filesystem::is_directory(opt.out_dir, ec)) {
		throw Error("cannot write keys into " + opt.out_dir.string(), "it is not a directory",
			    "pass --out with a directory", Kind::output);
	}
	if (!opt.force) {
		for (const auto &p : {res.key, res.crt, res.der})
			if (std::filesystem::symlink_status(p, ec).type() != std::filesystem::file_type::not_found)
				throw Error("refusing to overwrite " + p.string(), "the key files already exist",
					    "pass --force to replace them, or choose another --out directory",
					    Kind::refused);
	}

	ERR_clear_error();
	ossl::Pkey pkey(opt.type == KeyType::rsa4096 ? EVP_RSA_gen(4096) : EVP_EC_gen("P-384"));
	if (!pkey)
		throw crypto_error("key generation");
	ossl::X509Ptr x(X509_new());
	if (!x || !X509_set_version(x.get(), X509_VERSION_3))
		throw crypto_error("X509_new");

	// 159 random bits: a positive serial of at most 20 octets (RFC 5280).
	ossl::Bn bn(BN_new());
	if (!bn || !BN_rand(bn.get(), 159, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) ||
	    !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(x.get())))
		throw crypto_error("serial number");
	X509_NAME *name = X509_get_subject_name(x.get());
	if (!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					reinterpret_cast<const unsigned char *>(opt.subject.c_str()), -1, -1, 0) ||
	    !X509_set_issuer_name(x.get(), name))
		throw crypto_error("subject name");
	if (!X509_gmtime_adj(X509_getm_notBefore(x.get()), 0) ||
	    !X509_time_adj_ex(X509_getm_notAfter(x.get()), opt.days, 0, nullptr))
		throw crypto_error("validity");
	if (!X509_set_pubkey(x.get(), pkey.get()))
		throw crypto_error("X509_set_pubkey");

	X509V3_CTX ctx;
	X509V3_set_ctx(&ctx, x.get(), x.get(), nullptr, nullptr, 0);
	add_ext(x.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE");
	add_ext(x.get(), &ctx, NID_key_usage, "critical,digitalSignature");
	add_ext(x.get(), &ctx, NID_ext_key_usage, "codeSigning");
	add_ext(x.get(), &ctx, NID_subject_key_identifier, "hash");
	add_ext(x.get(), &ctx, NID_authority_key_identifier, "keyid:always");

	const EVP_MD *md = opt.type == KeyType::rsa4096 ? EVP_sha256() : EVP_sha384();
	if (!X509_sign(x.get(), pkey.get(), md))
		throw crypto_error("X509_sign");

	ossl::Bio kb(BIO_new(BIO_s_secmem())), cb(BIO_new(BIO_s_mem())), db(BIO_new(BIO_s_mem()));
	if (!kb || !cb || !db || !PEM_write_bio_PrivateKey(kb.get(), pkey.get(), nullptr, nullptr, 0, nullptr, nullptr) ||
	    !PEM_write_bio_X509(cb.get(), x.get()) || !i2d_X509_bio(db.get(), x.get()))
		throw crypto_error("encoding");
	auto key_pem = bio_bytes(kb.get());
	auto crt_pem = bio_bytes(cb.get());
	auto crt_der = bio_bytes(db.get());

	if (opt.force) {
		// Each file is replaced atomically; the key's temporary file is
		// created 0600 by mkstemp before a byte is written.
		write_file_atomic(res.key, {std::span<const uint8_t>(key_pem)}, 0600);
		write_file_atomic(res.crt, {std::span<const uint8_t>(crt_pem)}, 0644);
		write_file_atomic(res.der, {std::span<const uint8_t>(crt_der)}, 0644);
	} else {
		const std::string exists = "pass --force to replace the existing keys";
		write_new_file(res.key, key_pem, 0600, exists);
		write_new_file(res.crt, crt_pem, 0644, exists);
		write_new_file(res.der, crt_der, 0644, exists);
	}
	OPENSSL_cleanse(key_pem.data(), key_pem.size());

	res.subject = ossl::name_oneline(X509_get_subject_name(x.get()));
	res.serial_hex = ossl::integer_hex(X509_get0_serialNumber(x.get()));
	const ASN1_OCTET_STRING *skid = X509_get0_subject_key_id(x.get());
	if (skid)
		res.key_id_hex = hex(ASN1_STRING_get0_data(skid), std::size_t(ASN1_STRING_length(skid)));
	return res;
}

} // namespace lpguard
