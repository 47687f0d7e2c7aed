// SPDX-License-Identifier: GPL-2.0
// Exit codes carried by lpguard::Error from the library and used by cvm-cli
// (docs/cvm-cli.md). Tools with their own table map Error::exit_code().
#pragma once

namespace lpguard::exit_code {

constexpr int ok = 0;
constexpr int internal = 1;      // unexpected failure (bug, out of memory)
constexpr int usage = 2;         // bad command line
constexpr int input = 3;         // module file missing, unreadable or malformed
constexpr int key = 4;           // key or certificate missing, unreadable or unusable
constexpr int verify = 5;        // signature missing or does not verify
constexpr int refused = 6;       // not a livepatch, vermagic mismatch, would overwrite
constexpr int remote = 7;        // ssh/scp/gcloud/az/aws failed or missing, upload corrupted
constexpr int guest = 8;         // lp-load on the guest refused or failed
constexpr int output = 9;        // cannot write the output file

} // namespace lpguard::exit_code
