// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/lpguard_securityfs.hpp"

#include <sstream>

namespace fs = std::filesystem;

namespace lpguard {

namespace {

// Splits a line into key=value tokens; bare words are returned with an
// empty key. nullopt when the line is malformed.
std::optional<std::vector<std::pair<std::string, std::string>>> tokenize(const std::string &line)
{
	std::vector<std::pair<std::string, std::string>> out;
	std::size_t i = 0, n = line.size();
	while (i < n) {
		while (i < n && (line[i] == ' ' || line[i] == '\t'))
			i++;
		if (i >= n)
			break;
		std::string key, value;
		std::size_t start = i;
		while (i < n && line[i] != '=' && line[i] != ' ' && line[i] != '\t')
			i++;
		if (i < n && line[i] == '=') {
			key = line.substr(start, i - start);
			i++;
			if (i < n && line[i] == '"') {
				std::size_t end = log_unescape_quoted(std::string_view(line).substr(i + 1), &value);
				if (end == std::string::npos)
					return std::nullopt;
				i += 1 + end;
			} else {
				std::size_t vs = i;
				while (i < n && line[i] != ' ' && line[i] != '\t')
					i++;
				value = line.substr(vs, i - vs);
			}
		} else {
			value = line.substr(start, i - start);
		}
		out.emplace_back(std::move(key), std::move(value));
	}
	return out;
}

} // namespace

std::vector<LpguardDecision> parse_lpguard_log(const std::string &text)
{
	std::vector<LpguardDecision> out;
	std::istringstream in(text);
	std::string line;
	while (std::getline(in, line)) {
		line = trim(line);
		if (line.empty() || line[0] == '#')
			continue;
		auto tokens = tokenize(line);
		if (!tokens)
			continue;
		LpguardDecision d;
		d.raw = line;
		for (auto &[k, v] : *tokens) {
			if (k.empty()) {
				if (v == "allowed" || v == "refused")
					d.verdict = v;
				else if (d.time.empty() && !v.empty() && (v[0] >= '0' && v[0] <= '9'))
					d.time = v;
				else if (d.what.empty())
					d.what = v;
			} else if (k == "obj" || k == "module" || k == "name") {
				d.module = v;
			} else if (k == "verdict") {
				d.verdict = v;
			} else if (k == "reason") {
				d.reason = v;
			} else if (k == "sha256") {
				d.sha256 = v == "-" ? "" : v;
			} else if (k == "signer") {
				d.signer = v;
			} else if (k == "time") {
				d.time = v;
			} else if (k == "check_ns") {
				d.check_ns = v;
			}
		}
		if (d.module.empty() || d.verdict.empty())
			continue;
		out.push_back(std::move(d));
	}
	return out;
}

std::string read_lpguard_log(const LivepatchSysfs &sys)
{
	return read_text(sys.securityfs_dir() / "log").value_or("");
}

static std::vector<std::string> lines_of(const std::string &text)
{
	std::vector<std::string> out;
	std::istringstream in(text);
	std::string line;
	while (std::getline(in, line))
		if (!trim(line).empty())
			out.push_back(trim(line));
	return out;
}

std::optional<LpguardDecision> last_lpguard_decision(const LivepatchSysfs &sys, const std::string &module,
						     const std::string &sha256, const std::string &before)
{
	auto now = lines_of(read_lpguard_log(sys));
	std::size_t from = 0;
	auto old = lines_of(before);
	if (!old.empty()) {
		for (std::size_t i = now.size(); i-- > 0;) {
			if (now[i] == old.back()) {
				from = i + 1;
				break;
			}
		}
	}
	std::string fresh;
	for (std::size_t i = from; i < now.size(); i++)
		fresh += now[i] + "\n";
	auto all = parse_lpguard_log(fresh);
	std::optional<LpguardDecision> latest;
	for (auto it = all.rbegin(); it != all.rend(); ++it) {
		if (it->module != module)
			continue;
		if (!sha256.empty() && !it->sha256.empty() && it->sha256 != sha256)
			continue;
		if (it->refused())
			return *it;
		if (!latest)
			latest = *it;
	}
	return latest;
}

LpguardStatus read_lpguard_status(const LivepatchSysfs &sys, std::size_t max_decisions)
{
	LpguardStatus st;
	std::error_code ec;
	st.present = fs::is_directory(sys.securityfs_dir(), ec);
	if (!st.present)
		return st;
	if (auto text = read_text(sys.securityfs_dir() / "status")) {
		std::istringstream in(*text);
		std::string line;
		while (std::getline(in, line)) {
			line = trim(line);
			if (line.empty())
				continue;
			auto colon = line.find(':');
			auto eq = line.find('=');
			auto sep = std::min(colon, eq);
			if (sep != std::string::npos && sep > 0 && line.find(' ') > sep)
				st.fields.emplace_back(trim(line.substr(0, sep)), trim(line.substr(sep + 1)));
			else
				st.other_lines.push_back(line);
		}
	}
	if (auto text = read_text(sys.securityfs_dir() / "log")) {
		auto all = parse_lpguard_log(*text);
		std::size_t from = all.size() > max_decisions ? all.size() - max_decisions : 0;
		st.recent.assign(all.begin() + static_cast<std::ptrdiff_t>(from), all.end());
	}
	return st;
}

fs::path certificate_source(const LivepatchSysfs &sys, const fs::path &fallback_dir)
{
	fs::path bundle = sys.securityfs_dir() / "certificates";
	std::error_code ec;
	if (fs::exists(bundle, ec))
		return bundle;
	return fallback_dir;
}

} // namespace lpguard
