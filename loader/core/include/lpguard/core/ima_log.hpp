// SPDX-License-Identifier: GPL-2.0
// IMA's binary runtime measurement list, as the kernel writes it in
// /sys/kernel/security/ima/binary_runtime_measurements_sha256
// (security/integrity/ima/ima_fs.c, ima_measurements_show; little-endian,
// also with ima_canonical_fmt on x86). Each entry:
//
//   u32 pcr | template digest (32 bytes for the sha256 file) |
//   u32 name length | template name | u32 data length | template data
//
// where the "ima" template omits the data length. Template data is its
// fields, each as u32 length + bytes ("ima": a 20-byte digest without
// length, then the name with a length). Pure, total parsers (they return
// or throw lpguard::Error of Kind::input); fuzzed by tests/fuzz/fuzz_ima_log.cpp.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

namespace lpguard {

using Sha256 = std::array<uint8_t, 32>;

struct ImaEntry {
	uint32_t pcr = 0;
	Sha256 template_digest{}; // all zero: a violation record
	std::string template_name;
	std::vector<uint8_t> template_data;	  // as in the list (fields with their lengths)
	std::vector<std::vector<uint8_t>> fields; // the template data split into its fields

	bool violation() const;
};

// Parses the whole list (sha256 digests). Throws on a truncated entry, a
// template name or data longer than IMA writes, or fields that do not add
// up to the template data.
std::vector<ImaEntry> parse_ima_log(std::span<const uint8_t> bytes);

// The SHA-256 template hash the kernel computes for the sha256 bank
// (ima_crypto.c, ima_calc_field_array_hash_tfm): over each field's u32
// length and bytes -- that is, over the template data as listed -- except
// for the "ima" template: its 20-byte digest, then its name zero-padded to
// 256 bytes (IMA_EVENT_NAME_LEN_MAX + 1).
Sha256 ima_template_hash(const ImaEntry &e);

// What a sha256 PCR is extended with for the entry: its template digest,
// or, for a violation (all-zero digest in the list), 32 bytes of 0xff
// (ima_queue.c: a violation invalidates the PCR).
Sha256 ima_extend_value(const ImaEntry &e);

// PCR_new = SHA-256(PCR_old || value).
void pcr_extend(Sha256 &pcr, const Sha256 &value);

// The PCR values after replaying the first `count` entries from all-zero
// PCRs (count beyond the list: all of it), by PCR index.
std::map<uint32_t, Sha256> replay_ima_log(const std::vector<ImaEntry> &log, std::size_t count = SIZE_MAX);

// The three fields of an "ima-buf" entry (d-ng|n-ng|buf).
struct ImaBuf {
	std::string digest_algo;     // d-ng: "sha256", "sha1", ...
	std::vector<uint8_t> digest; // of buf, with digest_algo
	std::string event_name;	     // n-ng, without its NUL
	std::vector<uint8_t> buf;
};

// Splits an ima-buf entry; throws when the template is not ima-buf or a
// field is malformed (d-ng without "<algo>:\0", n-ng without its NUL).
ImaBuf parse_ima_buf(const ImaEntry &e);

} // namespace lpguard
