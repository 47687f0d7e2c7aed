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

#include "lpguard/module_image.hpp"

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

// Hash names accepted by sign: sha256, sha384, sha512.
bool sign_hash_supported(const std::string &hash);

// The DER PKCS#7 blob over payload (an unsigned module).
std::vector<uint8_t> make_pkcs7_signature(std::span<const uint8_t> payload, const SigningKey &key,
					  const std::string &hash);

// Signs a parsed module image: existing signatures are removed first (never
// stacked). Returns the unsigned payload length (a prefix of image.bytes);
// *appendix receives the PKCS#7 blob and the trailer to append to it.
std::size_t sign_module(const ModuleImage &image, const SigningKey &key, const std::string &hash,
			std::vector<uint8_t> *appendix);

// Reads a whole file; throws lpguard::Error (what = "cannot read <what> <path>").
std::vector<uint8_t> read_file(const std::filesystem::path &path, const std::string &what, int exit_code);

// Writes the concatenation of parts to path through a temporary file in the
// same directory, fsync and rename: readers see the old or the new file.
void write_file_atomic(const std::filesystem::path &path, std::initializer_list<std::span<const uint8_t>> parts,
		       unsigned mode = 0644);

} // namespace lpguard
