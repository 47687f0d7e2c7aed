// SPDX-License-Identifier: GPL-2.0
// cpio "newc": a 110-byte ASCII header (magic and 13 fields of 8 hex digits),
// the NUL-terminated name, padding to 4 bytes, the data, padding to 4 bytes.

#include "lpguard/host/cpio.hpp"

#include <cstdio>

#include <sys/stat.h>

#include "lpguard/core/error.hpp"

namespace lpguard {

namespace {

void pad4(std::vector<uint8_t> &out)
{
	while (out.size() % 4)
		out.push_back(0);
}

void put_entry(std::vector<uint8_t> &out, unsigned ino, const std::string &path, unsigned mode,
	       const std::vector<uint8_t> &data)
{
	char header[111];
	unsigned nlink = S_ISDIR(mode) ? 2 : 1;
	// magic ino mode uid gid nlink mtime filesize devmajor devminor rdevmajor rdevminor namesize check
	std::snprintf(header, sizeof(header), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X", ino, mode,
		      0u, 0u, nlink, 0u, unsigned(data.size()), 0u, 0u, 0u, 0u, unsigned(path.size() + 1), 0u);
	out.insert(out.end(), header, header + 110);
	out.insert(out.end(), path.begin(), path.end());
	out.push_back(0);
	pad4(out);
	out.insert(out.end(), data.begin(), data.end());
	pad4(out);
}

} // namespace

std::vector<uint8_t> cpio_newc(const std::vector<CpioEntry> &entries)
{
	std::vector<uint8_t> out;
	unsigned ino = 1;
	for (const auto &e : entries) {
		auto bad = [&](const std::string &why) {
			return Error("cannot put \"" + e.path + "\" into a cpio archive", why, "report this as a bug",
				     Kind::internal);
		};
		if (e.path.empty() || e.path[0] == '/' || e.path.size() > 4096)
			throw bad("the path must be relative, non-empty and at most 4096 bytes");
		if (e.path.find('\0') != std::string::npos)
			throw bad("the path holds a NUL byte");
		if (S_ISDIR(e.mode) && !e.data.empty())
			throw bad("a directory has no content");
		if (e.data.size() > 0xffffffffu)
			throw bad("newc sizes are 32 bits");
		put_entry(out, ino++, e.path, e.mode, e.data);
	}
	put_entry(out, 0, "TRAILER!!!", 0, {});
	return out;
}

} // namespace lpguard
