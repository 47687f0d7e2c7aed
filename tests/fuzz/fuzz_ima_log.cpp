// SPDX-License-Identifier: GPL-2.0
// libFuzzer: IMA's binary measurement list, template hashes, ima-buf and
// the replay.
#include <cstdint>

#include "lpguard/core/error.hpp"
#include "lpguard/core/ima_log.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	try {
		auto log = lpguard::parse_ima_log({data, size});
		for (const auto &e : log) {
			if (e.pcr > 23 || e.template_name.empty())
				__builtin_trap();
			(void)lpguard::ima_template_hash(e);
			try {
				auto b = lpguard::parse_ima_buf(e);
				if (b.digest_algo.empty())
					__builtin_trap();
			} catch (const lpguard::Error &) {
			}
		}
		(void)lpguard::replay_ima_log(log);
	} catch (const lpguard::Error &) {
	}
	return 0;
}
