// SPDX-License-Identifier: GPL-2.0
// libFuzzer, differential: lpguard's in-kernel parser (kmod/parse.c) against
// the loader's (parse_module_view and parse_pkcs7_signer, which lp-load
// verify and cvm-cli inspect run). On every input they must agree on
//
//   - the trailer split: no trailer, a malformed one, or the same payload
//     and signature lengths;
//   - the image: both refuse, or both find the same verdict class
//     (ordinary module or livepatch), module name and payload length;
//   - the signer: when the loader accepts the PKCS#7 blob, parse.c finds
//     exactly one signer with the same identifier (issuer + serial, or
//     subject key id). parse.c reads only the SignerIdentifiers and leaves
//     the rest of the message to the kernel's PKCS#7 verification, so a
//     blob the loader refuses may still pass parse.c; its image is then
//     compared without the signature.
//
// A disagreement prints both results and aborts.
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <span>
#include <string>

#include <openssl/cms.h>
#include <openssl/x509.h>

#include "kparse.hpp"
#include "lpguard/core/module_parse.hpp"

namespace {

struct Verdict {
	std::string refused; // why, "" when accepted
	bool livepatch = false;
	std::string name;
	std::size_t payload = 0;
	uint32_t generation = 0;

	std::string str() const
	{
		if (!refused.empty())
			return "refused (" + refused + ")";
		return std::string(livepatch ? "livepatch" : "ordinary") + " name=\"" + name +
			"\" payload=" + std::to_string(payload) + " generation=" + std::to_string(generation);
	}
	bool operator==(const Verdict &o) const
	{
		if (!refused.empty() || !o.refused.empty())
			return !refused.empty() && !o.refused.empty();
		return livepatch == o.livepatch && name == o.name && payload == o.payload &&
			generation == o.generation;
	}
};

[[noreturn]] void disagree(const char *what, const std::string &kernel, const std::string &loader)
{
	std::fprintf(stderr, "lpguard parser disagreement on the %s\n  kernel (kmod/parse.c): %s\n"
			     "  loader (parse_module_view): %s\n",
		     what, kernel.c_str(), loader.c_str());
	std::abort();
}

bool ends_with_marker(std::span<const uint8_t> d)
{
	return d.size() >= lpguard::kModuleSigMagicLen &&
		!std::memcmp(d.data() + d.size() - lpguard::kModuleSigMagicLen, lpguard::kModuleSigMagic,
			     lpguard::kModuleSigMagicLen);
}

// The signer identifier of a blob the loader accepted, in kparse::signer_id
// form: issuer as OpenSSL decoded it (its cached original encoding), serial
// and key id as the loader reports them.
std::string loader_signer_id(std::span<const uint8_t> der, const lpguard::ModuleSignature &sig)
{
	if (!sig.key_id_hex.empty())
		return "skid:" + sig.key_id_hex;
	const unsigned char *p = der.data();
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(nullptr, &p, long(der.size()));
	if (!cms)
		return "(cannot decode again)";
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(CMS_get0_SignerInfos(cms), 0);
	ASN1_OCTET_STRING *keyid = nullptr;
	X509_NAME *issuer = nullptr;
	ASN1_INTEGER *serial = nullptr;
	std::string id = "(no issuer)";
	unsigned char *enc = nullptr;
	int n;
	if (CMS_SignerInfo_get0_signer_id(si, &keyid, &issuer, &serial) == 1 && issuer &&
	    (n = i2d_X509_NAME(issuer, &enc)) > 2) {
		std::size_t hdr = enc[1] & 0x80 ? 2 + (enc[1] & 0x7f) : 2;
		if (hdr <= std::size_t(n))
			id = "issuer:" + kparse::hex(enc + hdr, std::size_t(n) - hdr) + " serial:" + sig.serial_hex;
	}
	OPENSSL_free(enc);
	CMS_ContentInfo_free(cms);
	return id;
}

Verdict kernel_image(const uint8_t *data, std::size_t size)
{
	lpguard_image img;
	const char *why = "(no reason)";
	Verdict v;
	if (lpguard_parse_image(data, size, &img, &why)) {
		v.refused = why;
		return v;
	}
	v.refused = kparse::kernel_after_parse(data, img, v.name);
	v.livepatch = img.livepatch;
	v.payload = img.payload_len;
	v.generation = img.generation;
	return v;
}

Verdict loader_image(std::span<const uint8_t> in)
{
	Verdict v;
	try {
		auto m = lpguard::parse_module_view(in);
		v.livepatch = m.is_livepatch();
		v.name = m.name;
		v.payload = m.payload_size;
		v.generation = m.generation;
	} catch (const lpguard::Error &e) {
		v.refused = e.why();
	}
	return v;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::span<const uint8_t> in(data, size);

	// The trailer split.
	lpguard_image kt;
	const char *why = "(no reason)";
	int kret = lpguard_parse_trailer(data, size, &kt, &why);
	std::optional<lpguard::SignatureTrailer> lt;
	std::string lerr;
	try {
		lt = lpguard::parse_signature_trailer(in);
	} catch (const lpguard::Error &e) {
		lerr = e.why();
	}
	auto ktrailer = kret ? "malformed (" + std::string(why) + ")"
		: !kt.sig    ? std::string("none")
			     : "payload=" + std::to_string(kt.payload_len) + " sig=" + std::to_string(kt.sig_len);
	auto ltrailer = !lerr.empty() ? "malformed (" + lerr + ")"
		: !lt		      ? std::string("none")
				      : "payload=" + std::to_string(lt->payload_size) + " sig=" + std::to_string(lt->sig_len);
	if (bool(kret) != !lerr.empty() || (!kret && bool(kt.sig) != lt.has_value()) ||
	    (lt && kt.sig && (kt.payload_len != lt->payload_size || kt.sig_len != lt->sig_len)))
		disagree("signature trailer", ktrailer, ltrailer);
	if (kret)
		return 0;

	// The signer, when the loader accepts the blob.
	bool blob_ok = true;
	if (kt.sig) {
		std::span<const uint8_t> blob(kt.sig, kt.sig_len);
		lpguard_signer s[LPGUARD_MAX_SIGNERS];
		bool certs;
		int n = lpguard_parse_signers(kt.sig, kt.sig_len, s, LPGUARD_MAX_SIGNERS, &certs, &why);
		std::string ks = n < 0 ? "refused (" + std::string(why) + ")" : std::to_string(n) + " signer(s)";
		if (n > 0)
			ks += ": " + kparse::signer_id(s[0]);
		try {
			auto sig = lpguard::parse_pkcs7_signer(blob);
			auto ls = "1 signer(s): " + loader_signer_id(blob, sig);
			if (ks != ls)
				disagree("PKCS#7 signer", ks, ls);
		} catch (const lpguard::Error &) {
			blob_ok = false;
		}
	}

	// The image; without the signature when the loader refused the blob.
	Verdict k = kernel_image(data, size);
	Verdict l;
	if (blob_ok) {
		l = loader_image(in);
	} else {
		auto payload = in.first(kt.payload_len);
		if (ends_with_marker(payload))
			return 0; // the loader would take the payload's end for a second trailer
		l = loader_image(payload);
	}
	if (!(k == l))
		disagree("image", k.str(), l.str());
	return 0;
}
