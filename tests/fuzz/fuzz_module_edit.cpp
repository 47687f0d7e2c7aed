// SPDX-License-Identifier: GPL-2.0
// libFuzzer: setting lpguard.generation= (cvm-cli sign --generation). Any
// image the parser accepts can be edited; the result parses with that
// generation, one .modinfo, and every other section as it was (but for a
// section that covers .modinfo's section header, which the edit changes).
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <vector>

#include "lpguard/core/module_edit.hpp"
#include "lpguard/core/module_image.hpp"
#include "lpguard/core/module_parse.hpp"

namespace {

bool accepted(std::span<const uint8_t> module)
{
	try {
		lpguard::parse_module_view(lpguard::strip_signatures(module));
		return true;
	} catch (const lpguard::Error &) {
		return false;
	}
}

// The contents of a section, empty for those without any (section 0, as
// for the parser, SHT_NULL and SHT_NOBITS).
std::span<const uint8_t> contents(std::span<const uint8_t> elf, const std::vector<lpguard::ElfSection> &sections,
				  std::size_t i)
{
	const auto &s = sections[i];
	return i == 0 || s.type == 0 || s.type == 8 ? std::span<const uint8_t>() : elf.subspan(s.offset, s.size);
}

// Whether s's contents hold the sh_offset and sh_size fields of `header`.
bool covers_fields(const lpguard::ElfSection &s, const lpguard::ElfSection &header)
{
	uint64_t fields = header.header_offset + 24;
	return s.type != 0 && s.type != 8 && s.offset < fields + 16 && fields < s.offset + s.size;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	std::span<const uint8_t> in(data, size);
	// The generation from the input (FNV-1a), so that seeds are plain images.
	uint32_t generation = 2166136261u;
	for (uint8_t b : in)
		generation = (generation ^ b) * 16777619u;
	std::vector<uint8_t> out;
	try {
		out = lpguard::with_generation(in, generation);
	} catch (const lpguard::Error &) {
		if (accepted(in))
			__builtin_trap(); // a module the parser accepts could not be edited
		return 0;
	}
	auto m = lpguard::parse_module_view(out);
	if (m.generation != generation || m.signature)
		__builtin_trap();
	auto payload = lpguard::strip_signatures(in);
	auto before = lpguard::parse_elf_sections(payload), after = lpguard::parse_elf_sections(out);
	if (before.size() != after.size())
		__builtin_trap();
	auto modinfo = std::find_if(before.begin(), before.end(), [](const auto &s) { return s.name == ".modinfo"; });
	for (std::size_t i = 0; i < before.size(); i++) {
		if (before[i].name != after[i].name || before[i].type != after[i].type)
			__builtin_trap();
		if (before[i].name == ".modinfo" || covers_fields(before[i], *modinfo))
			continue;
		auto a = contents(payload, before, i), b = contents(out, after, i);
		if (before[i].offset != after[i].offset || a.size() != b.size() ||
		    (!a.empty() && std::memcmp(a.data(), b.data(), a.size()) != 0))
			__builtin_trap();
	}
	return 0;
}
