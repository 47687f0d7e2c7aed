// SPDX-License-Identifier: GPL-2.0
// libFuzzer: TPMS_ATTEST, TPM2B_ATTEST and TPMT_SIGNATURE parsing.
#include <cstdint>

#include "lpguard/core/error.hpp"
#include "lpguard/core/tpm_quote.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::span<const uint8_t> in(data, size);
	try {
		auto a = lpguard::parse_tpms_attest(in);
		if (a.extra_data.size() > 66 || a.pcr_digest.size() > 64 || a.pcr_select.size() > 16)
			__builtin_trap();
		for (const auto &s : a.pcr_select)
			for (unsigned p : s.pcrs)
				if (p >= 32)
					__builtin_trap();
	} catch (const lpguard::Error &) {
	}
	try {
		if (lpguard::tpm2b_attest_body(in).size() + 2 != size)
			__builtin_trap();
	} catch (const lpguard::Error &) {
	}
	try {
		auto s = lpguard::parse_tpmt_signature(in);
		if (s.rsa.empty() && (s.ecdsa_r.empty() || s.ecdsa_s.empty()))
			__builtin_trap();
	} catch (const lpguard::Error &) {
	}
	return 0;
}
