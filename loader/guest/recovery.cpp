// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/recovery.hpp"

#include <algorithm>
#include <ctime>
#include <sstream>
#include <unistd.h>

#include "lpguard/core/io.hpp"
#include "lpguard/guest/boot_check.hpp"

namespace fs = std::filesystem;

namespace lpguard {

namespace {

double monotonic_now()
{
	timespec ts{};
	::clock_gettime(CLOCK_MONOTONIC, &ts);
	return double(ts.tv_sec) + double(ts.tv_nsec) / 1e9;
}

std::string join(const std::vector<std::string> &v)
{
	std::string s;
	for (const auto &x : v)
		s += (s.empty() ? "" : ", ") + x;
	return s;
}

std::string active_text(const std::vector<std::string> &active)
{
	return active.empty() ? std::string("kernel unpatched") : "active: " + join(active);
}

std::string blockers_text(const std::vector<TaskState> &tasks)
{
	if (tasks.empty())
		return "no task reported as pending";
	std::string s;
	std::size_t i = 0;
	for (; i < tasks.size() && i < 5; i++)
		s += (s.empty() ? "" : ", ") + tasks[i].comm + "[" + std::to_string(tasks[i].tid) + "]";
	if (tasks.size() > 5)
		s += " and " + std::to_string(tasks.size() - 5) + " more";
	return "blocked by " + s;
}

// 60 -> "60 s", 0.5 -> "0.5 s"
std::string seconds_text(double s)
{
	std::ostringstream o;
	o << s << " s";
	return o.str();
}

std::string cleanup_text(const CleanupReport &c)
{
	std::string s;
	for (const auto &f : c.failed)
		s += (s.empty() ? "" : "; ") + f.module + ": " + f.reason;
	return s;
}

} // namespace

InflightRecord new_inflight(const std::string &command, const std::string &patch, const std::string &sha256,
			    double timeout_s, double revert_timeout_s, std::optional<unsigned long> taint_before,
			    std::vector<std::string> before)
{
	InflightRecord r;
	r.command = command;
	r.patch = patch;
	r.sha256 = sha256;
	r.pid = int(::getpid());
	r.started_at = utc_now();
	r.started_monotonic = monotonic_now();
	r.timeout_s = timeout_s;
	r.revert_timeout_s = revert_timeout_s;
	r.taint_before = taint_before;
	r.before = std::move(before);
	return r;
}

nlohmann::json to_json(const InflightRecord &r)
{
	return {{"command", r.command},
		{"patch", r.patch},
		{"sha256", r.sha256},
		{"pid", r.pid},
		{"started_at", r.started_at},
		{"started_monotonic", r.started_monotonic},
		{"timeout_s", r.timeout_s},
		{"revert_timeout_s", r.revert_timeout_s},
		{"taint_before", r.taint_before ? nlohmann::json(*r.taint_before) : nlohmann::json(nullptr)},
		{"before", r.before}};
}

void write_inflight(const LpLoadPaths &paths, const InflightRecord &r)
{
	std::error_code ec;
	fs::create_directories(paths.run_dir(), ec);
	if (ec)
		throw Error("cannot create " + paths.run_dir().string(), ec.message(), "run lp-load as root", Kind::system);
	std::string text = to_json(r).dump(2) + "\n";
	// /run is a tmpfs: nothing to sync, and it is gone after a reboot.
	write_file_atomic(paths.inflight(),
			  {std::span<const uint8_t>(reinterpret_cast<const uint8_t *>(text.data()), text.size())}, 0600,
			  Durability::volatile_);
}

void clear_inflight(const LpLoadPaths &paths)
{
	remove_file(paths.inflight(), Durability::volatile_);
}

std::optional<InflightRecord> read_inflight(const LpLoadPaths &paths)
{
	auto text = read_text(paths.inflight());
	if (!text)
		return std::nullopt;
	auto j = nlohmann::json::parse(*text, nullptr, false);
	InflightRecord r;
	if (!j.is_object() || !j.contains("patch") || !j["patch"].is_string()) {
		// Unreadable: still a record, of an unknown patch (cleared by recovery).
		r.command = "apply";
		return r;
	}
	r.command = j.value("command", "apply");
	r.patch = j["patch"].get<std::string>();
	r.sha256 = j.value("sha256", "");
	r.pid = j.value("pid", 0);
	r.started_at = j.value("started_at", "");
	r.started_monotonic = j.value("started_monotonic", 0.0);
	r.timeout_s = j.value("timeout_s", 60.0);
	r.revert_timeout_s = j.value("revert_timeout_s", 60.0);
	if (j.contains("taint_before") && j["taint_before"].is_number_unsigned())
		r.taint_before = j["taint_before"].get<unsigned long>();
	if (j.contains("before") && j["before"].is_array())
		for (const auto &b : j["before"])
			if (b.is_string())
				r.before.push_back(b.get<std::string>());
	return r;
}

std::optional<RecoveryReport> recover_transition(const LivepatchSysfs &sys, ModuleLoader &loader,
						 const LpLoadPaths &paths, const RecoveryOptions &opts)
{
	auto rec = read_inflight(paths);
	if (!rec)
		return std::nullopt;
	RecoveryReport r;
	r.found = *rec;
	const std::string &name = rec->patch;
	const std::string prefix = "found " + (name.empty() ? std::string("a") : name + "'s") +
		" transition left by lp-load pid " + std::to_string(rec->pid) + " (killed?): ";
	auto done = [&](const std::string &outcome, Kind kind, const std::string &text) {
		r.outcome = outcome;
		r.kind = kind;
		r.message = prefix + text;
		r.active_after = enabled_patches(sys);
		clear_inflight(paths);
		return r;
	};
	if (name.empty())
		return done("ended", Kind::ok, "its record is unreadable; removed it");

	WaitOptions w;
	w.backoff = opts.backoff;
	w.progress = opts.progress;
	auto rest_of = [&](double total) { return seconds(std::max(0.0, rec->started_monotonic + total - monotonic_now())); };

	auto st = sys.patch(name);
	// A forward transition: what is left of its timeout, then revert as apply does.
	if (st && st->transition && st->enabled && !rec->disables()) {
		w.timeout = rest_of(rec->timeout_s);
		auto t = wait_transition(sys, name, w);
		if (t.outcome == TransitionOutcome::timed_out) {
			r.blocking = sys.pending_tasks(1, true);
			std::string blockers = blockers_text(r.blocking);
			WaitOptions back = w;
			back.timeout = seconds(rec->revert_timeout_s);
			auto rv = revert_transition(sys, loader, name, back, opts.removal_timeout);
			std::string timed_out =
				"it did not finish within its " + seconds_text(rec->timeout_s) + " (" + blockers + ")";
			if (rv.result == "reverted")
				return done("reverted", Kind::reverted,
					    timed_out + "; reverted and removed " + name + ", " +
						    active_text(enabled_patches(sys)));
			if (auto failure = revert_failure_text(rv); !failure.empty())
				return done("revert-failed", Kind::revert_failed, timed_out + failure);
			// "completed": it ended between the last poll and the write.
		}
		st = sys.patch(name);
	}
	// An unpatch transition (a revert, a disable) or the reversal of a
	// disable at its timeout.
	if (st && st->transition) {
		bool disabling = rec->disables() && !st->enabled;
		w.timeout = disabling ? rest_of(rec->timeout_s) : seconds(rec->revert_timeout_s);
		auto t = wait_transition(sys, name, w);
		if (t.outcome == TransitionOutcome::timed_out) {
			r.blocking = sys.pending_tasks(st->enabled ? 1 : 0, true);
			std::string blockers = blockers_text(r.blocking);
			if (disabling) {
				// As disable does at its timeout: reverse it, the patch stays active.
				WaitOptions back = w;
				back.timeout = seconds(rec->revert_timeout_s);
				bool reversed = false;
				try {
					sys.set_enabled(name, true);
					reversed = wait_transition(sys, name, back).outcome == TransitionOutcome::completed;
				} catch (const Error &) {
				}
				if (reversed)
					return done("re-enabled", Kind::reverted,
						    "disabling it did not finish within its " + seconds_text(rec->timeout_s) +
							    " (" + blockers +
							    "); re-enabled it, the patch stays active (retry when those "
							    "tasks are idle)");
				return done("revert-failed", Kind::revert_failed,
					    "disabling it did not finish within its " + seconds_text(rec->timeout_s) + " (" +
						    blockers +
						    ") and its re-enable did not finish either (watch 'lp-load status')");
			}
			return done("revert-failed", Kind::revert_failed,
				    "its reverse transition is still running (" + blockers +
					    ") (watch 'lp-load status'; the kernel finishes it when the tasks move)");
		}
		st = sys.patch(name);
	}
	// No transition any more.
	if (st && st->enabled) {
		if (rec->disables())
			return done("re-enabled", Kind::reverted, "the disable did not take effect: " + name + " is still active");
		auto c = finish_completed(sys, loader, name, rec->before, opts.removal_timeout, opts.backoff);
		r.cleanup = c.cleanup;
		r.mark = check_taint_after_apply(paths, sys, rec->sha256, name, rec->taint_before, rec->command,
						 rec->started_at);
		std::string text = "it completed: " + name + " is active" +
			(c.replaced.empty() ? std::string() : " (replaced " + join(c.replaced) + ")");
		if (r.mark)
			text += "; marked it bad: " + r.mark->reason;
		if (!c.cleanup.ok())
			return done("cleanup-failed", Kind::cleanup,
				    text + ", but modules could not be removed: " + cleanup_text(c.cleanup) +
					    " (remove them with 'lp-load list' then rmmod)");
		return done("completed", Kind::ok, text);
	}
	// Disabled (being freed) or gone.
	if (st || sys.patch_exists(name))
		wait_patch_gone(sys, name, opts.removal_timeout, opts.backoff);
	r.cleanup = remove_leftovers(sys, loader, opts.removal_timeout, opts.backoff);
	bool removed = std::find(r.cleanup.removed.begin(), r.cleanup.removed.end(), name) != r.cleanup.removed.end();
	if (!r.cleanup.ok())
		return done("cleanup-failed", Kind::cleanup,
			    "it ended with " + name + " disabled, but modules could not be removed: " +
				    cleanup_text(r.cleanup) + " (remove them with 'lp-load list' then rmmod)");
	if (rec->disables())
		return done("disabled", Kind::ok,
			    "it completed: disabled and removed " + name + ", " + active_text(enabled_patches(sys)));
	if (removed)
		return done("reverted", Kind::reverted,
			    "it had been reverted: removed " + name + ", " + active_text(enabled_patches(sys)));
	return done("not-started", Kind::ok, name + " is not loaded: nothing to finish");
}

nlohmann::json to_json(const RecoveryReport &r)
{
	nlohmann::json tasks = nlohmann::json::array();
	for (const auto &t : r.blocking)
		tasks.push_back(to_json(t));
	return {{"found", to_json(r.found)},
		{"outcome", r.outcome},
		{"message", r.message},
		{"cleanup", to_json(r.cleanup)},
		{"blocking_tasks", tasks},
		{"active", r.active_after},
		{"mark", r.mark ? to_json(*r.mark) : nlohmann::json(nullptr)}};
}

} // namespace lpguard
