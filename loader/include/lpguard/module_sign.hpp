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

// Same, for a module file: checked through its mapping, hashed by reading
// the file (an I/O error throws exit_code::input).
class MappedFile;
std::size_t sign_module(const MappedFile &in, const SigningKey &key, const std::string &hash,
			std::vector<uint8_t> *appendix);

// A read-only private mapping of a whole regular file.
class MappedFile {
public:
	// Throws lpguard::Error (what = "cannot read <what> <path>", given exit code).
	MappedFile(const std::filesystem::path &path, const std::string &what, int exit_code);
	~MappedFile();
	MappedFile(const MappedFile &) = delete;
	MappedFile &operator=(const MappedFile &) = delete;
	std::span<const uint8_t> bytes() const { return {data_, size_}; }
	unsigned mode() const { return mode_; } // permission bits of the file
	int fd() const { return fd_; }
private:
	int fd_ = -1;
	const uint8_t *data_ = nullptr;
	std::size_t size_ = 0;
	unsigned mode_ = 0;
};

// write_file_atomic for a signed module: the first payload_size bytes of
// `in` (copied in the kernel with copy_file_range when possible), then the
// appendix. Not fsync'ed.
void write_signed_module(const std::filesystem::path &path, const MappedFile &in, std::size_t payload_size,
			 std::span<const uint8_t> appendix, unsigned mode);

// Reads a whole file; throws lpguard::Error (what = "cannot read <what> <path>").
std::vector<uint8_t> read_file(const std::filesystem::path &path, const std::string &what, int exit_code);

// Writes the concatenation of parts to path through a temporary file in the
// same directory and rename: readers see the old or the new file, never a
// partial one. With durable, the data is fsync'ed before the rename (keys);
// without, a crash may leave the old file or a truncated new one.
void write_file_atomic(const std::filesystem::path &path, std::initializer_list<std::span<const uint8_t>> parts,
		       unsigned mode = 0644, bool durable = true);

} // namespace lpguard
