// SPDX-License-Identifier: GPL-2.0
// Editing a module image before it is signed: setting lpguard's generation
// tag in .modinfo (cvm-cli sign --generation, cvm-cli livepatch --generation).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace lpguard {

// The module with .modinfo carrying exactly one lpguard.generation=N, N the
// given generation; any existing tag is replaced, every other entry kept
// in order. The result is unsigned: existing signatures are removed first
// (they would no longer verify), as cvm-cli sign replaces a signature.
//
// The module keeps its one .modinfo section, grown in place of the file:
// the new contents go to the end of the file (8-byte aligned, or the
// section's alignment) and its section header points there. Every other
// byte of the file is unchanged, but for its sh_offset and sh_size and the
// old contents, which are zeroed unless another part of the file shares
// them (or dropped when they end the file, as after an earlier edit).
//
// Throws lpguard::Error (Kind::input) when the input is not a module image
// that ModuleImage accepts after the edit.
std::vector<uint8_t> with_generation(std::span<const uint8_t> module, uint32_t generation);

} // namespace lpguard
