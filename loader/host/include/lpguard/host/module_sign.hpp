// SPDX-License-Identifier: GPL-2.0
// Signing kernel modules in the format of the kernel's scripts/sign-file:
// detached CMS, no certificates, no signed attributes, issuer+serial signer,
// then struct module_signature and "~Module signature appended~\n".
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "lpguard/core/io.hpp"
#include "lpguard/core/module_image.hpp"

namespace lpguard {

class SigningKey {
public:
	// Loads a PEM private key and its certificate (PEM or DER) and checks
	// that they belong together.
	static SigningKey load(const std::filesystem::path &key, const std::filesystem::path &cert);
	const Certificate &certificate() const;
	void *pkey() const; // EVP_PKEY*
	~SigningKey();
	SigningKey(SigningKey &&) noexcept;
	SigningKey &operator=(SigningKey &&) noexcept;

private:
	struct Impl;
	explicit SigningKey(std::unique_ptr<Impl> impl);
	std::unique_ptr<Impl> impl_;
};

// The DER PKCS#7 blob over payload (an unsigned module).
std::vector<uint8_t> make_pkcs7_signature(std::span<const uint8_t> payload, const SigningKey &key,
					  const std::string &hash);

// Signs a parsed module image: existing signatures are removed first (never
// stacked). Returns the unsigned payload length (a prefix of image.bytes);
// *appendix receives the PKCS#7 blob and the trailer to append to it.
std::size_t sign_module(const ModuleImage &image, const SigningKey &key, const std::string &hash,
			std::vector<uint8_t> *appendix);

// Same, for a module file: checked through its mapping, hashed by reading
// the file (an I/O error throws Kind::input).
std::size_t sign_module(const MappedFile &in, const SigningKey &key, const std::string &hash,
			std::vector<uint8_t> *appendix);

// write_file_atomic for a signed module: the first payload_size bytes of
// `in` (copied in the kernel with copy_file_range when possible), then the
// appendix. Not fsync'ed.
void write_signed_module(const std::filesystem::path &path, const MappedFile &in, std::size_t payload_size,
			 std::span<const uint8_t> appendix, unsigned mode);

} // namespace lpguard
