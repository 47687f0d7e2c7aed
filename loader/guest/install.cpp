// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/install.hpp"

#include <ctime>
#include <sstream>
#include <vector>

#include "lpguard/core/error.hpp"
#include "lpguard/core/io.hpp"
#include "lpguard/core/module_parse.hpp"
#include "lpguard/guest/livepatch_sysfs.hpp"

namespace fs = std::filesystem;

namespace lpguard {

namespace {

std::string now_utc()
{
	std::time_t t = std::time(nullptr);
	std::tm tm{};
	::gmtime_r(&t, &tm);
	char buf[32];
	std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
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

} // namespace

InstalledPatch install_patch(const LpLoadPaths &paths, const fs::path &ko, const std::string &name,
			     const std::string &sha256)
{
	auto bytes = read_file(ko, "patch", Kind::input);
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
	InstalledPatch p;
	p.name = name;
	p.sha256 = sha256;
	p.source = fs::absolute(ko, ec).string();
	p.installed_at = now_utc();
	p.generation = generation;
	p.ko = paths.installed_ko();
	// Durable: 'lp-load boot' applies this file after a crash or power loss.
	write_file_atomic(paths.installed_ko(), {std::span<const uint8_t>(bytes)}, 0600, Durability::durable);
	nlohmann::json rec = {{"name", p.name},
			      {"sha256", p.sha256},
			      {"source", p.source},
			      {"installed_at", p.installed_at},
			      {"generation", p.generation}};
	std::string text = rec.dump(2) + "\n";
	write_file_atomic(paths.installed_record(),
			  {std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(text.data()), text.size())}, 0600,
			  Durability::durable);
	return p;
}

bool uninstall_patch(const LpLoadPaths &paths)
{
	std::error_code ec1, ec2;
	bool a = fs::remove(paths.installed_ko(), ec1);
	bool b = fs::remove(paths.installed_record(), ec2);
	if (ec1 || ec2)
		throw Error("cannot uninstall from " + paths.var_dir().string(), (ec1 ? ec1 : ec2).message(),
			    "run lp-load as root", Kind::system);
	return a || b;
}

std::optional<InstalledPatch> installed_patch(const LpLoadPaths &paths)
{
	std::error_code ec;
	if (!fs::exists(paths.installed_ko(), ec))
		return std::nullopt;
	InstalledPatch p;
	p.ko = paths.installed_ko();
	std::optional<uint32_t> generation;
	if (auto text = read_text(paths.installed_record())) {
		auto j = nlohmann::json::parse(*text, nullptr, false);
		if (j.is_object()) {
			p.name = j.value("name", "");
			p.sha256 = j.value("sha256", "");
			p.source = j.value("source", "");
			p.installed_at = j.value("installed_at", "");
			generation = recorded_generation(j);
		}
	}
	if (!generation) {
		// Unreadable as a module: 0, and the pre-check of 'boot' says why.
		try {
			generation = module_generation(p.ko, read_file(p.ko, "installed patch", Kind::system));
		} catch (const Error &) {
			generation = 0;
		}
	}
	p.generation = *generation;
	return p;
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

nlohmann::json to_json(const InstalledPatch &p)
{
	return {{"name", p.name},
		{"sha256", p.sha256},
		{"source", p.source},
		{"installed_at", p.installed_at},
		{"generation", p.generation},
		{"path", p.ko.string()}};
}

} // namespace lpguard
