// SPDX-License-Identifier: GPL-2.0
// Test key pairs (generated once per test run with cvm-cli's key generator)
// and small helpers shared by the signing and verification tests.
#pragma once

#include <cstdlib>
#include <cstring>
#include <map>
#include <filesystem>
#include <string>

#include "lpguard/keygen.hpp"

namespace lpguard::test {

inline char *scratch_buf()
{
	static char buf[4096];
	return buf;
}

inline void remove_scratch()
{
	std::error_code ec;
	std::filesystem::remove_all(scratch_buf(), ec);
}

// A per-process scratch directory, removed at exit.
inline std::filesystem::path scratch_dir()
{
	static bool made = [] {
		const char *t = std::getenv("TMPDIR");
		std::string tmpl = std::string(t && *t ? t : "/tmp") + "/lpguard-unit.XXXXXX";
		if (tmpl.size() >= 4096 || !mkdtemp(tmpl.data()))
			std::abort();
		std::strcpy(scratch_buf(), tmpl.c_str());
		std::atexit(remove_scratch);
		return true;
	}();
	(void)made;
	return std::filesystem::path(scratch_buf());
}

struct TestKeys {
	std::filesystem::path dir, key, crt, der;
};

// name: "rsa" (livepatch key), "other" (unrelated RSA key), "ec" (ECDSA P-384)
inline const TestKeys &test_keys(const std::string &name)
{
	static std::map<std::string, TestKeys> cache;
	auto it = cache.find(name);
	if (it != cache.end())
		return it->second;
	KeygenOptions o;
	o.out_dir = scratch_dir() / ("keys-" + name);
	o.type = name == "ec" ? KeyType::ecdsa_p384 : KeyType::rsa4096;
	o.subject = "lpguard unit test " + name;
	auto r = generate_livepatch_keys(o);
	return cache[name] = TestKeys{o.out_dir, r.key, r.crt, r.der};
}


} // namespace lpguard::test
