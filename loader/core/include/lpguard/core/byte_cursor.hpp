// SPDX-License-Identifier: GPL-2.0
// A bounds-checked cursor over untrusted bytes, for the attestation parsers
// (TPM structures are big-endian, IMA's measurement list little-endian).
// Every read past the end calls the owner's `fail` with a reason; fail
// must not return (it throws lpguard::Error).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

namespace lpguard {

class ByteCursor {
public:
	using Fail = void (*)(const std::string &why);
	ByteCursor(std::span<const uint8_t> d, Fail fail) : d_(d), fail_(fail) {}

	std::size_t offset() const { return off_; }
	std::size_t left() const { return d_.size() - off_; }
	bool done() const { return off_ == d_.size(); }

	std::span<const uint8_t> take(std::size_t n, const char *what)
	{
		if (n > left())
			fail_(std::string(what) + " at offset " + std::to_string(off_) + " needs " + std::to_string(n) +
			      " bytes, " + std::to_string(left()) + " left");
		auto s = d_.subspan(off_, n);
		off_ += n;
		return s;
	}
	template <typename T> T be(const char *what)
	{
		auto s = take(sizeof(T), what);
		T v = 0;
		for (uint8_t b : s)
			v = static_cast<T>((v << 8) | b);
		return v;
	}
	template <typename T> T le(const char *what)
	{
		auto s = take(sizeof(T), what);
		T v = 0;
		for (std::size_t i = sizeof(T); i-- > 0;)
			v = static_cast<T>((v << 8) | s[i]);
		return v;
	}
	// A TPM2B: a big-endian u16 size, then that many bytes (at most max).
	std::span<const uint8_t> tpm2b(const char *what, std::size_t max)
	{
		uint16_t n = be<uint16_t>(what);
		if (n > max)
			fail_(std::string(what) + " is " + std::to_string(n) + " bytes, more than " + std::to_string(max));
		return take(n, what);
	}

private:
	std::span<const uint8_t> d_;
	std::size_t off_ = 0;
	Fail fail_;
};

} // namespace lpguard
