// SPDX-License-Identifier: GPL-2.0
#include "lpguard/core/exit_table.hpp"

namespace lpguard {

int exit_code_for(ExitTable table, Kind kind)
{
	int internal = 1;
	for (const auto &row : table) {
		if (row.kind == kind)
			return row.code;
		if (row.kind == Kind::internal)
			internal = row.code;
	}
	return internal;
}

namespace {

// Rows with the same code, first to last: the code, its kinds and meaning.
template <typename Emit> void each_code(ExitTable table, Emit emit)
{
	for (std::size_t i = 0; i < table.size();) {
		std::string kinds = to_string(table[i].kind);
		std::size_t j = i + 1;
		for (; j < table.size() && table[j].code == table[i].code && !*table[j].meaning; j++)
			kinds += std::string(", ") + to_string(table[j].kind);
		emit(table[i].code, kinds, std::string(table[i].meaning));
		i = j;
	}
}

} // namespace

std::string exit_codes_help(ExitTable table)
{
	std::string s = "Exit codes:\n";
	each_code(table, [&](int code, const std::string &, std::string meaning) {
		std::erase(meaning, '`');
		s += "  " + std::to_string(code) + "  " + meaning + "\n";
	});
	return s;
}

std::string exit_codes_markdown(ExitTable table)
{
	std::string s = "| code | kind | meaning |\n|---|---|---|\n";
	each_code(table, [&](int code, const std::string &kinds, const std::string &meaning) {
		s += "| " + std::to_string(code) + " | " + kinds + " | " + meaning + " |\n";
	});
	return s;
}

} // namespace lpguard
