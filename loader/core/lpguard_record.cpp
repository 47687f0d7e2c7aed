// SPDX-License-Identifier: GPL-2.0
#include "lpguard/core/lpguard_record.hpp"

#include <algorithm>
#include <array>
#include <charconv>

#include "lpguard/core/error.hpp"
#include "lpguard/core/text.hpp"

namespace lpguard {

namespace {

constexpr std::array<std::string_view, 7> kEvents = {
	"load",
	"enable",
	"patched",
	"unpatched",
	"replaced",
	"disabled",
	"generation-refused",
};
constexpr std::size_t kNameMax = 55; // a module name: MODULE_NAME_LEN - 1

[[noreturn]] void bad(const std::string &why)
{
	throw Error("invalid lpguard measurement record", why,
		    "the record must be exactly what lpguard (kmod/record.c) measured", Kind::input);
}

class Fields {
public:
	explicit Fields(std::string_view s) : s_(s) {}

	void literal(std::string_view lit)
	{
		if (s_.substr(0, lit.size()) != lit)
			bad("expected \"" + std::string(lit) + "\" at offset " + std::to_string(pos()));
		s_.remove_prefix(lit.size());
	}
	// Up to the next space (or the end).
	std::string_view word()
	{
		auto n = std::min(s_.find(' '), s_.size());
		auto w = s_.substr(0, n);
		s_.remove_prefix(n);
		return w;
	}
	template <typename T> T number(const char *field)
	{
		auto w = word();
		T v = 0;
		auto [p, ec] = std::from_chars(w.data(), w.data() + w.size(), v);
		if (w.empty() || ec != std::errc() || p != w.data() + w.size() || (w.size() > 1 && w[0] == '0'))
			bad(std::string(field) + " is not a decimal number without leading zeros");
		return v;
	}
	std::string hex_or_dash(const char *field, std::size_t min, std::size_t max)
	{
		auto w = word();
		if (w == "-")
			return "";
		bool ok = w.size() >= 2 * min && w.size() <= 2 * max && w.size() % 2 == 0 &&
			std::all_of(w.begin(), w.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
		if (!ok)
			bad(std::string(field) + " is not '-' or lower-case hex of " + std::to_string(min) + ".." +
			    std::to_string(max) + " bytes");
		return std::string(w);
	}
	std::string quoted(const char *field)
	{
		literal("\"");
		std::string v;
		auto end = log_unescape_quoted(s_, &v);
		if (end == std::string::npos)
			bad(std::string(field) + " is not a quoted value in lpguard's log encoding");
		if (v.empty() || v.size() > kNameMax)
			bad(std::string(field) + " is not a module name of 1.." + std::to_string(kNameMax) + " bytes");
		s_.remove_prefix(end);
		return v;
	}
	bool at_end() const { return s_.empty(); }
	bool next_is(char c) const { return !s_.empty() && s_[0] == c; }
	void set_start(std::string_view all) { all_ = all; }

private:
	std::size_t pos() const { return all_.size() - s_.size(); }
	std::string_view s_, all_;
};

} // namespace

bool lpguard_event_known(std::string_view event)
{
	return std::find(kEvents.begin(), kEvents.end(), event) != kEvents.end();
}

LpguardRecord parse_lpguard_record(std::string_view text)
{
	Fields f(text);
	f.set_start(text);
	LpguardRecord r;
	f.literal("lpguard/1 seq=");
	r.seq = f.number<uint64_t>("seq");
	if (r.seq == 0)
		bad("seq is 0; records count from 1");
	f.literal(" event=");
	r.event = std::string(f.word());
	if (!lpguard_event_known(r.event))
		bad("event \"" + printable(r.event) + "\" is not one lpguard records");
	f.literal(" module=");
	r.module = f.quoted("module");
	f.literal(" sha256=");
	r.sha256 = f.hex_or_dash("sha256", 32, 32);
	f.literal(" keyid=");
	r.keyid = f.hex_or_dash("keyid", 1, 32);
	f.literal(" generation=");
	r.generation = f.number<uint32_t>("generation");
	f.literal(" active=");
	if (f.next_is('"'))
		r.active = f.quoted("active");
	else
		f.literal("-");
	if (!f.at_end())
		bad("bytes after the active field");
	return r;
}

} // namespace lpguard
