// SPDX-License-Identifier: GPL-2.0
// 'lp-load status' and 'lp-load list': what is patched, what is in
// transition, what is left over, lpguard's view, kernel taint.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lpguard/guest/livepatch_sysfs.hpp"
#include "lpguard/guest/install.hpp"
#include "lpguard/guest/lpguard_securityfs.hpp"

namespace lpguard {

struct ListedModule {
	std::string name;
	// "active", "in-transition", "disabling", "leftover", "loading", "unloading"
	std::string state;
	std::optional<int> refcnt;
	std::optional<bool> replace;
};

std::vector<ListedModule> list_livepatches(const LivepatchSysfs &sys);

nlohmann::json list_json(const LivepatchSysfs &sys);
nlohmann::json status_json(const LivepatchSysfs &sys, const LpLoadPaths &paths);

// Human-readable renderings of the same data.
std::string list_text(const LivepatchSysfs &sys);
std::string status_text(const LivepatchSysfs &sys, const LpLoadPaths &paths);

} // namespace lpguard
