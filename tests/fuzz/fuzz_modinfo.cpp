// SPDX-License-Identifier: GPL-2.0
// libFuzzer: .modinfo, .comment and struct module name parsing.
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
	// .comment never throws: each compiler entry once, none empty or holding a NUL.
	auto compilers = lpguard::parse_comment_compilers({data, size});
	for (std::size_t i = 0; i < compilers.size(); i++) {
		if (compilers[i].empty() || compilers[i].find('\0') != std::string::npos)
			__builtin_trap();
		for (std::size_t j = 0; j < i; j++)
			if (compilers[i] == compilers[j])
				__builtin_trap();
	}
	try {
		auto name = lpguard::parse_this_module_name({data, size});
		if (name.empty() || name.size() > 55)
			__builtin_trap();
	} catch (const lpguard::Error &) {
	}
	return 0;
}
