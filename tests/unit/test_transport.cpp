// SPDX-License-Identifier: GPL-2.0
// Provider command lines and the deployment sequence (with a recording
// runner standing in for ssh/gcloud: no network).

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <sstream>

#include "lpguard/deploy.hpp"
#include "lpguard/error.hpp"
#include "lpguard/exit_codes.hpp"
#include "lpguard/remote.hpp"

using namespace lpguard;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;

namespace {

int usage_code(const std::function<void()> &f)
{
	try {
		f();
	} catch (const Error &e) {
		return e.exit_code();
	}
	return -1;
}

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

TEST_CASE("ssh targets are parsed strictly", "[transport]")
{
	auto t = parse_ssh_target("root@127.0.0.1:2222");
	CHECK(t.user == "root");
	CHECK(t.host == "127.0.0.1");
	CHECK(t.port == 2222);
	CHECK(t.destination() == "root@127.0.0.1");
	t = parse_ssh_target("vm.example.com");
	CHECK(t.user.empty());
	CHECK_FALSE(t.port);
	t = parse_ssh_target("admin@[fe80::1]:22");
	CHECK(t.host == "fe80::1");
	CHECK(t.scp_host() == "admin@[fe80::1]");
	t = parse_ssh_target("::1");
	CHECK(t.host == "::1");
	for (const char *bad : {"-oProxyCommand=touch x", "a@b@c", "host:0", "host:70000", "host:", "@host", "-u@h",
				"h;touch x", "h $(x)", "[::1", "[host]:22", "host:22x", "a b", ""})
		CHECK(usage_code([&] { parse_ssh_target(bad); }) == exit_code::usage);
}

TEST_CASE("ssh transport: one master connection, every other command through it", "[transport]")
{
	auto o = ssh_opts("root@127.0.0.1:2222");
	o.identity = "/home/u/.ssh/id_ed25519";
	o.options = {"StrictHostKeyChecking=no"};
	auto t = make_ssh_transport(o);
	auto open = t->open();
	REQUIRE(open.size() == 1);
	CHECK(open[0] == Argv{"ssh", "-M", "-N", "-f", "-o", "ControlMaster=yes", "-o", "ControlPersist=300", "-o",
			      "ControlPath=/tmp/cvm-cli.abc/cm", "-i", "/home/u/.ssh/id_ed25519", "-o",
			      "StrictHostKeyChecking=no", "-p", "2222", "--", "root@127.0.0.1"});
	CHECK(t->run("uname -r") == Argv{"ssh", "-o", "ControlMaster=no", "-o", "ControlPath=/tmp/cvm-cli.abc/cm", "-i",
					 "/home/u/.ssh/id_ed25519", "-o", "StrictHostKeyChecking=no", "-p", "2222", "--",
					 "root@127.0.0.1", "uname -r"});
	CHECK(t->upload("/tmp/cvm-cli.abc/lp.ko", "/tmp/d/lp.ko.part") ==
	      Argv{"scp", "-q", "-o", "ControlMaster=no", "-o", "ControlPath=/tmp/cvm-cli.abc/cm", "-i",
		   "/home/u/.ssh/id_ed25519", "-o", "StrictHostKeyChecking=no", "-P", "2222", "--",
		   "/tmp/cvm-cli.abc/lp.ko", "root@127.0.0.1:/tmp/d/lp.ko.part"});
	CHECK(t->close()[0] == Argv{"ssh", "-q", "-o", "ControlPath=/tmp/cvm-cli.abc/cm", "-O", "exit", "--", "root@127.0.0.1"});
	CHECK(usage_code([&] { t->upload("relative.ko", "/tmp/x"); }) == exit_code::usage);
	CHECK(usage_code([&] { t->upload("/tmp/a.ko", "/tmp/x y"); }) == exit_code::usage);
	CHECK(usage_code([&] { t->upload("/tmp/a.ko", "relative"); }) == exit_code::usage);
	auto bad = ssh_opts("h");
	bad.options = {"-oProxyCommand=x"};
	CHECK(usage_code([&] { make_ssh_transport(bad); }) == exit_code::usage);
}

TEST_CASE("gcp transport follows gcloud compute ssh/scp syntax", "[transport]")
{
	GcpOptions g;
	g.vm = "my-vm";
	g.zone = "europe-west4-a";
	g.project = "my-project-1";
	g.tunnel_through_iap = true;
	g.ssh_flags = {"-4"};
	g.control_path = "/tmp/c/cm";
	auto t = make_gcp_transport(g);
	CHECK(t->open().empty());
	CHECK(t->run("uname -r") ==
	      Argv{"gcloud", "compute", "ssh", "my-vm", "--zone=europe-west4-a", "--project=my-project-1",
		   "--tunnel-through-iap", "--ssh-flag=-oControlMaster=auto", "--ssh-flag=-oControlPath=/tmp/c/cm",
		   "--ssh-flag=-oControlPersist=300", "--ssh-flag=-4", "--command=uname -r"});
	CHECK(t->upload("/tmp/c/lp.ko", "/tmp/d/lp.ko.part") ==
	      Argv{"gcloud", "compute", "scp", "--zone=europe-west4-a", "--project=my-project-1", "--tunnel-through-iap",
		   "--scp-flag=-oControlMaster=auto", "--scp-flag=-oControlPath=/tmp/c/cm",
		   "--scp-flag=-oControlPersist=300", "/tmp/c/lp.ko", "my-vm:/tmp/d/lp.ko.part"});
	g.vm = "user@vm1";
	g.tunnel_through_iap = false;
	g.internal_ip = true;
	CHECK(make_gcp_transport(g)->run("x")[3] == "user@vm1");
	for (std::string bad : {"My-VM", "vm;touch x", "vm $(x)", "-vm", "vm:x", "1vm", "vm-"}) {
		g.vm = bad;
		CHECK(usage_code([&] { make_gcp_transport(g); }) == exit_code::usage);
	}
	g.vm = "vm";
	g.tunnel_through_iap = true;
	CHECK(usage_code([&] { make_gcp_transport(g); }) == exit_code::usage);
	g.tunnel_through_iap = false;
	g.zone = "us central";
	CHECK(usage_code([&] { make_gcp_transport(g); }) == exit_code::usage);
	g.zone.reset();
	g.ssh_flags = {"ProxyCommand=x"};
	CHECK(usage_code([&] { make_gcp_transport(g); }) == exit_code::usage);
}

TEST_CASE("azure transport: az ssh config, then OpenSSH on the generated host entry", "[transport]")
{
	AzureOptions a;
	a.vm = "cvm1";
	a.resource_group = "rg-prod";
	a.config_file = "/tmp/c/ssh_config";
	a.control_path = "/tmp/c/cm";
	auto t = make_azure_transport(a);
	auto open = t->open();
	REQUIRE(open.size() == 2);
	CHECK(open[0] == Argv{"az", "ssh", "config", "--resource-group", "rg-prod", "--name", "cvm1", "--file",
			      "/tmp/c/ssh_config"});
	CHECK(open[1] == Argv{"ssh", "-M", "-N", "-f", "-o", "ControlMaster=yes", "-o", "ControlPersist=300", "-F",
			      "/tmp/c/ssh_config", "-o", "ControlPath=/tmp/c/cm", "--", "rg-prod-cvm1"});
	CHECK(t->run("true").back() == "true");
	CHECK(t->run("true")[t->run("true").size() - 2] == "rg-prod-cvm1");
	CHECK(t->upload("/tmp/c/lp.ko", "/tmp/d/x").back() == "rg-prod-cvm1:/tmp/d/x");
	a.local_user = "azureuser";
	a.identity = "/k";
	auto t2 = make_azure_transport(a);
	CHECK(t2->open()[0] == Argv{"az", "ssh", "config", "--resource-group", "rg-prod", "--name", "cvm1", "--file",
				    "/tmp/c/ssh_config", "--local-user", "azureuser", "--private-key-file", "/k"});
	CHECK(t2->run("x")[t2->run("x").size() - 2] == "rg-prod-cvm1-azureuser");
	a.vm = "vm;x";
	CHECK(usage_code([&] { make_azure_transport(a); }) == exit_code::usage);
	a.vm = "vm";
	a.resource_group = "rg $(x)";
	CHECK(usage_code([&] { make_azure_transport(a); }) == exit_code::usage);
}

TEST_CASE("aws transport: ssh through SSM's AWS-StartSSHSession", "[transport]")
{
	AwsOptions a;
	a.instance_id = "i-0123456789abcdef0";
	a.region = "eu-west-1";
	a.profile = "prod";
	a.control_path = "/tmp/c/cm";
	auto t = make_aws_transport(a);
	CHECK(t->open()[0] == Argv{"ssh", "-M", "-N", "-f", "-o", "ControlMaster=yes", "-o", "ControlPersist=300", "-o",
				   "ControlPath=/tmp/c/cm", "-o",
				   "ProxyCommand=aws ssm start-session --target %h --document-name AWS-StartSSHSession "
				   "--parameters portNumber=%p --region eu-west-1 --profile prod",
				   "--", "ec2-user@i-0123456789abcdef0"});
	CHECK(t->upload("/tmp/c/lp.ko", "/tmp/d/x").back() == "ec2-user@i-0123456789abcdef0:/tmp/d/x");
	for (std::string bad : {"i-123", "i-0123456789abcdef0;x", "vm", "i-0123456789ABCDEF0"}) {
		a.instance_id = bad;
		CHECK(usage_code([&] { make_aws_transport(a); }) == exit_code::usage);
	}
	a.instance_id = "mi-0123456789abcdef0";
	a.profile = "p'; touch x; '";
	CHECK(usage_code([&] { make_aws_transport(a); }) == exit_code::usage);
	a.profile.reset();
	a.region = "eu west";
	CHECK(usage_code([&] { make_aws_transport(a); }) == exit_code::usage);
}

TEST_CASE("deployment: probe, upload under a temporary name, verify, rename, apply, one connection", "[transport][deploy]")
{
	FakeGuest g;
	auto t = make_ssh_transport(ssh_opts("root@127.0.0.1:2222"));
	std::ostringstream cmds, log;
	auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
	CHECK(res.exit_code == 0);
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
	CHECK(res.exit_code == exit_code::refused);
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
		CHECK(res.exit_code == exit_code::remote);
		CHECK_THAT(res.message, StartsWith("cannot connect to the guest"));
		CHECK(g.calls.size() == 1);
	}
	SECTION("lp-load missing")
	{
		FakeGuest g;
		g.status_rc = 127;
		auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
		CHECK(res.exit_code == exit_code::guest);
		CHECK_THAT(res.message, ContainsSubstring("lp-load is not installed"));
	}
	SECTION("sudo on the guest asks for a password: nothing is uploaded")
	{
		FakeGuest g;
		g.status_rc = kRemoteSudoPassword;
		auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
		CHECK(res.exit_code == exit_code::remote);
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
		CHECK(res.exit_code == exit_code::guest);
		CHECK_THAT(res.message, ContainsSubstring("it printed no JSON verdict"));
	}
	SECTION("upload interrupted: the temporary directory is removed")
	{
		FakeGuest g;
		g.upload_rc = 1;
		auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
		CHECK(res.exit_code == exit_code::remote);
		CHECK_THAT(res.message, ContainsSubstring("nothing loadable was left"));
		CHECK(g.calls[g.calls.size() - 2].back() == "rm -rf -- /tmp/cvm-cli-0123456789abcdef");
	}
	SECTION("checksum mismatch")
	{
		FakeGuest g;
		g.install_rc = kRemoteChecksumMismatch;
		auto res = deploy_livepatch(*t, request(), g.runner(), cmds, log);
		CHECK(res.exit_code == exit_code::remote);
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
		CHECK(res.exit_code == exit_code::guest);
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
	CHECK(res.exit_code == 0);
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
