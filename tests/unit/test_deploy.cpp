// SPDX-License-Identifier: GPL-2.0
// Deployment (host/deploy.cpp): the remote shell snippets run locally
// against hostile names, and the deployment sequence with a recording
// runner standing in for ssh/gcloud (no network).

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <algorithm>
#include <sstream>

#include "lpguard/core/error.hpp"
#include "lpguard/host/deploy.hpp"
#include "lpguard/host/shell.hpp"
#include "lpguard/host/transport.hpp"
#include "test_module_keys.hpp"

using namespace lpguard;
using namespace lpguard::test;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;

namespace {

SshOptions ssh_opts(const std::string &target)
{
	SshOptions o;
	o.target = parse_ssh_target(target);
	o.control_path = "/tmp/cvm-cli.abc/cm";
	return o;
}

// Replays canned results per command kind and records every argv.
struct FakeGuest {
	std::vector<Argv> calls;
	std::string release = "6.12.117";
	int status_rc = 0, prepare_rc = 0, upload_rc = 0, install_rc = 0, apply_rc = 0, master_rc = 0;
	std::string apply_out = R"({"command":"apply","result":"applied","exit_code":0,"message":"applied lp_test"})";
	// df -Pk of the upload directory, after mkdir and after a failed upload.
	std::string prepare_out = df(1000000), cleanup_out = df(1000000);

	static std::string df(uint64_t available_kb)
	{
		return "Filesystem     1024-blocks    Used Available Capacity Mounted on\n"
		       "/dev/vda1         10255636 1234567 " +
			std::to_string(available_kb) + "      13% /\n";
	}

	CommandRunner runner()
	{
		return [this](const Argv &a, std::string *out, bool) -> int {
			calls.push_back(a);
			const std::string &last = a.back();
			if (std::find(a.begin(), a.end(), "ControlMaster=yes") != a.end())
				return master_rc;
			if (std::find(a.begin(), a.end(), "-O") != a.end())
				return 0;
			if (a[0] == "scp" || (a.size() > 2 && a[2] == "scp"))
				return upload_rc;
			if (last.find("uname -r") != std::string::npos) {
				if (out)
					*out = release + "\n--- lp-load status ---\n{\"active\":null}\n";
				return status_rc;
			}
			if (last.find("mkdir") != std::string::npos) {
				if (out)
					*out = prepare_out;
				return prepare_rc;
			}
			if (last.rfind("df -Pk", 0) == 0) {
				if (out)
					*out = cleanup_out;
				return 0;
			}
			if (last.find("sha256sum") != std::string::npos)
				return install_rc;
			if (last.find("lp-load apply") != std::string::npos) {
				if (out)
					*out = apply_out;
				return apply_rc;
			}
			return 0;
		};
	}
};

DeployRequest request()
{
	DeployRequest r;
	r.signed_module = "/tmp/cvm-cli.abc/lp_test.ko";
	r.module_name = "lp_test";
	r.vermagic = "6.12.117 SMP preempt mod_unload ";
	r.sha256 = std::string(64, 'a');
	r.remote_dir = "/tmp/cvm-cli-0123456789abcdef";
	return r;
}

} // namespace

TEST_CASE("remote snippets keep hostile directory names inert", "[quote][attack]")
{
	// The guest side, run locally: install (checksum + rename) and apply
	// with a stand-in lp-load that records its arguments.
	auto base = scratch_dir() / "remote";
	std::filesystem::create_directories(base / "bin");
	auto fake = base / "bin" / "lp-load";
	write_bytes(fake, [] {
		std::string s = "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done\necho\nexit 3\n";
		return std::vector<uint8_t>(s.begin(), s.end());
	}());
	std::filesystem::permissions(fake, std::filesystem::perms::owner_all);
	for (std::string name : {"d $(touch CANARY)", "d'; touch CANARY; '", "d`touch CANARY`", "d\"x\" ; touch CANARY"}) {
		auto dir = base / name;
		std::filesystem::create_directories(dir);
		std::vector<uint8_t> content{'k', 'o'};
		write_bytes(dir / "p.ko.part", content);
		// sha256("ko")
		auto sha = run_shell("printf ko | sha256sum | cut -d' ' -f1").out.substr(0, 64);
		auto install = remote_install_command(dir.string(), "p.ko.part", "p.ko", sha);
		auto r = run_shell("cd " + shell_quote(base.string()) + " && sh -c " + shell_quote(install) + " 2>&1");
		INFO(install << "\n"
			     << r.out);
		CHECK(r.rc == 0);
		CHECK(std::filesystem::exists(dir / "p.ko"));
		CHECK_FALSE(std::filesystem::exists(dir / "p.ko.part"));

		auto apply = remote_apply_command(dir.string(), "p.ko", 2.5);
		r = run_shell("cd " + shell_quote(base.string()) + " && PATH=" + shell_quote((base / "bin").string()) +
			      ":$PATH sh -c " + shell_quote(apply));
		INFO(apply << "\n"
			   << r.out);
		CHECK(r.rc == 3); // lp-load's exit status comes back
		CHECK(r.out == "[apply][" + (dir / "p.ko").string() + "][--json][--timeout][2.5]\n");
		CHECK_FALSE(std::filesystem::exists(dir)); // cleaned up after lp-load
	}
	CHECK_FALSE(std::filesystem::exists(base / "CANARY"));
}

TEST_CASE("the install snippet refuses a corrupted upload and removes it", "[quote]")
{
	auto dir = scratch_dir() / "corrupt";
	std::filesystem::create_directories(dir);
	write_bytes(dir / "p.ko.part", {'x'});
	auto cmd = remote_install_command(dir.string(), "p.ko.part", "p.ko", std::string(64, '0'));
	auto r = run_shell("sh -c " + shell_quote(cmd) + " 2>&1");
	CHECK(r.rc == kRemoteChecksumMismatch);
	CHECK_THAT(r.out, ContainsSubstring("SHA-256 differs"));
	CHECK_FALSE(std::filesystem::exists(dir));
}

TEST_CASE("remote_as_root runs directly as root and through sudo -n otherwise", "[quote]")
{
	// A guest shell where `id -u` is not 0 and sudo is a double: it logs
	// its arguments and allows without a password only when told to.
	auto dir = scratch_dir() / "sudo-guest";
	std::filesystem::remove_all(dir);
	std::filesystem::create_directories(dir);
	auto put = [&](const std::string &name, const std::string &body) {
		write_bytes(dir / name, std::vector<uint8_t>(body.begin(), body.end()));
		std::filesystem::permissions(dir / name, std::filesystem::perms::owner_all);
	};
	put("id", "#!/bin/sh\necho 1000\n");
	put("sudo", "#!/bin/sh\necho \"sudo $*\" >> \"$(dirname \"$0\")/log\"\n"
		    "[ -e \"$(dirname \"$0\")/nopasswd\" ] || { echo 'sudo: a password is required' >&2; exit 1; }\n"
		    "[ \"$2\" = -l ] && exit 0\nshift\nexec \"$@\"\n");
	auto cmd = remote_as_root("echo ran as root");
	auto in_guest = "PATH=" + shell_quote(dir.string()) + ":$PATH sh -c " + shell_quote(cmd) + " 2>&1";

	SECTION("sudo without a password runs the command")
	{
		put("nopasswd", "");
		auto r = run_shell(in_guest);
		CHECK(r.rc == 0);
		CHECK(r.out == "ran as root\n");
		auto log = read_bytes(dir / "log");
		CHECK(std::string(log.begin(), log.end()) == "sudo -n -l echo ran as root\nsudo -n echo ran as root\n");
	}
	SECTION("sudo asking for a password: a distinct exit status, the command never runs")
	{
		auto r = run_shell(in_guest);
		CHECK(r.rc == kRemoteSudoPassword);
		CHECK(r.out == "cvm-cli: sudo on the guest needs a password for lp-load\n");
	}
	SECTION("as root: no sudo at all")
	{
		put("id", "#!/bin/sh\necho 0\n");
		put("nopasswd", "");
		auto r = run_shell(in_guest);
		CHECK(r.rc == 0);
		CHECK(r.out == "ran as root\n");
		CHECK_FALSE(std::filesystem::exists(dir / "log"));
	}
	CHECK(remote_prepare_command("/tmp/x y") ==
	      "umask 077 && mkdir -m 700 -- '/tmp/x y' && { df -Pk -- '/tmp/x y' 2>/dev/null || true; }");
	CHECK(remote_cleanup_command("/tmp/a'b") == "rm -rf -- '/tmp/a'\\''b'");
}

TEST_CASE("deployment: probe, upload under a temporary name, verify, rename, apply, one connection", "[transport][deploy]")
{
	FakeGuest g;
	auto t = make_ssh_transport(ssh_opts("root@127.0.0.1:2222"));
	std::ostringstream cmds, log;
	auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
	CHECK(res.kind == Kind::ok);
	CHECK(res.message == "applied lp_test");
	CHECK(res.guest_release == "6.12.117");
	CHECK(res.guest_status == nlohmann::json{{"active", nullptr}});
	CHECK(res.lp_load["result"] == "applied");
	CHECK(res.lp_load_exit == 0);
	REQUIRE(g.calls.size() == 7);
	CHECK(res.connections_opened == 1);
	int masters = 0;
	for (const auto &c : g.calls) {
		bool master = std::find(c.begin(), c.end(), "ControlMaster=yes") != c.end();
		masters += master;
		bool uses_mux = std::find(c.begin(), c.end(), "ControlPath=/tmp/cvm-cli.abc/cm") != c.end();
		CHECK(uses_mux);
		if (!master && std::find(c.begin(), c.end(), "-O") == c.end())
			CHECK(std::find(c.begin(), c.end(), "ControlMaster=no") != c.end());
	}
	CHECK(masters == 1);
	CHECK(g.calls[0][1] == "-M");
	CHECK_THAT(g.calls[1].back(), StartsWith("uname -r"));
	CHECK_THAT(g.calls[2].back(), ContainsSubstring("mkdir -m 700 -- /tmp/cvm-cli-0123456789abcdef"));
	CHECK(g.calls[3].back() == "root@127.0.0.1:/tmp/cvm-cli-0123456789abcdef/lp_test.ko.part");
	CHECK_THAT(g.calls[4].back(), ContainsSubstring("sha256sum -- lp_test.ko.part"));
	CHECK_THAT(g.calls[4].back(), ContainsSubstring(std::string(64, 'a')));
	CHECK_THAT(g.calls[4].back(), ContainsSubstring("mv -f -- lp_test.ko.part lp_test.ko"));
	CHECK_THAT(g.calls[5].back(), ContainsSubstring("lp-load apply /tmp/cvm-cli-0123456789abcdef/lp_test.ko --json"));
	CHECK(g.calls[6][g.calls[6].size() - 3] == "exit");
}

TEST_CASE("deployment refuses a vermagic mismatch before uploading", "[transport][deploy]")
{
	FakeGuest g;
	g.release = "6.15.2";
	auto t = make_ssh_transport(ssh_opts("h"));
	std::ostringstream cmds, log;
	auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
	CHECK(res.kind == Kind::refused);
	CHECK(res.message == "vermagic mismatch: the patch was built for 6.12.117 but the guest runs 6.15.2 "
			     "(build the livepatch against the guest's kernel 6.15.2)");
	for (const auto &c : g.calls)
		CHECK(c[0] != "scp");
	CHECK(g.calls.size() == 3); // master, probe, exit
}

TEST_CASE("deployment failures give one actionable line and clean up", "[transport][deploy]")
{
	auto t = make_ssh_transport(ssh_opts("h"));
	std::ostringstream cmds, log;
	SECTION("connection fails")
	{
		FakeGuest g;
		g.master_rc = 255;
		auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
		CHECK(res.kind == Kind::remote);
		CHECK_THAT(res.message, StartsWith("cannot connect to the guest"));
		CHECK(g.calls.size() == 1);
	}
	SECTION("lp-load missing")
	{
		FakeGuest g;
		g.status_rc = 127;
		auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
		CHECK(res.kind == Kind::guest);
		CHECK_THAT(res.message, ContainsSubstring("lp-load is not installed"));
	}
	SECTION("sudo on the guest asks for a password: nothing is uploaded")
	{
		FakeGuest g;
		g.status_rc = kRemoteSudoPassword;
		auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
		CHECK(res.kind == Kind::remote);
		CHECK_THAT(res.message, StartsWith("cannot run lp-load as root on the guest: sudo asks for a password"));
		CHECK_THAT(res.message, ContainsSubstring("NOPASSWD: /usr/sbin/lp-load"));
		for (const auto &c : g.calls)
			CHECK(c.back().find("mkdir") == std::string::npos);
	}
	SECTION("lp-load exits without a verdict")
	{
		FakeGuest g;
		g.apply_rc = 1;
		g.apply_out = "";
		auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
		CHECK(res.kind == Kind::guest);
		CHECK_THAT(res.message, ContainsSubstring("it printed no JSON verdict"));
	}
	SECTION("upload interrupted: the temporary directory is removed")
	{
		FakeGuest g;
		g.upload_rc = 1;
		auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
		CHECK(res.kind == Kind::remote);
		CHECK(res.message == "upload to the guest failed (exit 1) with 1000000 kB free in /tmp on the guest; the "
				     "partial upload was removed, nothing loadable was left (check the connection and retry)");
		CHECK(g.calls[g.calls.size() - 2].back() ==
		      "df -Pk -- /tmp/cvm-cli-0123456789abcdef 2>/dev/null; rm -rf -- /tmp/cvm-cli-0123456789abcdef");
		int cleanups = 0;
		for (const auto &c : g.calls)
			cleanups += c.back().find("rm -rf") != std::string::npos;
		CHECK(cleanups == 1);
	}
	SECTION("checksum mismatch")
	{
		FakeGuest g;
		g.install_rc = kRemoteChecksumMismatch;
		auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
		CHECK(res.kind == Kind::remote);
		CHECK_THAT(res.message, ContainsSubstring("SHA-256 on the guest differs"));
		for (const auto &c : g.calls)
			CHECK(c.back().find("lp-load apply") == std::string::npos);
	}
	SECTION("lp-load refuses: its reason is passed on")
	{
		FakeGuest g;
		g.apply_rc = 4;
		g.apply_out = R"J({"result":"refused","exit_code":4,"message":"lp_test refused: EKEYREJECTED: not signed by a livepatch key (sign it with cvm-cli sign)"})J";
		auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
		CHECK(res.kind == Kind::guest);
		CHECK(res.lp_load_exit == 4);
		CHECK(res.message == "lp-load on the guest failed with exit 4: lp_test refused: EKEYREJECTED: not signed "
				     "by a livepatch key (sign it with cvm-cli sign)");
	}
}

TEST_CASE("dry run prints the exact commands, quoted, and runs nothing", "[transport][deploy]")
{
	FakeGuest g;
	GcpOptions o;
	o.vm = "vm1";
	o.zone = "us-central1-a";
	o.control_path = "/tmp/c/cm";
	auto t = make_gcp_transport(o);
	auto req = request();
	req.signed_module = "/tmp/dir with space/lp_test.ko";
	req.dry_run = true;
	std::ostringstream cmds, log;
	auto res = deploy_livepatch(*t, req, g.runner(), cmds, log);
	CHECK(res.kind == Kind::ok);
	CHECK(g.calls.empty());
	std::vector<std::string> lines;
	std::istringstream in(cmds.str());
	for (std::string l; std::getline(in, l);)
		lines.push_back(l);
	REQUIRE(lines.size() == 6);
	CHECK_THAT(lines[0], StartsWith("gcloud compute ssh vm1 --zone=us-central1-a --ssh-flag=-oControlMaster=auto "));
	CHECK_THAT(lines[0], ContainsSubstring("'--command=uname -r && echo '\\''--- lp-load status ---'\\'' && if"));
	CHECK(lines[2] == "gcloud compute scp --zone=us-central1-a --scp-flag=-oControlMaster=auto "
			  "--scp-flag=-oControlPath=/tmp/c/cm --scp-flag=-oControlPersist=300 "
			  "'/tmp/dir with space/lp_test.ko' vm1:/tmp/cvm-cli-0123456789abcdef/lp_test.ko.part");
	CHECK(lines[5] == "ssh -q -o ControlPath=/tmp/c/cm -O exit -- gcp-vm");
}

TEST_CASE("df -Pk output: the Available column in kB", "[transport][deploy]")
{
	CHECK(parse_df_available_kb("Filesystem     1024-blocks    Used Available Capacity Mounted on\n"
				    "/dev/vda1         10255636 1234567   8500000      13% /\n") == 8500000u);
	// busybox df -P, a mount point with a space
	CHECK(parse_df_available_kb("Filesystem           1024-blocks    Used Available Capacity Mounted on\n"
				    "tmpfs                    65536         4     65532   0% /mnt/a b\n") == 65532u);
	CHECK(parse_df_available_kb("Filesystem 1024-blocks Used Available Capacity Mounted on\n"
				    "/dev/vdb 100 100 0 100% /var/tmp\n") == 0u);
	CHECK_FALSE(parse_df_available_kb(""));
	CHECK_FALSE(parse_df_available_kb("df: /tmp/x: No such file or directory\n"));
	CHECK_FALSE(parse_df_available_kb("Filesystem 1024-blocks Used Available Capacity Mounted on\n/dev/x 1 2 many 3% /\n"));

	// The snippets on this machine's df: the directory is made, its free space read, then removed.
	auto dir = scratch_dir() / "df-guest" / "cvm-cli-00";
	std::filesystem::remove_all(dir.parent_path());
	std::filesystem::create_directories(dir.parent_path());
	auto r = run_shell("sh -c " + shell_quote(remote_prepare_command(dir.string())));
	CHECK(r.rc == 0);
	CHECK(parse_df_available_kb(r.out));
	CHECK((std::filesystem::status(dir).permissions() & std::filesystem::perms::all) == std::filesystem::perms::owner_all);
	write_bytes(dir / "p.ko.part", {'h', 'a', 'l', 'f'});
	r = run_shell("sh -c " + shell_quote(remote_df_cleanup_command(dir.string())));
	CHECK(r.rc == 0);
	CHECK(parse_df_available_kb(r.out));
	CHECK_FALSE(std::filesystem::exists(dir));
}

namespace {

// A signed patch of the given size, for the free-space checks.
DeployRequest request_of_size(std::size_t bytes)
{
	auto r = request();
	r.signed_module = scratch_dir() / "deploy-size" / "lp_test.ko";
	std::filesystem::create_directories(r.signed_module.parent_path());
	write_bytes(r.signed_module, std::vector<uint8_t>(bytes, 0x5a));
	return r;
}

} // namespace

TEST_CASE("deployment: a guest without room for the patch is refused before the upload", "[transport][deploy]")
{
	FakeGuest g;
	g.prepare_out = FakeGuest::df(10);
	auto t = make_ssh_transport(ssh_opts("h"));
	std::ostringstream cmds, log;
	auto res = deploy_livepatch(*t, request_of_size(50 * 1024), g.runner(), cmds, log);
	CHECK(res.kind == Kind::remote);
	CHECK(res.guest_free_kb == 10u);
	CHECK(res.message == "not enough space on the guest for the upload: /tmp has 10 kB free and the patch is 50 kB; "
			     "nothing was uploaded (free space there, or upload elsewhere with --remote-dir DIR)");
	for (const auto &c : g.calls)
		CHECK(c[0] != "scp");
	CHECK(g.calls[g.calls.size() - 2].back() == "rm -rf -- /tmp/cvm-cli-0123456789abcdef");

	// Enough room: uploaded and applied.
	FakeGuest roomy;
	roomy.prepare_out = FakeGuest::df(50);
	CHECK(deploy_livepatch(*t, request_of_size(50 * 1024), roomy.runner(), cmds, log).kind == Kind::ok);
}

TEST_CASE("deployment: an upload that fills the disk names the free space and leaves nothing behind",
	  "[transport][deploy]")
{
	FakeGuest g;
	g.upload_rc = 1;
	g.cleanup_out = FakeGuest::df(0);
	auto t = make_ssh_transport(ssh_opts("h"));
	std::ostringstream cmds, log;
	auto req = request_of_size(3000);
	req.remote_dir = "/var/tmp/cvm-cli-0123456789abcdef"; // --remote-dir /var/tmp
	auto res = deploy_livepatch(*t, req, g.runner(), cmds, log);
	CHECK(res.kind == Kind::remote);
	CHECK(res.message == "upload to the guest failed (exit 1): /var/tmp on the guest has 0 kB free and the patch is "
			     "3 kB; the partial upload was removed, nothing loadable was left (free space there, or upload "
			     "elsewhere with --remote-dir DIR)");
	CHECK_THAT(g.calls[2].back(), ContainsSubstring("mkdir -m 700 -- /var/tmp/cvm-cli-0123456789abcdef"));
	CHECK(g.calls[3].back() == "h:/var/tmp/cvm-cli-0123456789abcdef/lp_test.ko.part");
	CHECK(g.calls[4].back() == "df -Pk -- /var/tmp/cvm-cli-0123456789abcdef 2>/dev/null; rm -rf -- "
				   "/var/tmp/cvm-cli-0123456789abcdef");
	for (const auto &c : g.calls)
		CHECK(c.back().find("lp-load apply") == std::string::npos);

	// A guest without df: the message still says where to look.
	FakeGuest nodf;
	nodf.upload_rc = 1;
	nodf.cleanup_out = "";
	res = deploy_livepatch(*t, req, nodf.runner(), cmds, log);
	CHECK(res.message == "upload to the guest failed (exit 1); the partial upload was removed, nothing loadable was "
			     "left (check the connection and the free space of /var/tmp on the guest, and retry)");
}

TEST_CASE("deployment: another lp-load running on the guest is its own outcome, in one line", "[transport][deploy]")
{
	auto t = make_ssh_transport(ssh_opts("h"));
	std::ostringstream cmds, log;
	FakeGuest g;
	g.apply_rc = 7;
	g.apply_out = R"J({"command":"apply","result":"locked","exit_code":7,"message":"another lp-load is running: pid 812 holds /run/lp-load.lock (wait for it to finish and retry)"})J";
	auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
	CHECK(res.kind == Kind::locked);
	CHECK(res.lp_load_exit == 7);
	CHECK(res.message == "lp-load on the guest did not run: another lp-load is running: pid 812 holds "
			     "/run/lp-load.lock (wait for it to finish and retry)");
	// An older lp-load says so on stderr only.
	FakeGuest old;
	old.apply_rc = 7;
	old.apply_out = "";
	res = deploy_livepatch(*t, request(), old.runner(), cmds, log);
	CHECK(res.kind == Kind::locked);
	CHECK(res.message == "lp-load on the guest did not run: another lp-load is running there (wait for it to finish "
			     "and retry)");
}
