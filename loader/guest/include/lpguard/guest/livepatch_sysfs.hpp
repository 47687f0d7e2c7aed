// SPDX-License-Identifier: GPL-2.0
// Reading and driving the kernel's livepatch state through sysfs and procfs:
// /sys/kernel/livepatch/<patch>/, /sys/module/<module>/, /proc/<pid>/task/<tid>/.
// Every path is taken relative to a root directory so that tests can point
// the code at a fake tree.
#pragma once

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "lpguard/core/io.hpp"
#include "lpguard/core/text.hpp"

namespace lpguard {

struct PatchedObject {
	std::string name;		    // "vmlinux" or a module name
	std::optional<bool> patched;	    // <object>/patched (6.1+)
	std::vector<std::string> functions; // "<function>,<sympos>" directory names
};

struct PatchState {
	std::string name; // patch (= module) name
	bool enabled = false;
	bool transition = false;
	std::optional<bool> replace; // <patch>/replace (6.11+)
	std::vector<PatchedObject> objects;
};

struct ModuleState {
	std::string name;
	std::string initstate;	   // "live", "coming", "going" ("" when unreadable)
	std::optional<int> refcnt; // absent when the module cannot be unloaded
	std::string taint;	   // per-module taint letters, e.g. "OEK"
	std::vector<std::string> holders;

	bool is_livepatch() const { return taint.find('K') != std::string::npos; }
};

struct TaskState {
	int pid = 0;
	int tid = 0;
	std::string comm;
	int patch_state = -1;		// -1 idle, 0 unpatched, 1 patched
	std::vector<std::string> stack; // kernel stack, one frame per entry (filled on request)
};

class LivepatchSysfs {
public:
	explicit LivepatchSysfs(std::filesystem::path root = "/");

	const std::filesystem::path &root() const { return root_; }
	std::filesystem::path livepatch_dir() const;
	std::filesystem::path patch_dir(const std::string &name) const;
	std::filesystem::path module_dir(const std::string &name) const;
	std::filesystem::path proc_dir() const;
	std::filesystem::path securityfs_dir() const; // <root>/sys/kernel/security/lpguard

	// Patches registered in /sys/kernel/livepatch, sorted by name.
	std::vector<PatchState> patches() const;
	std::optional<PatchState> patch(const std::string &name) const;
	bool patch_exists(const std::string &name) const;
	// Reads <patch>/transition; std::nullopt when the patch is gone.
	std::optional<bool> transition(const std::string &name) const;
	// The patch currently in transition, if any.
	std::optional<std::string> patch_in_transition() const;
	// Writes <patch>/enabled; throws lpguard::Error on failure.
	void set_enabled(const std::string &name, bool enabled) const;

	std::optional<ModuleState> module(const std::string &name) const;
	bool module_loaded(const std::string &name) const;
	// Loaded livepatch modules (per-module taint 'K'), sorted by name.
	std::vector<ModuleState> livepatch_modules() const;
	// Livepatch modules no longer registered in /sys/kernel/livepatch:
	// replaced or disabled patches whose module is still loaded.
	std::vector<ModuleState> leftovers() const;

	// Tasks whose patch_state differs from target (0 or 1), i.e. the tasks
	// a transition towards target still waits for. with_stacks reads
	// /proc/<pid>/task/<tid>/stack for each.
	std::vector<TaskState> pending_tasks(int target, bool with_stacks = false) const;
	std::vector<std::string> task_stack(int pid, int tid) const;

	std::string kernel_release() const;		   // /proc/sys/kernel/osrelease
	std::optional<unsigned long> kernel_taint() const; // /proc/sys/kernel/tainted
	std::string kernel_cmdline() const;		   // /proc/cmdline
	std::string boot_id() const;			   // /proc/sys/kernel/random/boot_id ("" when absent)

private:
	std::filesystem::path root_;
};

// Kernel taint bits rendered as "K (livepatch)", ...; the letters follow kernel/panic.c.
std::vector<std::string> describe_taint(unsigned long taint);

} // namespace lpguard
