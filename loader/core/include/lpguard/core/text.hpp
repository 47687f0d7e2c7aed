// SPDX-License-Identifier: GPL-2.0
// Small string helpers shared by both tools.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace lpguard {

// Lower-case hex of the bytes, two digits each.
std::string hex(std::span<const uint8_t> bytes);
inline std::string hex(const unsigned char *p, std::size_t n) { return hex(std::span<const uint8_t>(p, n)); }

// Without leading and trailing blanks (space, tab, CR, LF).
std::string trim(std::string s);

// The bytes 0x20..0x7e as themselves and every other byte as \xHH (two
// lower-case hex digits): text from an untrusted source that a terminal
// shows as it is, and that cannot start a new line.
std::string printable(std::string_view s);

// lpguard's encoding of an untrusted string inside a double-quoted value of
// its log lines (kmod/escape.c): bytes 0x20..0x7e other than '"' and '\' as
// themselves, every other byte as \xHH (two lower-case hex digits).
std::string log_escape(std::string_view s);

// The inverse of log_escape() for one double-quoted value: `s` starts after
// the opening quote. Decodes up to the closing quote into *value and
// returns the index just past that quote in `s`, or npos when the value is
// malformed: a backslash not followed by x and two lower-case hex digits, a
// raw byte outside 0x20..0x7e, or no closing quote.
std::size_t log_unescape_quoted(std::string_view s, std::string *value);

// The bytes of a hex string (either case, even length), or nullopt.
std::optional<std::vector<uint8_t>> unhex(std::string_view s);

// Standard base64 (RFC 4648, with padding, no line breaks), and back;
// nullopt for anything that is not exactly that.
std::string base64(std::span<const uint8_t> bytes);
std::optional<std::vector<uint8_t>> unbase64(std::string_view s);

bool valid_utf8(std::string_view s);

// "a, b or c"
std::string or_list(std::span<const std::string_view> words);

} // namespace lpguard
