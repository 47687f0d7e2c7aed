// SPDX-License-Identifier: GPL-2.0
// libFuzzer: kmod/parse.c's .modinfo scan (livepatch= and name= tags) on
// arbitrary section contents, checked against a plain re-scan: any
// livepatch= entry makes a livepatch, the first name= names the module, and
// lpguard.generation= appears at most once, as a canonical decimal u32.
#include "kparse.hpp"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	// A copy the exact size of the input, so ASan sees any read past it
	// (never a null pointer: parse.c always gets one into the image).
	std::vector<char> info(data, data + size);
	info.reserve(1);
	lpguard_image img{};
	const char *why = nullptr;
	int ret = lpguard_parse_modinfo(info.data(), size, &img, &why);

	bool lp = false, have_name = false, have_gen = false, bad = size && info[size - 1];
	std::string name;
	uint64_t gen = 0;
	for (std::size_t i = 0; !bad && i < size;) {
		std::size_t l = strnlen(info.data() + i, size - i);
		std::string e(info.data() + i, l);
		if (e.rfind("livepatch=", 0) == 0)
			lp = true;
		else if (!have_name && e.rfind("name=", 0) == 0) {
			name = e.substr(5);
			have_name = true;
			bad = name.size() >= LPGUARD_NAME_LEN;
		} else if (e.rfind("lpguard.generation=", 0) == 0) {
			std::string v = e.substr(19);
			bool digits = !v.empty() && v.size() <= 10 && !(v[0] == '0' && v.size() > 1) &&
				v.find_first_not_of("0123456789") == std::string::npos;
			bad = have_gen || !digits || std::stoull(v) > UINT32_MAX;
			if (!bad)
				gen = std::stoull(v);
			have_gen = true;
		}
		i += l + 1;
	}
	if (bad != (ret != 0) || (!bad && (img.livepatch != lp || name != img.name || img.generation != gen)))
		__builtin_trap();
	return 0;
}
