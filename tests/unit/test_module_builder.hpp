// SPDX-License-Identifier: GPL-2.0
// Builds small ELF64 relocatable objects shaped like kernel modules, and
// offers the offsets needed to corrupt them in precise ways.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

namespace lpguard::test {

struct Section {
	std::string name;
	uint32_t type = 1; // SHT_PROGBITS
	std::vector<uint8_t> data;
};

inline std::vector<uint8_t> modinfo_bytes(const std::vector<std::string> &entries)
{
	std::vector<uint8_t> d;
	for (const auto &e : entries) {
		d.insert(d.end(), e.begin(), e.end());
		d.push_back(0);
	}
	return d;
}

inline std::vector<uint8_t> this_module_bytes(const std::string &name, std::size_t size = 0x400)
{
	std::vector<uint8_t> d(size, 0);
	std::memcpy(d.data() + 24, name.data(), std::min<std::size_t>(name.size(), size - 24));
	return d;
}

struct BuiltElf {
	std::vector<uint8_t> bytes;
	std::size_t shoff = 0;		   // section header table
	std::vector<std::size_t> data_off; // per section (index 1..n), 0 for the null section
	std::size_t shdr(std::size_t i) const { return shoff + i * 64; }
};

inline void put16(std::vector<uint8_t> &b, std::size_t off, uint16_t v)
{
	b[off] = uint8_t(v);
	b[off + 1] = uint8_t(v >> 8);
}
inline void put32(std::vector<uint8_t> &b, std::size_t off, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		b[off + i] = uint8_t(v >> (8 * i));
}
inline void put64(std::vector<uint8_t> &b, std::size_t off, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		b[off + i] = uint8_t(v >> (8 * i));
}

// Layout: ELF header, section contents, .shstrtab, section headers.
inline BuiltElf build_elf(const std::vector<Section> &sections)
{
	BuiltElf out;
	auto &b = out.bytes;
	b.assign(64, 0);
	std::memcpy(b.data(), "\x7f"
			      "ELF",
		    4);
	b[4] = 2;	  // ELFCLASS64
	b[5] = 1;	  // little endian
	b[6] = 1;	  // EV_CURRENT
	put16(b, 16, 1);  // ET_REL
	put16(b, 18, 62); // EM_X86_64
	put32(b, 20, 1);
	put16(b, 52, 64);
	put16(b, 58, 64);

	std::vector<uint8_t> shstr{0};
	std::vector<uint32_t> name_off;
	for (const auto &s : sections) {
		name_off.push_back(uint32_t(shstr.size()));
		shstr.insert(shstr.end(), s.name.begin(), s.name.end());
		shstr.push_back(0);
	}
	uint32_t shstr_name = uint32_t(shstr.size());
	const std::string n = ".shstrtab";
	shstr.insert(shstr.end(), n.begin(), n.end());
	shstr.push_back(0);

	out.data_off.push_back(0);
	for (const auto &s : sections) {
		while (b.size() % 8)
			b.push_back(0);
		out.data_off.push_back(b.size());
		if (s.type != 8)
			b.insert(b.end(), s.data.begin(), s.data.end());
	}
	std::size_t shstr_off = b.size();
	b.insert(b.end(), shstr.begin(), shstr.end());
	while (b.size() % 8)
		b.push_back(0);
	out.shoff = b.size();
	std::size_t shnum = sections.size() + 2;
	b.resize(b.size() + shnum * 64, 0);
	for (std::size_t i = 0; i < sections.size(); i++) {
		std::size_t h = out.shdr(i + 1);
		put32(b, h, name_off[i]);
		put32(b, h + 4, sections[i].type);
		put64(b, h + 24, out.data_off[i + 1]);
		put64(b, h + 32, sections[i].data.size());
	}
	std::size_t h = out.shdr(shnum - 1);
	put32(b, h, shstr_name);
	put32(b, h + 4, 3); // SHT_STRTAB
	put64(b, h + 24, shstr_off);
	put64(b, h + 32, shstr.size());
	put64(b, 40, out.shoff);
	put16(b, 60, uint16_t(shnum));
	put16(b, 62, uint16_t(shnum - 1));
	return out;
}

// A module that looks like a livepatch built for release; with a .comment
// section of those NUL-terminated entries when `comment` is not empty.
inline BuiltElf build_module(const std::string &name = "lp_test", bool livepatch = true,
			     const std::string &vermagic = "6.12.117 SMP preempt mod_unload ",
			     const std::vector<std::string> &comment = {})
{
	std::vector<std::string> info{"license=GPL", "vermagic=" + vermagic, "name=" + name};
	if (livepatch)
		info.push_back("livepatch=Y");
	std::vector<Section> secs{{".text", 1, std::vector<uint8_t>(64, 0xc3)},
				  {".modinfo", 1, modinfo_bytes(info)},
				  {".gnu.linkonce.this_module", 1, this_module_bytes(name)}};
	if (!comment.empty()) {
		// As gcc writes it: a leading NUL, then the entries.
		auto c = modinfo_bytes(comment);
		c.insert(c.begin(), 0);
		secs.push_back({".comment", 1, c});
	}
	return build_elf(secs);
}

// The .comment entry of Debian 12's gcc-12 and of Ubuntu 22.04's.
inline constexpr const char *kDebianGcc = "GCC: (Debian 12.2.0-14+deb12u1) 12.2.0";
inline constexpr const char *kUbuntuGcc = "GCC: (Ubuntu 12.3.0-1ubuntu1~22.04) 12.3.0";

} // namespace lpguard::test
