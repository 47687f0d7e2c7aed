// SPDX-License-Identifier: GPL-2.0
// One lp-load at a time: an exclusive flock(2) on a lock file under /run
// that records the holder's pid.
#pragma once

#include <chrono>
#include <filesystem>

namespace lpguard {

class LockFile {
public:
	static constexpr const char *default_path = "/run/lp-load.lock";

	// Takes the lock without waiting; throws lpguard::Error (kind
	// locked) naming the holder when another process has it.
	// The pid in the file is only for that message: the lock is the flock,
	// which the kernel releases when its holder exits or is killed, so a
	// stale pid left in the file never blocks.
	static LockFile acquire(const std::filesystem::path &path);
	// The same, waiting up to timeout for the holder to finish (boot-ok,
	// which must not fail because an administrator's lp-load runs).
	static LockFile acquire_waiting(const std::filesystem::path &path, std::chrono::milliseconds timeout);

	LockFile(LockFile &&other) noexcept;
	LockFile &operator=(LockFile &&other) noexcept;
	LockFile(const LockFile &) = delete;
	LockFile &operator=(const LockFile &) = delete;
	~LockFile();

	void release();
	bool held() const { return fd_ >= 0; }

private:
	explicit LockFile(int fd, std::filesystem::path path) : fd_(fd), path_(std::move(path)) {}
	int fd_ = -1;
	std::filesystem::path path_;
};

} // namespace lpguard
