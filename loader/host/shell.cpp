// SPDX-License-Identifier: GPL-2.0
// POSIX sh quoting.

#include "lpguard/host/shell.hpp"

#include <algorithm>
#include <cctype>
#include <cstring>

namespace lpguard {

std::string shell_quote(std::string_view s)
{
	if (!s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
		    return std::isalnum(static_cast<unsigned char>(c)) || std::strchr("_@%+=:,./-", c);
	    }))
		return std::string(s);
	std::string out = "'";
	for (char c : s) {
		if (c == '\'')
			out += "'\\''";
		else
			out += c;
	}
	return out + "'";
}

std::string shell_join(const Argv &argv)
{
	std::string out;
	for (const auto &a : argv) {
		if (!out.empty())
			out += ' ';
		out += shell_quote(a);
	}
	return out;
}

} // namespace lpguard
