// SPDX-License-Identifier: GPL-2.0
// libFuzzer: kmod/parse.c's PKCS#7 SignerInfo walk on arbitrary blobs; every
// identifier it returns lies inside the blob.
#include "kparse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lpguard_signer s[LPGUARD_MAX_SIGNERS];
	const char *why = nullptr;
	bool certs;
	int n = lpguard_parse_signers(data, size, s, LPGUARD_MAX_SIGNERS, &certs, &why);
	if (n < 0)
		return 0;
	if (!n || n > LPGUARD_MAX_SIGNERS)
		__builtin_trap();
	auto inside = [&](const uint8_t *p, std::size_t l) {
		return p >= data && l <= size && std::size_t(p - data) <= size - l;
	};
	for (int i = 0; i < n; i++) {
		if (s[i].by_skid ? !s[i].skid_len || !inside(s[i].skid, s[i].skid_len)
				 : !s[i].serial_len || !inside(s[i].issuer, s[i].issuer_len) ||
				    !inside(s[i].serial, s[i].serial_len))
			__builtin_trap();
	}
	return 0;
}
