// SPDX-License-Identifier: GPL-2.0
// The pieces of ModuleImage parsing, exposed for tests and fuzzing. Each
// function is total: it returns or throws lpguard::Error, for any input.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "lpguard/core/module_image.hpp"

namespace lpguard {

inline constexpr char kModuleSigMagic[] = "~Module signature appended~\n";
inline constexpr std::size_t kModuleSigMagicLen = sizeof(kModuleSigMagic) - 1; // 28
inline constexpr std::size_t kModuleSignatureInfoLen = 12;		       // struct module_signature
inline constexpr uint8_t kPkeyIdPkcs7 = 2;

struct SignatureTrailer {
	std::size_t payload_size = 0; // bytes before the PKCS#7 blob
	std::size_t sig_offset = 0;   // == payload_size
	std::size_t sig_len = 0;      // PKCS#7 blob length
};

// Finds the appended signature. nullopt when the file does not end with the
// magic string; throws when it does but the trailer is malformed.
std::optional<SignatureTrailer> parse_signature_trailer(std::span<const uint8_t> file);

// Builds the 40-byte trailer (struct module_signature + magic) for a blob.
std::vector<uint8_t> make_signature_trailer(std::size_t sig_len);

// Returns the bytes of an image with every appended signature removed.
std::span<const uint8_t> strip_signatures(std::span<const uint8_t> file);

struct ElfSection {
	std::string name;
	uint32_t type = 0;
	uint64_t offset = 0;
	uint64_t size = 0;
	uint64_t align = 0;	       // sh_addralign
	std::size_t header_offset = 0; // where its section header is in the file
};

// Parses an ELF64 relocatable object (a kernel module) with bounds checks on
// every header, section and name. Returns its sections.
std::vector<ElfSection> parse_elf_sections(std::span<const uint8_t> elf);

// Splits a .modinfo section into key=value pairs; entries that are not
// key=value are skipped, as the kernel's tag lookup never matches them.
std::vector<std::pair<std::string, std::string>> parse_modinfo(std::span<const uint8_t> section);

// The compilers a .comment section names: its NUL-separated entries that
// start with "GCC: " or contain "clang version" (as the patch kit picks the
// kernel's), each once, in the order they first appear. Other entries (a
// linker's, an assembler's) are skipped; the last entry needs no NUL. The
// bytes are kept as they are: printable() them before showing them.
std::vector<std::string> parse_comment_compilers(std::span<const uint8_t> section);

// Reads the module name out of .gnu.linkonce.this_module (struct module).
std::string parse_this_module_name(std::span<const uint8_t> section);

// ModuleImage::from_bytes without taking a copy: every field is filled in
// except `bytes`, which stays empty (the caller keeps the data).
ModuleImage parse_module_view(std::span<const uint8_t> file);

// Parses the detached PKCS#7/CMS blob of a module signature: its single
// signer (issuer+serial or key id) and digest algorithm.
ModuleSignature parse_pkcs7_signer(std::span<const uint8_t> der);

} // namespace lpguard
