// SPDX-License-Identifier: GPL-2.0
// Running local programs: PATH lookup and posix_spawn, no shell.

#include "lpguard/host/process.hpp"

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include "lpguard/core/error.hpp"

extern char **environ;

namespace lpguard {

std::optional<std::filesystem::path> find_program(const std::string &name)
{
	if (name.find('/') != std::string::npos)
		return access(name.c_str(), X_OK) == 0 ? std::optional<std::filesystem::path>(name) : std::nullopt;
	const char *path = std::getenv("PATH");
	std::string p = path ? path : "/usr/bin:/bin";
	std::size_t start = 0;
	while (start <= p.size()) {
		auto end = p.find(':', start);
		if (end == std::string::npos)
			end = p.size();
		std::string dir = p.substr(start, end - start);
		std::filesystem::path cand = std::filesystem::path(dir.empty() ? "." : dir) / name;
		if (access(cand.c_str(), X_OK) == 0 && std::filesystem::is_regular_file(cand))
			return cand;
		start = end + 1;
	}
	return std::nullopt;
}

int run_command(const Argv &argv, std::string *out, bool stdout_null)
{
	if (argv.empty())
		return 127;
	std::vector<char *> args;
	for (const auto &a : argv)
		args.push_back(const_cast<char *>(a.c_str()));
	args.push_back(nullptr);
	int pipefd[2] = {-1, -1};
	if (out && pipe2(pipefd, O_CLOEXEC) != 0)
		throw Error("cannot run " + argv[0], std::strerror(errno), "", Kind::internal);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
	if (out)
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	else if (stdout_null)
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	pid_t pid;
	int rc = posix_spawnp(&pid, argv[0].c_str(), &fa, nullptr, args.data(), environ);
	posix_spawn_file_actions_destroy(&fa);
	if (out)
		close(pipefd[1]);
	if (rc != 0) {
		if (out)
			close(pipefd[0]);
		return 127;
	}
	if (out) {
		char buf[65536];
		for (;;) {
			ssize_t n = read(pipefd[0], buf, sizeof(buf));
			if (n < 0 && errno == EINTR)
				continue;
			if (n <= 0)
				break;
			out->append(buf, std::size_t(n));
		}
		close(pipefd[0]);
	}
	int status = 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 127;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 127;
}

} // namespace lpguard
