// SPDX-License-Identifier: GPL-2.0
// libFuzzer: kmod/parse.c's signature trailer split; the signature and the
// payload it returns tile the input up to the 40-byte trailer
// (struct module_signature and the marker).
#include "kparse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lpguard_image img;
	const char *why = nullptr;
	if (lpguard_parse_trailer(data, size, &img, &why))
		return 0;
	if (!img.sig) {
		if (img.payload_len != size || img.sig_len)
			__builtin_trap();
		return 0;
	}
	if (!img.payload_len || !img.sig_len || img.sig != data + img.payload_len ||
	    img.payload_len + img.sig_len + 40 != size)
		__builtin_trap();
	return 0;
}
