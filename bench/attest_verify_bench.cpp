// SPDX-License-Identifier: GPL-2.0
// The host side of attestation: lpguard::verify_attestation() on a list of
// N lpguard records (default 1000) with an RSA-2048 quote over its PCR 10.
// No TPM: the TPMS_ATTEST is built here and signed with a throwaway key the
// way a TPM signs (RSASSA-PKCS1-v1_5, SHA-256), which is all the verifier
// sees. Prints the median of 21 runs.
//
//   attest-verify-bench [RECORDS]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "lpguard/core/attest_verify.hpp"
#include "lpguard/core/ossl.hpp"

using namespace lpguard;

namespace {

void le32(std::vector<uint8_t> &b, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b.push_back(uint8_t(v >> (8 * i)));
}
void be(std::vector<uint8_t> &b, uint64_t v, int n)
{
	for (int i = n - 1; i >= 0; i--)
		b.push_back(uint8_t(v >> (8 * i)));
}
Sha256 sha256(const std::vector<uint8_t> &d)
{
	Sha256 h;
	EVP_Digest(d.data(), d.size(), h.data(), nullptr, EVP_sha256(), nullptr);
	return h;
}
void field(std::vector<uint8_t> &b, const std::vector<uint8_t> &f)
{
	le32(b, uint32_t(f.size()));
	b.insert(b.end(), f.begin(), f.end());
}

} // namespace

int main(int argc, char **argv)
{
	const int records = argc > 1 ? std::atoi(argv[1]) : 1000;
	std::vector<uint8_t> log;
	Sha256 pcr{};
	for (int i = 1; i <= records; i++) {
		std::string event = i % 2 ? "load" : "enable";
		std::string text = "lpguard/1 seq=" + std::to_string(i) + " event=" + event + " module=\"lpg_" +
			std::to_string(i) + "\" sha256=" + std::string(64, 'a') + " keyid=3c9d generation=" +
			std::to_string(i) + " active=-";
		std::vector<uint8_t> buf(text.begin(), text.end());
		auto bh = sha256(buf);
		std::vector<uint8_t> d = {'s', 'h', 'a', '2', '5', '6', ':', 0};
		d.insert(d.end(), bh.begin(), bh.end());
		std::string name = "lpguard-" + event;
		std::vector<uint8_t> n(name.begin(), name.end());
		n.push_back(0);
		std::vector<uint8_t> data;
		field(data, d);
		field(data, n);
		field(data, buf);
		auto digest = sha256(data);
		le32(log, 10);
		log.insert(log.end(), digest.begin(), digest.end());
		le32(log, 7);
		log.insert(log.end(), {'i', 'm', 'a', '-', 'b', 'u', 'f'});
		le32(log, uint32_t(data.size()));
		log.insert(log.end(), data.begin(), data.end());
		pcr_extend(pcr, digest);
	}
	std::vector<uint8_t> nonce(32, 0x5a);
	std::vector<uint8_t> attest;
	be(attest, kTpmGeneratedValue, 4);
	be(attest, kTpmStAttestQuote, 2);
	be(attest, 0, 2); // qualifiedSigner
	be(attest, nonce.size(), 2);
	attest.insert(attest.end(), nonce.begin(), nonce.end());
	be(attest, 1000, 8); // clockInfo
	be(attest, 0, 4);
	be(attest, 0, 4);
	attest.push_back(1);
	be(attest, 0, 8); // firmwareVersion
	be(attest, 1, 4); // one bank: sha256, PCR 10
	be(attest, kTpmAlgSha256, 2);
	attest.insert(attest.end(), {3, 0x00, 0x04, 0x00});
	auto pd = sha256(std::vector<uint8_t>(pcr.begin(), pcr.end()));
	be(attest, 32, 2);
	attest.insert(attest.end(), pd.begin(), pd.end());

	ossl::Pkey key(EVP_RSA_gen(2048));
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	std::size_t siglen = 256;
	std::vector<uint8_t> sig(siglen);
	if (!key || EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
	    EVP_DigestSign(ctx, sig.data(), &siglen, attest.data(), attest.size()) != 1) {
		std::fprintf(stderr, "attest-verify-bench: cannot sign: %s\n", ossl::last_error().c_str());
		return 1;
	}
	EVP_MD_CTX_free(ctx);
	std::vector<uint8_t> tpmt;
	be(tpmt, kTpmAlgRsassa, 2);
	be(tpmt, kTpmAlgSha256, 2);
	be(tpmt, siglen, 2);
	tpmt.insert(tpmt.end(), sig.begin(), sig.begin() + std::ptrdiff_t(siglen));
	ossl::Bio bio(BIO_new(BIO_s_mem()));
	PEM_write_bio_PUBKEY(bio.get(), key.get());
	char *pem = nullptr;
	long pem_len = BIO_get_mem_data(bio.get(), &pem);
	std::vector<uint8_t> ak(pem, pem + pem_len);

	AttestEvidence ev{attest, tpmt, "", log, {}};
	std::vector<double> ms;
	for (int run = 0; run < 21; run++) {
		auto t0 = std::chrono::steady_clock::now();
		auto v = verify_attestation(ev, ak, nonce);
		auto t1 = std::chrono::steady_clock::now();
		if (!v.ok() || v.report.records.size() != std::size_t(records)) {
			std::fprintf(stderr, "attest-verify-bench: not verified: %s\n", v.reason.c_str());
			return 1;
		}
		ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
	}
	std::sort(ms.begin(), ms.end());
	std::printf("verify_attestation: %d records, %zu-byte IMA list: median %.2f ms (min %.2f, max %.2f, 21 runs)\n",
		    records, log.size(), ms[ms.size() / 2], ms.front(), ms.back());
	return 0;
}
