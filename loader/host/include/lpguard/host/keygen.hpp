// SPDX-License-Identifier: GPL-2.0
// Livepatch signing keys: a private key and a self-signed X.509 v3
// code-signing certificate the kernel accepts for module signatures.
#pragma once

#include <filesystem>
#include <string>

namespace lpguard {

enum class KeyType {
	rsa4096,
	ecdsa_p384,
};

struct KeygenOptions {
	std::filesystem::path out_dir = "keys";
	KeyType type = KeyType::rsa4096;
	std::string subject = "lpguard livepatch signing key"; // commonName
	int days = 3650;
	bool force = false; // replace existing files
};

struct KeygenResult {
	std::filesystem::path key, crt, der;
	std::string subject, serial_hex, key_id_hex;
};

// Writes livepatch.key (PKCS#8 PEM, created 0600 with O_EXCL, never printed),
// livepatch.crt (PEM) and livepatch.der (DER) into out_dir. Refuses to replace
// existing files unless force is set; then each file is replaced atomically.
KeygenResult generate_livepatch_keys(const KeygenOptions &opt);

KeyType parse_key_type(const std::string &s); // "rsa4096" | "ecdsa-p384"

} // namespace lpguard
