// SPDX-License-Identifier: GPL-2.0
// The pre-checks lp-load runs before the kernel sees a patch: a valid
// module image, the livepatch tag, the running kernel's release in the
// vermagic, and a signature that verifies against lpguard's certificates.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "lpguard/guest/livepatch_sysfs.hpp"

namespace lpguard {

struct PrecheckItem {
	std::string check; // "format", "livepatch", "vermagic", "signature"
	bool ok = false;
	std::string detail; // what was found (ok) or why not, one line
};

struct PrecheckReport {
	std::string path;
	std::string name; // module name ("" when unparsable)
	std::string sha256;
	std::string vermagic;
	std::string kernel_release;
	std::string cert_source; // the file or directory certificates came from
	std::string signer;	 // subject of the certificate that verified
	std::vector<PrecheckItem> checks;
	bool ok = false;
	std::string message; // one line: the first failure with what to do, or a summary
};

// cert_fallback is used when lpguard exposes no certificates in securityfs.
PrecheckReport precheck_patch(const std::filesystem::path &ko, const LivepatchSysfs &sys,
			      const std::filesystem::path &cert_fallback);

nlohmann::json to_json(const PrecheckReport &r);

} // namespace lpguard
