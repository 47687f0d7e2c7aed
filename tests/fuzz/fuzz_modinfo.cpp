// SPDX-License-Identifier: GPL-2.0
// libFuzzer: .modinfo and struct module name parsing.
#include <cstdint>

#include "lpguard/core/module_parse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try {
		for (const auto &[k, v] : lpguard::parse_modinfo({data, size}))
			if (k.empty())
				__builtin_trap();
	} catch (const lpguard::Error &) {
	}
	try {
		auto name = lpguard::parse_this_module_name({data, size});
		if (name.empty() || name.size() > 55)
			__builtin_trap();
	} catch (const lpguard::Error &) {
	}
	return 0;
}
