// SPDX-License-Identifier: GPL-2.0
// Kernel module images: ELF/.modinfo parsing, the appended module signature,
// and verification against X.509 certificates. Shared by cvm-cli and lp-load.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "lpguard/core/error.hpp"

namespace lpguard {

// The signature appended by scripts/sign-file (or cvm-cli sign).
struct ModuleSignature {
	std::string hash_algo;		// "sha256", "sha512", ...
	std::string signer;		// issuer's commonName (or the whole issuer DN)
	std::string serial_hex;		// signer serial number, lower-case hex ("" when signed by key id)
	std::string key_id_hex;		// subjectKeyIdentifier, lower-case hex ("" when issuer+serial)
	std::vector<uint8_t> pkcs7_der; // the detached CMS/PKCS#7 blob
};

struct ModuleImage {
	// Parse a file; throws lpguard::Error with a one-line what/why/what-to-do.
	static ModuleImage from_file(const std::filesystem::path &path);
	static ModuleImage from_bytes(std::vector<uint8_t> bytes);

	std::vector<uint8_t> bytes;				  // the whole file as read
	std::size_t payload_size = 0;				  // bytes covered by the signature (== bytes.size() when unsigned)
	std::string name;					  // module name (.gnu.linkonce.this_module; a non-empty modinfo name= must match)
	std::string vermagic;					  // modinfo vermagic=
	std::optional<std::string> livepatch;			  // modinfo livepatch= value, when present (any value counts)
	uint32_t generation = 0;				  // modinfo lpguard.generation= (0 without the tag)
	std::vector<std::pair<std::string, std::string>> modinfo; // all .modinfo key=value pairs, in order
	std::vector<std::string> compilers;			  // .comment: each GCC/clang entry once, in order
	std::optional<ModuleSignature> signature;

	bool is_livepatch() const { return livepatch.has_value(); }
	std::string sha256_hex() const; // of the whole file
};

// An X.509 certificate (OpenSSL X509 underneath).
class Certificate {
public:
	static Certificate from_file(const std::filesystem::path &path);		    // first certificate, PEM or DER
	static std::vector<Certificate> load_all(const std::filesystem::path &file_or_dir); // PEM bundles, DER files, directories
	static std::vector<Certificate> parse_all(const std::vector<uint8_t> &pem_or_der);
	std::string subject() const; // one-line DN
	std::string common_name() const;
	std::string serial_hex() const;
	std::string key_id_hex() const; // subjectKeyIdentifier
	void *x509() const;		// X509*
	~Certificate();
	Certificate(Certificate &&) noexcept;
	Certificate &operator=(Certificate &&) noexcept;

private:
	struct Impl;
	explicit Certificate(std::unique_ptr<Impl> impl);
	std::unique_ptr<Impl> impl_;
};

struct VerifyResult {
	bool ok = false;
	std::string reason;			   // why not, one line; empty when ok
	std::optional<std::string> signer_subject; // the certificate that verified
};

// lpguard's generation tag in .modinfo: lpguard.generation=N.
inline constexpr std::string_view kGenerationTag = "lpguard.generation";

// A generation as lpguard reads it (kmod/parse.c): decimal, no sign, no
// leading zero, 0 to 4294967295. nullopt for anything else.
std::optional<uint32_t> parse_generation(std::string_view text);

// The release a module was built for: the first word of its vermagic
// (words end at a space or a tab).
std::string vermagic_release(const std::string &vermagic);

// The digests accepted for module signatures, by cvm-cli sign and by every
// verification: the kernel's module signing accepts the same.
inline constexpr std::array<std::string_view, 3> kSignatureHashes = {"sha256", "sha384", "sha512"};
bool signature_hash_accepted(std::string_view hash);
std::string signature_hash_list(); // "sha256, sha384 or sha512"

// Verifies the appended signature over bytes[0, payload_size) against certs.
VerifyResult verify_module(const ModuleImage &image, const std::vector<Certificate> &certs);

} // namespace lpguard
