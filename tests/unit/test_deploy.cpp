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
			if (last.find("mkdir") != std::string::npos)
				return prepare_rc;
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
	CHECK(remote_prepare_command("/tmp/x y") == "umask 077 && mkdir -m 700 -- '/tmp/x y'");
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
		CHECK_THAT(res.message, ContainsSubstring("nothing loadable was left"));
		CHECK(g.calls[g.calls.size() - 2].back() == "rm -rf -- /tmp/cvm-cli-0123456789abcdef");
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
