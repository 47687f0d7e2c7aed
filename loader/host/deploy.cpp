// SPDX-License-Identifier: GPL-2.0
// Livepatch deployment over a Transport.

#include <algorithm>
#include <sstream>
#include <vector>

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
	// The free space there comes back with it (a guest without df: none).
	return "umask 077 && mkdir -m 700 -- " + shell_quote(dir) + " && { df -Pk -- " + shell_quote(dir) +
		" 2>/dev/null || true; }";
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

std::string remote_df_cleanup_command(const std::string &dir)
{
	return "df -Pk -- " + shell_quote(dir) + " 2>/dev/null; rm -rf -- " + shell_quote(dir);
}

std::optional<uint64_t> parse_df_available_kb(const std::string &out)
{
	// POSIX df -P: a header, then "fs 1024-blocks used available capacity mountpoint".
	std::istringstream in(out);
	std::string line;
	std::optional<uint64_t> kb;
	bool header = false;
	while (std::getline(in, line)) {
		std::istringstream f(line);
		std::vector<std::string> w;
		for (std::string x; f >> x;)
			w.push_back(x);
		if (!header) {
			header = w.size() >= 4 && w[0] == "Filesystem";
			continue;
		}
		if (w.size() < 6 || w[3].empty() ||
		    !std::all_of(w[3].begin(), w[3].end(), [](char c) { return c >= '0' && c <= '9'; }) ||
		    w[3].size() > 18)
			continue;
		kb = std::stoull(w[3]);
	}
	return kb;
}

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
	// The directory the caller chose (--remote-dir): the private one goes inside it.
	const std::string base = std::filesystem::path(req.remote_dir).parent_path().string();
	std::optional<uint64_t> size_kb;
	{
		std::error_code ec;
		auto bytes = std::filesystem::file_size(req.signed_module, ec);
		if (!ec)
			size_kb = (bytes + 1023) / 1024;
	}
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
		out.clear();
		rc = exec(t.run(remote_prepare_command(req.remote_dir)), &out, false);
		if (rc != 0)
			return fail(Kind::remote, "cannot create " + req.remote_dir + " on the guest (exit " + std::to_string(rc) + ") (check free space and permissions of " + base + " on the guest, or upload elsewhere with --remote-dir DIR)");
		dir_made = true;
		res.guest_free_kb = parse_df_available_kb(out);
		if (res.guest_free_kb && size_kb && *res.guest_free_kb < *size_kb)
			return fail(Kind::remote, "not enough space on the guest for the upload: " + base + " has " + std::to_string(*res.guest_free_kb) + " kB free and the patch is " + std::to_string(*size_kb) + " kB; nothing was uploaded (free space there, or upload elsewhere with --remote-dir DIR)");
		rc = exec(t.upload(req.signed_module, req.remote_dir + "/" + part), nullptr, false);
		if (rc != 0) {
			// Where it went: how much room is left there (none, when the
			// disk filled up), then the partial upload goes.
			out.clear();
			exec(t.run(remote_df_cleanup_command(req.remote_dir)), &out, false);
			dir_made = false;
			auto free_kb = parse_df_available_kb(out);
			std::string head = "upload to the guest failed (exit " + std::to_string(rc) + ")";
			std::string tail = "; the partial upload was removed, nothing loadable was left";
			if (free_kb && size_kb && *free_kb < *size_kb)
				return fail(Kind::remote, head + ": " + base + " on the guest has " + std::to_string(*free_kb) + " kB free and the patch is " + std::to_string(*size_kb) + " kB" + tail + " (free space there, or upload elsewhere with --remote-dir DIR)");
			if (free_kb)
				return fail(Kind::remote, head + " with " + std::to_string(*free_kb) + " kB free in " + base + " on the guest" + tail + " (check the connection and retry)");
			return fail(Kind::remote, head + tail + " (check the connection and the free space of " + base + " on the guest, and retry)");
		}
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
		// Another lp-load holds the guest's lock (another cvm-cli, an
		// administrator): nothing was applied by this run.
		bool locked = res.lp_load.is_object() && res.lp_load.value("result", "") == "locked";
		if (locked || (rc == kLpLoadLocked && res.lp_load.is_null()))
			return fail(Kind::locked, "lp-load on the guest did not run: " + (msg.empty() ? std::string("another lp-load is running there (wait for it to finish and retry)") : msg));
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
