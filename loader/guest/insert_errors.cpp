// SPDX-License-Identifier: GPL-2.0
#include "lpguard/guest/insert_errors.hpp"

#include <cerrno>
#include <cstring>

#include "lpguard/core/text.hpp"
#include "lpguard/guest/kmod_loader.hpp"

namespace lpguard {

std::string InsertFailure::line(const std::string &module) const
{
	std::string s = "cannot load " + module + ": " + why;
	if (!todo.empty())
		s += " (" + todo + ")";
	return s;
}

InsertFailure explain_insert_error(int err, const std::string &module,
				   const std::optional<LpguardDecision> &decision)
{
	InsertFailure f;
	f.err = err;
	f.errno_name = errno_name(err);
	// A refusal lpguard logged for this module is the most precise reason.
	if (decision && decision->refused() && !decision->reason.empty())
		f.lpguard = decision;

	switch (err) {
	case EKEYREJECTED:
		if (f.lpguard) {
			// lpguard's reason names the fault and the fix.
			f.why = "signature refused by lpguard: " + printable(f.lpguard->reason);
			f.todo = "see /sys/kernel/security/lpguard/log";
		} else {
			f.why = "not signed by a livepatch key";
			f.todo = "sign it with the livepatch key (cvm-cli sign) and check 'lp-load verify'";
		}
		break;
	case EPERM:
		if (f.lpguard) {
			f.why = "refused by lpguard: " + printable(f.lpguard->reason);
			f.todo = "see /sys/kernel/security/lpguard/log";
		} else {
			f.why = "operation not permitted and lpguard logged no decision for " + module +
				" (lockdown, another LSM, or not root)";
			f.todo = "run as root and check dmesg";
		}
		break;
	case EEXIST:
		f.why = "a module named " + module + " is already loaded";
		f.todo = "see 'lp-load list'; a new patch needs a new module name";
		break;
	case EBUSY:
		f.why = "another livepatch transition is in progress";
		f.todo = "wait for it to finish ('lp-load status') and retry";
		break;
	case ENOEXEC:
		f.why = "not a valid module for this kernel (bad format or vermagic mismatch)";
		f.todo = "rebuild the patch against the running kernel; check 'lp-load verify' and dmesg";
		break;
	case ENOKEY:
		f.why = "signed with a key the kernel does not know";
		f.todo = "sign it with the livepatch key";
		break;
	case ENOENT:
		f.why = "the file is missing, or the module needs a symbol the running kernel lacks";
		f.todo = "check the path, and dmesg for 'Unknown symbol'";
		break;
	case EINVAL:
		f.why = "the kernel or the patch's init rejected it (invalid argument)";
		f.todo = "see dmesg for the livepatch error";
		break;
	case ENOMEM:
		f.why = "out of memory";
		f.todo = "free memory and retry";
		break;
	default:
		f.why = std::string(std::strerror(err));
		f.todo = "see dmesg";
		break;
	}
	if (f.lpguard && err != EPERM && err != EKEYREJECTED)
		f.why += " (lpguard: " + printable(f.lpguard->reason) + ")";
	return f;
}

} // namespace lpguard
