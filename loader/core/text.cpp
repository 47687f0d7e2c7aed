// SPDX-License-Identifier: GPL-2.0
#include "lpguard/core/text.hpp"

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
