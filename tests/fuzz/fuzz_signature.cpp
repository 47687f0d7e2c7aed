// SPDX-License-Identifier: GPL-2.0
// libFuzzer: the signature trailer and the PKCS#7 signer parser.
#include <cstdint>

#include "lpguard/core/module_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::span<const uint8_t> in(data, size);
	try {
		if (auto t = lpguard::parse_signature_trailer(in)) {
			if (t->payload_size + t->sig_len + 40 != size)
				__builtin_trap();
			(void)lpguard::strip_signatures(in);
		}
	} catch (const lpguard::Error &) {
	}
	try {
		(void)lpguard::parse_pkcs7_signer(in);
	} catch (const lpguard::Error &) {
	}
	return 0;
}
