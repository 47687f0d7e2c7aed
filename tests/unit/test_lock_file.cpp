// SPDX-License-Identifier: GPL-2.0
// One lp-load at a time.
#include <catch2/catch_test_macros.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include "fakesys/fake_kernel.hpp"
#include "lpguard/core/error.hpp"
#include "lpguard/guest/lock_file.hpp"

TEST_CASE("a second lp-load is refused while the lock is held, and may run after", "[lpload][lock]")
{
	fakesys::FakeTree t;
	auto path = t.root / "run/lp-load.lock";
	{
		auto held = lpguard::LockFile::acquire(path);
		CHECK(held.held());
		CHECK(fakesys::get(path) == std::to_string(::getpid()) + "\n");
		try {
			lpguard::LockFile::acquire(path);
			FAIL("second acquire succeeded");
		} catch (const lpguard::Error &e) {
			CHECK(e.kind() == lpguard::Kind::locked);
			CHECK(std::string(e.what()) == "another lp-load is running: pid " + std::to_string(::getpid()) + " holds " + path.string() + " (wait for it to finish and retry)");
		}
	}
	auto again = lpguard::LockFile::acquire(path);
	CHECK(again.held());
}

TEST_CASE("the lock is held across processes and released when its holder exits", "[lpload][lock]")
{
	fakesys::FakeTree t;
	auto path = t.root / "run/lp-load.lock";
	int go[2], done[2];
	REQUIRE(::pipe(go) == 0);
	REQUIRE(::pipe(done) == 0);
	pid_t child = ::fork();
	REQUIRE(child >= 0);
	if (child == 0) {
		char c;
		::close(go[1]);
		::close(done[0]);
		auto l = lpguard::LockFile::acquire(path);
		if (::write(done[1], "x", 1) != 1)
			::_exit(2);
		if (::read(go[0], &c, 1) != 1)
			::_exit(3);
		::_exit(0);
	}
	::close(go[0]);
	::close(done[1]);
	char c;
	REQUIRE(::read(done[0], &c, 1) == 1);
	try {
		lpguard::LockFile::acquire(path);
		FAIL("acquired a lock held by another process");
	} catch (const lpguard::Error &e) {
		CHECK(e.why() == "pid " + std::to_string(child) + " holds " + path.string());
	}
	REQUIRE(::write(go[1], "x", 1) == 1);
	int status = 0;
	REQUIRE(::waitpid(child, &status, 0) == child);
	CHECK(WIFEXITED(status));
	CHECK(WEXITSTATUS(status) == 0);
	auto mine = lpguard::LockFile::acquire(path);
	CHECK(mine.held());
	::close(go[1]);
	::close(done[0]);
}
