// SPDX-License-Identifier: GPL-2.0
// Provider command lines (host/transport.cpp).

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <sstream>

#include "lpguard/core/error.hpp"
#include "lpguard/host/transport.hpp"

using namespace lpguard;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;

namespace {

Kind usage_code(const std::function<void()> &f)
{
	try {
		f();
	} catch (const Error &e) {
		return e.kind();
	}
	return Kind::ok;
}

SshOptions ssh_opts(const std::string &target)
{
	SshOptions o;
	o.target = parse_ssh_target(target);
	o.control_path = "/tmp/cvm-cli.abc/cm";
	return o;
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
		CHECK(usage_code([&] { parse_ssh_target(bad); }) == Kind::usage);
}

TEST_CASE("ssh transport: one master connection, every other command through it", "[transport]")
{
	auto o = ssh_opts("root@127.0.0.1:2222");
	o.identity = "/home/u/.ssh/id_ed25519";
	o.options = {"StrictHostKeyChecking=no"};
	auto t = make_ssh_transport(o);
	auto open = t->open();
	REQUIRE(open.size() == 1);
	CHECK(open[0] == Argv{"ssh", "-M", "-N", "-f", "-o", "ControlMaster=yes", "-o", "ControlPersist=300", "-o", "ControlPath=/tmp/cvm-cli.abc/cm", "-i", "/home/u/.ssh/id_ed25519", "-o", "StrictHostKeyChecking=no", "-p", "2222", "--", "root@127.0.0.1"});
	CHECK(t->run("uname -r") == Argv{"ssh", "-o", "ControlMaster=no", "-o", "ControlPath=/tmp/cvm-cli.abc/cm", "-i", "/home/u/.ssh/id_ed25519", "-o", "StrictHostKeyChecking=no", "-p", "2222", "--", "root@127.0.0.1", "uname -r"});
	CHECK(t->upload("/tmp/cvm-cli.abc/lp.ko", "/tmp/d/lp.ko.part") ==
	      Argv{"scp", "-q", "-o", "ControlMaster=no", "-o", "ControlPath=/tmp/cvm-cli.abc/cm", "-i",
		   "/home/u/.ssh/id_ed25519", "-o", "StrictHostKeyChecking=no", "-P", "2222", "--",
		   "/tmp/cvm-cli.abc/lp.ko", "root@127.0.0.1:/tmp/d/lp.ko.part"});
	CHECK(t->close()[0] == Argv{"ssh", "-q", "-o", "ControlPath=/tmp/cvm-cli.abc/cm", "-O", "exit", "--", "root@127.0.0.1"});
	CHECK(usage_code([&] { t->upload("relative.ko", "/tmp/x"); }) == Kind::usage);
	CHECK(usage_code([&] { t->upload("/tmp/a.ko", "/tmp/x y"); }) == Kind::usage);
	CHECK(usage_code([&] { t->upload("/tmp/a.ko", "relative"); }) == Kind::usage);
	auto bad = ssh_opts("h");
	bad.options = {"-oProxyCommand=x"};
	CHECK(usage_code([&] { make_ssh_transport(bad); }) == Kind::usage);
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
		CHECK(usage_code([&] { make_gcp_transport(g); }) == Kind::usage);
	}
	g.vm = "vm";
	g.tunnel_through_iap = true;
	CHECK(usage_code([&] { make_gcp_transport(g); }) == Kind::usage);
	g.tunnel_through_iap = false;
	g.zone = "us central";
	CHECK(usage_code([&] { make_gcp_transport(g); }) == Kind::usage);
	g.zone.reset();
	g.ssh_flags = {"ProxyCommand=x"};
	CHECK(usage_code([&] { make_gcp_transport(g); }) == Kind::usage);
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
	CHECK(open[0] == Argv{"az", "ssh", "config", "--resource-group", "rg-prod", "--name", "cvm1", "--file", "/tmp/c/ssh_config"});
	CHECK(open[1] == Argv{"ssh", "-M", "-N", "-f", "-o", "ControlMaster=yes", "-o", "ControlPersist=300", "-F", "/tmp/c/ssh_config", "-o", "ControlPath=/tmp/c/cm", "--", "rg-prod-cvm1"});
	CHECK(t->run("true").back() == "true");
	CHECK(t->run("true")[t->run("true").size() - 2] == "rg-prod-cvm1");
	CHECK(t->upload("/tmp/c/lp.ko", "/tmp/d/x").back() == "rg-prod-cvm1:/tmp/d/x");
	a.local_user = "azureuser";
	a.identity = "/k";
	auto t2 = make_azure_transport(a);
	CHECK(t2->open()[0] == Argv{"az", "ssh", "config", "--resource-group", "rg-prod", "--name", "cvm1", "--file", "/tmp/c/ssh_config", "--local-user", "azureuser", "--private-key-file", "/k"});
	CHECK(t2->run("x")[t2->run("x").size() - 2] == "rg-prod-cvm1-azureuser");
	a.vm = "vm;x";
	CHECK(usage_code([&] { make_azure_transport(a); }) == Kind::usage);
	a.vm = "vm";
	a.resource_group = "rg $(x)";
	CHECK(usage_code([&] { make_azure_transport(a); }) == Kind::usage);
}

TEST_CASE("aws transport: ssh through SSM's AWS-StartSSHSession", "[transport]")
{
	AwsOptions a;
	a.instance_id = "i-0123456789abcdef0";
	a.region = "eu-west-1";
	a.profile = "prod";
	a.control_path = "/tmp/c/cm";
	auto t = make_aws_transport(a);
	CHECK(t->open()[0] == Argv{"ssh", "-M", "-N", "-f", "-o", "ControlMaster=yes", "-o", "ControlPersist=300", "-o", "ControlPath=/tmp/c/cm", "-o", "ProxyCommand=aws ssm start-session --target %h --document-name AWS-StartSSHSession "
																			"--parameters portNumber=%p --region eu-west-1 --profile prod",
				   "--", "ec2-user@i-0123456789abcdef0"});
	CHECK(t->upload("/tmp/c/lp.ko", "/tmp/d/x").back() == "ec2-user@i-0123456789abcdef0:/tmp/d/x");
	for (std::string bad : {"i-123", "i-0123456789abcdef0;x", "vm", "i-0123456789ABCDEF0"}) {
		a.instance_id = bad;
		CHECK(usage_code([&] { make_aws_transport(a); }) == Kind::usage);
	}
	a.instance_id = "mi-0123456789abcdef0";
	a.profile = "p'; touch x; '";
	CHECK(usage_code([&] { make_aws_transport(a); }) == Kind::usage);
	a.profile.reset();
	a.region = "eu west";
	CHECK(usage_code([&] { make_aws_transport(a); }) == Kind::usage);
}
