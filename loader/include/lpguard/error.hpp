// SPDX-License-Identifier: GPL-2.0
// One error type for the library: every failure says what failed, why, and
// what to do, and renders as one line.
#pragma once

#include <stdexcept>
#include <string>

namespace lpguard {

class Error : public std::runtime_error {
public:
	Error(std::string what, std::string why, std::string todo, int exit_code = 1)
		: std::runtime_error(what + ": " + why + (todo.empty() ? "" : " (" + todo + ")")),
		  what_(std::move(what)), why_(std::move(why)), todo_(std::move(todo)), exit_code_(exit_code) {}
	const std::string &what_failed() const { return what_; }
	const std::string &why() const { return why_; }
	const std::string &todo() const { return todo_; }
	int exit_code() const { return exit_code_; }
private:
	std::string what_, why_, todo_;
	int exit_code_;
};

} // namespace lpguard
