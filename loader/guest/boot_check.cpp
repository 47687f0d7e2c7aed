// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/boot_check.hpp"

#include "lpguard/core/io.hpp"

namespace fs = std::filesystem;

namespace lpguard {

std::optional<BootAttempt> read_boot_attempt(const LpLoadPaths &paths)
{
	auto text = read_text(paths.boot_attempt());
	if (!text)
		return std::nullopt;
	auto j = nlohmann::json::parse(*text, nullptr, false);
	if (!j.is_object() || !j.contains("sha256") || !j["sha256"].is_string())
		return std::nullopt;
	BootAttempt a;
	a.sha256 = j["sha256"].get<std::string>();
	a.name = j.value("name", "");
	a.boot_id = j.value("boot_id", "");
	a.started_at = j.value("started_at", "");
	if (j.contains("taint_before") && j["taint_before"].is_number_unsigned())
		a.taint_before = j["taint_before"].get<unsigned long>();
	return a;
}

void record_boot_attempt(const LpLoadPaths &paths, const BootAttempt &a)
{
	std::error_code ec;
	fs::create_directories(paths.var_dir(), ec);
	nlohmann::json j = {{"sha256", a.sha256},
			    {"name", a.name},
			    {"boot_id", a.boot_id},
			    {"started_at", a.started_at},
			    {"taint_before", a.taint_before ? nlohmann::json(*a.taint_before) : nlohmann::json(nullptr)}};
	std::string text = j.dump(2) + "\n";
	// Durable: the next boot must find it if this one never gets to boot-ok.
	write_file_atomic(paths.boot_attempt(),
			  {std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(text.data()), text.size())}, 0600,
			  Durability::durable);
}

void clear_boot_attempt(const LpLoadPaths &paths)
{
	remove_file(paths.boot_attempt(), Durability::durable);
}

std::string new_bad_taint(unsigned long before, unsigned long after)
{
	unsigned long gained = after & ~before;
	std::string die = (gained & kTaintDie) ? "an oops or BUG (taint D)" : "";
	std::string warn = (gained & kTaintWarn) ? "a warning (taint W)" : "";
	if (!die.empty() && !warn.empty())
		return die + " and " + warn;
	return die + warn;
}

std::string unconfirmed_boot_reason(const BootAttempt &a)
{
	return "the boot of " + a.started_at + " after applying it did not reach multi-user.target";
}

std::optional<PatchMark> judge_earlier_boot(const LpLoadPaths &paths, const LivepatchSysfs &sys)
{
	auto a = read_boot_attempt(paths);
	std::string now = sys.boot_id();
	if (!a || now.empty() || a->boot_id == now)
		return std::nullopt;
	auto m = mark_patch_bad(paths, a->sha256, a->name, unconfirmed_boot_reason(*a));
	clear_boot_attempt(paths);
	return m;
}

std::optional<PatchMark> check_taint_after_apply(const LpLoadPaths &paths, const LivepatchSysfs &sys,
						 const std::string &sha256, const std::string &name,
						 std::optional<unsigned long> taint_before, const std::string &command,
						 const std::string &started_at)
{
	auto after = sys.kernel_taint();
	if (!taint_before || !after || sha256.empty())
		return std::nullopt;
	std::string what = new_bad_taint(*taint_before, *after);
	if (what.empty())
		return std::nullopt;
	std::string reason = "the kernel reported " + what + " while lp-load " + command + " applied it at " + started_at;
	try {
		return mark_patch_bad(paths, sha256, name, reason);
	} catch (const Error &e) {
		// The apply itself succeeded: say it, without the mark (a
		// read-only /var/lib/lp-load, a full disk).
		return PatchMark{sha256, name, reason + " (the mark could not be recorded: " + e.why() + ")", ""};
	}
}

BootOkReport confirm_boot(const LpLoadPaths &paths, const LivepatchSysfs &sys)
{
	BootOkReport r;
	r.attempt = read_boot_attempt(paths);
	if (!r.attempt) {
		r.result = "none";
		r.message = "no boot attempt to confirm: lp-load boot applied no patch in this boot";
		return r;
	}
	const auto &a = *r.attempt;
	const std::string todo = "lp-load boot will not apply it again; see the kernel log, and install a fixed "
				 "patch with lp-load install";
	std::string now = sys.boot_id();
	if (!now.empty() && a.boot_id != now) {
		// lp-load boot did not run in this boot (lp_load.enable=0): the
		// earlier boot never got here.
		r.mark = judge_earlier_boot(paths, sys);
	} else {
		auto taint = sys.kernel_taint();
		std::string what = a.taint_before && taint ? new_bad_taint(*a.taint_before, *taint) : "";
		if (!what.empty())
			r.mark = mark_patch_bad(paths, a.sha256, a.name,
						"the kernel reported " + what + " after lp-load boot applied it at " +
							a.started_at);
		clear_boot_attempt(paths);
	}
	if (r.mark) {
		r.result = "marked-bad";
		r.kind = Kind::marked_bad;
		r.message = "marked " + a.name + " bad: " + r.mark->reason + " (" + todo + ")";
		return r;
	}
	r.result = "confirmed";
	r.message = "confirmed " + a.name + ": this boot reached multi-user.target with no oops, BUG or warning "
					    "(taint D or W) since lp-load boot applied it at " +
		a.started_at;
	return r;
}

Error marked_bad_error(const InstalledPatch &p)
{
	return Error("not applying " + p.name + " (" + p.ko.string() + ")",
		     "it is marked bad: " + (p.marked_bad ? p.marked_bad->reason : std::string("unknown reason")),
		     "install a fixed patch with lp-load install, or lp-load install --clear-mark PATCH.ko if the "
		     "mark is wrong",
		     Kind::marked_bad)
		.path_named();
}

BootPlan plan_boot(const LpLoadPaths &paths, const LivepatchSysfs &sys, bool expect_boot_ok)
{
	BootPlan plan;
	auto say = [&](const std::string &result, const std::string &message) {
		plan.result = result;
		plan.message = message;
		return plan;
	};
	if (!boot_apply_enabled(sys.kernel_cmdline()))
		return say("skipped", "lp_load.enable=0 on the kernel command line: not applying the installed patch");
	// An earlier boot that applied a patch and never got to boot-ok.
	judge_earlier_boot(paths, sys);
	plan.installed = installed_patch(paths);
	if (!plan.installed)
		return say("none", "no patch installed");
	const auto &inst = *plan.installed;
	try {
		check_installed_generation(inst); // an older file than the record
		check_installed_file(inst);	  // changed or removed since it was installed
		if (inst.marked_bad)
			throw marked_bad_error(inst);
	} catch (const Error &e) {
		plan.kind = e.kind();
		return say(e.kind() == Kind::marked_bad ? "marked-bad" : "refused", e.what());
	}
	const std::string boot_id = sys.boot_id();
	auto attempt = read_boot_attempt(paths);
	auto record_attempt = [&] {
		if (!expect_boot_ok || boot_id.empty() || (attempt && attempt->boot_id == boot_id))
			return;
		record_boot_attempt(paths, {inst.file_sha256, inst.name, boot_id, utc_now(), sys.kernel_taint()});
		plan.attempt_recorded = true;
	};
	if (!inst.name.empty()) {
		auto p = sys.patch(inst.name);
		if (p && p->enabled && !p->transition) {
			// Applied earlier in this boot (the initramfs): boot-ok
			// still judges this boot.
			record_attempt();
			return say("already-active", inst.name + " is already active");
		}
	}
	record_attempt();
	plan.result = "apply";
	return plan;
}

void finish_boot(const LpLoadPaths &paths, const BootPlan &plan, Kind apply_kind, bool marked_by_apply)
{
	bool on = apply_kind == Kind::ok || apply_kind == Kind::cleanup || apply_kind == Kind::revert_failed;
	if (plan.attempt_recorded && (!on || marked_by_apply))
		clear_boot_attempt(paths);
}

nlohmann::json to_json(const BootAttempt &a, const std::string &current_boot_id)
{
	return {{"sha256", a.sha256},
		{"name", a.name},
		{"boot_id", a.boot_id},
		{"this_boot", !current_boot_id.empty() && a.boot_id == current_boot_id},
		{"started_at", a.started_at},
		{"taint_before", a.taint_before ? nlohmann::json(*a.taint_before) : nlohmann::json(nullptr)}};
}

nlohmann::json to_json(const BootOkReport &r, const std::string &current_boot_id)
{
	return {{"command", "boot-ok"},
		{"result", r.result},
		{"message", r.message},
		{"attempt", r.attempt ? to_json(*r.attempt, current_boot_id) : nlohmann::json(nullptr)},
		{"mark", r.mark ? to_json(*r.mark) : nlohmann::json(nullptr)}};
}

} // namespace lpguard
