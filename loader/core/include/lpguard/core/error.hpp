// SPDX-License-Identifier: GPL-2.0
// One error type for the library: every failure says what failed, why, and
// what to do, renders as one line, and carries a Kind. The library never
// picks an exit code: each tool maps kinds to its own codes through its
// exit-code table (loader/cvm-cli/exit_codes.cpp, loader/lp-load/exit_codes.cpp).
#pragma once

#include <exception>
#include <filesystem>
#include <string>

namespace lpguard {

// What an outcome is about. Errors carry the failure kinds; the guest's
// reports (apply, disable) also use the outcome kinds below them.
enum class Kind {
	ok,
	internal,  // a bug, out of memory, an OpenSSL or libc call failing unexpectedly
	usage,	   // the command line or a value on it
	input,	   // the module file: missing, unreadable or malformed
	key,	   // a key or certificate: missing, unreadable or unusable
	signature, // a signature is missing or does not verify
	refused,   // refused by policy: not a livepatch, vermagic mismatch, would overwrite,
	// the kernel refused the module
	remote, // reaching the guest: ssh/scp/gcloud/az/aws, the upload
	guest,	// lp-load on the guest refused the patch or failed
	output, // an output file cannot be written
	system, // this machine's files and kernel interfaces: /sys, /var/lib/lp-load, the
	// lock file; a livepatch changed by someone else meanwhile
	locked,	   // another process holds the lock
	preflight, // the patch failed its trial on the patch kit's kernel (cvm-cli preflight)
	// Outcomes of the guest's state machine (lpguard/guest/apply.hpp).
	precheck,      // a patch failed a pre-check; the kernel never saw it
	reverted,      // the transition timed out and was reverted: the system is as before
	revert_failed, // the transition timed out and the revert did not finish
	not_found,     // nothing to act on
	cleanup,       // the patch is active but replaced modules could not be removed
	marked_bad,    // the installed patch is marked bad (crash-loop protection): boot does not apply it
	// What lp-load attest cannot attest without (lpguard/guest/tpm.hpp).
	no_tpm,	    // no TPM 2.0 (or no attestation key in it)
	no_ima,	    // no IMA measurement list
	no_records, // IMA holds no lpguard record
	// What cvm-cli attest refuses (lpguard/core/attest_verify.hpp: one per check).
	attest_signature,     // the quote's signature does not verify with the trusted AK
	attest_quote,	      // TPMS_ATTEST magic or type wrong, or it does not parse
	attest_nonce,	      // extraData is not the nonce sent
	attest_pcr_selection, // not PCR 10 of the sha256 bank
	attest_pcr_digest,    // the replayed IMA log does not give the quoted PCR digest
	attest_ima_log,	      // the IMA log does not parse, or an entry's data does not hash to its digest
	attest_records,	      // lpguard's records malformed or out of sequence
	attest_ak_changed,    // the guest presents another AK than the pinned one
	attest_not_expected,  // verified, but the active patch is not the expected image
};

const char *to_string(Kind k); // "ok", "internal", "revert-failed", ...

class Error : public std::exception {
public:
	Error(std::string what, std::string why, std::string todo, Kind kind)
		: what_(std::move(what)), why_(std::move(why)), todo_(std::move(todo)), kind_(kind)
	{
		render();
	}
	const char *what() const noexcept override { return line_.c_str(); }
	const std::string &what_failed() const { return what_; } // with the path, when one was added
	const std::string &why() const { return why_; }
	const std::string &todo() const { return todo_; }
	Kind kind() const { return kind_; }

	// Names the file the failure is about, once: "invalid module image" +
	// " " + path. An error that names its path already keeps it.
	void add_path(const std::filesystem::path &path, const char *joiner = " ");
	bool names_path() const { return names_path_; }
	// For errors built with the path in `what` from the start.
	Error &path_named()
	{
		names_path_ = true;
		return *this;
	}

private:
	void render();
	std::string what_, why_, todo_, line_;
	Kind kind_;
	bool names_path_ = false;
};

// Runs f; an Error it throws gets `path` added (Error::add_path), once.
template <typename F>
decltype(auto) with_path(const std::filesystem::path &path, F &&f, const char *joiner = " ")
{
	try {
		return f();
	} catch (Error &e) {
		e.add_path(path, joiner);
		throw;
	}
}

} // namespace lpguard
