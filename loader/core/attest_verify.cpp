// SPDX-License-Identifier: GPL-2.0
#include "lpguard/core/attest_verify.hpp"

#include <algorithm>
#include <cstdio>
#include <set>

#include <openssl/ecdsa.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "lpguard/core/error.hpp"
#include "lpguard/core/ossl.hpp"
#include "lpguard/core/text.hpp"

namespace lpguard {

namespace {

constexpr unsigned kImaPcr = 10; // CONFIG_IMA_MEASURE_PCR_IDX
constexpr std::size_t kMaxLog = std::size_t(1) << 28;

std::string hex_u32(uint32_t v)
{
	char buf[16];
	std::snprintf(buf, sizeof(buf), "0x%x", v);
	return buf;
}

[[noreturn]] void bad_evidence(const std::string &member, const std::string &why)
{
	throw Error("invalid attestation evidence", member + ": " + why, "run lp-load attest --json again",
		    Kind::input);
}

std::vector<uint8_t> b64_member(const Json &j, const char *outer, const char *name)
{
	const Json *v = &j;
	std::string path = name;
	if (outer) {
		path = std::string(outer) + "." + name;
		if (!j.contains(outer) || !j[outer].is_object())
			bad_evidence(outer, "missing");
		v = &j[outer];
	}
	if (!v->contains(name) || !(*v)[name].is_string())
		bad_evidence(path, "missing or not a string");
	auto s = (*v)[name].get<std::string>();
	if (s.size() > kMaxLog)
		bad_evidence(path, "too long");
	auto bytes = unbase64(s);
	if (!bytes)
		bad_evidence(path, "not base64");
	return *bytes;
}

ossl::Pkey load_public_key(std::span<const uint8_t> key)
{
	auto bio = ossl::mem_bio(key.data(), key.size());
	EVP_PKEY *pk = PEM_read_bio_PUBKEY(bio.get(), nullptr, nullptr, nullptr);
	if (!pk) {
		ERR_clear_error();
		const unsigned char *p = key.data();
		pk = d2i_PUBKEY(nullptr, &p, static_cast<long>(key.size()));
	}
	if (!pk)
		throw Error("cannot read the attestation key", "not a PEM or DER public key (" + ossl::last_error() + ")",
			    "pass the AK's public key as lp-load attest --ak-pub prints it", Kind::key);
	int id = EVP_PKEY_get_base_id(pk);
	if (id != EVP_PKEY_RSA && id != EVP_PKEY_EC) {
		EVP_PKEY_free(pk);
		throw Error("cannot use the attestation key", "it is neither RSA nor EC",
			    "pass the AK's public key as lp-load attest --ak-pub prints it", Kind::key);
	}
	return ossl::Pkey(pk);
}

// "" when the signature verifies, else why not.
std::string check_signature(EVP_PKEY *key, const std::vector<uint8_t> &quote, const std::vector<uint8_t> &sig_bytes)
{
	TpmtSignature sig;
	try {
		sig = parse_tpmt_signature(sig_bytes);
	} catch (const Error &e) {
		return e.why();
	}
	if (sig.hash != kTpmAlgSha256)
		return "the quote is signed with " + tpm_alg_name(sig.hash) + ", not sha256";
	bool rsa_key = EVP_PKEY_get_base_id(key) == EVP_PKEY_RSA;
	if (rsa_key != (sig.sig_alg != kTpmAlgEcdsa))
		return "the quote is signed with " + tpm_alg_name(sig.sig_alg) + " but the attestation key is " +
			(rsa_key ? "RSA" : "EC");
	std::vector<uint8_t> der;
	const std::vector<uint8_t> *raw = &sig.rsa;
	if (sig.sig_alg == kTpmAlgEcdsa) {
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(sig.ecdsa_r.data(), static_cast<int>(sig.ecdsa_r.size()), nullptr);
		BIGNUM *s = BN_bin2bn(sig.ecdsa_s.data(), static_cast<int>(sig.ecdsa_s.size()), nullptr);
		if (!es || !r || !s || !ECDSA_SIG_set0(es, r, s)) {
			BN_free(r);
			BN_free(s);
			ECDSA_SIG_free(es);
			throw Error("cannot check the quote's signature", ossl::last_error(), "report a bug", Kind::internal);
		}
		int n = i2d_ECDSA_SIG(es, nullptr);
		der.resize(n > 0 ? static_cast<std::size_t>(n) : 0);
		unsigned char *p = der.data();
		if (n <= 0 || i2d_ECDSA_SIG(es, &p) != n) {
			ECDSA_SIG_free(es);
			throw Error("cannot check the quote's signature", ossl::last_error(), "report a bug", Kind::internal);
		}
		ECDSA_SIG_free(es);
		raw = &der;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = nullptr;
	bool ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, EVP_sha256(), nullptr, key) == 1;
	if (ok && sig.sig_alg == kTpmAlgRsapss)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
			EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_AUTO) == 1;
	else if (ok && sig.sig_alg == kTpmAlgRsassa)
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PADDING) == 1;
	int v = ok ? EVP_DigestVerify(ctx, raw->data(), raw->size(), quote.data(), quote.size()) : -1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	if (!ok)
		throw Error("cannot check the quote's signature", "OpenSSL failed", "report a bug", Kind::internal);
	return v == 1 ? "" : "the quote's " + tpm_alg_name(sig.sig_alg) + " signature does not verify with the attestation key: another TPM's key signed it, "
									  "or the quote was changed";
}

Sha256 pcr_digest(const TpmsAttest &a, const std::map<unsigned, Sha256> &values)
{
	Sha256 out{};
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	bool ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), nullptr);
	for (const auto &sel : a.pcr_select)
		for (unsigned pcr : sel.pcrs)
			ok = ok && EVP_DigestUpdate(ctx, values.at(pcr).data(), 32);
	ok = ok && EVP_DigestFinal_ex(ctx, out.data(), nullptr);
	EVP_MD_CTX_free(ctx);
	if (!ok)
		throw Error("cannot compute SHA-256", "OpenSSL failed", "report a bug", Kind::internal);
	return out;
}

// "" when the ima-buf digest matches its buffer.
std::string check_ima_buf(const ImaBuf &b)
{
	const EVP_MD *md = EVP_get_digestbyname(b.digest_algo.c_str());
	if (!md)
		return "unknown digest algorithm \"" + printable(b.digest_algo) + "\"";
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned n = 0;
	if (!EVP_Digest(b.buf.data(), b.buf.size(), d, &n, md, nullptr))
		throw Error("cannot hash an IMA buffer", ossl::last_error(), "report a bug", Kind::internal);
	if (n != b.digest.size() || !std::equal(d, d + n, b.digest.begin()))
		return "its buffer does not hash to its " + b.digest_algo + " digest";
	return "";
}

struct Fail {
	AttestCheck check;
	std::string reason;
};

void verify_steps(const AttestEvidence &ev, EVP_PKEY *key, std::span<const uint8_t> nonce, AttestReport &rep)
{
	// 1. signature
	if (auto why = check_signature(key, ev.quote, ev.signature); !why.empty())
		throw Fail{AttestCheck::signature, why};
	// 2. magic and type
	try {
		rep.attest = parse_tpms_attest(ev.quote);
	} catch (const Error &e) {
		throw Fail{AttestCheck::quote, "the signed TPMS_ATTEST is malformed: " + e.why()};
	}
	const TpmsAttest &a = rep.attest;
	if (a.magic != kTpmGeneratedValue)
		throw Fail{AttestCheck::quote, "TPMS_ATTEST magic is " + hex_u32(a.magic) + ", not TPM_GENERATED_VALUE: the TPM did not generate it"};
	if (a.type != kTpmStAttestQuote)
		throw Fail{AttestCheck::quote, "TPMS_ATTEST type is " + hex_u32(a.type) + ", not TPM_ST_ATTEST_QUOTE"};
	// 3. nonce
	if (!std::equal(a.extra_data.begin(), a.extra_data.end(), nonce.begin(), nonce.end()))
		throw Fail{AttestCheck::nonce, "the quote's nonce (extraData " + hex(a.extra_data) + ") is not the one sent: a replayed or earlier quote"};
	// 4. PCR selection
	std::set<unsigned> selected;
	for (const auto &sel : a.pcr_select) {
		if (sel.hash != kTpmAlgSha256)
			throw Fail{AttestCheck::pcr_selection,
				   "the quote selects the " + tpm_alg_name(sel.hash) + " bank; only sha256 is verified"};
		for (unsigned p : sel.pcrs)
			if (!selected.insert(p).second)
				throw Fail{AttestCheck::pcr_selection, "PCR " + std::to_string(p) + " is selected twice"};
	}
	if (!selected.count(kImaPcr))
		throw Fail{AttestCheck::pcr_selection, "the quote does not cover PCR 10 of the sha256 bank"};
	std::vector<ImaEntry> log;
	try {
		log = parse_ima_log(ev.ima_log);
	} catch (const Error &e) {
		throw Fail{AttestCheck::ima_log, e.why()};
	}
	std::set<unsigned> ima_pcrs{kImaPcr};
	for (const auto &e : log)
		ima_pcrs.insert(e.pcr);
	std::map<unsigned, Sha256> values;
	for (unsigned p : selected) {
		if (ima_pcrs.count(p)) {
			values[p] = Sha256{};
			continue;
		}
		auto it = ev.pcr_values.find(p);
		if (it == ev.pcr_values.end() || it->second.size() != 32)
			throw Fail{AttestCheck::pcr_selection,
				   "PCR " + std::to_string(p) + " is quoted but the evidence has no sha256 value for it"};
		std::copy(it->second.begin(), it->second.end(), values[p].begin());
	}
	// 5. PCR digest against the replayed log: the longest matching prefix.
	if (a.pcr_digest.size() != 32)
		throw Fail{AttestCheck::pcr_digest, "the quote's PCR digest is not a SHA-256 digest"};
	std::optional<std::size_t> covered;
	auto matches = [&] {
		auto d = pcr_digest(a, values);
		return std::equal(d.begin(), d.end(), a.pcr_digest.begin());
	};
	if (matches())
		covered = 0;
	for (std::size_t i = 0; i < log.size(); i++) {
		if (!selected.count(log[i].pcr))
			continue;
		pcr_extend(values[log[i].pcr], ima_extend_value(log[i]));
		if (matches())
			covered = i + 1;
	}
	if (!covered)
		throw Fail{AttestCheck::pcr_digest,
			   "the quote's PCR digest matches no prefix of the IMA log replayed (" +
				   std::to_string(log.size()) +
				   " entries): the log was changed, shortened, or is not this TPM's"};
	rep.covered_entries = *covered;
	rep.uncovered_entries = log.size() - *covered;
	log.resize(*covered);
	for (auto &[p, v] : replay_ima_log(log))
		if (selected.count(p))
			values[p] = v;
	rep.pcrs = values;
	// 6. each covered entry against its digest
	for (std::size_t i = 0; i < log.size(); i++) {
		const auto &e = log[i];
		const std::string at = "IMA entry " + std::to_string(i + 1) + " (" + printable(e.template_name) + ")";
		if (e.violation())
			continue;
		if (ima_template_hash(e) != e.template_digest)
			throw Fail{AttestCheck::ima_log, at + ": its data does not hash to its template digest"};
		if (e.template_name == "ima-buf") {
			std::string why;
			try {
				why = check_ima_buf(parse_ima_buf(e));
			} catch (const Error &err) {
				why = err.why();
			}
			if (!why.empty())
				throw Fail{AttestCheck::ima_log, at + ": " + why};
		}
	}
	// 7. lpguard's records
	for (std::size_t i = 0; i < log.size(); i++) {
		const auto &e = log[i];
		if (e.template_name != "ima-buf" || !selected.count(e.pcr))
			continue;
		auto b = parse_ima_buf(e);
		if (b.event_name.rfind("lpguard-", 0) != 0)
			continue;
		const std::string at = "IMA entry " + std::to_string(i + 1) + " (" + printable(b.event_name) + ")";
		LpguardRecord r;
		try {
			r = parse_lpguard_record(std::string(b.buf.begin(), b.buf.end()));
		} catch (const Error &err) {
			throw Fail{AttestCheck::records, at + ": " + err.why()};
		}
		if (b.event_name != "lpguard-" + r.event)
			throw Fail{AttestCheck::records, at + ": the record's event is " + r.event};
		uint64_t want = rep.records.size() + 1;
		if (r.seq != want)
			throw Fail{AttestCheck::records, at + ": record seq=" + std::to_string(r.seq) + " where seq=" + std::to_string(want) + " was due: a record is missing or repeated"};
		rep.records.push_back(r);
	}
	if (rep.records.empty())
		throw Fail{AttestCheck::records, "the quoted IMA log holds no lpguard record: lpguard does not measure "
						 "on this machine, or no livepatch changed since boot"};
	for (const auto &r : rep.records) {
		if (r.event == "generation-refused")
			rep.refused.push_back(r);
		else if (r.event == "disabled")
			rep.disabled.push_back(r);
	}
	const auto &last = rep.records.back();
	if (last.active) {
		AttestedPatch p;
		p.name = *last.active;
		for (auto it = rep.records.rbegin(); it != rep.records.rend(); ++it) {
			if (it->module == p.name && !it->sha256.empty() && it->event != "generation-refused") {
				p.sha256 = it->sha256;
				p.keyid = it->keyid;
				p.generation = it->generation;
				break;
			}
		}
		rep.active = p;
	}
}

} // namespace

const char *to_string(AttestCheck c)
{
	switch (c) {
	case AttestCheck::ok:
		return "ok";
	case AttestCheck::signature:
		return "signature";
	case AttestCheck::quote:
		return "quote";
	case AttestCheck::nonce:
		return "nonce";
	case AttestCheck::pcr_selection:
		return "pcr-selection";
	case AttestCheck::pcr_digest:
		return "pcr-digest";
	case AttestCheck::ima_log:
		return "ima-log";
	case AttestCheck::records:
		return "records";
	}
	return "?";
}

AttestEvidence evidence_from_json(const Json &j)
{
	if (!j.is_object())
		bad_evidence("the document", "not a JSON object");
	AttestEvidence ev;
	ev.quote = b64_member(j, "quote", "attest");
	ev.signature = b64_member(j, "quote", "signature");
	ev.ima_log = b64_member(j, nullptr, "ima_log");
	if (j.contains("ak") && j["ak"].is_object() && j["ak"].contains("public_pem") && j["ak"]["public_pem"].is_string())
		ev.ak_public_pem = j["ak"]["public_pem"].get<std::string>();
	const Json &q = j["quote"];
	if (q.contains("pcrs")) {
		const Json &pcrs = q["pcrs"];
		if (!pcrs.is_object() || (pcrs.contains("sha256") && !pcrs["sha256"].is_object()))
			bad_evidence("quote.pcrs", "not {\"sha256\": {\"<pcr>\": \"<hex>\"}}");
		if (pcrs.contains("sha256")) {
			for (const auto &[k, v] : pcrs["sha256"].items()) {
				unsigned p = 0;
				bool num = !k.empty() && k.size() <= 2 &&
					std::all_of(k.begin(), k.end(), [](char c) { return c >= '0' && c <= '9'; });
				if (num)
					p = static_cast<unsigned>(std::stoul(k));
				auto bytes = v.is_string() ? unhex(v.get<std::string>()) : std::nullopt;
				if (!num || p > 23 || !bytes || bytes->size() != 32)
					bad_evidence("quote.pcrs.sha256." + printable(k), "not a PCR 0..23 with 64 hex digits");
				ev.pcr_values[p] = *bytes;
			}
		}
	}
	return ev;
}

AttestVerdict verify_attestation(const AttestEvidence &evidence, std::span<const uint8_t> ak_public,
				 std::span<const uint8_t> nonce)
{
	auto key = load_public_key(ak_public);
	AttestVerdict v;
	try {
		verify_steps(evidence, key.get(), nonce, v.report);
	} catch (const Fail &f) {
		v.failed = f.check;
		v.reason = f.reason;
	}
	return v;
}

Json lpguard_record_json(const LpguardRecord &r)
{
	return Json{{"seq", r.seq},
		    {"event", r.event},
		    {"module", json_text(r.module)},
		    {"sha256", json_or_null(r.sha256)},
		    {"keyid", json_or_null(r.keyid)},
		    {"generation", r.generation},
		    {"active", r.active ? json_text(*r.active) : Json(nullptr)}};
}

Json attest_verdict_json(const AttestVerdict &v)
{
	const auto &r = v.report;
	Json j{{"verified", v.ok()},
	       {"failed", v.ok() ? Json(nullptr) : Json(to_string(v.failed))},
	       {"reason", json_or_null(v.reason)}};
	if (!v.ok())
		return j;
	Json active = nullptr;
	if (r.active)
		active = Json{{"name", json_text(r.active->name)},
			      {"sha256", json_or_null(r.active->sha256)},
			      {"keyid", json_or_null(r.active->keyid)},
			      {"generation", r.active->generation}};
	auto list = [](const std::vector<LpguardRecord> &rs) {
		Json a = Json::array();
		for (const auto &x : rs)
			a.push_back(lpguard_record_json(x));
		return a;
	};
	Json pcrs = Json::object();
	for (const auto &[p, d] : r.pcrs)
		pcrs[std::to_string(p)] = hex(d);
	j["active"] = active;
	j["history"] = list(r.records);
	j["refused"] = list(r.refused);
	j["disabled"] = list(r.disabled);
	j["pcrs"] = Json{{"sha256", pcrs}};
	j["ima_entries"] = Json{{"covered", r.covered_entries}, {"uncovered", r.uncovered_entries}};
	j["clock"] = Json{{"clock_ms", r.attest.clock},
			  {"reset_count", r.attest.reset_count},
			  {"restart_count", r.attest.restart_count},
			  {"safe", r.attest.safe}};
	return j;
}

} // namespace lpguard
