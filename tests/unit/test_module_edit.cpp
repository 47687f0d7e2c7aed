// SPDX-License-Identifier: GPL-2.0
// Setting lpguard.generation= in .modinfo: one section, one tag, every other
// section byte for byte as it was; binutils and kmod read the result.

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "lpguard/core/module_edit.hpp"
#include "lpguard/core/module_image.hpp"
#include "lpguard/core/module_parse.hpp"
#include "lpguard/host/module_sign.hpp"
#include "lpguard/host/shell.hpp"
#include "test_module_builder.hpp"
#include "test_module_keys.hpp"

using namespace lpguard;
using namespace lpguard::test;
using Catch::Matchers::ContainsSubstring;

namespace {

std::vector<uint8_t> real_module()
{
	return read_bytes(std::string(LPGUARD_TEST_DATA) + "/x86_pkg_temp_thermal.ko");
}

std::vector<uint8_t> contents(const std::vector<uint8_t> &elf, const ElfSection &s)
{
	if (s.type == 0 || s.type == 8)
		return {};
	return {elf.begin() + long(s.offset), elf.begin() + long(s.offset + s.size)};
}

// Every section but .modinfo has the same header fields and contents.
void check_only_modinfo_changed(const std::vector<uint8_t> &before, const std::vector<uint8_t> &after)
{
	auto a = parse_elf_sections(before), b = parse_elf_sections(after);
	REQUIRE(a.size() == b.size());
	for (std::size_t i = 0; i < a.size(); i++) {
		INFO("section " << i << " " << a[i].name);
		CHECK(a[i].name == b[i].name);
		CHECK(a[i].type == b[i].type);
		CHECK(a[i].header_offset == b[i].header_offset);
		if (a[i].name == ".modinfo")
			continue;
		CHECK(a[i].offset == b[i].offset);
		CHECK(a[i].size == b[i].size);
		CHECK(difference(contents(before, a[i]), contents(after, b[i])) == "");
	}
	CHECK(std::count_if(b.begin(), b.end(), [](const ElfSection &s) { return s.name == ".modinfo"; }) == 1);
}

std::vector<std::pair<std::string, std::string>> without_generation(std::vector<std::pair<std::string, std::string>> info)
{
	std::erase_if(info, [](const auto &kv) { return kv.first == kGenerationTag; });
	return info;
}

std::string edit_error(const std::vector<uint8_t> &bytes)
{
	try {
		with_generation(bytes, 1);
	} catch (const Error &e) {
		CHECK(e.kind() == Kind::input);
		return e.what();
	}
	FAIL("the edit was accepted");
	return "";
}

std::string tool(const std::string &line)
{
	auto r = run_shell("PATH=$PATH:/usr/sbin:/sbin " + line + " 2>&1");
	INFO(line << ": " << r.out);
	REQUIRE(r.rc == 0);
	return r.out;
}

} // namespace

TEST_CASE("the generation is added to a real module, which stays valid for binutils and kmod", "[module][edit]")
{
	auto before = real_module();
	auto after = with_generation(before, 42);
	check_only_modinfo_changed(before, after);
	auto m = ModuleImage::from_bytes(after);
	CHECK(m.generation == 42);
	CHECK(m.name == "x86_pkg_temp_thermal");
	auto old = ModuleImage::from_bytes(before);
	CHECK(without_generation(m.modinfo) == old.modinfo); // every other entry, in order
	CHECK(m.modinfo.back() == std::pair<std::string, std::string>{"lpguard.generation", "42"});
	// The bytes before the new .modinfo: the old file, with its old .modinfo
	// zeroed and its sh_offset and sh_size changed.
	auto info = [](const std::vector<uint8_t> &b) {
		for (const auto &s : parse_elf_sections(b))
			if (s.name == ".modinfo")
				return s;
		FAIL("no .modinfo");
		return ElfSection{};
	};
	CHECK(info(after).offset % 8 == 0);
	CHECK(info(after).offset >= before.size());
	auto old_info = info(before);
	auto in = [](std::size_t i, uint64_t off, uint64_t len) { return i >= off && i < off + len; };
	for (std::size_t i = 0; i < before.size(); i++) {
		INFO("byte " << i);
		if (in(i, old_info.offset, old_info.size))
			REQUIRE(after[i] == 0);
		else if (!in(i, old_info.header_offset + 24, 16))
			REQUIRE(after[i] == before[i]);
	}

	auto path = scratch_dir() / "edited.ko";
	write_bytes(path, after);
	auto q = shell_quote(path.string());
	auto sections = tool("readelf -W -S " + q);
	CHECK_THAT(sections, ContainsSubstring("There are 39 section headers"));
	CHECK_THAT(tool("readelf -W -a " + q + " >/dev/null && echo ok"), ContainsSubstring("ok"));
	CHECK(tool("modinfo -F lpguard.generation " + q) == "42\n");
	CHECK(tool("modinfo -F name " + q) == "x86_pkg_temp_thermal\n");
	CHECK(tool("modinfo -F license " + q) == "GPL v2\n");
}

TEST_CASE("an existing generation is replaced, never doubled", "[module][edit]")
{
	auto elf = build_elf({{".text", 1, std::vector<uint8_t>(16, 0xc3)},
			      {".modinfo", 1,
			       modinfo_bytes({"license=GPL", "lpguard.generation=3", "name=m", "lpguard.generation=x",
					      "livepatch=Y"})},
			      {".gnu.linkonce.this_module", 1, this_module_bytes("m")}})
			   .bytes;
	auto once = with_generation(elf, 9);
	auto m = ModuleImage::from_bytes(once);
	CHECK(m.generation == 9);
	CHECK(m.modinfo == std::vector<std::pair<std::string, std::string>>{{"license", "GPL"}, {"name", "m"}, {"livepatch", "Y"}, {"lpguard.generation", "9"}});
	check_only_modinfo_changed(elf, once);
	// Set again: the earlier contents ended the file and are dropped.
	auto twice = with_generation(once, 4294967295u);
	CHECK(ModuleImage::from_bytes(twice).generation == 4294967295u);
	CHECK(twice.size() == once.size() + 9);
	CHECK(with_generation(twice, 9) == once);
	check_only_modinfo_changed(elf, twice);
	// NUL padding between entries is kept (it is how the kernel lays .modinfo out).
	auto padded = build_elf({{".modinfo", 1, {'a', '=', '1', 0, 0, 0, 'b', '=', '2', 0}},
				 {".gnu.linkonce.this_module", 1, this_module_bytes("m")}})
			      .bytes;
	auto p = with_generation(padded, 0);
	std::string want("a=1\0\0\0b=2\0lpguard.generation=0\0", 31);
	for (const auto &s : parse_elf_sections(p))
		if (s.name == ".modinfo")
			CHECK(std::string(p.begin() + long(s.offset), p.begin() + long(s.offset + s.size)) == want);
}

TEST_CASE("a signed module loses its signature; signing the result verifies", "[module][edit][sign]")
{
	const auto &k = test_keys("rsa");
	auto key = SigningKey::load(k.key, k.crt);
	auto plain = ModuleImage::from_bytes(build_module("lp_gen").bytes);
	std::vector<uint8_t> appendix;
	auto n = sign_module(plain, key, "sha256", &appendix);
	std::vector<uint8_t> signed_(plain.bytes.begin(), plain.bytes.begin() + long(n));
	signed_.insert(signed_.end(), appendix.begin(), appendix.end());

	auto edited = with_generation(signed_, 5);
	CHECK(with_generation(plain.bytes, 5) == edited);
	auto m = ModuleImage::from_bytes(edited);
	CHECK_FALSE(m.signature);
	n = sign_module(m, key, "sha256", &appendix);
	std::vector<uint8_t> resigned(m.bytes.begin(), m.bytes.begin() + long(n));
	resigned.insert(resigned.end(), appendix.begin(), appendix.end());
	auto r = ModuleImage::from_bytes(resigned);
	CHECK(r.generation == 5);
	CHECK(verify_module(r, Certificate::load_all(k.crt)).ok);
}

TEST_CASE("bytes .modinfo shares with another section are left alone", "[module][edit]")
{
	auto e = build_elf({{".text", 1, std::vector<uint8_t>(16, 0xc3)},
			    {".modinfo", 1, modinfo_bytes({"license=GPL", "name=m"})},
			    {".gnu.linkonce.this_module", 1, this_module_bytes("m")}});
	put64(e.bytes, e.shdr(1) + 24, e.data_off[2]); // .text now covers .modinfo's first 16 bytes
	auto after = with_generation(e.bytes, 1);
	check_only_modinfo_changed(e.bytes, after);
}

TEST_CASE("what cannot carry a generation is refused", "[module][edit]")
{
	auto no_modinfo = build_elf({{".gnu.linkonce.this_module", 1, this_module_bytes("m")}}).bytes;
	CHECK(edit_error(no_modinfo) == "cannot set the generation of module: it has no .modinfo section, so it is "
					"not a kernel module (pass the .ko built by kpatch-build or the kernel's "
					"build system)");
	auto two = build_elf({{".modinfo", 1, modinfo_bytes({"a=1"})},
			      {".modinfo", 1, modinfo_bytes({"b=1"})},
			      {".gnu.linkonce.this_module", 1, this_module_bytes("m")}})
			   .bytes;
	CHECK_THAT(edit_error(two), ContainsSubstring("it has two .modinfo sections, which lpguard refuses"));
	auto nobits = build_elf({{".modinfo", 8, modinfo_bytes({"a=1"})},
				 {".gnu.linkonce.this_module", 1, this_module_bytes("m")}})
			      .bytes;
	CHECK_THAT(edit_error(nobits), ContainsSubstring(".modinfo has no contents"));
	auto unterminated = build_elf({{".modinfo", 1, {'a', '=', '1'}},
				       {".gnu.linkonce.this_module", 1, this_module_bytes("m")}})
				    .bytes;
	CHECK_THAT(edit_error(unterminated), ContainsSubstring(".modinfo does not end with a NUL byte"));
	CHECK_THAT(edit_error({1, 2, 3}), ContainsSubstring("shorter than an ELF header"));
	// Editing does not make a module of what is none: no struct module.
	auto no_this_module = build_elf({{".modinfo", 1, modinfo_bytes({"a=1"})}}).bytes;
	CHECK_THAT(edit_error(no_this_module), ContainsSubstring("no .gnu.linkonce.this_module section"));
}

TEST_CASE("parse_generation takes what lpguard takes", "[module][edit]")
{
	CHECK(parse_generation("0") == 0u);
	CHECK(parse_generation("17") == 17u);
	CHECK(parse_generation("4294967295") == 4294967295u);
	for (const char *bad : {"", "-1", "+1", "01", "1e3", "0x10", " 1", "1 ", "4294967296", "99999999999"})
		CHECK_FALSE(parse_generation(bad));
}
