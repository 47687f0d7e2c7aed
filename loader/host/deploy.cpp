// SPDX-License-Identifier: GPL-2.0
// Livepatch deployment over a Transport.

#include <algorithm>
#include <sstream>

#include "lpguard/host/deploy.hpp"
#include "lpguard/core/module_image.hpp"
#include "lpguard/host/shell.hpp"

namespace lpguard {

namespace {

constexpr const char *kStatusMarker = "--- lp-load status ---";

std::string file_name_for(const std::string &module)
{
	bool safe = !module.empty() && module.size() <= 56 &&
		std::all_of(module.begin(), module.end(),
			    [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-'; });
	return safe ? module : std::string("livepatch");
}

const char kSudoPasswordMessage[] =
	"cannot run lp-load as root on the guest: sudo asks for a password and cvm-cli runs it non-interactively "
	"(allow it without one, e.g. 'USER ALL=(root) NOPASSWD: /usr/sbin/lp-load' in /etc/sudoers.d/, or connect "
	"as root)";

} // namespace

std::string remote_as_root(const std::string &cmd)
{
	// `sudo -n -l CMD` succeeds only when CMD may run without a password.
	return "if [ \"$(id -u)\" = 0 ]; then " + cmd + "; elif sudo -n -l " + cmd + " >/dev/null 2>&1; then sudo -n " +
		cmd + "; else echo " + shell_quote("cvm-cli: sudo on the guest needs a password for lp-load") +
		" >&2; exit " + std::to_string(kRemoteSudoPassword) + "; fi";
}

std::string remote_probe_command()
{
	return "uname -r && echo " + shell_quote(kStatusMarker) + " && " +
		remote_as_root("lp-load status --json");
}

std::string remote_prepare_command(const std::string &dir)
{
	return "umask 077 && mkdir -m 700 -- " + shell_quote(dir);
}

std::string remote_install_command(const std::string &dir, const std::string &part, const std::string &final_name,
				   const std::string &sha256)
{
	std::string d = shell_quote(dir);
	return "cd -- " + d + " && set -- $(sha256sum -- " + shell_quote(part) + ") && if [ \"$1\" != " +
		shell_quote(sha256) + " ]; then echo " +
		shell_quote("cvm-cli: uploaded file's SHA-256 differs: $1") + " >&2; cd / && rm -rf -- " + d +
		"; exit " + std::to_string(kRemoteChecksumMismatch) + "; fi && mv -f -- " + shell_quote(part) + " " +
		shell_quote(final_name);
}

std::string remote_apply_command(const std::string &dir, const std::string &final_name,
				 std::optional<double> timeout)
{
	std::string path = dir + "/" + final_name;
	std::string lp = "lp-load apply " + shell_quote(path) + " --json";
	if (timeout) {
		std::ostringstream t;
		t << *timeout;
		lp += " --timeout " + shell_quote(t.str());
	}
	return remote_as_root(lp) + "; rc=$?; rm -rf -- " + shell_quote(dir) + "; exit $rc";
}

std::string remote_cleanup_command(const std::string &dir) { return "rm -rf -- " + shell_quote(dir); }

CommandRunner process_runner()
{
	return [](const Argv &argv, std::string *out, bool background) { return run_command(argv, out, background); };
}

DeployResult deploy_livepatch(const Transport &t, const DeployRequest &req, const CommandRunner &run,
			      std::ostream &commands, std::ostream &log)
{
	DeployResult res;
	const std::string part = file_name_for(req.module_name) + ".ko.part";
	const std::string final_name = file_name_for(req.module_name) + ".ko";

	if (req.dry_run) {
		for (const auto &a : t.open())
			commands << shell_join(a) << '\n';
		commands << shell_join(t.run(remote_probe_command())) << '\n';
		commands << shell_join(t.run(remote_prepare_command(req.remote_dir))) << '\n';
		commands << shell_join(t.upload(req.signed_module, req.remote_dir + "/" + part)) << '\n';
		commands << shell_join(t.run(remote_install_command(req.remote_dir, part, final_name, req.sha256)))
			 << '\n';
		commands << shell_join(t.run(remote_apply_command(req.remote_dir, final_name, req.timeout))) << '\n';
		for (const auto &a : t.close())
			commands << shell_join(a) << '\n';
		res.message = "dry run: nothing was run";
		return res;
	}

	auto exec = [&](const Argv &a, std::string *out, bool bg) {
		res.commands_run++;
		if (std::find(a.begin(), a.end(), "ControlMaster=yes") != a.end())
			res.connections_opened++;
		return run(a, out, bg);
	};
	bool opened = false, dir_made = false;
	auto fail = [&](Kind code, const std::string &msg) {
		res.kind = code;
		res.message = msg;
	};
	[&] {
		log << "cvm-cli: connecting to the guest (" << t.name() << ")\n";
		for (const auto &a : t.open()) {
			int rc = exec(a, nullptr, true);
			if (rc != 0)
				return fail(Kind::remote, "cannot connect to the guest: `" + a[0] + "` exited with " + std::to_string(rc) + " (check the target, credentials and that the VM is running)");
		}
		opened = true;

		std::string out;
		int rc = exec(t.run(remote_probe_command()), &out, false);
		if (rc == 255)
			return fail(Kind::remote, "cannot reach the guest: ssh exited with 255 "
						  "(check the target, credentials and that the VM is running)");
		auto marker = out.find(kStatusMarker);
		if (marker == std::string::npos)
			return fail(Kind::remote, "cannot run commands on the guest: `" + t.run("")[0] + "` exited with " + std::to_string(rc) + " before `uname -r` answered " + "(check the target, credentials and that the VM is running; its error is above)");
		res.guest_release = out.substr(0, out.find('\n'));
		std::string status_text = out.substr(marker + std::string(kStatusMarker).size());
		res.guest_status = nlohmann::json::parse(status_text, nullptr, false);
		if (res.guest_status.is_discarded())
			res.guest_status = nullptr;
		if (rc == kRemoteSudoPassword)
			return fail(Kind::remote, kSudoPasswordMessage);
		if (rc != 0)
			return fail(Kind::guest, "lp-load status failed on the guest (exit " + std::to_string(rc) + (rc == 127 ? ": lp-load is not installed" : "") + ") (install lp-load on the guest and run `sudo lp-load status` there)");
		std::string want = vermagic_release(req.vermagic);
		if (want != res.guest_release)
			return fail(Kind::refused, "vermagic mismatch: the patch was built for " + want + " but the guest runs " + res.guest_release + " (build the livepatch against the guest's kernel " + res.guest_release + ")");

		log << "cvm-cli: guest runs " << res.guest_release << ", uploading " << final_name << "\n";
		rc = exec(t.run(remote_prepare_command(req.remote_dir)), nullptr, false);
		if (rc != 0)
			return fail(Kind::remote, "cannot create " + req.remote_dir + " on the guest (exit " + std::to_string(rc) + ") (check free space and permissions of /tmp on the guest)");
		dir_made = true;
		rc = exec(t.upload(req.signed_module, req.remote_dir + "/" + part), nullptr, false);
		if (rc != 0)
			return fail(Kind::remote, "upload to the guest failed (exit " + std::to_string(rc) + "); nothing loadable was left (check the connection and retry)");
		rc = exec(t.run(remote_install_command(req.remote_dir, part, final_name, req.sha256)), nullptr,
			  false);
		if (rc == kRemoteChecksumMismatch) {
			dir_made = false;
			return fail(Kind::remote, "uploaded patch corrupted: SHA-256 on the guest differs from " + req.sha256 + "; the upload was removed (retry)");
		}
		if (rc != 0)
			return fail(Kind::remote, "cannot check and rename the upload on the guest (exit " + std::to_string(rc) + ") (check sha256sum and mv on the guest)");

		log << "cvm-cli: running lp-load apply on the guest\n";
		out.clear();
		rc = exec(t.run(remote_apply_command(req.remote_dir, final_name, req.timeout)), &out, false);
		res.lp_load_exit = rc;
		dir_made = false;
		res.lp_load = nlohmann::json::parse(out, nullptr, false);
		if (res.lp_load.is_discarded())
			res.lp_load = nullptr;
		std::string msg = res.lp_load.is_object() && res.lp_load.contains("message") &&
				res.lp_load["message"].is_string()
			? res.lp_load["message"].get<std::string>()
			: std::string();
		if (rc == 0) {
			res.message = msg.empty() ? "lp-load applied " + final_name : msg;
			return;
		}
		if (rc == 255 && res.lp_load.is_null())
			return fail(Kind::remote, "connection to the guest lost while lp-load was running "
						  "(run `lp-load status` on the guest to see the outcome)");
		if (rc == kRemoteSudoPassword && res.lp_load.is_null())
			return fail(Kind::remote, kSudoPasswordMessage);
		if (rc == 127 && res.lp_load.is_null())
			return fail(Kind::guest, "lp-load is not installed on the guest (install it, then retry)");
		return fail(Kind::guest, "lp-load on the guest failed with exit " + std::to_string(rc) + ": " + (msg.empty() ? std::string("it printed no JSON verdict (its messages are above; run `lp-load status` on the "
																	   "guest)")
															     : msg));
	}();

	if (dir_made)
		exec(t.run(remote_cleanup_command(req.remote_dir)), nullptr, false);
	if (opened)
		for (const auto &a : t.close())
			exec(a, nullptr, true);
	return res;
}

} // namespace lpguard
