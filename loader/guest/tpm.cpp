// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/tpm.hpp"

#include <cstdio>
#include <cstdlib>
#include <memory>

#include <openssl/core_names.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <tss2/tss2_esys.h>
#include <tss2/tss2_mu.h>
#include <tss2/tss2_rc.h>
#include <tss2/tss2_tctildr.h>

#include "lpguard/core/error.hpp"
#include "lpguard/core/ossl.hpp"

namespace lpguard {

namespace {

[[noreturn]] void tpm_failed(const std::string &what, TSS2_RC rc, Kind kind = Kind::system)
{
	throw Error(what, std::string("TPM error ") + Tss2_RC_Decode(rc), "check the TPM (tpm2_getcap properties-fixed)",
		    kind);
}

template <typename T> struct EsysFree {
	void operator()(T *p) const { Esys_Free(p); }
};
template <typename T> using EsysPtr = std::unique_ptr<T, EsysFree<T>>;

// One ESYS context over the TCTI, for one command of lp-load.
class Tpm {
public:
	explicit Tpm(const std::string &tcti)
	{
		// tpm2-tss logs every TPM error to stderr (an absent AK too); lp-load
		// prints one line itself. TSS2_LOG set by the caller wins.
		setenv("TSS2_LOG", "all+none", 0);
		TSS2_RC rc = Tss2_TctiLdr_Initialize(tcti.c_str(), &tcti_);
		if (rc != TSS2_RC_SUCCESS)
			throw Error("no TPM", "cannot open TPM 2.0 through TCTI \"" + tcti + "\" (" + Tss2_RC_Decode(rc) + ")",
				    "give the VM a vTPM, or name it with --tcti", Kind::no_tpm);
		rc = Esys_Initialize(&ctx_, tcti_, nullptr);
		if (rc != TSS2_RC_SUCCESS) {
			Tss2_TctiLdr_Finalize(&tcti_);
			throw Error("no TPM", std::string("TPM 2.0 at \"") + tcti + "\" does not answer (" + Tss2_RC_Decode(rc) + ")",
				    "give the VM a vTPM, or name it with --tcti", Kind::no_tpm);
		}
	}
	~Tpm()
	{
		Esys_Finalize(&ctx_);
		Tss2_TctiLdr_Finalize(&tcti_);
	}
	Tpm(const Tpm &) = delete;
	Tpm &operator=(const Tpm &) = delete;
	ESYS_CONTEXT *ctx() const { return ctx_; }

	// The ESYS object of a persistent handle, or ESYS_TR_NONE when empty.
	ESYS_TR persistent(uint32_t handle)
	{
		ESYS_TR tr = ESYS_TR_NONE;
		TSS2_RC rc = Esys_TR_FromTPMPublic(ctx_, handle, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &tr);
		if (rc != TSS2_RC_SUCCESS)
			return ESYS_TR_NONE;
		return tr;
	}
	EsysPtr<TPM2B_PUBLIC> read_public(ESYS_TR tr)
	{
		TPM2B_PUBLIC *pub = nullptr;
		TSS2_RC rc = Esys_ReadPublic(ctx_, tr, ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &pub, nullptr, nullptr);
		if (rc != TSS2_RC_SUCCESS)
			tpm_failed("cannot read the attestation key", rc);
		return EsysPtr<TPM2B_PUBLIC>(pub);
	}

private:
	TSS2_TCTI_CONTEXT *tcti_ = nullptr;
	ESYS_CONTEXT *ctx_ = nullptr;
};

TPM2B_PUBLIC ak_template()
{
	TPM2B_PUBLIC t{};
	t.publicArea.type = TPM2_ALG_RSA;
	t.publicArea.nameAlg = TPM2_ALG_SHA256;
	t.publicArea.objectAttributes = TPMA_OBJECT_FIXEDTPM | TPMA_OBJECT_FIXEDPARENT |
		TPMA_OBJECT_SENSITIVEDATAORIGIN | TPMA_OBJECT_USERWITHAUTH |
		TPMA_OBJECT_RESTRICTED | TPMA_OBJECT_SIGN_ENCRYPT;
	auto &rsa = t.publicArea.parameters.rsaDetail;
	rsa.symmetric.algorithm = TPM2_ALG_NULL;
	rsa.scheme.scheme = TPM2_ALG_RSASSA;
	rsa.scheme.details.rsassa.hashAlg = TPM2_ALG_SHA256;
	rsa.keyBits = 2048;
	rsa.exponent = 0;
	return t;
}

bool restricted_signer(const TPM2B_PUBLIC &p)
{
	auto a = p.publicArea.objectAttributes;
	return (a & TPMA_OBJECT_RESTRICTED) && (a & TPMA_OBJECT_SIGN_ENCRYPT) && !(a & TPMA_OBJECT_DECRYPT);
}

[[noreturn]] void no_ak(uint32_t handle, const std::string &why)
{
	throw Error("no attestation key", why + " at " + tpm_handle_hex(handle),
		    "run lp-load attest --create-ak (or --ak-handle for the platform's key)", Kind::no_tpm);
}

} // namespace

std::string tpm_handle_hex(uint32_t h)
{
	char buf[16];
	std::snprintf(buf, sizeof(buf), "0x%08x", h);
	return buf;
}

std::string tpm_public_pem(const void *tpm2b_public)
{
	const auto &p = static_cast<const TPM2B_PUBLIC *>(tpm2b_public)->publicArea;
	std::unique_ptr<OSSL_PARAM_BLD, ossl::Deleter<OSSL_PARAM_BLD_free>> bld(OSSL_PARAM_BLD_new());
	const char *type = nullptr;
	ossl::Bn n, e;
	std::vector<uint8_t> point;
	bool ok = bld != nullptr;
	if (p.type == TPM2_ALG_RSA) {
		type = "RSA";
		uint32_t exp = p.parameters.rsaDetail.exponent ? p.parameters.rsaDetail.exponent : 65537;
		n.reset(BN_bin2bn(p.unique.rsa.buffer, p.unique.rsa.size, nullptr));
		e.reset(BN_new());
		ok = ok && n && e && BN_set_word(e.get(), exp) && OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, n.get()) &&
			OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, e.get());
	} else if (p.type == TPM2_ALG_ECC && p.parameters.eccDetail.curveID == TPM2_ECC_NIST_P256) {
		type = "EC";
		point.push_back(0x04);
		auto pad = [&](const TPM2B_ECC_PARAMETER &c) {
			point.insert(point.end(), 32 - std::min<std::size_t>(32, c.size), 0);
			point.insert(point.end(), c.buffer, c.buffer + std::min<std::size_t>(32, c.size));
		};
		pad(p.unique.ecc.x);
		pad(p.unique.ecc.y);
		ok = ok && OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) &&
			OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(), point.size());
	} else {
		throw Error("cannot use the attestation key", "it is neither RSA nor ECC P-256",
			    "use a key from lp-load attest --create-ak", Kind::key);
	}
	std::unique_ptr<OSSL_PARAM, ossl::Deleter<OSSL_PARAM_free>> params(ok ? OSSL_PARAM_BLD_to_param(bld.get()) : nullptr);
	std::unique_ptr<EVP_PKEY_CTX, ossl::Deleter<EVP_PKEY_CTX_free>> pctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
	EVP_PKEY *pk = nullptr;
	ok = params && pctx && EVP_PKEY_fromdata_init(pctx.get()) == 1 &&
		EVP_PKEY_fromdata(pctx.get(), &pk, EVP_PKEY_PUBLIC_KEY, params.get()) == 1;
	ossl::Pkey key(pk);
	ossl::Bio bio(BIO_new(BIO_s_mem()));
	ok = ok && bio && PEM_write_bio_PUBKEY(bio.get(), key.get()) == 1;
	if (!ok)
		throw Error("cannot encode the attestation key", ossl::last_error(), "report a bug", Kind::internal);
	char *data = nullptr;
	long len = BIO_get_mem_data(bio.get(), &data);
	return std::string(data, static_cast<std::size_t>(len));
}

AkInfo read_ak(const TpmOptions &opt)
{
	Tpm tpm(opt.tcti);
	ESYS_TR tr = tpm.persistent(opt.ak_handle);
	if (tr == ESYS_TR_NONE)
		no_ak(opt.ak_handle, "no key");
	auto pub = tpm.read_public(tr);
	if (!restricted_signer(*pub))
		no_ak(opt.ak_handle, "the key is not a restricted signing key");
	return AkInfo{opt.ak_handle, tpm_public_pem(pub.get()), false};
}

AkInfo create_ak(const TpmOptions &opt)
{
	{
		Tpm tpm(opt.tcti);
		ESYS_TR tr = tpm.persistent(opt.ak_handle);
		if (tr != ESYS_TR_NONE) {
			auto pub = tpm.read_public(tr);
			if (!restricted_signer(*pub))
				throw Error("cannot create the attestation key",
					    tpm_handle_hex(opt.ak_handle) + " holds another kind of key",
					    "choose another --ak-handle, or evict it (tpm2_evictcontrol)", Kind::system);
			return AkInfo{opt.ak_handle, tpm_public_pem(pub.get()), false};
		}
		TPM2B_SENSITIVE_CREATE sensitive{};
		TPM2B_PUBLIC templ = ak_template();
		TPM2B_DATA outside{};
		TPML_PCR_SELECTION creation_pcrs{};
		ESYS_TR primary = ESYS_TR_NONE;
		TSS2_RC rc = Esys_CreatePrimary(tpm.ctx(), ESYS_TR_RH_ENDORSEMENT, ESYS_TR_PASSWORD, ESYS_TR_NONE,
						ESYS_TR_NONE, &sensitive, &templ, &outside, &creation_pcrs, &primary,
						nullptr, nullptr, nullptr, nullptr);
		if (rc != TSS2_RC_SUCCESS)
			tpm_failed("cannot create the attestation key under the endorsement hierarchy", rc);
		ESYS_TR persisted = ESYS_TR_NONE;
		rc = Esys_EvictControl(tpm.ctx(), ESYS_TR_RH_OWNER, primary, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE,
				       opt.ak_handle, &persisted);
		Esys_FlushContext(tpm.ctx(), primary);
		if (rc != TSS2_RC_SUCCESS)
			tpm_failed("cannot persist the attestation key at " + tpm_handle_hex(opt.ak_handle), rc);
	}
	AkInfo ak = read_ak(opt);
	ak.created = true;
	return ak;
}

TpmQuote tpm_quote(const TpmOptions &opt, std::span<const uint8_t> nonce, const std::vector<unsigned> &pcrs)
{
	if (nonce.empty() || nonce.size() > 64)
		throw Error("invalid nonce", std::to_string(nonce.size()) + " bytes, not 1..64",
			    "pass --nonce with 2..128 hex digits", Kind::usage);
	TPML_PCR_SELECTION sel{};
	sel.count = 1;
	sel.pcrSelections[0].hash = TPM2_ALG_SHA256;
	sel.pcrSelections[0].sizeofSelect = 3;
	for (unsigned p : pcrs) {
		if (p > 23)
			throw Error("invalid PCR", std::to_string(p) + " is not 0..23", "pass --pcrs 0,7", Kind::usage);
		sel.pcrSelections[0].pcrSelect[p / 8] |= static_cast<uint8_t>(1u << (p % 8));
	}
	Tpm tpm(opt.tcti);
	ESYS_TR ak = tpm.persistent(opt.ak_handle);
	if (ak == ESYS_TR_NONE)
		no_ak(opt.ak_handle, "no key");
	TPM2B_DATA qualifying{};
	qualifying.size = static_cast<uint16_t>(nonce.size());
	std::copy(nonce.begin(), nonce.end(), qualifying.buffer);
	TPMT_SIG_SCHEME scheme{};
	scheme.scheme = TPM2_ALG_NULL; // the key's own scheme
	TPM2B_ATTEST *quoted_raw = nullptr;
	TPMT_SIGNATURE *sig_raw = nullptr;
	TSS2_RC rc = Esys_Quote(tpm.ctx(), ak, ESYS_TR_PASSWORD, ESYS_TR_NONE, ESYS_TR_NONE, &qualifying, &scheme, &sel,
				&quoted_raw, &sig_raw);
	if (rc != TSS2_RC_SUCCESS)
		tpm_failed("cannot quote with the attestation key at " + tpm_handle_hex(opt.ak_handle), rc);
	EsysPtr<TPM2B_ATTEST> quoted(quoted_raw);
	EsysPtr<TPMT_SIGNATURE> sig(sig_raw);
	TpmQuote q;
	q.attest.assign(quoted->attestationData, quoted->attestationData + quoted->size);
	q.signature.resize(sizeof(TPMT_SIGNATURE));
	size_t off = 0;
	rc = Tss2_MU_TPMT_SIGNATURE_Marshal(sig.get(), q.signature.data(), q.signature.size(), &off);
	if (rc != TSS2_RC_SUCCESS)
		tpm_failed("cannot marshal the quote's signature", rc, Kind::internal);
	q.signature.resize(off);
	// PCR_Read returns at most 8 values per call: one PCR at a time.
	for (unsigned p : pcrs) {
		TPML_PCR_SELECTION one{};
		one.count = 1;
		one.pcrSelections[0].hash = TPM2_ALG_SHA256;
		one.pcrSelections[0].sizeofSelect = 3;
		one.pcrSelections[0].pcrSelect[p / 8] = static_cast<uint8_t>(1u << (p % 8));
		TPML_DIGEST *values_raw = nullptr;
		rc = Esys_PCR_Read(tpm.ctx(), ESYS_TR_NONE, ESYS_TR_NONE, ESYS_TR_NONE, &one, nullptr, nullptr, &values_raw);
		if (rc != TSS2_RC_SUCCESS)
			tpm_failed("cannot read PCR " + std::to_string(p), rc);
		EsysPtr<TPML_DIGEST> values(values_raw);
		if (values->count == 1)
			q.pcrs[p].assign(values->digests[0].buffer, values->digests[0].buffer + values->digests[0].size);
	}
	return q;
}

} // namespace lpguard
