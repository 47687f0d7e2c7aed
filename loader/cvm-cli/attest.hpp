// SPDX-License-Identifier: GPL-2.0
// cvm-cli attest: a fresh nonce, lp-load attest on the guest, the evidence
// verified here with the core verifier (lpguard/core/attest_verify.hpp)
// against an attestation key this machine trusts, and the report.
#pragma once

#include <optional>
#include <span>
#include <string>

#include <CLI/CLI.hpp>

#include "lpguard/core/attest_verify.hpp"
#include "lpguard/core/error.hpp"
#include "lpguard/core/json.hpp"
#include "providers.hpp"

namespace cvmcli {

// Where the trusted attestation key comes from: --ak-pub FILE; gcp: the
// Shielded VM signing key (gcloud); otherwise the pin file, written on
// first use (--pin-file overrides its path).
struct AttestKeyOptions {
	std::string ak_pub, pin_file;
};
void add_attest_key_options(CLI::App *cmd, AttestKeyOptions &o);

struct AttestRequest {
	AttestKeyOptions ak;
	std::optional<std::string> expect_sha256; // the signed image that must be active
	std::string expect_path;		  // for messages
	bool dry_run = false, keylime_policy = false;
	std::string save_evidence; // write what the guest returned here
};

// A request expecting the signed image `sha256` (of `path`).
AttestRequest attest_request(const AttestKeyOptions &ak, const std::string &path, const std::string &sha256);

enum class AttestOutput {
	report,	      // the text report on stdout
	json,	      // the JSON document on stdout
	verdict_line, // only the one-line verdict (livepatch --attest)
	json_value,   // nothing printed: the document is returned (livepatch --attest --json)
};

struct AttestResult {
	lpguard::Kind kind = lpguard::Kind::ok;
	lpguard::Json json;
};

AttestResult attest_guest(const AttestRequest &req, const ProviderTarget &target, AttestOutput out);

// SHA-256 of the concatenation, lower-case hex.
std::string sha256_hex(std::span<const uint8_t> a, std::span<const uint8_t> b = {});

// The Shielded VM signing key in `gcloud compute instances
// get-shielded-identity --format=json` output (signingKey.ekPub, PEM).
// Throws lpguard::Error (Kind::remote) when it is missing or not a PEM key.
std::string gcp_signing_key(const std::string &gcloud_json);

// The kinds attest verification failures map to (one per check).
lpguard::Kind attest_kind(lpguard::AttestCheck check);

void add_attest_command(CLI::App &app);

} // namespace cvmcli
