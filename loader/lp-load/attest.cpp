// SPDX-License-Identifier: GPL-2.0
// lp-load attest: the TPM quote, AK, IMA list and lpguard's records for a
// verifier (cvm-cli attest); --create-ak and --ak-pub manage the AK.
#include <cstdlib>
#include <iostream>

#include "lp-load.hpp"
#include "lpguard/core/text.hpp"
#include "lpguard/guest/attest.hpp"

namespace lpload_tool {

void setup_attest(CLI::App *sub, Context &ctx)
{
	static std::string nonce_hex, tcti = lpguard::kDefaultTcti, ima_log;
	static std::vector<unsigned> pcrs;
	static uint32_t handle = lpguard::kAkHandle;
	static bool json = false, create_ak = false, ak_pub = false;
	auto *nonce = sub->add_option("--nonce", nonce_hex, "The verifier's nonce: 2..128 hex digits");
	auto *create = sub->add_flag("--create-ak", create_ak,
				     "Create the attestation key and persist it at --ak-handle (once per VM)");
	auto *pub = sub->add_flag("--ak-pub", ak_pub, "Print the attestation key's public key (PEM)");
	nonce->excludes(create)->excludes(pub);
	create->excludes(pub);
	sub->add_option("--pcrs", pcrs, "More sha256 PCRs to quote besides 10 (comma-separated)")
		->delimiter(',')
		->check(CLI::Range(0, 23));
	sub->add_option("--tcti", tcti, "The TPM, as a tpm2-tss TCTI string")->capture_default_str();
	sub->add_option("--ak-handle", handle, "Persistent handle of the attestation key (default 0x81010010)")
		->type_name("HANDLE")
		->check(CLI::Validator(
			[](std::string &s) {
				char *end = nullptr;
				unsigned long v = std::strtoul(s.c_str(), &end, 0);
				bool ok = !s.empty() && *end == '\0' && v >= 0x81000000ul && v <= 0x81fffffful;
				return ok ? std::string() : "not a persistent handle 0x81000000..0x81ffffff";
			},
			"0x81000000..0x81ffffff"));
	sub->add_option("--ima-log", ima_log,
			"IMA's list (default /sys/kernel/security/ima/binary_runtime_measurements_sha256)");
	add_json_flag(sub, json);
	sub->callback([&ctx] {
		ctx.recover_if_left(json);
		lpguard::TpmOptions opt{tcti, handle};
		if (create_ak || ak_pub) {
			auto ak = create_ak ? lpguard::create_ak(opt) : lpguard::read_ak(opt);
			const auto h = lpguard::tpm_handle_hex(ak.handle);
			if (json)
				print_report({{"handle", h}, {"created", ak.created}, {"public_pem", ak.public_pem}},
					     lpguard::Kind::ok);
			else if (create_ak)
				std::cout << (ak.created ? "created" : "kept") << " attestation key " << h << "\n"
					  << ak.public_pem;
			else
				std::cout << ak.public_pem;
			ctx.outcome = lpguard::Kind::ok;
			return;
		}
		auto nonce = lpguard::unhex(nonce_hex);
		if (nonce_hex.empty() || !nonce || nonce->size() > 64)
			throw lpguard::Error("invalid nonce", nonce_hex.empty() ? "--nonce is missing" : "not 1..64 bytes of hex",
					     "pass --nonce with 2..128 hex digits", lpguard::Kind::usage);
		lpguard::AttestRequest req;
		req.tpm = opt;
		req.nonce = *nonce;
		req.pcrs.insert(req.pcrs.end(), pcrs.begin(), pcrs.end());
		req.ima_log = ima_log;
		auto ev = lpguard::attest_evidence(ctx.sys, req);
		ctx.outcome = lpguard::Kind::ok;
		if (json) {
			print_report(std::move(ev), lpguard::Kind::ok);
			return;
		}
		std::cout << "quote: sha256:10 by " << ev["ak"]["handle"].get<std::string>() << " with nonce "
			  << ev["nonce"].get<std::string>() << "\n";
		for (const auto &r : ev["records"])
			std::cout << "record " << r["seq"] << ": " << r["event"].get<std::string>() << " "
				  << lpguard::printable(r["module"].get<std::string>()) << "\n";
		std::cout << "evidence: run with --json for the quote, key and IMA list\n";
	});
}

} // namespace lpload_tool
