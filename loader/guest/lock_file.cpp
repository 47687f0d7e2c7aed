// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/lock_file.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <string>
#include <thread>
#include <sys/file.h>
#include <unistd.h>

#include "lpguard/core/error.hpp"
#include "lpguard/guest/livepatch_sysfs.hpp"

namespace lpguard {

LockFile LockFile::acquire(const std::filesystem::path &path)
{
	int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		throw Error("cannot open lock file " + path.string(), std::strerror(errno),
			    "run lp-load as root", Kind::system);
	if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
		int err = errno;
		std::string holder = trim(read_text(path).value_or(""));
		::close(fd);
		if (err == EWOULDBLOCK)
			throw Error("another lp-load is running",
				    (holder.empty() ? std::string("a process") : "pid " + holder) + " holds " +
					    path.string(),
				    "wait for it to finish and retry", Kind::locked);
		throw Error("cannot lock " + path.string(), std::strerror(err), "run lp-load as root", Kind::system);
	}
	std::string pid = std::to_string(::getpid()) + "\n";
	if (::ftruncate(fd, 0) != 0 || ::pwrite(fd, pid.data(), pid.size(), 0) != (ssize_t)pid.size()) {
		int err = errno;
		::close(fd);
		throw Error("cannot write lock file " + path.string(), std::strerror(err), "check that /run is writable",
			    Kind::system);
	}
	return LockFile(fd, path);
}

LockFile LockFile::acquire_waiting(const std::filesystem::path &path, std::chrono::milliseconds timeout)
{
	const auto deadline = std::chrono::steady_clock::now() + timeout;
	for (;;) {
		try {
			return acquire(path);
		} catch (const Error &e) {
			if (e.kind() != Kind::locked || std::chrono::steady_clock::now() >= deadline)
				throw;
		}
		std::this_thread::sleep_for(std::chrono::milliseconds(100));
	}
}

LockFile::LockFile(LockFile &&other) noexcept : fd_(other.fd_), path_(std::move(other.path_))
{
	other.fd_ = -1;
}

LockFile &LockFile::operator=(LockFile &&other) noexcept
{
	if (this != &other) {
		release();
		fd_ = other.fd_;
		path_ = std::move(other.path_);
		other.fd_ = -1;
	}
	return *this;
}

LockFile::~LockFile() { release(); }

void LockFile::release()
{
	if (fd_ < 0)
		return;
	// Empty the pid while still holding the lock; the file itself stays
	// (unlinking it would race with a process that opened it already).
	if (::ftruncate(fd_, 0) != 0) {
		// Nothing useful to do: the lock is released on close anyway.
	}
	::close(fd_);
	fd_ = -1;
}

} // namespace lpguard
