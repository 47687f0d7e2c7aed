// SPDX-License-Identifier: GPL-2.0
// libFuzzer: the ELF64 section table parser.
#include <cstdint>

#include "lpguard/core/module_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try {
		auto secs = lpguard::parse_elf_sections({data, size});
		for (const auto &s : secs)
			if (s.type != 8 && !s.name.empty() && (s.offset > size || s.size > size - s.offset))
				__builtin_trap();
	} catch (const lpguard::Error &) {
	}
	return 0;
}
