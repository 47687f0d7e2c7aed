// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/attest.hpp"

#include <algorithm>

#include "lpguard/core/attest_verify.hpp"
#include "lpguard/core/error.hpp"
#include "lpguard/core/ima_log.hpp"
#include "lpguard/core/io.hpp"
#include "lpguard/core/text.hpp"

namespace fs = std::filesystem;

namespace lpguard {

fs::path ima_log_path(const LivepatchSysfs &sys)
{
	return sys.root() / "sys/kernel/security/ima/binary_runtime_measurements_sha256";
}

std::vector<LpguardRecord> lpguard_records_in(std::span<const uint8_t> ima_log)
{
	std::vector<LpguardRecord> out;
	for (const auto &e : parse_ima_log(ima_log)) {
		if (e.template_name != "ima-buf")
			continue;
		try {
			auto b = parse_ima_buf(e);
			if (b.event_name.rfind("lpguard-", 0) == 0)
				out.push_back(parse_lpguard_record(std::string(b.buf.begin(), b.buf.end())));
		} catch (const Error &) {
		}
	}
	return out;
}

Json attest_evidence(const LivepatchSysfs &sys, const AttestRequest &req)
{
	// The TPM first: without one IMA has no sha256 bank either, and "no TPM" is the cause.
	AkInfo ak = read_ak(req.tpm);
	fs::path log_path = req.ima_log.empty() ? ima_log_path(sys) : req.ima_log;
	std::error_code ec;
	if (!fs::exists(log_path, ec))
		throw Error("no IMA measurement list", log_path.string() + " does not exist",
			    "boot a kernel with IMA and ima_policy=critical_data (kconfig/lpguard.config)", Kind::no_ima);
	(void)read_text(sys.securityfs_dir() / "status"); // waits for lpguard's queue to be measured
	auto pcrs = req.pcrs;
	if (std::find(pcrs.begin(), pcrs.end(), 10u) == pcrs.end())
		pcrs.push_back(10);
	std::sort(pcrs.begin(), pcrs.end());
	pcrs.erase(std::unique(pcrs.begin(), pcrs.end()), pcrs.end());
	TpmQuote q = tpm_quote(req.tpm, req.nonce, pcrs);
	auto log = read_file(log_path, "IMA measurement list", Kind::no_ima);
	auto records = lpguard_records_in(log);
	if (records.empty())
		throw Error("no lpguard records", "IMA's measurement list holds no lpguard-* entry",
			    "apply a livepatch first; check that lpguard measures (measured: in lp-load status)",
			    Kind::no_records);
	Json pcr_values = Json::object();
	for (const auto &[p, v] : q.pcrs)
		pcr_values[std::to_string(p)] = hex(v);
	Json recs = Json::array();
	for (const auto &r : records)
		recs.push_back(lpguard_record_json(r));
	return Json{{"version", 1},
		    {"nonce", hex(req.nonce)},
		    {"quote",
		     {{"attest", base64(q.attest)}, {"signature", base64(q.signature)}, {"pcrs", {{"sha256", pcr_values}}}}},
		    {"ak", {{"handle", tpm_handle_hex(ak.handle)}, {"public_pem", ak.public_pem}}},
		    {"ima_log", base64(log)},
		    {"ima_log_path", log_path.string()},
		    {"records", recs}};
}

} // namespace lpguard
