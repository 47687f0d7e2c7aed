// SPDX-License-Identifier: GPL-2.0
// `cvm-cli livepatch ssh` end to end against a real OpenSSH server on
// 127.0.0.1 (started by the test, with a stand-in lp-load on its PATH):
// exact guest-side effects and the number of ssh connections (from sshd's log).

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include <csignal>
#include <fcntl.h>
#include <sstream>
#include <thread>

#include <netinet/in.h>
#include <pwd.h>
#include <sys/socket.h>
#include <sys/utsname.h>

#include <nlohmann/json.hpp>

#include "cvm-cli/exit_codes.hpp"
#include "lpguard/core/module_image.hpp"
#include "lpguard/host/shell.hpp"
#include "lpguard/host/transport.hpp"
#include "test_module_builder.hpp"
#include "test_module_keys.hpp"

using namespace lpguard;
using namespace lpguard::test;
using Catch::Matchers::ContainsSubstring;
using Catch::Matchers::StartsWith;

namespace {

int free_port()
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	sockaddr_in a{};
	a.sin_family = AF_INET;
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bind(s, reinterpret_cast<sockaddr *>(&a), sizeof(a));
	socklen_t len = sizeof(a);
	getsockname(s, reinterpret_cast<sockaddr *>(&a), &len);
	close(s);
	return ntohs(a.sin_port);
}

void write_text(const std::filesystem::path &p, const std::string &s, std::filesystem::perms perms = std::filesystem::perms::owner_read | std::filesystem::perms::owner_write)
{
	write_bytes(p, std::vector<uint8_t>(s.begin(), s.end()));
	std::filesystem::permissions(p, perms);
}

std::string text(const std::filesystem::path &p)
{
	auto b = read_bytes(p);
	return std::string(b.begin(), b.end());
}

int count(const std::string &hay, const std::string &needle)
{
	int n = 0;
	for (auto pos = hay.find(needle); pos != std::string::npos; pos = hay.find(needle, pos + 1))
		n++;
	return n;
}

struct Sshd {
	std::filesystem::path dir, log, client_key, received;
	std::string user;
	int port = 0;
	pid_t pid = -1;

	Sshd()
	{
		static int instances = 0;
		dir = scratch_dir() / ("sshd-" + std::to_string(++instances));
		std::filesystem::create_directories(dir / "bin");
		user = getpwuid(getuid())->pw_name;
		port = free_port();
		log = dir / "sshd.log";
		client_key = dir / "client";
		received = dir / "received.ko";
		REQUIRE(run_shell("ssh-keygen -q -t ed25519 -N '' -f " + shell_quote((dir / "host").string()) +
				  " && ssh-keygen -q -t ed25519 -N '' -f " + shell_quote(client_key.string()))
				.rc == 0);
		std::filesystem::copy_file(dir / "client.pub", dir / "authorized_keys");
		// The stand-in lp-load: status prints JSON; apply keeps a copy of
		// the file it was given and reports success the way lp-load does.
		write_text(dir / "bin/lp-load",
			   "#!/bin/sh\n"
			   "case \"$1\" in\n"
			   "status) echo '{\"command\":\"status\",\"active\":null}' ;;\n"
			   "apply) cp -- \"$2\" " +
				   shell_quote(received.string()) + " || exit 1\n"
								    "  echo \"$2\" > " +
				   shell_quote((dir / "apply-path").string()) + "\n"
										"  echo '{\"command\":\"apply\",\"result\":\"applied\",\"exit_code\":0,\"message\":\"applied stand-in\"}' ;;\n"
										"*) exit 2 ;;\n"
										"esac\n",
			   std::filesystem::perms::owner_all);
		write_text(dir / "sshd_config",
			   "Port " + std::to_string(port) + "\nListenAddress 127.0.0.1\n"
							    "HostKey " +
				   (dir / "host").string() + "\n"
							     "AuthorizedKeysFile " +
				   (dir / "authorized_keys").string() + "\n"
									"PidFile " +
				   (dir / "sshd.pid").string() + "\n"
								 "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\nPasswordAuthentication no\n"
								 "KbdInteractiveAuthentication no\nLogLevel VERBOSE\n"
								 "SetEnv PATH=" +
				   (dir / "bin").string() + ":/usr/bin:/bin\n"
							    "Subsystem sftp internal-sftp\n");
		std::filesystem::create_directories("/run/sshd");
		pid = fork();
		if (pid == 0) {
			int fd = open(log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
			dup2(fd, 2);
			execl("/usr/sbin/sshd", "/usr/sbin/sshd", "-D", "-e", "-f", (dir / "sshd_config").c_str(), nullptr);
			_exit(127);
		}
		for (int i = 0; i < 100 && text(log).find("Server listening") == std::string::npos; i++)
			std::this_thread::sleep_for(std::chrono::milliseconds(50));
		INFO(text(log));
		REQUIRE(text(log).find("Server listening") != std::string::npos);
	}
	~Sshd()
	{
		if (pid > 0) {
			kill(pid, SIGTERM);
			waitpid(pid, nullptr, 0);
		}
	}
	int connections() const { return count(text(log), "Accepted publickey"); }
	std::vector<std::string> ssh_args() const
	{
		return {user + "@127.0.0.1:" + std::to_string(port), "-i", client_key.string(), "-o", "StrictHostKeyChecking=no",
			"-o", "UserKnownHostsFile=/dev/null", "-o", "BatchMode=yes", "-o", "LogLevel=ERROR"};
	}
};

std::string release()
{
	utsname u;
	uname(&u);
	return u.release;
}

Cmd cvm(const std::vector<std::string> &args, const std::string &env = "")
{
	Argv argv{(std::filesystem::read_symlink("/proc/self/exe").parent_path() / "cvm-cli").string()};
	argv.insert(argv.end(), args.begin(), args.end());
	return run_shell(env + " " + shell_join(argv) + " 2>" + shell_quote((scratch_dir() / "sshd-cli.err").string()));
}

} // namespace

TEST_CASE("livepatch ssh against a real sshd: one connection, verified upload, lp-load's verdict", "[sshd][livepatch]")
{
	REQUIRE(std::filesystem::exists("/usr/sbin/sshd"));
	Sshd sshd;
	const auto &k = test_keys("rsa");
	auto dir = scratch_dir() / "sshd-work";
	std::filesystem::create_directories(dir);
	write_bytes(dir / "lp.ko", build_module("lp_sshd", true, release() + " SMP mod_unload ").bytes);

	std::vector<std::string> args{"livepatch", "ssh"};
	auto sa = sshd.ssh_args();
	args.insert(args.end(), sa.begin(), sa.begin() + 1);
	args.push_back((dir / "lp.ko").string());
	args.insert(args.end(), sa.begin() + 1, sa.end());
	args.insert(args.end(), {"--key", k.key.string(), "--cert", k.crt.string(), "--json"});
	auto r = cvm(args);
	INFO(r.out << text(scratch_dir() / "sshd-cli.err") << text(sshd.log));
	REQUIRE(r.rc == 0);
	auto j = nlohmann::json::parse(r.out);
	CHECK(j["guest_release"] == release());
	CHECK(j["guest_status"]["command"] == "status");
	CHECK(j["lp_load"]["result"] == "applied");
	CHECK(j["message"] == "applied stand-in");
	// Exactly one ssh connection for probe, mkdir, scp, checksum, apply.
	CHECK(sshd.connections() == 1);
	// What lp-load got is our signed module, under its final name.
	CHECK_THAT(text(sshd.dir / "apply-path"), ContainsSubstring("/lp_sshd.ko"));
	auto got = ModuleImage::from_file(sshd.received);
	CHECK(got.sha256_hex() == j["patch"]["sha256_signed"]);
	CHECK(verify_module(got, Certificate::load_all(k.crt)).ok);
	// The temporary directory is gone from the guest.
	std::string path = text(sshd.dir / "apply-path");
	path.pop_back();
	CHECK_FALSE(std::filesystem::exists(std::filesystem::path(path).parent_path()));

	// A vermagic mismatch is refused before anything is uploaded.
	std::filesystem::remove(sshd.received);
	write_bytes(dir / "old.ko", build_module("lp_old", true, "0.0.1-other SMP ").bytes);
	args[3] = (dir / "old.ko").string();
	auto m = cvm(args);
	CHECK(m.rc == cvmcli::exit_code(Kind::refused));
	auto mj = nlohmann::json::parse(m.out);
	CHECK(mj["message"] == "vermagic mismatch: the patch was built for 0.0.1-other but the guest runs " + release() + " (build the livepatch against the guest's kernel " + release() + ")");
	CHECK_FALSE(std::filesystem::exists(sshd.received));
	CHECK(sshd.connections() == 2);
}

TEST_CASE("livepatch gcp through a gcloud double that checks gcloud's syntax and forwards to sshd", "[sshd][livepatch][gcp]")
{
	Sshd sshd;
	const auto &k = test_keys("rsa");
	auto dir = scratch_dir() / "gcp-work";
	std::filesystem::create_directories(dir / "bin");
	std::filesystem::create_symlink(std::filesystem::path(LPGUARD_TEST_DATA) / "gcloud-double", dir / "bin/gcloud");
	write_bytes(dir / "lp.ko", build_module("lp_gcp", true, release() + " SMP mod_unload ").bytes);
	auto log = dir / "gcloud.log";
	std::string env = "PATH=" + shell_quote((dir / "bin").string()) + ":$PATH GCLOUD_DOUBLE_INSTANCE=cvm-1 "
									  "GCLOUD_DOUBLE_DEST=" +
		shell_quote(sshd.user + "@127.0.0.1") +
		" GCLOUD_DOUBLE_PORT=" + std::to_string(sshd.port) + " GCLOUD_DOUBLE_LOG=" + shell_quote(log.string()) +
		" GCLOUD_DOUBLE_SSH_OPTS=" +
		shell_quote("-i " + sshd.client_key.string() + " -o StrictHostKeyChecking=no -o "
							       "UserKnownHostsFile=/dev/null -o BatchMode=yes -o LogLevel=ERROR");
	auto r = cvm({"livepatch", "gcp", "cvm-1", (dir / "lp.ko").string(), "--zone", "europe-west4-a", "--project",
		      "lpguard-test", "--internal-ip", "--ssh-flag=-4", "--key", k.key.string(), "--cert", k.crt.string(),
		      "--json"},
		     env);
	INFO(r.out << text(scratch_dir() / "sshd-cli.err") << text(log) << text(sshd.log));
	REQUIRE(r.rc == 0);
	auto j = nlohmann::json::parse(r.out);
	CHECK(j["provider"] == "gcp");
	CHECK(j["lp_load"]["result"] == "applied");
	CHECK(verify_module(ModuleImage::from_file(sshd.received), Certificate::load_all(k.crt)).ok);
	CHECK(sshd.connections() == 1);
	// gcloud was called five times (probe, mkdir, scp, checksum, apply), each
	// with the zone, project and --internal-ip.
	auto calls = text(log);
	CHECK(count(calls, "\n") == 5);
	CHECK(count(calls, "\"--zone=europe-west4-a\"") == 5);
	CHECK(count(calls, "\"--internal-ip\"") == 5);
	CHECK(count(calls, "[\"compute\", \"scp\"") == 1);

	// An instance the project does not have: gcloud's error, exit 7.
	auto bad = cvm({"livepatch", "gcp", "cvm-2", (dir / "lp.ko").string(), "--key", k.key.string(), "--cert",
			k.crt.string()},
		       env);
	CHECK(bad.rc == cvmcli::exit_code(Kind::remote));
	auto err = text(scratch_dir() / "sshd-cli.err");
	CHECK_THAT(err, ContainsSubstring("ERROR: (gcloud.compute.ssh) could not fetch resource"));
	CHECK_THAT(err, ContainsSubstring("cvm-cli: cannot run commands on the guest: `gcloud` exited with 2"));
}

namespace {

// cvm-cli livepatch ssh ... PATCH with the test keys, as a word list.
std::vector<std::string> livepatch_args(const Sshd &sshd, const std::filesystem::path &ko,
					const std::vector<std::string> &more = {})
{
	const auto &k = test_keys("rsa");
	std::vector<std::string> args{"livepatch", "ssh"};
	auto sa = sshd.ssh_args();
	args.insert(args.end(), sa.begin(), sa.begin() + 1);
	args.push_back(ko.string());
	args.insert(args.end(), sa.begin() + 1, sa.end());
	args.insert(args.end(), {"--key", k.key.string(), "--cert", k.crt.string()});
	args.insert(args.end(), more.begin(), more.end());
	return args;
}

std::vector<std::string> lines_of(const std::string &s)
{
	std::vector<std::string> out;
	std::istringstream in(s);
	for (std::string l; std::getline(in, l);)
		out.push_back(l);
	return out;
}

} // namespace

TEST_CASE("two livepatch at once against one guest: one applies, the other is told lp-load is busy",
	  "[sshd][livepatch][locked]")
{
	Sshd sshd;
	auto d = sshd.dir;
	// A stand-in lp-load with lp-load's lock: the holder waits until the
	// other one was refused, so the two always overlap.
	write_text(d / "bin/lp-load",
		   "#!/bin/sh\nD=" + shell_quote(d.string()) +
			   "\n"
			   "case \"$1\" in\n"
			   "status) echo '{\"command\":\"status\",\"active\":null}' ;;\n"
			   "apply)\n"
			   "  exec 9>\"$D/lock\"\n"
			   "  if flock -n 9; then\n"
			   "    echo $$ > \"$D/holder\"\n"
			   "    i=0; while [ ! -e \"$D/refused\" ] && [ $i -lt 300 ]; do sleep 0.1; i=$((i+1)); done\n"
			   "    cp -- \"$2\" \"$D/received.ko\" && echo \"$2\" > \"$D/applied-path\"\n"
			   "    echo '{\"command\":\"apply\",\"result\":\"applied\",\"exit_code\":0,\"message\":\"applied stand-in\"}'\n"
			   "  else\n"
			   "    echo \"$2\" > \"$D/refused-path\"\n"
			   "    i=0; while [ ! -s \"$D/holder\" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done\n"
			   "    printf '{\"command\":\"apply\",\"result\":\"locked\",\"exit_code\":7,\"message\":\"another lp-load is "
			   "running: pid %s holds /run/lp-load.lock (wait for it to finish and retry)\"}\\n' \"$(cat \"$D/holder\")\"\n"
			   "    touch \"$D/refused\"; exit 7\n"
			   "  fi ;;\n"
			   "*) exit 2 ;;\n"
			   "esac\n",
		   std::filesystem::perms::owner_all);
	auto work = scratch_dir() / "sshd-twice";
	std::filesystem::create_directories(work);
	write_bytes(work / "a.ko", build_module("lp_twice", true, release() + " SMP mod_unload ").bytes);
	std::string cli = (std::filesystem::read_symlink("/proc/self/exe").parent_path() / "cvm-cli").string();
	std::string both;
	for (int i : {1, 2}) {
		Argv argv{cli};
		auto a = livepatch_args(sshd, work / "a.ko");
		argv.insert(argv.end(), a.begin(), a.end());
		auto w = [&](const char *what) { return shell_quote((work / (what + std::to_string(i))).string()); };
		both += "( " + shell_join(argv) + " >" + w("out") + " 2>" + w("err") + "; echo $? >" + w("rc") + " ) & ";
	}
	REQUIRE(run_shell(both + "wait").rc == 0);
	auto rc = [&](int i) { return std::stoi(text(work / ("rc" + std::to_string(i)))); };
	INFO(text(work / "err1") << text(work / "err2") << text(sshd.log));
	REQUIRE(rc(1) + rc(2) == cvmcli::exit_code(Kind::locked));
	int loser = rc(1) == 0 ? 2 : 1, winner = 3 - loser;
	CHECK(cvmcli::exit_code(Kind::locked) == 24);
	CHECK(text(work / ("out" + std::to_string(winner))) == "cvm-cli: applied stand-in\n");
	// The refusal is one line, cvm-cli's, naming the holder: the last on stderr.
	auto err = lines_of(text(work / ("err" + std::to_string(loser))));
	REQUIRE_FALSE(err.empty());
	std::string holder = text(d / "holder");
	holder.pop_back();
	CHECK(err.back() == "cvm-cli: lp-load on the guest did not run: another lp-load is running: pid " + holder + " holds /run/lp-load.lock (wait for it to finish and retry)");
	for (const auto &l : err)
		CHECK(l.rfind("cvm-cli: ", 0) == 0); // progress and the verdict only
	// Each run uploaded into its own directory; the applied file is the signed patch; nothing is left.
	std::string applied = text(d / "applied-path"), refused = text(d / "refused-path");
	applied.pop_back();
	refused.pop_back();
	CHECK(std::filesystem::path(applied).parent_path() != std::filesystem::path(refused).parent_path());
	CHECK(verify_module(ModuleImage::from_file(d / "received.ko"), Certificate::load_all(test_keys("rsa").crt)).ok);
	CHECK_FALSE(std::filesystem::exists(std::filesystem::path(applied).parent_path()));
	CHECK_FALSE(std::filesystem::exists(std::filesystem::path(refused).parent_path()));
}

TEST_CASE("livepatch --remote-dir: the upload goes there, and a guest without room there is refused before it",
	  "[sshd][livepatch][disk-full]")
{
	Sshd sshd;
	auto work = scratch_dir() / "sshd-remote-dir";
	std::filesystem::remove_all(work);
	std::filesystem::create_directories(work / "up");
	write_bytes(work / "lp.ko", build_module("lp_room", true, release() + " SMP mod_unload ").bytes);

	auto r = cvm(livepatch_args(sshd, work / "lp.ko", {"--remote-dir", (work / "up").string() + "/", "--json"}));
	INFO(r.out << text(scratch_dir() / "sshd-cli.err"));
	REQUIRE(r.rc == 0);
	auto j = nlohmann::json::parse(r.out);
	CHECK_THAT(j["upload_dir"].get<std::string>(), StartsWith((work / "up/cvm-cli-").string()));
	CHECK(j["guest_free_kb"].is_number_unsigned());
	CHECK_THAT(text(sshd.dir / "apply-path"), StartsWith(j["upload_dir"].get<std::string>() + "/lp_room.ko"));
	CHECK(std::filesystem::is_empty(work / "up"));

	// A guest whose df says 1 kB is free there.
	std::filesystem::remove(sshd.received);
	write_text(sshd.dir / "bin/df",
		   "#!/bin/sh\necho 'Filesystem 1024-blocks Used Available Capacity Mounted on'\n"
		   "echo '/dev/vdb 100 99 1 99% /srv'\n",
		   std::filesystem::perms::owner_all);
	auto full = cvm(livepatch_args(sshd, work / "lp.ko", {"--remote-dir", (work / "up").string()}));
	CHECK(full.rc == cvmcli::exit_code(Kind::remote));
	auto err = lines_of(text(scratch_dir() / "sshd-cli.err"));
	REQUIRE_FALSE(err.empty());
	CHECK_THAT(err.back(), StartsWith("cvm-cli: not enough space on the guest for the upload: " + (work / "up").string() + " has 1 kB free and the patch is "));
	CHECK_THAT(err.back(), ContainsSubstring(" kB; nothing was uploaded (free space there, or upload elsewhere with "
						 "--remote-dir DIR)"));
	CHECK_FALSE(std::filesystem::exists(sshd.received)); // lp-load never ran
	CHECK(std::filesystem::is_empty(work / "up"));

	// Not an absolute path of plain characters: a command-line error.
	auto bad = cvm(livepatch_args(sshd, work / "lp.ko", {"--remote-dir", "tmp/x"}));
	CHECK(bad.rc == cvmcli::exit_code(Kind::usage));
}
