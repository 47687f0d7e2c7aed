// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/kmod_loader.hpp"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <libkmod.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace lpguard {

KmodLoader::KmodLoader()
{
	// A guest without /lib/modules/<release> still gets a context: the
	// directory is only consulted for name lookups, which we do not use.
	ctx_ = kmod_new(nullptr, nullptr);
}

KmodLoader::~KmodLoader()
{
	if (ctx_)
		kmod_unref(ctx_);
}

static int finit_module_direct(const std::filesystem::path &ko)
{
	int fd = ::open(ko.c_str(), O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno;
	long r = ::syscall(SYS_finit_module, fd, "", 0);
	int err = r == 0 ? 0 : errno;
	::close(fd);
	return err;
}

int KmodLoader::insert(const std::filesystem::path &ko)
{
	if (!ctx_)
		return finit_module_direct(ko);
	struct kmod_module *mod = nullptr;
	int r = kmod_module_new_from_path(ctx_, ko.c_str(), &mod);
	if (r < 0 || !mod) {
		// The file itself is missing or unreadable: report that.
		if (r == -ENOENT || r == -EACCES || r == -EISDIR)
			return -r;
		return finit_module_direct(ko);
	}
	// Flags 0: no KMOD_INSERT_FORCE_VERMAGIC / _FORCE_MODVERSION, ever.
	r = kmod_module_insert_module(mod, 0, "");
	kmod_module_unref(mod);
	return r < 0 ? -r : 0;
}

int KmodLoader::remove(const std::string &name)
{
	struct kmod_module *mod = nullptr;
	if (ctx_ && kmod_module_new_from_name(ctx_, name.c_str(), &mod) == 0 && mod) {
		int r = kmod_module_remove_module(mod, 0);
		kmod_module_unref(mod);
		return r < 0 ? -r : 0;
	}
	long r = ::syscall(SYS_delete_module, name.c_str(), O_NONBLOCK);
	return r == 0 ? 0 : errno;
}

std::string errno_name(int err)
{
	if (const char *n = ::strerrorname_np(err))
		return n;
	return "E" + std::to_string(err);
}

} // namespace lpguard
