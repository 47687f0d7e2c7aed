// SPDX-License-Identifier: GPL-2.0
#include "lpguard/core/json.hpp"

#include "lpguard/core/text.hpp"

namespace lpguard {

void print_json(std::ostream &out, const Json &j)
{
	out << j.dump(2, ' ', false, Json::error_handler_t::replace) << std::endl;
}

Json json_text(const std::string &s)
{
	return valid_utf8(s) ? Json(s) : Json(log_escape(s));
}

Json json_or_null(const std::string &s)
{
	return s.empty() ? Json(nullptr) : Json(s);
}

} // namespace lpguard
