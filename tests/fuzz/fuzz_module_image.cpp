// SPDX-License-Identifier: GPL-2.0
// libFuzzer: the whole module image parser (ELF, .modinfo, name, trailer, PKCS#7).
#include <cstdint>
#include <vector>

#include "lpguard/core/module_image.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try {
		auto m = lpguard::ModuleImage::from_bytes(std::vector<uint8_t>(data, data + size));
		if (m.payload_size > m.bytes.size() || m.name.empty())
			__builtin_trap();
	} catch (const lpguard::Error &) {
	}
	return 0;
}
