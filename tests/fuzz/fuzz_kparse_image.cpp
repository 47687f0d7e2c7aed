// SPDX-License-Identifier: GPL-2.0
// libFuzzer: kmod/parse.c's whole-image parse (trailer, ELF sections,
// .modinfo, symbol table) on arbitrary bytes; every pointer it returns
// lies inside the input.
#include "kparse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	lpguard_image img;
	const char *why = nullptr;
	if (lpguard_parse_image(data, size, &img, &why)) {
		if (!why)
			__builtin_trap();
		return 0;
	}
	if (img.payload_len > size || strnlen(img.name, sizeof(img.name)) == sizeof(img.name))
		__builtin_trap();
	if (img.sig && (img.sig != data + img.payload_len || img.payload_len + img.sig_len > size))
		__builtin_trap();
	if (img.strtab && (img.strtab < data || img.strtab_len > size || std::size_t(img.strtab - data) > img.payload_len - img.strtab_len))
		__builtin_trap();
	return 0;
}
