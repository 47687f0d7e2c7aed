// SPDX-License-Identifier: GPL-2.0
// The golden attestation data of tests/unit/data/attest (make-golden.sh:
// swtpm + tpm2-tools), shared by the attestation tests.
#pragma once

#include <string>
#include <vector>

#include "lpguard/core/io.hpp"
#include "lpguard/core/text.hpp"

namespace attest_data {

inline std::vector<uint8_t> file(const std::string &name)
{
	return lpguard::read_file(std::string(LPGUARD_TEST_DATA) + "/attest/" + name, "test data", lpguard::Kind::input);
}

inline std::vector<uint8_t> hex_file(const std::string &name)
{
	auto b = file(name);
	return *lpguard::unhex(lpguard::trim(std::string(b.begin(), b.end())));
}

} // namespace attest_data
