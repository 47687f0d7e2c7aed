// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/apply.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <sstream>

#include "lpguard/core/error.hpp"
#include "lpguard/core/json.hpp"
#include "lpguard/guest/lpguard_securityfs.hpp"

namespace lpguard {

namespace {

double ms(Clock::duration d)
{
	return std::chrono::duration<double, std::milli>(d).count();
}

std::string join(const std::vector<std::string> &v, const char *sep = ", ")
{
	std::string s;
	for (const auto &x : v)
		s += (s.empty() ? "" : sep) + x;
	return s;
}

std::string task_names(const std::vector<TaskState> &tasks, std::size_t max = 5)
{
	std::vector<std::string> names;
	for (std::size_t i = 0; i < tasks.size() && i < max; i++)
		names.push_back(tasks[i].comm + "[" + std::to_string(tasks[i].tid) + "]");
	std::string s = join(names);
	if (tasks.size() > max)
		s += " and " + std::to_string(tasks.size() - max) + " more";
	return s;
}

// rmmod one module, retrying while the kernel still holds it (EBUSY/EAGAIN
// while a patch is being freed, refcnt not yet 0).
RemovalFailure *remove_one(const LivepatchSysfs &sys, ModuleLoader &loader, const std::string &name,
			   Clock::duration timeout, const Backoff &backoff, CleanupReport &rep)
{
	const auto deadline = Clock::now() + timeout;
	BackoffSleeper sleeper(backoff);
	int last_err = 0;
	for (;;) {
		auto m = sys.module(name);
		if (!m) {
			rep.removed.push_back(name);
			return nullptr;
		}
		bool registered = sys.patch_exists(name);
		bool in_use = m->refcnt.value_or(0) > 0;
		if (!registered && !in_use) {
			last_err = loader.remove(name);
			if (last_err == 0 || last_err == ENOENT) {
				rep.removed.push_back(name);
				return nullptr;
			}
			if (last_err != EBUSY && last_err != EAGAIN && last_err != EWOULDBLOCK) {
				rep.failed.push_back({name, errno_name(last_err),
						      "rmmod failed: " + std::string(std::strerror(last_err))});
				return &rep.failed.back();
			}
		}
		if (Clock::now() >= deadline) {
			std::string why;
			if (registered)
				why = "still registered in /sys/kernel/livepatch";
			else if (in_use)
				why = "still in use (refcnt " + std::to_string(*m->refcnt) +
					(m->holders.empty() ? "" : ", held by " + join(m->holders)) + ")";
			else
				why = "rmmod keeps failing: " + std::string(std::strerror(last_err));
			rep.failed.push_back({name, last_err ? errno_name(last_err) : "", why});
			return &rep.failed.back();
		}
		sleeper.sleep_until_next(deadline);
	}
}

// "blocked by comm[tid], ..." for a message, from the tasks still pending.
std::string blockers_text(const std::vector<TaskState> &tasks)
{
	return tasks.empty() ? std::string("no task reported as pending") : "blocked by " + task_names(tasks);
}

std::string cleanup_line(const CleanupReport &c)
{
	std::vector<std::string> parts;
	for (const auto &f : c.failed)
		parts.push_back(f.module + ": " + f.reason);
	return join(parts, "; ");
}

} // namespace

std::vector<std::string> enabled_patches(const LivepatchSysfs &sys)
{
	std::vector<std::string> out;
	for (const auto &p : sys.patches())
		if (p.enabled)
			out.push_back(p.name);
	return out;
}

RevertResult revert_transition(const LivepatchSysfs &sys, ModuleLoader &loader, const std::string &name,
			       const WaitOptions &back, Clock::duration removal_timeout)
{
	RevertResult rv;
	try {
		sys.set_enabled(name, false);
	} catch (const Error &e) {
		// The transition may have finished between the last poll and the
		// write (with lpguard's lock on, the kernel then refuses the write
		// with EPERM: the patch is no longer the one in transition).
		if (sys.transition(name) == std::optional<bool>(false)) {
			rv.result = "completed";
			return rv;
		}
		rv.result = "write-failed";
		rv.detail = e.what();
		return rv;
	}
	auto rt = wait_transition(sys, name, back);
	if (rt.outcome == TransitionOutcome::timed_out) {
		rv.result = "still-running";
		rv.detail = std::to_string((int)ms(rt.elapsed));
		return rv;
	}
	rv.revert_ms = ms(rt.elapsed);
	CleanupReport gone;
	bool freed = wait_patch_gone(sys, name, removal_timeout, back.backoff);
	if (freed)
		remove_one(sys, loader, name, removal_timeout, back.backoff, gone);
	if (!freed || !gone.ok()) {
		rv.result = "not-removed";
		rv.detail = freed ? cleanup_line(gone) : "patch still registered";
		return rv;
	}
	rv.result = "reverted";
	return rv;
}

std::string revert_failure_text(const RevertResult &rv)
{
	if (rv.result == "write-failed")
		return " and reverting failed: " + rv.detail;
	if (rv.result == "still-running")
		return " and its revert is still running after " + rv.detail +
			" ms (watch 'lp-load status'; the kernel finishes it when the tasks move)";
	if (rv.result == "not-removed")
		return "; it was reverted but its module is still loaded: " + rv.detail +
			" (retry with 'lp-load disable')";
	return {};
}

CompletedReport finish_completed(const LivepatchSysfs &sys, ModuleLoader &loader, const std::string &name,
				 const std::vector<std::string> &before, Clock::duration removal_timeout,
				 const Backoff &backoff)
{
	CompletedReport c;
	// Atomic replace: the kernel unregisters the replaced patches
	// asynchronously once the transition is over.
	auto me = sys.patch(name);
	if (me && me->replace.value_or(false)) {
		for (const auto &old : before)
			if (old != name)
				wait_patch_gone(sys, old, removal_timeout, backoff);
	}
	for (const auto &old : before)
		if (old != name && !sys.patch_exists(old))
			c.replaced.push_back(old);
	c.cleanup = remove_leftovers(sys, loader, removal_timeout, backoff);
	return c;
}

CleanupReport remove_leftovers(const LivepatchSysfs &sys, ModuleLoader &loader, Clock::duration timeout,
			       const Backoff &backoff)
{
	CleanupReport rep;
	for (const auto &m : sys.leftovers())
		remove_one(sys, loader, m.name, timeout, backoff, rep);
	return rep;
}

ApplyReport apply_patch(const LivepatchSysfs &sys, ModuleLoader &loader, const ApplyRequest &req)
{
	ApplyReport r;
	r.patch = req.name;
	r.path = req.ko.string();
	r.sha256 = req.sha256;

	std::string log_before;
	auto refuse = [&](int err) {
		auto decision = (err == EPERM || err == EKEYREJECTED || err == EINVAL)
			? last_lpguard_decision(sys, req.name, req.sha256, log_before)
			: std::nullopt;
		r.refusal = explain_insert_error(err, req.name, decision);
		r.result = "refused";
		r.kind = Kind::refused;
		r.message = r.refusal->line(req.name);
		r.active_after = enabled_patches(sys);
		return r;
	};

	// The kernel would refuse these too, but only after loading the module.
	if (auto busy = sys.patch_in_transition()) {
		refuse(EBUSY);
		r.refusal->why = "livepatch " + *busy + " is still in transition";
		r.message = r.refusal->line(req.name);
		return r;
	}
	if (sys.module_loaded(req.name))
		return refuse(EEXIST);

	const auto before = enabled_patches(sys);
	log_before = read_lpguard_log(sys);

	if (req.before_insert)
		req.before_insert();
	int err = loader.insert(req.ko);
	if (err)
		return refuse(err);

	if (!sys.patch_exists(req.name)) {
		r.result = "failed";
		r.kind = Kind::system;
		r.message = "loaded " + req.name + " but it registered no livepatch in /sys/kernel/livepatch "
						   "(check dmesg; remove it with rmmod " +
			req.name + ")";
		r.active_after = enabled_patches(sys);
		return r;
	}

	auto t = wait_transition(sys, req.name, req.wait);

	if (t.outcome == TransitionOutcome::timed_out) {
		r.blocking = sys.pending_tasks(1, true);
		std::string blockers = blockers_text(r.blocking);
		WaitOptions back = req.wait;
		back.timeout = req.revert_timeout;
		auto rv = revert_transition(sys, loader, req.name, back, req.removal_timeout);
		r.revert_ms = rv.revert_ms;
		r.active_after = enabled_patches(sys);
		if (rv.result == "completed") {
			t.outcome = TransitionOutcome::completed;
			t.enabled = true;
		} else if (auto failure = revert_failure_text(rv); !failure.empty()) {
			r.result = "revert-failed";
			r.kind = Kind::revert_failed;
			r.message = "transition of " + req.name + " timed out (" + blockers + ")" + failure;
			return r;
		} else {
			r.result = "reverted";
			r.kind = Kind::reverted;
			r.message = "transition of " + req.name + " did not finish within " +
				std::to_string((int)ms(req.wait.timeout)) + " ms (" + blockers +
				"); reverted and removed it, " +
				(r.active_after.empty() ? std::string("kernel unpatched")
							: "active: " + join(r.active_after)) +
				" (retry when those tasks are idle, or raise --timeout)";
			return r;
		}
	}

	if (t.outcome == TransitionOutcome::vanished || !t.enabled) {
		r.result = "failed";
		r.kind = Kind::system;
		r.message = "livepatch " + req.name + " was disabled during its transition by someone else "
						      "(check 'lp-load status' and dmesg)";
		r.active_after = enabled_patches(sys);
		return r;
	}

	r.transition_ms = ms(t.elapsed);

	auto done = finish_completed(sys, loader, req.name, before, req.removal_timeout, req.wait.backoff);
	r.replaced = done.replaced;
	r.cleanup = done.cleanup;
	r.active_after = enabled_patches(sys);
	if (!r.cleanup.ok()) {
		r.result = "cleanup-failed";
		r.kind = Kind::cleanup;
		r.message = req.name + " is active, but replaced modules could not be removed: " +
			cleanup_line(r.cleanup) + " (remove them with 'lp-load list' then rmmod)";
		return r;
	}
	r.result = "applied";
	r.kind = Kind::ok;
	std::ostringstream msg;
	msg.precision(1);
	msg << std::fixed << req.name << " is active (transition " << *r.transition_ms << " ms";
	if (!r.replaced.empty())
		msg << ", replaced " << join(r.replaced);
	msg << ")";
	r.message = msg.str();
	return r;
}

DisableReport disable_patches(const LivepatchSysfs &sys, ModuleLoader &loader, const WaitOptions &wait,
			      Clock::duration revert_timeout, Clock::duration removal_timeout,
			      const std::function<void(const std::string &)> &before_disable)
{
	DisableReport r;
	if (auto busy = sys.patch_in_transition()) {
		r.result = "failed";
		r.kind = Kind::refused;
		r.message = "cannot disable: livepatch " + *busy +
			" is in transition (wait for it to finish ('lp-load status') and retry)";
		return r;
	}
	auto active = enabled_patches(sys);
	if (active.empty()) {
		r.cleanup = remove_leftovers(sys, loader, removal_timeout, wait.backoff);
		r.result = "none";
		r.kind = r.cleanup.ok() ? Kind::not_found : Kind::cleanup;
		r.message = r.cleanup.ok() ? "no active livepatch, nothing to disable"
					   : "no active livepatch; leftover modules could not be removed: " +
				cleanup_line(r.cleanup);
		return r;
	}
	for (const auto &name : active) {
		if (before_disable)
			before_disable(name);
		try {
			sys.set_enabled(name, false);
		} catch (const Error &e) {
			r.result = e.kind() == Kind::refused ? "refused" : "failed";
			r.kind = e.kind();
			r.message = e.what();
			return r;
		}
		auto t = wait_transition(sys, name, wait);
		if (t.outcome == TransitionOutcome::timed_out) {
			r.blocking = sys.pending_tasks(0, true);
			std::string blockers = blockers_text(r.blocking);
			// Reverse the disable: the patch stays active.
			WaitOptions back = wait;
			back.timeout = revert_timeout;
			bool reversed = false;
			try {
				sys.set_enabled(name, true);
				reversed = wait_transition(sys, name, back).outcome == TransitionOutcome::completed;
			} catch (const Error &) {
			}
			r.result = reversed ? "reverted" : "revert-failed";
			r.kind = reversed ? Kind::reverted : Kind::revert_failed;
			r.message = "disabling " + name + " did not finish within " +
				std::to_string((int)ms(wait.timeout)) + " ms (" + blockers + "); " +
				(reversed ? "re-enabled it, the patch stays active (retry when those tasks are idle)"
					  : "its re-enable did not finish either (watch 'lp-load status')");
			return r;
		}
		r.transition_ms = ms(t.elapsed);
		wait_patch_gone(sys, name, removal_timeout, wait.backoff);
		r.disabled.push_back(name);
	}
	r.cleanup = remove_leftovers(sys, loader, removal_timeout, wait.backoff);
	if (!r.cleanup.ok()) {
		r.result = "cleanup-failed";
		r.kind = Kind::cleanup;
		r.message = "disabled " + join(r.disabled) + ", but modules could not be removed: " +
			cleanup_line(r.cleanup);
		return r;
	}
	r.result = "disabled";
	r.kind = Kind::ok;
	r.message = "disabled and removed " + join(r.disabled) + "; kernel unpatched";
	return r;
}

nlohmann::json to_json(const TaskState &t)
{
	return {{"pid", t.pid}, {"tid", t.tid}, {"comm", json_text(t.comm)}, {"patch_state", t.patch_state}, {"stack", t.stack}};
}

nlohmann::json to_json(const CleanupReport &c)
{
	nlohmann::json failed = nlohmann::json::array();
	for (const auto &f : c.failed)
		failed.push_back({{"module", f.module},
				  {"errno", f.errno_name.empty() ? nlohmann::json(nullptr) : nlohmann::json(f.errno_name)},
				  {"reason", f.reason}});
	return {{"removed", c.removed}, {"failed", failed}};
}

static nlohmann::json tasks_json(const std::vector<TaskState> &tasks)
{
	nlohmann::json a = nlohmann::json::array();
	for (const auto &t : tasks)
		a.push_back(to_json(t));
	return a;
}

nlohmann::json to_json(const ApplyReport &r)
{
	nlohmann::json refusal = nullptr;
	if (r.refusal) {
		refusal = {{"errno", r.refusal->errno_name},
			   {"reason", r.refusal->why},
			   {"todo", r.refusal->todo},
			   {"lpguard", r.refusal->lpguard ? nlohmann::json{{"verdict", r.refusal->lpguard->verdict}, {"reason", json_text(r.refusal->lpguard->reason)}, {"line", json_text(r.refusal->lpguard->raw)}} : nlohmann::json(nullptr)}};
	}
	return {{"command", "apply"},
		{"result", r.result},
		{"message", r.message},
		{"patch", {{"name", r.patch}, {"path", r.path}, {"sha256", r.sha256}}},
		{"refusal", refusal},
		{"transition_ms", json_or_null(r.transition_ms)},
		{"revert_ms", json_or_null(r.revert_ms)},
		{"replaced", r.replaced},
		{"cleanup", to_json(r.cleanup)},
		{"blocking_tasks", tasks_json(r.blocking)},
		{"active", r.active_after}};
}

nlohmann::json to_json(const DisableReport &r)
{
	return {{"command", "disable"},
		{"result", r.result},
		{"message", r.message},
		{"disabled", r.disabled},
		{"transition_ms", json_or_null(r.transition_ms)},
		{"cleanup", to_json(r.cleanup)},
		{"blocking_tasks", tasks_json(r.blocking)}};
}

std::string format_blocking(const std::vector<TaskState> &tasks)
{
	if (tasks.empty())
		return "";
	std::string s = "tasks that kept the transition from finishing, with their kernel stacks:\n";
	for (const auto &t : tasks) {
		s += "  " + std::to_string(t.pid) + "/" + std::to_string(t.tid) + " " + t.comm + "\n";
		for (const auto &f : t.stack)
			s += "      " + f + "\n";
	}
	return s;
}

} // namespace lpguard
