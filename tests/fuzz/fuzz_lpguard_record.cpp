// SPDX-License-Identifier: GPL-2.0
// libFuzzer: lpguard's measurement records (version 1).
#include <cstdint>
#include <string_view>

#include "lpguard/core/error.hpp"
#include "lpguard/core/lpguard_record.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try {
		auto r = lpguard::parse_lpguard_record({reinterpret_cast<const char *>(data), size});
		if (r.seq == 0 || r.module.empty() || r.module.size() > 55 || !lpguard::lpguard_event_known(r.event) ||
		    (!r.sha256.empty() && r.sha256.size() != 64))
			__builtin_trap();
	} catch (const lpguard::Error &) {
	}
	return 0;
}
