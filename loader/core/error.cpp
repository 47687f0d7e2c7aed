// SPDX-License-Identifier: GPL-2.0
#include "lpguard/core/error.hpp"

namespace lpguard {

const char *to_string(Kind k)
{
	switch (k) {
	case Kind::ok: return "ok";
	case Kind::internal: return "internal";
	case Kind::usage: return "usage";
	case Kind::input: return "input";
	case Kind::key: return "key";
	case Kind::signature: return "signature";
	case Kind::refused: return "refused";
	case Kind::remote: return "remote";
	case Kind::guest: return "guest";
	case Kind::output: return "output";
	case Kind::system: return "system";
	case Kind::locked: return "locked";
	case Kind::preflight: return "preflight";
	case Kind::precheck: return "precheck";
	case Kind::reverted: return "reverted";
	case Kind::revert_failed: return "revert-failed";
	case Kind::not_found: return "not-found";
	case Kind::cleanup: return "cleanup";
	case Kind::marked_bad: return "marked-bad";
	case Kind::no_tpm: return "no-tpm";
	case Kind::no_ima: return "no-ima";
	case Kind::no_records: return "no-records";
	case Kind::attest_signature: return "attest-signature";
	case Kind::attest_quote: return "attest-quote";
	case Kind::attest_nonce: return "attest-nonce";
	case Kind::attest_pcr_selection: return "attest-pcr-selection";
	case Kind::attest_pcr_digest: return "attest-pcr-digest";
	case Kind::attest_ima_log: return "attest-ima-log";
	case Kind::attest_records: return "attest-records";
	case Kind::attest_ak_changed: return "attest-ak-changed";
	case Kind::attest_not_expected: return "attest-not-expected";
	}
	return "internal";
}

void Error::render()
{
	line_ = what_ + ": " + why_ + (todo_.empty() ? "" : " (" + todo_ + ")");
}

void Error::add_path(const std::filesystem::path &path, const char *joiner)
{
	if (names_path_)
		return;
	what_ += joiner + path.string();
	names_path_ = true;
	render();
}

} // namespace lpguard
