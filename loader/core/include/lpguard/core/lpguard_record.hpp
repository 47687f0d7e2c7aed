// SPDX-License-Identifier: GPL-2.0
// lpguard's measurement records, version 1 (kmod/record.c; docs/lpguard.md,
// Measurements): the buffer of an IMA ima-buf entry named lpguard-<event>,
//
//   lpguard/1 seq=<n> event=<event> module="<name>" sha256=<hex|->
//   keyid=<hex|-> generation=<n> active="<name>"|-
//
// on one line, fields in this order, names in lpguard's log encoding
// (log_unescape_quoted). Pure, total parser; fuzzed by
// tests/fuzz/fuzz_lpguard_record.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace lpguard {

struct LpguardRecord {
	uint64_t seq = 0;
	std::string event;  // load, enable, patched, unpatched, replaced, disabled, generation-refused
	std::string module; // decoded bytes
	std::string sha256; // lower-case hex, "" for '-'
	std::string keyid;  // lower-case hex, "" for '-'
	uint32_t generation = 0;
	std::optional<std::string> active; // nullopt for '-'
};

// The events kmod/record.c writes.
bool lpguard_event_known(std::string_view event);

// Parses one record; throws lpguard::Error (Kind::input) naming the field
// when it is not exactly version 1.
LpguardRecord parse_lpguard_record(std::string_view text);

} // namespace lpguard
