// SPDX-License-Identifier: GPL-2.0
#include "lpguard/core/text.hpp"

#include <openssl/evp.h>

namespace lpguard {

namespace {
constexpr char kDigits[] = "0123456789abcdef";
} // namespace

std::string hex(std::span<const uint8_t> bytes)
{
	std::string s;
	s.reserve(bytes.size() * 2);
	for (uint8_t b : bytes) {
		s.push_back(kDigits[b >> 4]);
		s.push_back(kDigits[b & 15]);
	}
	return s;
}

std::string trim(std::string s)
{
	const char *ws = " \t\r\n";
	auto b = s.find_first_not_of(ws);
	if (b == std::string::npos)
		return {};
	auto e = s.find_last_not_of(ws);
	return s.substr(b, e - b + 1);
}

namespace {

template <typename Plain> std::string escape_bytes(std::string_view s, Plain plain)
{
	std::string out;
	out.reserve(s.size());
	for (unsigned char c : s) {
		if (plain(c)) {
			out.push_back(char(c));
		} else {
			out += "\\x";
			out.push_back(kDigits[c >> 4]);
			out.push_back(kDigits[c & 15]);
		}
	}
	return out;
}

} // namespace

std::string printable(std::string_view s)
{
	return escape_bytes(s, [](unsigned char c) { return c >= 0x20 && c <= 0x7e; });
}

std::string log_escape(std::string_view s)
{
	return escape_bytes(s, [](unsigned char c) { return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\'; });
}

namespace {

int hex_digit(char c, bool upper_ok)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (upper_ok && c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

} // namespace

std::size_t log_unescape_quoted(std::string_view s, std::string *value)
{
	const std::size_t n = s.size();
	std::size_t i = 0;
	while (i < n && s[i] != '"') {
		unsigned char c = static_cast<unsigned char>(s[i]);
		if (c < 0x20 || c > 0x7e)
			return std::string::npos;
		if (c != '\\') {
			value->push_back(char(c));
			i++;
			continue;
		}
		if (n - i < 4 || s[i + 1] != 'x')
			return std::string::npos;
		int hi = hex_digit(s[i + 2], false), lo = hex_digit(s[i + 3], false);
		if (hi < 0 || lo < 0)
			return std::string::npos;
		value->push_back(char(hi << 4 | lo));
		i += 4;
	}
	if (i >= n)
		return std::string::npos; // no closing quote
	return i + 1;
}

std::optional<std::vector<uint8_t>> unhex(std::string_view s)
{
	if (s.size() % 2)
		return std::nullopt;
	std::vector<uint8_t> out(s.size() / 2);
	for (std::size_t i = 0; i < out.size(); i++) {
		int hi = hex_digit(s[2 * i], true), lo = hex_digit(s[2 * i + 1], true);
		if (hi < 0 || lo < 0)
			return std::nullopt;
		out[i] = static_cast<uint8_t>(hi << 4 | lo);
	}
	return out;
}

std::string base64(std::span<const uint8_t> bytes)
{
	std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0'); // and EVP_EncodeBlock's NUL
	int n = bytes.empty() ? 0
			      : EVP_EncodeBlock(reinterpret_cast<unsigned char *>(out.data()), bytes.data(),
						static_cast<int>(bytes.size()));
	out.resize(static_cast<std::size_t>(n));
	return out;
}

std::optional<std::vector<uint8_t>> unbase64(std::string_view s)
{
	if (s.size() % 4 || s.size() > (std::size_t(1) << 30))
		return std::nullopt;
	for (std::size_t i = 0; i < s.size(); i++) {
		char c = s[i];
		bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		bool pad = c == '=' && i + 2 >= s.size() && (i + 1 == s.size() || s[i + 1] == '=');
		if (!alnum && c != '+' && c != '/' && !pad)
			return std::nullopt;
	}
	std::vector<uint8_t> out(s.size() / 4 * 3);
	if (s.empty())
		return out;
	int n = EVP_DecodeBlock(out.data(), reinterpret_cast<const unsigned char *>(s.data()),
				static_cast<int>(s.size()));
	if (n < 0)
		return std::nullopt;
	std::size_t pad = s.size() >= 1 && s.back() == '=' ? (s.size() >= 2 && s[s.size() - 2] == '=' ? 2 : 1) : 0;
	out.resize(static_cast<std::size_t>(n) - pad);
	return out;
}

bool valid_utf8(std::string_view s)
{
	std::size_t i = 0, n = s.size();
	while (i < n) {
		unsigned char c = static_cast<unsigned char>(s[i]);
		std::size_t len;
		uint32_t cp;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			len = 2;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			len = 3;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			len = 4;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (n - i < len)
			return false;
		for (std::size_t k = 1; k < len; k++) {
			unsigned char cc = static_cast<unsigned char>(s[i + k]);
			if ((cc & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (cc & 0x3f);
		}
		// Overlong forms, surrogates and values past U+10FFFF.
		if ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
		    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
			return false;
		i += len;
	}
	return true;
}

std::string or_list(std::span<const std::string_view> words)
{
	std::string s;
	for (std::size_t i = 0; i < words.size(); i++) {
		if (i > 0)
			s += i + 1 == words.size() ? " or " : ", ";
		s += words[i];
	}
	return s;
}

} // namespace lpguard
