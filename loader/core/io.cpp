// SPDX-License-Identifier: GPL-2.0
// File reading, the read-only mapping, and atomic writes.

#include "lpguard/core/io.hpp"

#include <cerrno>
#include <cstring>

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

namespace lpguard {

namespace {

Error read_error(const std::filesystem::path &path, const std::string &what, Kind kind, int err,
		 const std::string &todo)
{
	return Error("cannot read " + what + " " + path.string(), std::strerror(err), todo, kind).path_named();
}

// Opens path for reading and checks that it is a regular file. Returns the
// descriptor, or -1 with *err set (0: not a regular file).
int open_regular(const std::filesystem::path &path, struct stat &st, int *err)
{
	int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		*err = errno;
		return -1;
	}
	if (fstat(fd, &st) != 0) {
		*err = errno;
		close(fd);
		return -1;
	}
	if (!S_ISREG(st.st_mode)) {
		*err = 0;
		close(fd);
		return -1;
	}
	return fd;
}

// The whole file into *data; returns 0 or an errno (-1: not a regular file).
int read_all(const std::filesystem::path &path, std::string &data)
{
	struct stat st;
	int err = 0;
	int fd = open_regular(path, st, &err);
	if (fd < 0)
		return err ? err : -1;
	// st_size is exact for ordinary files; /sys and /proc files report 0 or
	// a page and are read until the end.
	std::size_t want = st.st_size > 0 ? std::size_t(st.st_size) : 0;
	data.resize(want > 0 ? want : 4096);
	std::size_t got = 0;
	for (;;) {
		if (got == data.size())
			data.resize(data.size() * 2);
		ssize_t n = ::read(fd, data.data() + got, data.size() - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = errno;
			close(fd);
			return err;
		}
		if (n == 0)
			break;
		got += std::size_t(n);
		if (got == want && want > 0) {
			// The common case: one more read to see the end, without growing.
			char probe;
			ssize_t m;
			do
				m = ::read(fd, &probe, 1);
			while (m < 0 && errno == EINTR);
			if (m == 0)
				break;
			if (m < 0) {
				err = errno;
				close(fd);
				return err;
			}
			data.resize(data.size() * 2);
			data[got++] = probe;
		}
	}
	close(fd);
	data.resize(got);
	return 0;
}

// Puts the finished temporary file tmp at path; returns 0 or an errno. Over
// an existing regular file, the two names are exchanged and the old file
// (now under tmp) is unlinked: as atomic for readers as rename(), but
// rename() over an existing file makes ext4 (auto_da_alloc) allocate and
// start writing the new file's blocks inside the call, which costs more than
// writing a 1 MB module. Durability is the caller's fsync either way.
// Anything else (no file yet, a symlink, a directory, a filesystem without
// RENAME_EXCHANGE) gets plain rename() and its errors.
int move_into_place(const char *tmp, const char *path)
{
	struct stat st;
	if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) &&
	    renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE) == 0) {
		if (unlink(tmp) == 0)
			return 0;
		// Not expected for a file just created in this directory; if it
		// happens, put the old file back and report the failure.
		int err = errno;
		(void)renameat2(AT_FDCWD, tmp, AT_FDCWD, path, RENAME_EXCHANGE);
		return err;
	}
	return rename(tmp, path) == 0 ? 0 : errno;
}

int sync_dir(const std::filesystem::path &dir)
{
	int fd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	int err = fsync(fd) == 0 ? 0 : errno;
	close(fd);
	return err;
}

} // namespace

std::vector<uint8_t> read_file(const std::filesystem::path &path, const std::string &what, Kind kind,
			       const std::string &todo_if_missing)
{
	std::string data;
	int err = read_all(path, data);
	if (err == -1)
		throw Error("cannot read " + what + " " + path.string(), "not a regular file", "pass the path of a file",
			    kind)
			.path_named();
	if (err)
		throw read_error(path, what, kind, err,
				 err == ENOENT && !todo_if_missing.empty() ? todo_if_missing
									   : "check the path and its permissions");
	return std::vector<uint8_t>(data.begin(), data.end());
}

std::optional<std::string> read_text(const std::filesystem::path &path)
{
	std::string data;
	if (read_all(path, data) != 0)
		return std::nullopt;
	return data;
}

MappedFile::MappedFile(const std::filesystem::path &path, const std::string &what, Kind kind)
{
	struct stat st;
	int err = 0;
	int fd = open_regular(path, st, &err);
	if (fd < 0 && err == 0)
		throw Error("cannot read " + what + " " + path.string(), "not a regular file", "pass the path of a file",
			    kind)
			.path_named();
	if (fd < 0)
		throw read_error(path, what, kind, err, "check the path and its permissions");
	mode_ = st.st_mode & 07777;
	size_ = std::size_t(st.st_size);
	if (size_ > 0) {
		// Mapped lazily: parsing touches a few pages, and sign_module
		// hashes through fd() rather than through the mapping.
		void *p = mmap(nullptr, size_, PROT_READ, MAP_PRIVATE, fd, 0);
		if (p == MAP_FAILED) {
			err = errno;
			close(fd);
			throw read_error(path, what, kind, err, "check the path and its permissions");
		}
		data_ = static_cast<const uint8_t *>(p);
	}
	fd_ = fd;
}

MappedFile::~MappedFile()
{
	if (data_)
		munmap(const_cast<uint8_t *>(data_), size_);
	if (fd_ >= 0)
		close(fd_);
}

int write_all(int fd, const uint8_t *p, std::size_t left)
{
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno;
		if (n == 0)
			return EIO;
		p += n;
		left -= std::size_t(n);
	}
	return 0;
}

void write_file_atomic(const std::filesystem::path &path, unsigned mode, Durability durability,
		       const std::function<int(int fd)> &fill)
{
	auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
	std::string tmpl = (dir / ("." + path.filename().string() + ".XXXXXX")).string();
	std::vector<char> name(tmpl.begin(), tmpl.end());
	name.push_back('\0');
	auto fail = [&](const std::string &step, int err) {
		return Error("cannot write " + path.string(), step + ": " + std::strerror(err),
			     "check that the directory exists, is writable and the disk has space", Kind::output)
			.path_named();
	};
	int fd = mkstemp(name.data());
	if (fd < 0)
		throw fail("creating a temporary file", errno);
	auto cleanup = [&](const std::string &step, int err) {
		close(fd);
		unlink(name.data());
		throw fail(step, err);
	};
	if (int err = fill(fd))
		cleanup("writing", err);
	if (fchmod(fd, mode) != 0)
		cleanup("setting the mode", errno);
	bool durable = durability == Durability::durable;
	if (durable && fsync(fd) != 0)
		cleanup("syncing", errno);
	if (close(fd) != 0) {
		int err = errno;
		unlink(name.data());
		throw fail("closing", err);
	}
	if (int err = move_into_place(name.data(), path.c_str())) {
		unlink(name.data());
		throw fail("renaming into place", err);
	}
	if (durable)
		if (int err = sync_dir(dir))
			throw fail("syncing the directory", err);
}

void write_file_atomic(const std::filesystem::path &path, std::initializer_list<std::span<const uint8_t>> parts,
		       unsigned mode, Durability durability)
{
	write_file_atomic(path, mode, durability, [&](int fd) {
		for (auto part : parts)
			if (int err = write_all(fd, part.data(), part.size()))
				return err;
		return 0;
	});
}

bool remove_file(const std::filesystem::path &path, Durability durability)
{
	if (unlink(path.c_str()) != 0) {
		if (errno == ENOENT)
			return false;
		throw Error("cannot remove " + path.string(), std::strerror(errno), "check the directory's permissions",
			    Kind::output)
			.path_named();
	}
	if (durability == Durability::durable)
		sync_directory(path.has_parent_path() ? path.parent_path() : std::filesystem::path("."));
	return true;
}

void sync_directory(const std::filesystem::path &dir)
{
	if (int err = sync_dir(dir))
		throw Error("cannot sync " + dir.string(), std::strerror(err), "check the disk", Kind::output).path_named();
}

void write_new_file(const std::filesystem::path &path, std::span<const uint8_t> data, unsigned mode,
		    const std::string &exists_todo)
{
	int fd = open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd < 0) {
		int err = errno;
		throw Error("cannot create " + path.string(), std::strerror(err),
			    err == EEXIST ? exists_todo : "check that the directory is writable",
			    err == EEXIST ? Kind::refused : Kind::output)
			.path_named();
	}
	if (int err = write_all(fd, data.data(), data.size())) {
		close(fd);
		unlink(path.c_str());
		throw Error("cannot write " + path.string(), std::strerror(err), "check the disk space", Kind::output)
			.path_named();
	}
	if (fchmod(fd, mode) != 0 || fsync(fd) != 0 || close(fd) != 0) {
		int err = errno;
		unlink(path.c_str());
		throw Error("cannot write " + path.string(), std::strerror(err), "check the disk", Kind::output)
			.path_named();
	}
}

} // namespace lpguard
