// SPDX-License-Identifier: GPL-2.0
// Kernel module images: ELF64 section table, .modinfo, the module name and
// the appended signature trailer. Every offset and length read from the file
// is checked against the bytes actually present before it is used.

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>

#include <openssl/sha.h>

#include "lpguard/core/module_image.hpp"
#include "lpguard/core/module_parse.hpp"
#include "lpguard/core/io.hpp"
#include "lpguard/core/text.hpp"
#include "lpguard/core/ossl.hpp"

namespace lpguard {

namespace {

constexpr std::size_t kEhdrSize = 64;
constexpr std::size_t kShdrSize = 64;
constexpr uint32_t kShtNull = 0;
constexpr uint32_t kShtNobits = 8;
constexpr uint16_t kEtRel = 1;
constexpr uint16_t kShnLoreserve = 0xff00;
// struct module: enum module_state state; struct list_head list; char name[];
constexpr std::size_t kThisModuleNameOffset = 24;
constexpr std::size_t kModuleNameLen = 56; // MODULE_NAME_LEN on 64-bit

[[noreturn]] void malformed(const std::string &why)
{
	throw Error("invalid module image", why,
		    "rebuild the module with the kernel's build system (make M=...)",
		    Kind::input);
}

// Little-endian fields, bounds-checked.
class Reader {
public:
	explicit Reader(std::span<const uint8_t> d) : d_(d) {}
	template <typename T> T get(std::size_t off) const
	{
		if (off > d_.size() || d_.size() - off < sizeof(T))
			malformed("read past the end of the file at offset " + std::to_string(off));
		T v = 0;
		for (std::size_t i = sizeof(T); i-- > 0;)
			v = static_cast<T>((v << 8) | d_[off + i]);
		return v;
	}

private:
	std::span<const uint8_t> d_;
};

bool in_bounds(uint64_t off, uint64_t len, std::size_t total)
{
	return off <= total && len <= total - off;
}

} // namespace

std::optional<SignatureTrailer> parse_signature_trailer(std::span<const uint8_t> file)
{
	if (file.size() < kModuleSigMagicLen ||
	    std::memcmp(file.data() + file.size() - kModuleSigMagicLen, kModuleSigMagic,
			kModuleSigMagicLen) != 0)
		return std::nullopt;
	auto bad = [](const std::string &why) -> void {
		throw Error("invalid module signature", why,
			    "re-sign the module with cvm-cli sign or scripts/sign-file",
			    Kind::input);
	};
	std::size_t rest = file.size() - kModuleSigMagicLen;
	if (rest < kModuleSignatureInfoLen)
		bad("the file ends with the signature marker but is too short for struct module_signature");
	const uint8_t *ms = file.data() + rest - kModuleSignatureInfoLen;
	// algo, hash, id_type, signer_len, key_id_len, __pad[3], __be32 sig_len
	if (ms[2] != kPkeyIdPkcs7)
		bad("signature id_type is " + std::to_string(ms[2]) + ", only PKCS#7 (2) is accepted");
	for (int i : {0, 1, 3, 4, 5, 6, 7})
		if (ms[i] != 0)
			bad("struct module_signature byte " + std::to_string(i) +
			    " is not zero as PKCS#7 signatures require");
	uint32_t sig_len = (uint32_t(ms[8]) << 24) | (uint32_t(ms[9]) << 16) |
		(uint32_t(ms[10]) << 8) | uint32_t(ms[11]);
	std::size_t avail = rest - kModuleSignatureInfoLen;
	if (sig_len == 0)
		bad("signature length is zero");
	if (sig_len >= avail) // the kernel's mod_check_sig(): the module itself cannot be empty
		bad("signature length " + std::to_string(sig_len) + " leaves nothing of the " +
		    std::to_string(avail) + " bytes before the trailer for the module");
	SignatureTrailer t;
	t.sig_len = sig_len;
	t.payload_size = avail - sig_len;
	t.sig_offset = t.payload_size;
	return t;
}

std::vector<uint8_t> make_signature_trailer(std::size_t sig_len)
{
	if (sig_len == 0 || sig_len > std::numeric_limits<uint32_t>::max())
		throw Error("cannot build signature trailer",
			    "signature length " + std::to_string(sig_len) + " does not fit",
			    "report this as a bug", Kind::internal);
	std::vector<uint8_t> t(kModuleSignatureInfoLen + kModuleSigMagicLen, 0);
	t[2] = kPkeyIdPkcs7;
	t[8] = uint8_t(sig_len >> 24);
	t[9] = uint8_t(sig_len >> 16);
	t[10] = uint8_t(sig_len >> 8);
	t[11] = uint8_t(sig_len);
	for (std::size_t i = 0; i < kModuleSigMagicLen; i++)
		t[kModuleSignatureInfoLen + i] = static_cast<uint8_t>(kModuleSigMagic[i]);
	return t;
}

std::span<const uint8_t> strip_signatures(std::span<const uint8_t> file)
{
	while (auto t = parse_signature_trailer(file))
		file = file.first(t->payload_size);
	return file;
}

std::vector<ElfSection> parse_elf_sections(std::span<const uint8_t> elf)
{
	if (elf.size() < kEhdrSize)
		malformed("file is " + std::to_string(elf.size()) + " bytes, shorter than an ELF header");
	if (std::memcmp(elf.data(), "\x7f"
				    "ELF",
			4) != 0)
		malformed("not an ELF file (bad magic)");
	if (elf[4] != 2)
		malformed("not a 64-bit ELF file (EI_CLASS " + std::to_string(elf[4]) + ")");
	// The image kernel is x86_64: lpguard refuses any other byte order. The
	// kernel does not look at EI_VERSION, so neither does this.
	if (elf[5] != 1)
		malformed("not a little-endian ELF file (EI_DATA " + std::to_string(elf[5]) + ")");
	Reader r(elf);
	if (r.get<uint16_t>(16) != kEtRel)
		malformed("ELF type " + std::to_string(r.get<uint16_t>(16)) +
			  " is not a relocatable object (ET_REL), as kernel modules are");
	uint64_t shoff = r.get<uint64_t>(40);
	uint16_t shentsize = r.get<uint16_t>(58);
	uint16_t shnum = r.get<uint16_t>(60);
	uint16_t shstrndx = r.get<uint16_t>(62);
	if (shentsize != kShdrSize)
		malformed("section header size " + std::to_string(shentsize) + " is not 64");
	if (shnum == 0 || shnum >= kShnLoreserve)
		malformed("section count " + std::to_string(shnum) + " is not supported");
	if (!in_bounds(shoff, uint64_t(shnum) * kShdrSize, elf.size()))
		malformed("section header table (offset " + std::to_string(shoff) + ", " +
			  std::to_string(shnum) + " entries) lies outside the file");
	if (shstrndx == 0 || shstrndx >= shnum)
		malformed("section name table index " + std::to_string(shstrndx) + " is out of range");

	struct Raw {
		uint32_t name, type;
		uint64_t off, size, align;
		std::size_t header;
	};
	std::vector<Raw> raw(shnum);
	for (uint16_t i = 0; i < shnum; i++) {
		std::size_t h = shoff + std::size_t(i) * kShdrSize;
		raw[i] = {r.get<uint32_t>(h), r.get<uint32_t>(h + 4), r.get<uint64_t>(h + 24),
			  r.get<uint64_t>(h + 32), r.get<uint64_t>(h + 48), h};
		if (raw[i].type != kShtNull && raw[i].type != kShtNobits && i != 0 &&
		    !in_bounds(raw[i].off, raw[i].size, elf.size()))
			malformed("section " + std::to_string(i) + " (offset " + std::to_string(raw[i].off) +
				  ", size " + std::to_string(raw[i].size) + ") lies outside the file");
	}
	const Raw &strtab = raw[shstrndx];
	if (strtab.type == kShtNobits || strtab.size == 0)
		malformed("section name table has no contents");
	if (!in_bounds(strtab.off, strtab.size, elf.size()))
		malformed("section name table lies outside the file");
	auto names = elf.subspan(strtab.off, strtab.size);
	if (names.back() != 0)
		malformed("section name table is not NUL-terminated");

	std::vector<ElfSection> out;
	out.reserve(shnum);
	for (uint16_t i = 0; i < shnum; i++) {
		ElfSection s;
		s.type = raw[i].type;
		s.offset = raw[i].off;
		s.size = raw[i].size;
		s.align = raw[i].align;
		s.header_offset = raw[i].header;
		if (raw[i].name >= names.size())
			malformed("section " + std::to_string(i) + " name offset is outside the name table");
		auto rest = names.subspan(raw[i].name);
		s.name.assign(rest.begin(), std::find(rest.begin(), rest.end(), uint8_t(0)));
		out.push_back(std::move(s));
	}
	return out;
}

std::vector<std::pair<std::string, std::string>> parse_modinfo(std::span<const uint8_t> sec)
{
	std::vector<std::pair<std::string, std::string>> out;
	if (sec.empty())
		return out;
	if (sec.back() != 0)
		malformed(".modinfo does not end with a NUL byte");
	std::size_t i = 0;
	while (i < sec.size()) {
		auto nul = std::find(sec.begin() + i, sec.end(), uint8_t(0));
		std::size_t end = nul - sec.begin();
		// Entries that are not key=value match no tag in the kernel either.
		if (end > i) {
			std::string entry(sec.begin() + i, nul);
			auto eq = entry.find('=');
			if (eq != std::string::npos && eq != 0)
				out.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
		}
		i = end + 1;
	}
	return out;
}

namespace {

bool is_compiler_entry(std::string_view e)
{
	return e.starts_with("GCC: ") || e.find("clang version") != std::string_view::npos;
}

void add_distinct(std::vector<std::string> &to, std::string s)
{
	if (std::find(to.begin(), to.end(), s) == to.end())
		to.push_back(std::move(s));
}

} // namespace

std::vector<std::string> parse_comment_compilers(std::span<const uint8_t> sec)
{
	std::vector<std::string> out;
	for (auto i = sec.begin(); i != sec.end();) {
		auto nul = std::find(i, sec.end(), uint8_t(0));
		std::string entry(i, nul);
		if (is_compiler_entry(entry))
			add_distinct(out, std::move(entry));
		i = nul == sec.end() ? nul : nul + 1;
	}
	return out;
}

std::string parse_this_module_name(std::span<const uint8_t> sec)
{
	if (sec.size() < kThisModuleNameOffset + kModuleNameLen)
		malformed(".gnu.linkonce.this_module is " + std::to_string(sec.size()) +
			  " bytes, too small for struct module");
	auto field = sec.subspan(kThisModuleNameOffset, kModuleNameLen);
	auto nul = std::find(field.begin(), field.end(), uint8_t(0));
	if (nul == field.end())
		malformed("module name in .gnu.linkonce.this_module is not NUL-terminated");
	std::string name(field.begin(), nul);
	if (name.empty())
		malformed("module name in .gnu.linkonce.this_module is empty");
	return name;
}

ModuleImage ModuleImage::from_bytes(std::vector<uint8_t> bytes)
{
	ModuleImage m = parse_module_view(bytes);
	m.bytes = std::move(bytes);
	return m;
}

ModuleImage parse_module_view(std::span<const uint8_t> all)
{
	ModuleImage m;
	m.payload_size = all.size();
	auto trailer = parse_signature_trailer(all);
	if (trailer) {
		m.payload_size = trailer->payload_size;
		m.signature = parse_pkcs7_signer(all.subspan(trailer->sig_offset, trailer->sig_len));
	}
	auto payload = all.first(m.payload_size);
	auto sections = parse_elf_sections(payload);

	const ElfSection *modinfo = nullptr, *this_module = nullptr;
	for (const auto &s : sections) {
		const ElfSection **slot = s.name == ".modinfo"	? &modinfo
			: s.name == ".gnu.linkonce.this_module" ? &this_module
								: nullptr;
		if (!slot)
			continue;
		if (*slot)
			malformed("the file has two " + s.name + " sections");
		if (s.type == kShtNobits)
			malformed(s.name + " has no contents (SHT_NOBITS)");
		*slot = &s;
	}
	// ld -r merges the objects' .comment sections into one; any more count too.
	for (const auto &s : sections) {
		if (s.name != ".comment" || s.type == kShtNull || s.type == kShtNobits)
			continue;
		if (!in_bounds(s.offset, s.size, payload.size()))
			malformed(".comment lies outside the file");
		for (auto &c : parse_comment_compilers(payload.subspan(s.offset, s.size)))
			add_distinct(m.compilers, std::move(c));
	}
	if (!modinfo)
		malformed("no .modinfo section; this is not a kernel module");
	if (!in_bounds(modinfo->offset, modinfo->size, payload.size()))
		malformed(".modinfo lies outside the file");
	m.modinfo = parse_modinfo(payload.subspan(modinfo->offset, modinfo->size));
	// The first entry of a tag counts, as with the kernel's get_modinfo().
	bool have_vermagic = false, have_generation = false;
	std::optional<std::string> info_name;
	for (const auto &[k, v] : m.modinfo) {
		if (k == kGenerationTag) {
			// As lpguard reads it: one tag at most.
			if (have_generation)
				malformed(".modinfo has more than one lpguard.generation= tag");
			have_generation = true;
			auto generation = parse_generation(v);
			if (!generation)
				malformed(".modinfo lpguard.generation= is not a number 0..4294967295");
			m.generation = *generation;
		} else if (k == "vermagic" && !have_vermagic) {
			m.vermagic = v;
			have_vermagic = true;
		} else if (k == "livepatch" && !m.livepatch) {
			m.livepatch = v;
		} else if (k == "name" && !info_name) {
			info_name = v;
		}
	}
	if (info_name && info_name->size() >= kModuleNameLen)
		malformed(".modinfo name= is longer than the " + std::to_string(kModuleNameLen - 1) +
			  " characters of a kernel module name");
	if (!this_module)
		malformed("no .gnu.linkonce.this_module section (struct module); the kernel refuses modules without one");
	if (!in_bounds(this_module->offset, this_module->size, payload.size()))
		malformed(".gnu.linkonce.this_module lies outside the file");
	m.name = parse_this_module_name(payload.subspan(this_module->offset, this_module->size));
	// lpguard refuses a module whose name= is not its struct module name.
	if (info_name && !info_name->empty() && *info_name != m.name)
		malformed("module name \"" + m.name + "\" in .gnu.linkonce.this_module differs from name=\"" +
			  *info_name + "\" in .modinfo");
	return m;
}

ModuleImage ModuleImage::from_file(const std::filesystem::path &path)
{
	return with_path(path, [&] { return from_bytes(read_file(path, "module", Kind::input)); });
}

std::optional<uint32_t> parse_generation(std::string_view text)
{
	bool digits = !text.empty() && text.size() <= 10 && !(text[0] == '0' && text.size() > 1) &&
		text.find_first_not_of("0123456789") == std::string_view::npos;
	if (!digits)
		return std::nullopt;
	uint64_t v = 0;
	for (char c : text)
		v = v * 10 + uint64_t(c - '0');
	if (v > std::numeric_limits<uint32_t>::max())
		return std::nullopt;
	return uint32_t(v);
}

std::string vermagic_release(const std::string &vermagic)
{
	return vermagic.substr(0, vermagic.find_first_of(" \t"));
}

bool signature_hash_accepted(std::string_view hash)
{
	return std::find(kSignatureHashes.begin(), kSignatureHashes.end(), hash) != kSignatureHashes.end();
}

std::string signature_hash_list()
{
	return or_list(kSignatureHashes);
}

std::string ModuleImage::sha256_hex() const
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(bytes.data(), bytes.size(), md);
	return hex(md, sizeof(md));
}

} // namespace lpguard
