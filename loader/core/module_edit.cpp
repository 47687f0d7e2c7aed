// SPDX-License-Identifier: GPL-2.0
// Setting lpguard.generation= in a module's .modinfo. Kernel modules are
// ELF relocatable objects: nothing in them refers to a section's file
// offset but its section header, so a section can move to the end of the
// file without touching anything else. lpguard refuses a second .modinfo,
// so the existing one grows there.

#include <algorithm>
#include <string>

#include "lpguard/core/error.hpp"
#include "lpguard/core/module_edit.hpp"
#include "lpguard/core/module_image.hpp"
#include "lpguard/core/module_parse.hpp"

namespace lpguard {

namespace {

constexpr uint32_t kShtNull = 0;
constexpr uint32_t kShtNobits = 8;
constexpr uint64_t kShdrSize = 64;
constexpr uint64_t kEhdrSize = 64;
constexpr uint64_t kMinAlign = 8;
constexpr uint64_t kMaxAlign = 4096;

const std::string kRebuild = "rebuild the module with the kernel's build system (make M=...)";

[[noreturn]] void cannot(const std::string &why, const std::string &todo = kRebuild)
{
	throw Error("cannot set the generation of module", why, todo, Kind::input);
}

void put64(std::vector<uint8_t> &b, std::size_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[off + std::size_t(i)] = uint8_t(v >> (8 * i));
}

bool overlap(uint64_t a_off, uint64_t a_len, uint64_t b_off, uint64_t b_len)
{
	return a_off < b_off + b_len && b_off < a_off + a_len;
}

// The .modinfo section; refused when there is none, or two.
const ElfSection &find_modinfo(const std::vector<ElfSection> &sections)
{
	const ElfSection *found = nullptr;
	for (const auto &s : sections) {
		if (s.name != ".modinfo")
			continue;
		if (found)
			cannot("it has two .modinfo sections, which lpguard refuses");
		found = &s;
	}
	if (!found)
		cannot("it has no .modinfo section, so it is not a kernel module",
		       "pass the .ko built by kpatch-build or the kernel's build system");
	if (found->type == kShtNobits)
		cannot(".modinfo has no contents (SHT_NOBITS)");
	return *found;
}

// .modinfo's entries without any lpguard.generation= entry, byte for byte
// (NUL padding included), then lpguard.generation=N.
std::vector<uint8_t> modinfo_with_generation(std::span<const uint8_t> old, uint32_t generation)
{
	if (!old.empty() && old.back() != 0)
		cannot(".modinfo does not end with a NUL byte");
	const std::string prefix = std::string(kGenerationTag) + "=";
	std::vector<uint8_t> out;
	out.reserve(old.size() + prefix.size() + 11);
	for (auto p = old.begin(); p != old.end();) {
		auto end = std::find(p, old.end(), uint8_t(0)) + 1; // includes the NUL
		std::string_view entry(reinterpret_cast<const char *>(&*p), std::size_t(end - p - 1));
		if (entry.substr(0, prefix.size()) != prefix)
			out.insert(out.end(), p, end);
		p = end;
	}
	std::string tag = prefix + std::to_string(generation);
	out.insert(out.end(), tag.begin(), tag.end());
	out.push_back(0);
	return out;
}

// Whether bytes [off, off + len) belong to anything but the given section:
// the ELF header, the section header table or another section's contents.
bool shared(const std::vector<ElfSection> &sections, const ElfSection &own)
{
	uint64_t off = own.offset, len = own.size;
	if (overlap(off, len, 0, kEhdrSize) ||
	    overlap(off, len, sections.front().header_offset, sections.size() * kShdrSize))
		return true;
	return std::any_of(sections.begin() + 1, sections.end(), [&](const ElfSection &s) {
		return &s != &own && s.type != kShtNull && s.type != kShtNobits && overlap(off, len, s.offset, s.size);
	});
}

} // namespace

std::vector<uint8_t> with_generation(std::span<const uint8_t> module, uint32_t generation)
{
	auto elf = strip_signatures(module);
	auto sections = parse_elf_sections(elf);
	const ElfSection &modinfo = find_modinfo(sections);
	if (modinfo.offset > elf.size() || modinfo.size > elf.size() - modinfo.offset)
		cannot(".modinfo lies outside the file");
	auto info = modinfo_with_generation(elf.subspan(modinfo.offset, modinfo.size), generation);

	std::vector<uint8_t> out(elf.begin(), elf.end());
	if (!shared(sections, modinfo)) {
		// Set again: the contents this wrote last time end the file.
		if (modinfo.offset + modinfo.size == out.size())
			out.resize(modinfo.offset);
		else
			std::fill_n(out.begin() + std::ptrdiff_t(modinfo.offset), modinfo.size, uint8_t(0));
	}
	bool power_of_two = modinfo.align != 0 && (modinfo.align & (modinfo.align - 1)) == 0;
	uint64_t align = power_of_two ? std::clamp(modinfo.align, kMinAlign, kMaxAlign) : kMinAlign;
	out.resize((out.size() + align - 1) / align * align, 0);
	put64(out, modinfo.header_offset + 24, out.size());  // sh_offset
	put64(out, modinfo.header_offset + 32, info.size()); // sh_size
	out.insert(out.end(), info.begin(), info.end());

	// What lpguard and the kernel will read: the whole image must parse,
	// with this generation.
	if (parse_module_view(out).generation != generation)
		throw Error("cannot set the generation of module", "the edited .modinfo does not read back",
			    "report this as a bug", Kind::internal);
	return out;
}

} // namespace lpguard
