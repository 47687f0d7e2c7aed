// SPDX-License-Identifier: GPL-2.0
// libFuzzer: the ELF64 section table parser.
#include <cstdint>

#include "lpguard/core/module_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try {
		auto secs = lpguard::parse_elf_sections({data, size});
		// Section 0 and SHT_NULL and SHT_NOBITS sections have no contents.
		for (std::size_t i = 1; i < secs.size(); i++) {
			const auto &s = secs[i];
			if (s.type != 0 && s.type != 8 && (s.offset > size || s.size > size - s.offset))
				__builtin_trap();
		}
	} catch (const lpguard::Error &) {
	}
	return 0;
}
