// SPDX-License-Identifier: GPL-2.0
// Inserting and removing kernel modules. The real implementation goes
// through libkmod (finit_module underneath) and never passes force flags;
// tests substitute a fake kernel behind the same interface.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

struct kmod_ctx;

namespace lpguard {

class ModuleLoader {
public:
	virtual ~ModuleLoader() = default;
	// Loads the module file; returns 0 or a positive errno.
	virtual int insert(const std::filesystem::path &ko) = 0;
	// Unloads a module by name (never forced); returns 0 or a positive errno.
	virtual int remove(const std::string &name) = 0;
};

// libkmod: kmod_module_new_from_path + kmod_module_insert_module(flags 0),
// kmod_module_remove_module(flags 0). When libkmod cannot set up a context
// or module object, falls back to finit_module(2) / delete_module(2) with
// no flags.
class KmodLoader final : public ModuleLoader {
public:
	KmodLoader();
	~KmodLoader() override;
	KmodLoader(const KmodLoader &) = delete;
	KmodLoader &operator=(const KmodLoader &) = delete;

	int insert(const std::filesystem::path &ko) override;
	int remove(const std::string &name) override;

private:
	::kmod_ctx *ctx_ = nullptr;
};

// "EPERM", "EKEYREJECTED", ...; "E<number>" for unknown values.
std::string errno_name(int err);

} // namespace lpguard
