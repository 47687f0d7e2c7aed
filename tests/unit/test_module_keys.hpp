// SPDX-License-Identifier: GPL-2.0
// Test key pairs (generated once per test run with cvm-cli's key generator)
// and small helpers shared by the signing and verification tests.
#pragma once

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <vector>

#include <sys/wait.h>
#include <filesystem>
#include <string>

#include "lpguard/host/keygen.hpp"

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

struct Cmd {
	int rc;
	std::string out;
};

// Runs a shell command line (every value in it quoted by the caller),
// capturing stdout (and stderr when the line redirects it).
inline Cmd run_shell(const std::string &line)
{
	Cmd r{-1, ""};
	FILE *p = popen(line.c_str(), "r");
	if (!p)
		return r;
	char buf[4096];
	std::size_t n;
	while ((n = fread(buf, 1, sizeof(buf), p)) > 0)
		r.out.append(buf, n);
	int st = pclose(p);
	r.rc = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	return r;
}

// "" when equal, else where the byte vectors first differ (readable in a
// failed CHECK, unlike two dumped vectors).
inline std::string difference(const std::vector<uint8_t> &a, const std::vector<uint8_t> &b)
{
	std::size_t i = 0;
	while (i < a.size() && i < b.size() && a[i] == b[i])
		i++;
	if (i == a.size() && i == b.size())
		return "";
	return "sizes " + std::to_string(a.size()) + " and " + std::to_string(b.size()) + ", first difference at byte " +
		std::to_string(i);
}

inline std::filesystem::path repo_root()
{
	return std::filesystem::path(LPGUARD_TEST_DATA).parent_path().parent_path().parent_path();
}

inline void write_bytes(const std::filesystem::path &p, const std::vector<uint8_t> &b)
{
	std::ofstream(p, std::ios::binary).write(reinterpret_cast<const char *>(b.data()), std::streamsize(b.size()));
}

inline std::vector<uint8_t> read_bytes(const std::filesystem::path &p)
{
	std::ifstream in(p, std::ios::binary);
	return std::vector<uint8_t>((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

} // namespace lpguard::test
