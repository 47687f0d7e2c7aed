// SPDX-License-Identifier: GPL-2.0
// A cpio archive in the "newc" format (070701), the one the kernel unpacks
// as an initramfs; the kernel takes several archives one after the other, so
// a small one appended to an initramfs adds files to it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace lpguard {

struct CpioEntry {
	std::string path;	   // relative, no leading "/" ("preflight/patch.ko")
	unsigned mode = 0100644;   // file type and permission bits (S_IFREG | 0644, S_IFDIR | 0755)
	std::vector<uint8_t> data; // the file's content; empty for a directory
};

// The archive of the entries, in order, owned by root, mtime 0, each with its
// own inode number, ended by the TRAILER!!! entry. Throws Error
// (Kind::internal) for an empty or absolute path or one longer than 4096
// bytes, and for data of a directory.
std::vector<uint8_t> cpio_newc(const std::vector<CpioEntry> &entries);

} // namespace lpguard
