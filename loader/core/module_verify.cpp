// SPDX-License-Identifier: GPL-2.0
// The PKCS#7 blob of a module signature: who signed it, with which digest,
// and whether it verifies against a given set of certificates -- and only
// against those: no system trust store, no certificates carried in the blob.

#include <algorithm>
#include <cctype>

#include "lpguard/core/module_image.hpp"
#include "lpguard/core/module_parse.hpp"
#include "lpguard/core/ossl.hpp"

namespace lpguard {

namespace {

[[noreturn]] void bad_pkcs7(const std::string &why)
{
	throw Error("invalid module signature", "PKCS#7 blob: " + why,
		    "re-sign the module with cvm-cli sign or scripts/sign-file", Kind::input);
}

// The encoding rules lpguard's own walk of the blob holds it to (and DER
// requires), where OpenSSL, which reads BER, is more lenient: definite
// lengths of at most 3 length bytes, tag numbers below 31, SEQUENCE and SET
// constructed, every other universal type primitive. Constructed encodings
// are checked down to @depth levels.
bool strict_der(std::span<const uint8_t> d, int depth)
{
	while (!d.empty()) {
		if (d.size() < 2 || (d[0] & 0x1f) == 0x1f)
			return false;
		uint8_t tag = d[0];
		std::size_t len = d[1], hdr = 2;
		if (len & 0x80) {
			std::size_t n = len & 0x7f;
			if (n == 0 || n > 3 || d.size() < 2 + n)
				return false;
			len = 0;
			for (std::size_t i = 0; i < n; i++)
				len = (len << 8) | d[2 + i];
			hdr += n;
		}
		if (len > d.size() - hdr)
			return false;
		bool constructed = tag & 0x20;
		if ((tag & 0xc0) == 0 && constructed != ((tag & 0x1f) == 16 || (tag & 0x1f) == 17))
			return false;
		if (constructed && (depth == 0 || !strict_der(d.subspan(hdr, len), depth - 1)))
			return false;
		d = d.subspan(hdr + len);
	}
	return true;
}

ossl::Cms decode(std::span<const uint8_t> der)
{
	if (der.empty())
		bad_pkcs7("empty");
	if (!strict_der(der, 32))
		bad_pkcs7("not DER: indefinite or oversized length, high tag number, or wrongly constructed element");
	ERR_clear_error();
	const unsigned char *p = der.data();
	ossl::Cms cms(d2i_CMS_ContentInfo(nullptr, &p, static_cast<long>(der.size())));
	if (!cms)
		bad_pkcs7("not DER CMS/PKCS#7: " + ossl::last_error());
	if (p != der.data() + der.size())
		bad_pkcs7(std::to_string(der.data() + der.size() - p) + " trailing bytes after the DER structure");
	if (OBJ_obj2nid(CMS_get0_type(cms.get())) != NID_pkcs7_signed)
		bad_pkcs7("not PKCS#7 SignedData");
	if (CMS_is_detached(cms.get()) != 1)
		bad_pkcs7("carries its content; module signatures are detached");
	auto *infos = CMS_get0_SignerInfos(cms.get());
	int n = infos ? sk_CMS_SignerInfo_num(infos) : 0;
	if (n != 1)
		bad_pkcs7("has " + std::to_string(n) + " signers; exactly one is accepted");
	return cms;
}

std::string lower(std::string s)
{
	std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return std::tolower(c); });
	return s;
}

} // namespace

ModuleSignature parse_pkcs7_signer(std::span<const uint8_t> der)
{
	auto cms = decode(der);
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
	ASN1_OCTET_STRING *keyid = nullptr;
	X509_NAME *issuer = nullptr;
	ASN1_INTEGER *serial = nullptr;
	if (CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial) != 1)
		bad_pkcs7("no signer identifier");
	X509_ALGOR *dig = nullptr, *sig = nullptr;
	CMS_SignerInfo_get0_algs(si, nullptr, nullptr, &dig, &sig);
	if (!dig)
		bad_pkcs7("no digest algorithm");
	int nid = OBJ_obj2nid(dig->algorithm);
	const char *sn = nid == NID_undef ? nullptr : OBJ_nid2sn(nid);
	if (!sn)
		bad_pkcs7("unknown digest algorithm");

	ModuleSignature s;
	s.hash_algo = lower(sn);
	if (keyid) {
		if (ASN1_STRING_length(keyid) <= 0)
			bad_pkcs7("empty subject key identifier");
		s.key_id_hex = hex(ASN1_STRING_get0_data(keyid), std::size_t(ASN1_STRING_length(keyid)));
		s.signer = "";
	} else {
		if (!issuer || !serial)
			bad_pkcs7("signer has neither issuer+serial nor a key identifier");
		s.serial_hex = ossl::integer_hex(serial);
		s.signer = ossl::name_common_name(issuer);
		if (s.signer.empty())
			s.signer = ossl::name_oneline(issuer);
	}
	s.pkcs7_der.assign(der.begin(), der.end());
	return s;
}

VerifyResult verify_module(const ModuleImage &image, const std::vector<Certificate> &certs)
{
	VerifyResult r;
	if (!image.signature) {
		r.reason = "the module is not signed";
		return r;
	}
	if (!signature_hash_accepted(image.signature->hash_algo)) {
		r.reason = "digest " + image.signature->hash_algo + " is not accepted (" + signature_hash_list() + ")";
		return r;
	}
	if (certs.empty()) {
		r.reason = "no certificates to verify against";
		return r;
	}
	if (image.payload_size > image.bytes.size()) {
		r.reason = "payload size exceeds the file";
		return r;
	}
	ossl::Cms cms;
	try {
		cms = decode(image.signature->pkcs7_der);
	} catch (const Error &e) {
		r.reason = e.why();
		return r;
	}
	ossl::X509Stack stack(sk_X509_new_null());
	if (!stack)
		throw Error("cannot verify", "out of memory", "", Kind::internal);
	for (const auto &c : certs)
		if (!sk_X509_push(stack.get(), static_cast<X509 *>(c.x509())))
			throw Error("cannot verify", "out of memory", "", Kind::internal);
	auto content = ossl::mem_bio(image.bytes.data(), image.payload_size);
	ERR_clear_error();
	// CMS_NOINTERN: the signer is looked up in `certs` only, never in the blob.
	// CMS_NO_SIGNER_CERT_VERIFY: no chain building, hence no trust store: the
	// caller's certificates are the trust anchors themselves.
	int ok = CMS_verify(cms.get(), stack.get(), nullptr, content.get(), nullptr,
			    CMS_BINARY | CMS_NOINTERN | CMS_NO_SIGNER_CERT_VERIFY);
	if (ok != 1) {
		unsigned long e = ERR_peek_last_error();
		std::string why = ossl::last_error();
		if (ERR_GET_LIB(e) == ERR_LIB_CMS && ERR_GET_REASON(e) == CMS_R_SIGNER_CERTIFICATE_NOT_FOUND)
			r.reason = "signed by a key none of the given certificates match (signer " +
				(image.signature->signer.empty() ? "key id " + image.signature->key_id_hex
								 : "\"" + image.signature->signer + "\" serial " +
						 image.signature->serial_hex) +
				")";
		else
			r.reason = "signature does not match the module contents or the signer key (" + why + ")";
		return r;
	}
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms.get()), 0);
	X509 *signer = nullptr;
	CMS_SignerInfo_get0_algs(si, nullptr, &signer, nullptr, nullptr);
	r.ok = true;
	if (signer)
		r.signer_subject = ossl::name_oneline(X509_get_subject_name(signer));
	return r;
}

} // namespace lpguard
