// SPDX-License-Identifier: GPL-2.0
// kmod/parse.c as the fuzz targets see it: its C interface, and its results
// turned into comparable values. The side the kernel takes after parse.c
// (the module loader's own ELF checks, lpguard's COMING name check) is
// modelled in kernel_after_parse(), from kernel/module/main.c (6.12).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include <elf.h>

extern "C" {
#include "parse.h"
}

namespace kparse {

inline std::string hex(const uint8_t *p, std::size_t n)
{
	static const char digits[] = "0123456789abcdef";
	std::string s;
	for (std::size_t i = 0; i < n; i++) {
		s += digits[p[i] >> 4];
		s += digits[p[i] & 15];
	}
	return s;
}

// An INTEGER's DER contents (two's complement) in the loader's form
// (ossl::integer_hex: magnitude in hex, "-" for negative, "00" for zero).
inline std::string serial_hex(const uint8_t *p, std::size_t n)
{
	std::vector<uint8_t> mag(p, p + n);
	bool neg = n && (p[0] & 0x80);
	if (neg) {
		unsigned carry = 1;
		for (std::size_t i = n; i-- > 0;) {
			unsigned v = (~mag[i] & 0xffu) + carry;
			mag[i] = uint8_t(v);
			carry = v >> 8;
		}
	}
	std::size_t z = 0;
	while (z < mag.size() && !mag[z])
		z++;
	std::string h = hex(mag.data() + z, mag.size() - z);
	if (h.empty())
		h = "00";
	return (neg ? "-" : "") + h;
}

// One signer identifier: "skid:<hex>" or "issuer:<Name DER contents, hex>
// serial:<loader form>".
inline std::string signer_id(const lpguard_signer &s)
{
	if (s.by_skid)
		return "skid:" + hex(s.skid, s.skid_len);
	return "issuer:" + hex(s.issuer, s.issuer_len) + " serial:" + serial_hex(s.serial, s.serial_len);
}

// Reads a section header of an image whose header table parse.c accepted.
inline Elf64_Shdr shdr(const uint8_t *data, unsigned i)
{
	Elf64_Ehdr eh;
	Elf64_Shdr sh;
	std::memcpy(&eh, data, sizeof(eh));
	std::memcpy(&sh, data + eh.e_shoff + std::size_t(i) * sizeof(sh), sizeof(sh));
	return sh;
}

constexpr std::size_t kModNameOffset = 24; // struct module: state, list, name[]
constexpr std::size_t kModNameLen = LPGUARD_NAME_LEN;

// What the kernel checks, after lpguard's parse_image() accepted @data,
// on the parts of the image both parsers read: the module loader's
// elf_validity_cache_sechdrs() (every section but SHT_NULL/SHT_NOBITS in
// bounds), elf_validity_cache_secstrings() (e_shstrndx is not SHN_UNDEF),
// elf_validity_cache_index_mod() (exactly one .gnu.linkonce.this_module
// with contents and room for struct module; the exact size of the running
// kernel's struct module is known to neither parser), and lpguard's COMING
// check (a .modinfo name= must equal the struct module name). A struct
// module name that is empty or fills its field without a NUL is refused
// here as by the loader library: the kernel uses it as the module's name
// string. Returns "" and sets @name to the module's name, or why the
// kernel refuses.
inline std::string kernel_after_parse(const uint8_t *data, const lpguard_image &img,
				      std::string &name)
{
	Elf64_Ehdr eh;
	std::memcpy(&eh, data, sizeof(eh));
	std::size_t len = img.payload_len;
	auto in_bounds = [len](uint64_t off, uint64_t size) { return off <= len && size <= len - off; };
	if (eh.e_shstrndx == SHN_UNDEF)
		return "e_shstrndx is SHN_UNDEF";
	const char *names = reinterpret_cast<const char *>(data) + shdr(data, eh.e_shstrndx).sh_offset;
	int mods = 0;
	Elf64_Shdr mod{};
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		Elf64_Shdr sh = shdr(data, i);
		bool contents = sh.sh_type != SHT_NULL && sh.sh_type != SHT_NOBITS;
		if (i && contents && !in_bounds(sh.sh_offset, sh.sh_size))
			return "section " + std::to_string(i) + " out of bounds";
		if (!std::strcmp(names + sh.sh_name, ".gnu.linkonce.this_module")) {
			mods++;
			mod = sh;
		}
	}
	if (mods != 1)
		return std::to_string(mods) + " .gnu.linkonce.this_module sections";
	if (mod.sh_type == SHT_NOBITS || !in_bounds(mod.sh_offset, mod.sh_size) ||
	    mod.sh_size < kModNameOffset + kModNameLen)
		return ".gnu.linkonce.this_module cannot hold struct module";
	const char *n = reinterpret_cast<const char *>(data) + mod.sh_offset + kModNameOffset;
	std::size_t l = strnlen(n, kModNameLen);
	if (!l || l == kModNameLen)
		return "struct module name is empty or not NUL-terminated";
	name.assign(n, l);
	if (img.name[0] && name != img.name)
		return "name= differs from struct module name";
	return "";
}

} // namespace kparse
