// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/status.hpp"

#include <algorithm>
#include <map>
#include <sstream>

#include "lpguard/core/json.hpp"
#include "lpguard/core/text.hpp"
#include "lpguard/guest/boot_check.hpp"

namespace lpguard {

std::vector<ListedModule> list_livepatches(const LivepatchSysfs &sys)
{
	std::map<std::string, ListedModule> by_name;
	for (const auto &m : sys.livepatch_modules()) {
		ListedModule l;
		l.name = m.name;
		l.refcnt = m.refcnt;
		if (m.initstate == "coming")
			l.state = "loading";
		else if (m.initstate == "going")
			l.state = "unloading";
		else
			l.state = "leftover";
		by_name[m.name] = l;
	}
	for (const auto &p : sys.patches()) {
		auto &l = by_name[p.name];
		l.name = p.name;
		l.replace = p.replace;
		if (p.transition)
			l.state = "in-transition";
		else
			l.state = p.enabled ? "active" : "disabling";
	}
	std::vector<ListedModule> out;
	for (auto &[_, l] : by_name)
		out.push_back(std::move(l));
	return out;
}

nlohmann::json list_json(const LivepatchSysfs &sys)
{
	nlohmann::json mods = nlohmann::json::array();
	for (const auto &l : list_livepatches(sys))
		mods.push_back({{"name", l.name}, {"state", l.state}, {"refcnt", json_or_null(l.refcnt)}, {"replace", json_or_null(l.replace)}});
	return {{"command", "list"}, {"modules", mods}};
}

static nlohmann::json decision_json(const LpguardDecision &d)
{
	return {{"time", d.time},
		{"module", json_text(d.module)},
		{"sha256", d.sha256},
		{"signer", json_text(d.signer)},
		{"verdict", d.verdict},
		{"reason", json_text(d.reason)}};
}

namespace {

// One reading of lpguard's files serves the JSON and the text.
nlohmann::json status_json_with(const LivepatchSysfs &sys, const LpLoadPaths &paths, const LpguardStatus &lg)
{
	nlohmann::json patches = nlohmann::json::array();
	nlohmann::json active = nullptr;
	for (const auto &p : sys.patches()) {
		nlohmann::json objs = nlohmann::json::array();
		std::size_t nfuncs = 0;
		for (const auto &o : p.objects) {
			objs.push_back({{"name", o.name}, {"patched", json_or_null(o.patched)}, {"functions", o.functions}});
			nfuncs += o.functions.size();
		}
		nlohmann::json pj = {{"name", p.name}, {"enabled", p.enabled}, {"transition", p.transition}, {"replace", json_or_null(p.replace)}, {"objects", objs}};
		if (p.enabled && !p.transition && active.is_null())
			active = p.name;
		patches.push_back(pj);
	}
	auto tr = sys.patch_in_transition();
	nlohmann::json transition = nullptr;
	if (tr) {
		auto p = sys.patch(*tr);
		int target = p && p->enabled ? 1 : 0;
		transition = {{"patch", *tr},
			      {"target", target ? "patched" : "unpatched"},
			      {"pending_tasks", sys.pending_tasks(target).size()}};
	}
	nlohmann::json leftovers = nlohmann::json::array();
	for (const auto &m : sys.leftovers())
		leftovers.push_back(m.name);

	nlohmann::json lpguard = nullptr;
	if (lg.present) {
		nlohmann::json fields = nlohmann::json::object();
		for (const auto &[k, v] : lg.fields) {
			// Repeated keys ("key: ..." once per certificate) become arrays.
			if (!fields.contains(k))
				fields[k] = v;
			else if (fields[k].is_array())
				fields[k].push_back(v);
			else
				fields[k] = nlohmann::json::array({fields[k], v});
		}
		nlohmann::json recent = nlohmann::json::array();
		for (const auto &d : lg.recent)
			recent.push_back(decision_json(d));
		lpguard = {{"status", fields}, {"lines", lg.other_lines}, {"recent_decisions", recent}};
	}
	auto taint = sys.kernel_taint();
	auto inst = installed_patch(paths);
	auto attempt = read_boot_attempt(paths);
	return {{"command", "status"},
		{"kernel_release", sys.kernel_release()},
		{"active", active},
		{"patches", patches},
		{"transition", transition},
		{"leftovers", leftovers},
		{"lpguard", lpguard},
		{"taint", {{"value", taint ? nlohmann::json(*taint) : nlohmann::json(nullptr)}, {"flags", describe_taint(taint.value_or(0))}}},
		{"installed", inst ? to_json(*inst) : nlohmann::json(nullptr)},
		{"boot_apply", boot_apply_enabled(sys.kernel_cmdline())},
		{"boot_attempt", attempt ? to_json(*attempt, sys.boot_id()) : nlohmann::json(nullptr)}};
}

} // namespace

nlohmann::json status_json(const LivepatchSysfs &sys, const LpLoadPaths &paths)
{
	return status_json_with(sys, paths, read_lpguard_status(sys));
}

std::string list_text(const LivepatchSysfs &sys)
{
	auto mods = list_livepatches(sys);
	if (mods.empty())
		return "no livepatch modules loaded\n";
	std::ostringstream out;
	for (const auto &l : mods) {
		out << l.name << "\t" << l.state;
		if (l.refcnt)
			out << "\trefcnt " << *l.refcnt;
		out << "\n";
	}
	return out.str();
}

std::string status_text(const LivepatchSysfs &sys, const LpLoadPaths &paths)
{
	auto lg = read_lpguard_status(sys);
	auto j = status_json_with(sys, paths, lg);
	std::ostringstream out;
	out << "kernel:      " << j["kernel_release"].get<std::string>() << "\n";
	out << "active:      " << (j["active"].is_null() ? std::string("none (kernel unpatched)") : j["active"].get<std::string>())
	    << "\n";
	for (const auto &p : j["patches"]) {
		out << "  " << p["name"].get<std::string>() << ": enabled " << p["enabled"] << ", transition "
		    << p["transition"] << ", replace " << p["replace"] << "\n";
		for (const auto &o : p["objects"])
			for (const auto &f : o["functions"])
				out << "    " << o["name"].get<std::string>() << ": " << f.get<std::string>() << "\n";
	}
	if (!j["transition"].is_null())
		out << "transition:  " << j["transition"]["patch"].get<std::string>() << " → "
		    << j["transition"]["target"].get<std::string>() << ", " << j["transition"]["pending_tasks"]
		    << " tasks pending\n";
	else
		out << "transition:  none\n";
	if (!j["leftovers"].empty()) {
		out << "leftovers:  ";
		for (const auto &l : j["leftovers"])
			out << " " << l.get<std::string>();
		out << " (loaded but not enabled: remove with rmmod)\n";
	}
	if (j["lpguard"].is_null()) {
		out << "lpguard:     not present (no /sys/kernel/security/lpguard)\n";
	} else {
		out << "lpguard:\n";
		for (const auto &[k, v] : j["lpguard"]["status"].items()) {
			if (v.is_array())
				for (const auto &e : v)
					out << "  " << printable(k) << ": " << printable(e.get<std::string>()) << "\n";
			else
				out << "  " << printable(k) << ": " << printable(v.get<std::string>()) << "\n";
		}
		for (const auto &l : lg.other_lines)
			out << "  " << printable(l) << "\n";
		// Names and reasons come from lpguard's log, decoded: printed with
		// \xHH for every byte a terminal would not show as itself.
		for (const auto &d : lg.recent)
			out << "  decision: " << printable(d.module) << " " << printable(d.verdict)
			    << (d.reason.empty() ? "" : ": " + printable(d.reason)) << "\n";
	}
	out << "taint:       ";
	if (j["taint"]["value"].is_null())
		out << "unknown\n";
	else {
		out << j["taint"]["value"];
		for (const auto &f : j["taint"]["flags"])
			out << ", " << f.get<std::string>();
		out << "\n";
	}
	const auto &in = j["installed"];
	out << "installed:   "
	    << (in.is_null() ? std::string("none")
			     : in["name"].get<std::string>() + " (" + in["path"].get<std::string>() + "), generation " +
				std::to_string(in["generation"].get<uint32_t>()))
	    << (j["boot_apply"].get<bool>() ? "" : ", boot apply disabled by lp_load.enable=0");
	if (!in.is_null() && !in["problem"].is_null())
		out << " (does not match its record: " << in["problem"].get<std::string>() << ")";
	if (!in.is_null() && !in["marked_bad"].is_null())
		out << " (marked bad: " << in["marked_bad"]["reason"].get<std::string>() << ")";
	out << "\n";
	if (const auto &a = j["boot_attempt"]; !a.is_null())
		out << "boot check:  " << printable(a["name"].get<std::string>()) << " applied by lp-load boot at "
		    << a["started_at"].get<std::string>()
		    << (a["this_boot"].get<bool>() ? ", not yet confirmed by lp-load boot-ok"
						   : " in an earlier boot that never confirmed it (the next lp-load "
						     "boot marks it bad)")
		    << "\n";
	return out.str();
}

} // namespace lpguard
