// SPDX-License-Identifier: GPL-2.0
// A software TPM 2.0 (Debian's swtpm) for one test: started on a Unix socket
// in DIR with fresh state, stopped when the object goes. lp-load and
// tpm2-tools reach it through the TCTI string tcti().
#pragma once

#include <chrono>
#include <csignal>
#include <filesystem>
#include <string>
#include <thread>

#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch_test_macros.hpp>

struct Swtpm {
	std::filesystem::path dir;
	pid_t pid = -1;

	explicit Swtpm(const std::filesystem::path &d) : dir(d)
	{
		std::filesystem::remove_all(dir);
		std::filesystem::create_directories(dir / "state");
		pid = fork();
		if (pid == 0) {
			execlp("swtpm", "swtpm", "socket", "--tpm2", "--tpmstate", ("dir=" + (dir / "state").string()).c_str(),
			       "--server", ("type=unixio,path=" + sock()).c_str(), "--ctrl",
			       ("type=unixio,path=" + sock() + ".ctrl").c_str(), "--flags", "not-need-init,startup-clear",
			       "--log", ("file=" + (dir / "log").string()).c_str(), nullptr);
			_exit(127);
		}
		for (int i = 0; i < 100 && !std::filesystem::exists(sock()); i++)
			std::this_thread::sleep_for(std::chrono::milliseconds(20));
		REQUIRE(std::filesystem::exists(sock()));
	}
	Swtpm(const Swtpm &) = delete;
	Swtpm &operator=(const Swtpm &) = delete;
	~Swtpm()
	{
		if (pid > 0) {
			kill(pid, SIGTERM);
			waitpid(pid, nullptr, 0);
		}
	}
	std::string sock() const { return (dir / "sock").string(); }
	std::string tcti() const { return "swtpm:path=" + sock(); }
};
