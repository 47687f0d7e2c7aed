// SPDX-License-Identifier: GPL-2.0
// File I/O for both tools: one way to read a file, one atomic writer, and
// the read-only mapping `cvm-cli sign` works on. Every failure is an
// lpguard::Error that names the path and the errno's text.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <initializer_list>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "lpguard/core/error.hpp"

namespace lpguard {

// Reads a whole regular file (up to its end, so that /sys and /proc files,
// which report a size of 0 or 4096, read right). Throws Error
// "cannot read <what> <path>: <strerror> (<todo>)" of the given kind, with
// todo_if_missing as the advice when the file does not exist (if given);
// "not a regular file" for directories, devices and FIFOs.
std::vector<uint8_t> read_file(const std::filesystem::path &path, const std::string &what, Kind kind,
			       const std::string &todo_if_missing = {});

// The same read for the small text files of /sys and /proc: nullopt when
// the file is absent or cannot be read.
std::optional<std::string> read_text(const std::filesystem::path &path);

// A read-only private mapping of a whole regular file, with its descriptor.
class MappedFile {
public:
	// Throws Error (what = "cannot read <what> <path>", of the given kind).
	MappedFile(const std::filesystem::path &path, const std::string &what, Kind kind);
	~MappedFile();
	MappedFile(const MappedFile &) = delete;
	MappedFile &operator=(const MappedFile &) = delete;
	std::span<const uint8_t> bytes() const { return {data_, size_}; }
	unsigned mode() const { return mode_; } // permission bits of the file
	int fd() const { return fd_; }

private:
	int fd_ = -1;
	const uint8_t *data_ = nullptr;
	std::size_t size_ = 0;
	unsigned mode_ = 0;
};

// Whether a write must survive a crash: fsync before the rename (key files,
// the patch lp-load installs for boot), or not (a signed module that can be
// signed again).
enum class Durability {
	durable,
	volatile_,
};

// Writes path through a temporary file in the same directory (".NAME.XXXXXX",
// created 0600) and puts it in place with rename(2), or RENAME_EXCHANGE over
// an existing regular file: readers see the old or the new file, never a
// partial one. fill writes the temporary file and returns 0 or an errno.
// Throws Error "cannot write <path>: <step>: <strerror>" of kind output.
void write_file_atomic(const std::filesystem::path &path, unsigned mode, Durability durability,
		       const std::function<int(int fd)> &fill);
// The same for the concatenation of parts.
void write_file_atomic(const std::filesystem::path &path, std::initializer_list<std::span<const uint8_t>> parts,
		       unsigned mode = 0644, Durability durability = Durability::durable);

// Creates path (O_EXCL, never following or replacing a file), writes data and
// fsyncs it. An existing file throws Error of kind refused with exists_todo.
void write_new_file(const std::filesystem::path &path, std::span<const uint8_t> data, unsigned mode,
		    const std::string &exists_todo);

// Removes path; with Durability::durable also fsyncs its directory, so that
// the removal survives a crash. False when there was nothing to remove.
// Throws Error "cannot remove <path>: <strerror>" of kind output.
bool remove_file(const std::filesystem::path &path, Durability durability);

// fsyncs a directory (after creating, renaming or removing entries in it).
// Throws Error "cannot sync <dir>: <strerror>" of kind output.
void sync_directory(const std::filesystem::path &dir);

// write(2) until done; returns 0 or an errno.
int write_all(int fd, const uint8_t *p, std::size_t n);

} // namespace lpguard
