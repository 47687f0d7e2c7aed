// SPDX-License-Identifier: GPL-2.0
// The one JSON layer of both tools (nlohmann-json): how a --json document is
// written, and how the values the reports hold become JSON.
#pragma once

#include <optional>
#include <ostream>
#include <string>

#include <nlohmann/json.hpp>

namespace lpguard {

using Json = nlohmann::json;

// Writes j, indented by 2, and a newline. Never throws on bad UTF-8: strings
// that may hold any bytes go through json_text() first.
void print_json(std::ostream &out, const Json &j);

// A string from an untrusted source (a module name in lpguard's log, a
// .modinfo value): itself when it is valid UTF-8, else in lpguard's log
// encoding (log_escape(): \xHH for '"', '\' and every byte outside 0x20..0x7e).
Json json_text(const std::string &s);

// null for an empty string, else the string.
Json json_or_null(const std::string &s);

template <typename T> Json json_or_null(const std::optional<T> &v)
{
	return v ? Json(*v) : Json(nullptr);
}

} // namespace lpguard
