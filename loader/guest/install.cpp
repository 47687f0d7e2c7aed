// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/install.hpp"

#include <algorithm>
#include <ctime>
#include <sstream>
#include <vector>

#include <openssl/sha.h>

#include "lpguard/core/error.hpp"
#include "lpguard/core/io.hpp"
#include "lpguard/core/module_parse.hpp"
#include "lpguard/core/text.hpp"

namespace fs = std::filesystem;

namespace lpguard {

namespace {

std::string sha256_of(std::span<const uint8_t> bytes)
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	SHA256(bytes.data(), bytes.size(), md);
	return hex(md, sizeof(md));
}

bool is_sha256_hex(const std::string &s)
{
	return s.size() == 64 &&
		std::all_of(s.begin(), s.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool starts_with(const std::string &s, const std::string &prefix) { return s.rfind(prefix, 0) == 0; }
bool ends_with(const std::string &s, const std::string &suffix)
{
	return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// The names install writes a module under: patch-<sha256>.ko, and the old patch.ko.
bool is_module_name(const std::string &f)
{
	return f == "patch.ko" ||
		(starts_with(f, "patch-") && ends_with(f, ".ko") && is_sha256_hex(f.substr(6, f.size() - 9)));
}

uint32_t module_generation(const fs::path &ko, std::span<const uint8_t> bytes)
{
	return with_path(ko, [&] { return parse_module_view(bytes).generation; });
}

// The record's generation; nullopt when it has none (an older lp-load's).
std::optional<uint32_t> recorded_generation(const nlohmann::json &record)
{
	auto g = record.find("generation");
	if (g == record.end() || !g->is_number_unsigned() || g->get<uint64_t>() > UINT32_MAX)
		return std::nullopt;
	return g->get<uint32_t>();
}

std::string text_of(const nlohmann::json &j)
{
	return j.dump(2) + "\n";
}

void write_json_durably(const fs::path &path, const nlohmann::json &j)
{
	std::string text = text_of(j);
	write_file_atomic(path, {std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(text.data()), text.size())},
			  0600, Durability::durable);
}

std::vector<PatchMark> read_marks(const LpLoadPaths &paths)
{
	std::vector<PatchMark> out;
	auto text = read_text(paths.marks());
	if (!text)
		return out;
	auto j = nlohmann::json::parse(*text, nullptr, false);
	if (!j.is_object() || !j.contains("marks") || !j["marks"].is_array())
		return out;
	for (const auto &m : j["marks"]) {
		if (!m.is_object() || !m.contains("sha256") || !m["sha256"].is_string())
			continue;
		out.push_back({m["sha256"].get<std::string>(), m.value("name", ""), m.value("reason", ""),
			       m.value("marked_at", "")});
	}
	return out;
}

void write_marks(const LpLoadPaths &paths, const std::vector<PatchMark> &marks)
{
	if (marks.empty()) {
		remove_file(paths.marks(), Durability::durable);
		return;
	}
	nlohmann::json a = nlohmann::json::array();
	for (const auto &m : marks)
		a.push_back(to_json(m));
	write_json_durably(paths.marks(), {{"marks", a}});
}

// After a commit: every module file the record does not name, and the
// temporary files of an install that was cut short. Best effort: what is
// left is never read (reading follows the record).
void remove_unnamed(const LpLoadPaths &paths, const std::string &keep, const std::function<void(const char *)> &step)
{
	std::error_code ec;
	bool removed = false;
	for (fs::directory_iterator it(paths.var_dir(), ec), end; !ec && it != end; it.increment(ec)) {
		std::string f = it->path().filename().string();
		bool stale = (is_module_name(f) && f != keep) || starts_with(f, ".patch");
		if (!stale)
			continue;
		step("removing");
		std::error_code ec2;
		if (fs::remove(it->path(), ec2))
			removed = true;
	}
	if (removed) {
		try {
			sync_directory(paths.var_dir());
		} catch (const Error &) {
		}
	}
}

} // namespace

std::string utc_now()
{
	std::time_t t = std::time(nullptr);
	std::tm tm{};
	::gmtime_r(&t, &tm);
	char buf[32];
	std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

std::string file_sha256(const fs::path &path)
{
	try {
		auto bytes = read_file(path, "file", Kind::system);
		return sha256_of(bytes);
	} catch (const Error &) {
		return "";
	}
}

InstalledPatch install_patch(const LpLoadPaths &paths, const fs::path &ko, const std::string &name,
			     const std::string &sha256, const InstallOptions &opts)
{
	std::function<void(const char *)> step = [&](const char *what) {
		if (opts.after_step)
			opts.after_step(what);
	};
	auto bytes = read_file(ko, "patch", Kind::input);
	std::string sha = sha256_of(bytes);
	if (!sha256.empty() && sha != sha256)
		throw Error("cannot install " + ko.string(),
			    "it changed between its pre-check and the copy (SHA-256 " + sha256 + ", then " + sha + ")",
			    "install it again once nothing writes to it", Kind::input)
			.path_named();
	uint32_t generation = module_generation(ko, bytes);
	// Patches are cumulative and applied in generation order: installing
	// an older one would roll the next boot back.
	if (auto old = installed_patch(paths); old && generation < old->generation)
		throw Error("refusing to install " + ko.string(),
			    "its generation " + std::to_string(generation) + " is lower than generation " +
				    std::to_string(old->generation) + " of the installed patch " + old->name,
			    "install a patch of generation " + std::to_string(old->generation) + " or higher",
			    Kind::refused)
			.path_named();
	std::error_code ec;
	fs::create_directories(paths.var_dir(), ec);
	if (ec)
		throw Error("cannot create " + paths.var_dir().string(), ec.message(), "run lp-load as root", Kind::system);
	std::string source = fs::absolute(ko, ec).string();
	// 1. The module, durably, under a name no other content has.
	fs::path target = paths.module_file(sha);
	write_file_atomic(target, {std::span<const uint8_t>(bytes)}, 0600, Durability::durable);
	step("module");
	// 2. The commit point: the record that names it.
	write_json_durably(paths.installed_record(), {{"name", name}, {"sha256", sha}, {"source", source}, {"installed_at", utc_now()}, {"generation", generation}, {"file", target.filename().string()}});
	step("record");
	// 3. What the record no longer names. Marks of other patches go too:
	// installing a new patch clears the mark of the one it replaces.
	auto marks = read_marks(paths);
	std::erase_if(marks, [&](const PatchMark &m) { return opts.clear_mark || m.sha256 != sha; });
	write_marks(paths, marks);
	step("marks");
	remove_unnamed(paths, target.filename().string(), step);
	step("removed");
	auto p = installed_patch(paths);
	if (!p)
		throw Error("cannot install " + ko.string(), "the record just written cannot be read back",
			    "check " + paths.var_dir().string() + " and the disk", Kind::system)
			.path_named();
	return *p;
}

bool uninstall_patch(const LpLoadPaths &paths)
{
	try {
		// The old layout's module first: without a record it would still
		// count as installed. Then the record (nothing is installed once
		// it is gone), then the files it named.
		bool a = remove_file(paths.legacy_ko(), Durability::durable);
		bool b = remove_file(paths.installed_record(), Durability::durable);
		std::error_code ec;
		bool c = false;
		for (fs::directory_iterator it(paths.var_dir(), ec), end; !ec && it != end; it.increment(ec)) {
			std::string f = it->path().filename().string();
			if (is_module_name(f) || starts_with(f, ".patch"))
				c |= remove_file(it->path(), Durability::volatile_);
		}
		if (c)
			sync_directory(paths.var_dir());
		remove_file(paths.boot_attempt(), Durability::durable);
		return a || b;
	} catch (const Error &e) {
		throw Error("cannot uninstall from " + paths.var_dir().string(), e.why(), "run lp-load as root",
			    Kind::system);
	}
}

std::optional<InstalledPatch> installed_patch(const LpLoadPaths &paths)
{
	std::error_code ec;
	InstalledPatch p;
	std::optional<uint32_t> generation;
	nlohmann::json j;
	if (auto text = read_text(paths.installed_record()))
		j = nlohmann::json::parse(*text, nullptr, false);
	bool have_record = j.is_object();
	if (have_record && j.contains("file")) {
		std::string f = j["file"].is_string() ? j["file"].get<std::string>() : std::string();
		if (is_module_name(f)) {
			p.ko = paths.var_dir() / f;
		} else {
			p.ko = paths.var_dir() / "patch.json";
			p.problem = "its record names \"" + printable(f) + "\", not a module file lp-load installs";
		}
	} else {
		// An older lp-load's install: patch.ko, then a record without "file".
		p.ko = paths.legacy_ko();
		if (!fs::exists(p.ko, ec))
			return std::nullopt;
	}
	if (have_record) {
		p.name = j.value("name", "");
		p.sha256 = j.value("sha256", "");
		p.source = j.value("source", "");
		p.installed_at = j.value("installed_at", "");
		generation = recorded_generation(j);
	}
	if (p.problem.empty()) {
		p.file_sha256 = file_sha256(p.ko);
		if (p.file_sha256.empty())
			p.problem = fs::exists(p.ko, ec) ? "its file cannot be read"
							 : "its file is missing: it was removed since it was installed";
		else if (!p.sha256.empty() && p.sha256 != p.file_sha256)
			p.problem = "its SHA-256 is " + p.file_sha256 + ", not " + p.sha256 +
				" as recorded: the file was changed since it was installed";
	}
	if (p.sha256.empty())
		p.sha256 = p.file_sha256;
	if (!generation) {
		// Unreadable as a module: 0, and the pre-check of 'boot' says why.
		try {
			generation = module_generation(p.ko, read_file(p.ko, "installed patch", Kind::system));
		} catch (const Error &) {
			generation = 0;
		}
	}
	p.generation = *generation;
	std::string marked = p.file_sha256.empty() ? p.sha256 : p.file_sha256;
	if (!marked.empty())
		p.marked_bad = patch_mark(paths, marked);
	return p;
}

void check_installed_file(const InstalledPatch &p)
{
	if (p.problem.empty())
		return;
	throw Error("refusing to apply " + p.ko.string(), p.problem, "install the patch again with lp-load install",
		    Kind::refused)
		.path_named();
}

void check_installed_generation(const InstalledPatch &p)
{
	uint32_t in_file;
	try {
		in_file = module_generation(p.ko, read_file(p.ko, "installed patch", Kind::input));
	} catch (const Error &) {
		return; // the pre-check of the apply refuses it, saying why
	}
	if (in_file < p.generation)
		throw Error("refusing to apply " + p.ko.string(),
			    "its generation " + std::to_string(in_file) + " is lower than generation " +
				    std::to_string(p.generation) + " recorded when " + p.name +
				    " was installed: the file was replaced since",
			    "install a patch of generation " + std::to_string(p.generation) + " or higher with lp-load install",
			    Kind::refused)
			.path_named();
}

std::optional<PatchMark> patch_mark(const LpLoadPaths &paths, const std::string &sha256)
{
	for (auto &m : read_marks(paths))
		if (m.sha256 == sha256)
			return m;
	return std::nullopt;
}

PatchMark mark_patch_bad(const LpLoadPaths &paths, const std::string &sha256, const std::string &name,
			 const std::string &reason)
{
	std::error_code ec;
	fs::create_directories(paths.var_dir(), ec);
	auto marks = read_marks(paths);
	std::erase_if(marks, [&](const PatchMark &m) { return m.sha256 == sha256; });
	PatchMark m{sha256, name, reason, utc_now()};
	marks.push_back(m);
	write_marks(paths, marks);
	return m;
}

bool boot_apply_enabled(const std::string &cmdline)
{
	bool enabled = true;
	std::istringstream in(cmdline);
	std::string tok;
	while (in >> tok) {
		if (tok == "--")
			break; // the rest goes to init
		const std::string key = "lp_load.enable=";
		if (tok.rfind(key, 0) != 0)
			continue;
		std::string v = tok.substr(key.size());
		enabled = !(v == "0" || v == "n" || v == "N" || v == "no" || v == "off" || v == "false");
	}
	return enabled;
}

nlohmann::json to_json(const PatchMark &m)
{
	return {{"sha256", m.sha256}, {"name", m.name}, {"reason", m.reason}, {"marked_at", m.marked_at}};
}

nlohmann::json to_json(const InstalledPatch &p)
{
	nlohmann::json mark = nullptr;
	if (p.marked_bad)
		mark = {{"reason", p.marked_bad->reason}, {"marked_at", p.marked_bad->marked_at}};
	return {{"name", p.name},
		{"sha256", p.sha256},
		{"source", p.source},
		{"installed_at", p.installed_at},
		{"generation", p.generation},
		{"path", p.ko.string()},
		{"file_sha256", p.file_sha256.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.file_sha256)},
		{"problem", p.problem.empty() ? nlohmann::json(nullptr) : nlohmann::json(p.problem)},
		{"marked_bad", mark}};
}

} // namespace lpguard
