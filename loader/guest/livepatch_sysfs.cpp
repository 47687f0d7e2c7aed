// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/livepatch_sysfs.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <sstream>
#include <system_error>

#include <fcntl.h>
#include <unistd.h>

#include "lpguard/core/error.hpp"

namespace fs = std::filesystem;

namespace lpguard {

static std::optional<int> read_int(const fs::path &path)
{
	auto t = read_text(path);
	if (!t)
		return std::nullopt;
	std::string s = trim(*t);
	if (s.empty())
		return std::nullopt;
	try {
		std::size_t used = 0;
		int v = std::stoi(s, &used, 10);
		if (used != s.size())
			return std::nullopt;
		return v;
	} catch (const std::exception &) {
		return std::nullopt;
	}
}

static std::optional<bool> read_bool(const fs::path &path)
{
	auto v = read_int(path);
	if (!v)
		return std::nullopt;
	return *v != 0;
}

static std::vector<std::string> subdirs(const fs::path &dir)
{
	std::vector<std::string> out;
	std::error_code ec;
	for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
		std::error_code ec2;
		if (it->is_directory(ec2) && !it->is_symlink(ec2))
			out.push_back(it->path().filename().string());
	}
	std::sort(out.begin(), out.end());
	return out;
}

static bool is_number(const std::string &s)
{
	return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

LivepatchSysfs::LivepatchSysfs(fs::path root) : root_(std::move(root)) {}

fs::path LivepatchSysfs::livepatch_dir() const { return root_ / "sys/kernel/livepatch"; }
fs::path LivepatchSysfs::patch_dir(const std::string &name) const { return livepatch_dir() / name; }
fs::path LivepatchSysfs::module_dir(const std::string &name) const { return root_ / "sys/module" / name; }
fs::path LivepatchSysfs::proc_dir() const { return root_ / "proc"; }
fs::path LivepatchSysfs::securityfs_dir() const { return root_ / "sys/kernel/security/lpguard"; }

std::optional<PatchState> LivepatchSysfs::patch(const std::string &name) const
{
	fs::path dir = patch_dir(name);
	auto enabled = read_bool(dir / "enabled");
	auto transition = read_bool(dir / "transition");
	if (!enabled || !transition)
		return std::nullopt; // gone (or going) between the listing and the read
	PatchState p;
	p.name = name;
	p.enabled = *enabled;
	p.transition = *transition;
	p.replace = read_bool(dir / "replace");
	for (const auto &obj : subdirs(dir)) {
		PatchedObject o;
		o.name = obj;
		o.patched = read_bool(dir / obj / "patched");
		o.functions = subdirs(dir / obj);
		p.objects.push_back(std::move(o));
	}
	return p;
}

std::vector<PatchState> LivepatchSysfs::patches() const
{
	std::vector<PatchState> out;
	for (const auto &name : subdirs(livepatch_dir()))
		if (auto p = patch(name))
			out.push_back(std::move(*p));
	return out;
}

bool LivepatchSysfs::patch_exists(const std::string &name) const
{
	std::error_code ec;
	return fs::exists(patch_dir(name) / "enabled", ec);
}

std::optional<bool> LivepatchSysfs::transition(const std::string &name) const
{
	return read_bool(patch_dir(name) / "transition");
}

std::optional<std::string> LivepatchSysfs::patch_in_transition() const
{
	for (const auto &name : subdirs(livepatch_dir()))
		if (transition(name).value_or(false))
			return name;
	return std::nullopt;
}

void LivepatchSysfs::set_enabled(const std::string &name, bool enabled) const
{
	fs::path file = patch_dir(name) / "enabled";
	// sysfs wants a single write; ofstream would create a missing file.
	std::error_code ec;
	if (!fs::exists(file, ec))
		throw Error("cannot " + std::string(enabled ? "enable" : "disable") + " livepatch " + name,
			    file.string() + " does not exist (the patch is gone)", "run 'lp-load list'", Kind::system);
	// One write(2), so its errno is the kernel's answer to this write.
	int fd = ::open(file.c_str(), O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		throw Error("cannot write " + file.string(), std::strerror(errno), "run lp-load as root", Kind::system);
	const char *val = enabled ? "1\n" : "0\n";
	ssize_t n = ::write(fd, val, 2);
	int err = n < 0 ? errno : (n == 2 ? 0 : EIO);
	::close(fd);
	if (!err)
		return;
	if (err == EPERM && !enabled)
		throw Error("cannot disable livepatch " + name,
			    "lpguard locks the active livepatch ('lock: on' in 'lp-load status')",
			    "to go back, apply a newer cumulative patch, for example one that restores the original "
			    "functions",
			    Kind::refused);
	throw Error("cannot write " + file.string(), std::strerror(err), "check 'lp-load status' and dmesg",
		    Kind::system);
}

std::optional<ModuleState> LivepatchSysfs::module(const std::string &name) const
{
	fs::path dir = module_dir(name);
	std::error_code ec;
	if (!fs::is_directory(dir, ec))
		return std::nullopt;
	ModuleState m;
	m.name = name;
	m.initstate = trim(read_text(dir / "initstate").value_or(""));
	if (m.initstate.empty())
		return std::nullopt; // built-in: /sys/module/<name> without a loaded module
	m.refcnt = read_int(dir / "refcnt");
	m.taint = trim(read_text(dir / "taint").value_or(""));
	// holders/ entries are symlinks, which subdirs() skips.
	for (fs::directory_iterator it(dir / "holders", ec), end; !ec && it != end; it.increment(ec))
		m.holders.push_back(it->path().filename().string());
	std::sort(m.holders.begin(), m.holders.end());
	return m;
}

bool LivepatchSysfs::module_loaded(const std::string &name) const
{
	return module(name).has_value();
}

std::vector<ModuleState> LivepatchSysfs::livepatch_modules() const
{
	std::vector<ModuleState> out;
	for (const auto &name : subdirs(root_ / "sys/module")) {
		auto m = module(name);
		if (m && m->is_livepatch())
			out.push_back(std::move(*m));
	}
	return out;
}

std::vector<ModuleState> LivepatchSysfs::leftovers() const
{
	std::vector<ModuleState> out;
	for (auto &m : livepatch_modules())
		if (m.initstate == "live" && !patch_exists(m.name))
			out.push_back(std::move(m));
	return out;
}

std::vector<std::string> LivepatchSysfs::task_stack(int pid, int tid) const
{
	std::vector<std::string> frames;
	auto t = read_text(proc_dir() / std::to_string(pid) / "task" / std::to_string(tid) / "stack");
	if (!t)
		return frames;
	std::istringstream in(*t);
	std::string line;
	while (std::getline(in, line)) {
		line = trim(line);
		if (!line.empty())
			frames.push_back(line);
	}
	return frames;
}

std::vector<TaskState> LivepatchSysfs::pending_tasks(int target, bool with_stacks) const
{
	std::vector<TaskState> out;
	std::error_code ec;
	for (fs::directory_iterator it(proc_dir(), ec), end; !ec && it != end; it.increment(ec)) {
		std::string pid = it->path().filename().string();
		if (!is_number(pid))
			continue;
		std::error_code ec2;
		for (fs::directory_iterator t(it->path() / "task", ec2), tend; !ec2 && t != tend; t.increment(ec2)) {
			std::string tid = t->path().filename().string();
			if (!is_number(tid))
				continue;
			auto st = read_int(t->path() / "patch_state");
			if (!st || *st < 0 || *st == target)
				continue;
			TaskState ts;
			ts.pid = std::stoi(pid);
			ts.tid = std::stoi(tid);
			ts.patch_state = *st;
			ts.comm = trim(read_text(t->path() / "comm").value_or(""));
			if (with_stacks)
				ts.stack = task_stack(ts.pid, ts.tid);
			out.push_back(std::move(ts));
		}
	}
	std::sort(out.begin(), out.end(), [](const TaskState &a, const TaskState &b) {
		return a.pid != b.pid ? a.pid < b.pid : a.tid < b.tid;
	});
	return out;
}

std::string LivepatchSysfs::kernel_release() const
{
	return trim(read_text(proc_dir() / "sys/kernel/osrelease").value_or(""));
}

std::optional<unsigned long> LivepatchSysfs::kernel_taint() const
{
	auto t = read_text(proc_dir() / "sys/kernel/tainted");
	if (!t)
		return std::nullopt;
	try {
		return std::stoul(trim(*t));
	} catch (const std::exception &) {
		return std::nullopt;
	}
}

std::string LivepatchSysfs::kernel_cmdline() const
{
	return trim(read_text(proc_dir() / "cmdline").value_or(""));
}

std::string LivepatchSysfs::boot_id() const
{
	return trim(read_text(proc_dir() / "sys/kernel/random/boot_id").value_or(""));
}

std::vector<std::string> describe_taint(unsigned long taint)
{
	static const struct {
		char letter;
		const char *desc;
	} flags[] = {
		{'P', "proprietary module"},
		{'F', "forced module load"},
		{'S', "CPU out of spec"},
		{'R', "forced module removal"},
		{'M', "machine check"},
		{'B', "bad page"},
		{'U', "user request"},
		{'D', "kernel died"},
		{'A', "ACPI table overridden"},
		{'W', "warning"},
		{'C', "staging driver"},
		{'I', "firmware workaround"},
		{'O', "out-of-tree module"},
		{'E', "unsigned module"},
		{'L', "soft lockup"},
		{'K', "livepatch"},
		{'X', "auxiliary"},
		{'T', "randstruct"},
		{'N', "test"},
	};
	std::vector<std::string> out;
	for (unsigned i = 0; i < sizeof(unsigned long) * 8; i++) {
		if (!(taint & (1UL << i)))
			continue;
		if (i < sizeof(flags) / sizeof(flags[0]))
			out.push_back(std::string(1, flags[i].letter) + " (" + flags[i].desc + ")");
		else
			out.push_back("bit " + std::to_string(i));
	}
	return out;
}

} // namespace lpguard
