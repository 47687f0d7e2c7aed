// SPDX-License-Identifier: GPL-2.0
// A fake /sys and /proc tree in a temporary directory, and a fake kernel
// that behaves like the livepatch core behind it: insert registers the
// patch and starts a transition, a simulator thread finishes (or stalls)
// it, reverses it when 'enabled' is written to 0, frees replaced patches
// asynchronously and drops their refcount a little later, and rmmod fails
// with EBUSY while the module is registered or referenced.
#pragma once

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "lpguard/guest/kmod_loader.hpp"
#include "lpguard/guest/livepatch_sysfs.hpp"

namespace fakesys {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// Writes atomically (temp file + rename) so that a concurrent reader never
// sees a half-written sysfs attribute.
inline void put(const fs::path &p, const std::string &content)
{
	fs::create_directories(p.parent_path());
	fs::path tmp = p;
	tmp += ".tmp";
	{
		std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
		out << content;
	}
	fs::rename(tmp, p);
}

inline std::string get(const fs::path &p)
{
	std::ifstream in(p, std::ios::binary);
	std::string s((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
	return s;
}

class FakeTree {
public:
	FakeTree()
	{
		std::string tmpl = (fs::temp_directory_path() / "lpload-fakesys-XXXXXX").string();
		if (!::mkdtemp(tmpl.data()))
			throw std::runtime_error("mkdtemp failed");
		root = tmpl;
		fs::create_directories(root / "sys/kernel/livepatch");
		fs::create_directories(root / "sys/module");
		fs::create_directories(root / "proc");
		fs::create_directories(root / "run");
		put(root / "proc/sys/kernel/osrelease", "6.12.0-test\n");
		put(root / "proc/sys/kernel/tainted", "0\n");
		put(root / "proc/cmdline", "console=ttyS0 root=/dev/vda\n");
		put(root / "proc/sys/kernel/random/boot_id", "0f0e0d0c-0b0a-4908-8706-050403020100\n");
		// A built-in "module": a /sys/module directory without initstate.
		put(root / "sys/module/printk/parameters/time", "Y\n");
	}
	~FakeTree()
	{
		std::error_code ec;
		fs::remove_all(root, ec);
	}
	FakeTree(const FakeTree &) = delete;
	FakeTree &operator=(const FakeTree &) = delete;

	lpguard::LivepatchSysfs sys() const { return lpguard::LivepatchSysfs(root); }

	void add_task(int pid, int tid, const std::string &comm, int patch_state,
		      const std::vector<std::string> &stack = {})
	{
		fs::path t = root / "proc" / std::to_string(pid) / "task" / std::to_string(tid);
		put(t / "comm", comm + "\n");
		put(t / "patch_state", std::to_string(patch_state) + "\n");
		std::string s;
		for (const auto &f : stack)
			s += f + "\n";
		put(t / "stack", s);
	}
	void set_task_state(int pid, int tid, int patch_state)
	{
		put(root / "proc" / std::to_string(pid) / "task" / std::to_string(tid) / "patch_state",
		    std::to_string(patch_state) + "\n");
	}
	std::vector<std::pair<int, int>> tasks() const
	{
		std::vector<std::pair<int, int>> out;
		for (const auto &p : fs::directory_iterator(root / "proc")) {
			std::string pid = p.path().filename().string();
			if (pid.find_first_not_of("0123456789") != std::string::npos || !fs::is_directory(p.path() / "task"))
				continue;
			for (const auto &t : fs::directory_iterator(p.path() / "task"))
				out.emplace_back(std::stoi(pid), std::stoi(t.path().filename().string()));
		}
		return out;
	}

	void add_module(const std::string &name, int refcnt, const std::string &taint,
			const std::vector<std::string> &holders = {})
	{
		fs::path m = root / "sys/module" / name;
		put(m / "initstate", "live\n");
		put(m / "refcnt", std::to_string(refcnt) + "\n");
		put(m / "taint", taint + "\n");
		fs::create_directories(m / "holders");
		for (const auto &h : holders)
			fs::create_directory_symlink("../../" + h, m / "holders" / h);
	}
	void set_refcnt(const std::string &name, int refcnt)
	{
		put(root / "sys/module" / name / "refcnt", std::to_string(refcnt) + "\n");
	}

	void add_patch(const std::string &name, bool enabled, bool transition, bool replace,
		       const std::vector<std::string> &functions = {"cmdline_proc_show,1"})
	{
		fs::path p = root / "sys/kernel/livepatch" / name;
		put(p / "enabled", enabled ? "1\n" : "0\n");
		put(p / "transition", transition ? "1\n" : "0\n");
		put(p / "replace", replace ? "1\n" : "0\n");
		put(p / "force", "");
		put(p / "vmlinux/patched", "1\n");
		for (const auto &f : functions)
			fs::create_directories(p / "vmlinux" / f);
	}
	// An active livepatch with its module (refcnt 1: the patch holds it).
	void add_active_patch(const std::string &name, bool replace = true)
	{
		add_module(name, 1, "OK");
		add_patch(name, true, false, replace);
	}

	void lpguard_log(const std::string &lines) { put(root / "sys/kernel/security/lpguard/log", lines); }

	fs::path root;
};

struct PatchSpec {
	Clock::duration transition = 30ms; // forward transition length
	bool stall = false;		   // forward transition never finishes
	Clock::duration revert = 5ms;	   // reverse transition / disable length
	bool stall_revert = false;	   // reverse transition never finishes
	bool replace = true;
	int insert_errno = 0;	   // refuse the insert with this errno
	std::string lpguard_log{}; // appended to the lpguard log on refusal
	bool registers = true;	   // the module registers a livepatch
	std::set<int> blockers{};  // tids that stay unpatched during the transition
};

class FakeKernel final : public lpguard::ModuleLoader {
public:
	explicit FakeKernel(FakeTree &tree) : tree_(tree), thread_([this] { run(); }) {}
	~FakeKernel() override
	{
		stop_ = true;
		thread_.join();
	}

	void on(const std::string &name, PatchSpec spec)
	{
		std::lock_guard<std::mutex> g(mu_);
		specs_[name] = std::move(spec);
	}

	int insert(const fs::path &ko) override
	{
		std::lock_guard<std::mutex> g(mu_);
		std::string name = ko.stem().string();
		inserted.push_back(name);
		PatchSpec spec = specs_.count(name) ? specs_[name] : PatchSpec{};
		if (spec.insert_errno) {
			if (!spec.lpguard_log.empty()) {
				fs::path log = tree_.root / "sys/kernel/security/lpguard/log";
				put(log, get(log) + spec.lpguard_log);
			}
			return spec.insert_errno;
		}
		if (fs::exists(tree_.root / "sys/module" / name / "initstate"))
			return EEXIST;
		if (!spec.registers) {
			tree_.add_module(name, 0, "OK");
			return 0;
		}
		for (const auto &p : fs::directory_iterator(tree_.root / "sys/kernel/livepatch"))
			if (get(p.path() / "transition") == "1\n")
				return EBUSY;
		tree_.add_module(name, 1, "OK");
		tree_.add_patch(name, true, true, spec.replace);
		for (auto [pid, tid] : tree_.tasks())
			tree_.set_task_state(pid, tid, spec.blockers.count(tid) ? 0 : 1);
		State st;
		st.spec = spec;
		st.phase = Phase::forward;
		st.until = Clock::now() + spec.transition;
		state_[name] = st;
		return 0;
	}

	int remove(const std::string &name) override
	{
		std::lock_guard<std::mutex> g(mu_);
		remove_calls.push_back(name);
		fs::path m = tree_.root / "sys/module" / name;
		if (!fs::exists(m / "initstate"))
			return ENOENT;
		if (fs::exists(tree_.root / "sys/kernel/livepatch" / name) || get(m / "refcnt") != "0\n")
			return EBUSY;
		fs::remove_all(m);
		removed.push_back(name);
		return 0;
	}

	// When the simulator ended the forward transition of name.
	std::optional<Clock::time_point> transition_end(const std::string &name)
	{
		std::lock_guard<std::mutex> g(mu_);
		auto it = state_.find(name);
		if (it == state_.end() || !it->second.ended)
			return std::nullopt;
		return it->second.ended;
	}

	std::vector<std::string> inserted, removed, remove_calls;

private:
	enum class Phase { forward,
			   active,
			   reverse,
			   freeing,
			   gone };
	struct State {
		PatchSpec spec;
		Phase phase = Phase::active;
		Clock::time_point until{};
		std::optional<Clock::time_point> ended;
	};

	fs::path pdir(const std::string &n) const { return tree_.root / "sys/kernel/livepatch" / n; }

	void set_all_tasks(int state)
	{
		for (auto [pid, tid] : tree_.tasks())
			tree_.set_task_state(pid, tid, state);
	}

	static void start_freeing(State &st, Clock::time_point now)
	{
		st.phase = Phase::freeing;
		st.until = now + 2ms;
	}

	void tick()
	{
		std::lock_guard<std::mutex> g(mu_);
		auto now = Clock::now();
		// Patches registered before the fake kernel started are active.
		for (const auto &p : fs::directory_iterator(pdir("")))
			if (!state_.count(p.path().filename().string()))
				state_[p.path().filename().string()] = State{};
		for (auto &[name, st] : state_) {
			bool disabled = get(pdir(name) / "enabled") == "0\n";
			switch (st.phase) {
			case Phase::forward:
				if (disabled) {
					st.phase = Phase::reverse;
					st.until = now + st.spec.revert;
					set_all_tasks(0);
				} else if (!st.spec.stall && now >= st.until) {
					put(pdir(name) / "transition", "0\n");
					st.ended = Clock::now();
					set_all_tasks(-1);
					st.phase = Phase::active;
					if (st.spec.replace)
						for (auto &[other, ost] : state_)
							if (other != name && ost.phase == Phase::active)
								start_freeing(ost, now);
				}
				break;
			case Phase::active:
				if (disabled) {
					// A disable is a transition of its own.
					put(pdir(name) / "transition", "1\n");
					st.phase = Phase::reverse;
					st.until = now + st.spec.revert;
				}
				break;
			case Phase::reverse:
				if (!st.spec.stall_revert && now >= st.until) {
					put(pdir(name) / "transition", "0\n");
					set_all_tasks(-1);
					start_freeing(st, now);
				}
				break;
			case Phase::freeing:
				if (fs::exists(pdir(name))) {
					if (now >= st.until) {
						fs::remove_all(pdir(name));
						st.until = now + 2ms; // module_put() comes a little later
					}
				} else if (now >= st.until) {
					if (fs::exists(tree_.root / "sys/module" / name / "refcnt"))
						tree_.set_refcnt(name, 0);
					st.phase = Phase::gone;
				}
				break;
			case Phase::gone:
				break;
			}
		}
	}

	void run()
	{
		while (!stop_) {
			tick();
			std::this_thread::sleep_for(200us);
		}
	}

	FakeTree &tree_;
	std::mutex mu_;
	std::map<std::string, State> state_;
	std::map<std::string, PatchSpec> specs_;
	std::atomic<bool> stop_{false};
	std::thread thread_;
};

} // namespace fakesys
