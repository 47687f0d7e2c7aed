// SPDX-License-Identifier: GPL-2.0
// ELF, .modinfo, module name and signature trailer parsing.

#include <algorithm>

#include <catch2/catch_test_macros.hpp>
#include <catch2/matchers/catch_matchers_string.hpp>

#include "lpguard/core/module_image.hpp"
#include "lpguard/core/module_parse.hpp"
#include "test_module_builder.hpp"

using namespace lpguard;
using namespace lpguard::test;
using Catch::Matchers::ContainsSubstring;

namespace {

std::string parse_error(std::vector<uint8_t> bytes)
{
	try {
		ModuleImage::from_bytes(std::move(bytes));
	} catch (const Error &e) {
		CHECK(e.kind() == Kind::input);
		return e.what();
	}
	FAIL("the image was accepted");
	return "";
}

} // namespace

TEST_CASE("a module's name, vermagic, livepatch tag and modinfo are read", "[module]")
{
	auto m = ModuleImage::from_bytes(build_module("lp_cmdline", true, "6.12.117 SMP mod_unload ").bytes);
	CHECK(m.name == "lp_cmdline");
	CHECK(m.vermagic == "6.12.117 SMP mod_unload ");
	REQUIRE(m.livepatch);
	CHECK(*m.livepatch == "Y");
	CHECK(m.is_livepatch());
	CHECK_FALSE(m.signature);
	CHECK(m.payload_size == m.bytes.size());
	REQUIRE(m.modinfo.size() == 4);
	CHECK(m.modinfo[0] == std::pair<std::string, std::string>{"license", "GPL"});
	CHECK(m.modinfo[3] == std::pair<std::string, std::string>{"livepatch", "Y"});
}

TEST_CASE("a module without the livepatch tag is not a livepatch", "[module]")
{
	auto m = ModuleImage::from_bytes(build_module("plain", false).bytes);
	CHECK_FALSE(m.is_livepatch());
	CHECK(m.name == "plain");
}

TEST_CASE("a real kernel module from the 6.12 build parses", "[module]")
{
	auto m = ModuleImage::from_file(std::string(LPGUARD_TEST_DATA) + "/x86_pkg_temp_thermal.ko");
	CHECK(m.name == "x86_pkg_temp_thermal");
	CHECK(m.vermagic == "6.12.117 mod_unload ");
	CHECK_FALSE(m.is_livepatch());
	CHECK(m.sha256_hex() == "a46d990ab8a5e983c46179f636a6d6f41e9fc33731c3f6a2142c99a4b564feb9");
	// Its .comment holds the same entry three times (readelf -p .comment).
	CHECK(m.compilers == std::vector<std::string>{kDebianGcc});
}

TEST_CASE(".comment: the distinct GCC and clang entries, in order", "[module][comment]")
{
	using namespace std::string_literals;
	auto parse = [](const std::string &s) {
		return parse_comment_compilers({reinterpret_cast<const uint8_t *>(s.data()), s.size()});
	};
	using V = std::vector<std::string>;
	CHECK(parse("") == V{});
	CHECK(parse("\0"s) == V{});
	CHECK(parse("\0GCC: (GNU) 12.2.0\0GCC: (GNU) 12.2.0\0"s) == V{"GCC: (GNU) 12.2.0"});
	CHECK(parse("GCC: (GNU) 12.2.0\0Linker: LLD 16.0.6\0Debian clang version 16.0.6 (15~deb12u1)\0"s + kUbuntuGcc +
		    "\0GCC: (GNU) 12.2.0"s) == V{"GCC: (GNU) 12.2.0", "Debian clang version 16.0.6 (15~deb12u1)", kUbuntuGcc});
	// Neither a prefix nor a look-alike counts; the last entry needs no NUL;
	// the bytes are kept as they are.
	CHECK(parse("GCC:(x)\0gcc: (x) 1\0 GCC: (x) 1\0GCC: \x1b[2J"s) == V{"GCC: \x1b[2J"});
}

TEST_CASE("a module's compilers come from its .comment section", "[module][comment]")
{
	CHECK(ModuleImage::from_bytes(build_module().bytes).compilers.empty());
	auto m = ModuleImage::from_bytes(build_module("lp", true, "6.12.117 ", {kUbuntuGcc, kUbuntuGcc, kDebianGcc}).bytes);
	CHECK(m.compilers == std::vector<std::string>{kUbuntuGcc, kDebianGcc});

	// Two .comment sections (not what ld -r writes): both count, each entry once.
	auto two = build_elf({{".modinfo", 1, modinfo_bytes({"vermagic=6.12.117 ", "name=lp"})},
			      {".gnu.linkonce.this_module", 1, this_module_bytes("lp")},
			      {".comment", 1, modinfo_bytes({kDebianGcc})},
			      {".comment", 1, modinfo_bytes({kUbuntuGcc, kDebianGcc})}});
	CHECK(ModuleImage::from_bytes(two.bytes).compilers == std::vector<std::string>{kDebianGcc, kUbuntuGcc});

	// A .comment without contents names nothing.
	auto nobits = build_elf({{".modinfo", 1, modinfo_bytes({"vermagic=6.12.117 ", "name=lp"})},
				 {".gnu.linkonce.this_module", 1, this_module_bytes("lp")},
				 {".comment", 8, {}}});
	CHECK(ModuleImage::from_bytes(nobits.bytes).compilers.empty());

	// Section 0 (whose bounds the section table check leaves out) named
	// .comment, with contents past the end of the file: refused.
	auto b = build_module("lp", true, "6.12.117 ", {kDebianGcc});
	std::size_t comment = b.shdr(4); // .text, .modinfo, .gnu.linkonce.this_module, .comment
	std::copy_n(b.bytes.begin() + long(comment), 4, b.bytes.begin() + long(b.shdr(0)));
	put32(b.bytes, b.shdr(0) + 4, 1);
	put64(b.bytes, b.shdr(0) + 24, b.bytes.size());
	put64(b.bytes, b.shdr(0) + 32, 16);
	CHECK_THAT(parse_error(b.bytes), ContainsSubstring(".comment lies outside the file"));
}

TEST_CASE("ELF header defects are refused", "[module]")
{
	auto good = build_module().bytes;
	// One line per malformation.
	// clang-format off
	SECTION("too short") { CHECK_THAT(parse_error({good.begin(), good.begin() + 63}), ContainsSubstring("shorter than an ELF header")); }
	SECTION("bad magic") { auto b = good; b[1] = 'X'; CHECK_THAT(parse_error(b), ContainsSubstring("bad magic")); }
	SECTION("32-bit") { auto b = good; b[4] = 1; CHECK_THAT(parse_error(b), ContainsSubstring("not a 64-bit")); }
	SECTION("big-endian") { auto b = good; b[5] = 2; CHECK_THAT(parse_error(b), ContainsSubstring("not a little-endian")); }
	SECTION("EI_VERSION is not looked at, as by the kernel") { auto b = good; b[6] = 0; CHECK(ModuleImage::from_bytes(b).name == "lp_test"); }
	SECTION("not ET_REL") { auto b = good; put16(b, 16, 3); CHECK_THAT(parse_error(b), ContainsSubstring("ET_REL")); }
	SECTION("section header size") { auto b = good; put16(b, 58, 40); CHECK_THAT(parse_error(b), ContainsSubstring("section header size")); }
	SECTION("no sections") { auto b = good; put16(b, 60, 0); CHECK_THAT(parse_error(b), ContainsSubstring("section count 0")); }
	SECTION("section table past the end") {
		auto b = good; put64(b, 40, b.size() - 64);
		CHECK_THAT(parse_error(b), ContainsSubstring("section header table"));
	}
	SECTION("section table offset overflows") {
		auto b = good; put64(b, 40, ~0ull - 10);
		CHECK_THAT(parse_error(b), ContainsSubstring("lies outside the file"));
	}
	SECTION("name table index out of range") {
		auto b = good; put16(b, 62, 99);
		CHECK_THAT(parse_error(b), ContainsSubstring("section name table index"));
	}
	// clang-format on
}

TEST_CASE("section defects are refused", "[module]")
{
	auto e = build_module();
	SECTION("section data past the end")
	{
		auto b = e.bytes;
		put64(b, e.shdr(2) + 32, b.size());
		CHECK_THAT(parse_error(b), ContainsSubstring("section 2 "));
	}
	SECTION("offset + size wraps around")
	{
		auto b = e.bytes;
		put64(b, e.shdr(1) + 24, 16);
		put64(b, e.shdr(1) + 32, ~0ull);
		CHECK_THAT(parse_error(b), ContainsSubstring("lies outside the file"));
	}
	SECTION("name offset outside the name table")
	{
		auto b = e.bytes;
		put32(b, e.shdr(1), 100000);
		CHECK_THAT(parse_error(b), ContainsSubstring("name offset"));
	}
	SECTION("SHT_NULL sections have no contents to bound, as for the kernel")
	{
		auto b = e.bytes;
		put32(b, e.shdr(1) + 4, 0);
		put64(b, e.shdr(1) + 32, b.size());
		CHECK(ModuleImage::from_bytes(b).name == "lp_test");
	}
	SECTION("but .modinfo is bounded whatever its type")
	{
		auto b = e.bytes;
		put32(b, e.shdr(2) + 4, 0);
		put64(b, e.shdr(2) + 32, b.size());
		CHECK_THAT(parse_error(b), ContainsSubstring(".modinfo lies outside"));
	}
	SECTION("section 0's name is looked up too")
	{
		auto b = e.bytes;
		put32(b, e.shdr(0), 100000);
		CHECK_THAT(parse_error(b), ContainsSubstring("section 0 name offset"));
	}
	SECTION("a name table that does not end with NUL, though every name does")
	{
		auto b = e.bytes;
		std::size_t h = e.shdr(4);
		uint64_t off = 0, size = 0;
		for (int i = 0; i < 8; i++) {
			off |= uint64_t(b[h + 24 + i]) << (8 * i);
			size |= uint64_t(b[h + 32 + i]) << (8 * i);
		}
		put64(b, h + 32, size + 1); // takes in the byte after it
		b[off + size] = 'x';
		CHECK_THAT(parse_error(b), ContainsSubstring("name table is not NUL-terminated"));
	}
	SECTION("name table without NUL")
	{
		// Point section 1's name at the last byte of .shstrtab, then make it non-NUL.
		auto b = e.bytes;
		std::size_t strtab_hdr = e.shdr(4);
		uint64_t off = 0, size = 0;
		for (int i = 0; i < 8; i++) {
			off |= uint64_t(b[strtab_hdr + 24 + i]) << (8 * i);
			size |= uint64_t(b[strtab_hdr + 32 + i]) << (8 * i);
		}
		b[off + size - 1] = 'x';
		put32(b, e.shdr(1), uint32_t(size - 1));
		CHECK_THAT(parse_error(b), ContainsSubstring("not NUL-terminated"));
	}
}

TEST_CASE("lpguard.generation= is read as lpguard reads it", "[module]")
{
	auto gen = [](std::vector<std::string> tags) {
		return build_elf({{".modinfo", 1, modinfo_bytes(std::move(tags))},
				  {".gnu.linkonce.this_module", 1, this_module_bytes("m")}})
			.bytes;
	};
	CHECK(ModuleImage::from_bytes(gen({"vermagic=x"})).generation == 0);
	CHECK(ModuleImage::from_bytes(gen({"lpguard.generation=0"})).generation == 0);
	CHECK(ModuleImage::from_bytes(gen({"lpguard.generation=7"})).generation == 7);
	CHECK(ModuleImage::from_bytes(gen({"lpguard.generation=4294967295"})).generation == 4294967295u);
	for (const char *bad : {"4294967296", "99999999999", "", "07", "+7", "-1", "7a", " 7"})
		CHECK_THAT(parse_error(gen({std::string("lpguard.generation=") + bad})),
			   ContainsSubstring("is not a number 0..4294967295"));
	CHECK_THAT(parse_error(gen({"lpguard.generation=1", "lpguard.generation=1"})),
		   ContainsSubstring("more than one lpguard.generation="));
}

TEST_CASE(".modinfo defects are refused", "[module]")
{
	auto mk = [](std::vector<uint8_t> info, std::vector<uint8_t> thism = this_module_bytes("m")) {
		return build_elf({{".modinfo", 1, std::move(info)}, {".gnu.linkonce.this_module", 1, std::move(thism)}}).bytes;
	};
	CHECK_THAT(parse_error(build_elf({{".text", 1, {1, 2}}}).bytes), ContainsSubstring("no .modinfo"));
	auto unterminated = modinfo_bytes({"vermagic=x"});
	unterminated.back() = 'y';
	CHECK_THAT(parse_error(mk(unterminated)), ContainsSubstring("does not end with a NUL"));
	CHECK_THAT(parse_error(mk(modinfo_bytes({"name=other"}))), ContainsSubstring("differs from name=\"other\""));
	// lpguard refuses a name= the kernel's 56-byte module name cannot hold.
	CHECK_THAT(parse_error(mk(modinfo_bytes({"name=" + std::string(56, 'm')}))), ContainsSubstring("longer than the 55"));
	CHECK_THAT(parse_error(mk(modinfo_bytes({"name=" + std::string(56, 'm')}), this_module_bytes(std::string(55, 'm')))),
		   ContainsSubstring("longer than the 55"));
	CHECK(ModuleImage::from_bytes(mk(modinfo_bytes({"name=" + std::string(55, 'm')}),
					 this_module_bytes(std::string(55, 'm'))))
		      .name == std::string(55, 'm'));
	auto two = build_elf({{".modinfo", 1, modinfo_bytes({"a=b"})}, {".modinfo", 1, modinfo_bytes({"c=d"})}, {".gnu.linkonce.this_module", 1, this_module_bytes("m")}}).bytes;
	CHECK_THAT(parse_error(two), ContainsSubstring("two .modinfo"));
	auto nobits = build_elf({{".modinfo", 8, modinfo_bytes({"a=b"})}}).bytes;
	CHECK_THAT(parse_error(nobits), ContainsSubstring("SHT_NOBITS"));
}

// As the kernel reads .modinfo (get_modinfo(): the first key=value entry of a
// tag) and lpguard does (any livepatch= entry, the first name=).
TEST_CASE(".modinfo is read as the kernel reads it", "[module]")
{
	auto mk = [](std::vector<std::string> info, const std::string &name = "m") {
		return ModuleImage::from_bytes(build_elf({{".modinfo", 1, modinfo_bytes(info)},
							  {".gnu.linkonce.this_module", 1, this_module_bytes(name)}})
						       .bytes);
	};
	SECTION("entries that are not key=value match no tag and are skipped")
	{
		auto m = mk({"license", "=x", "livepatch", "name=m"});
		CHECK_FALSE(m.is_livepatch());
		REQUIRE(m.modinfo.size() == 1);
		CHECK(m.modinfo[0].first == "name");
	}
	SECTION("the first of a repeated tag counts")
	{
		auto m = mk({"vermagic=a", "vermagic=b", "livepatch=Y", "livepatch=N", "name=m", "name=other"});
		CHECK(m.vermagic == "a");
		CHECK(m.livepatch == "Y");
		CHECK(m.name == "m");
		CHECK_THAT(parse_error(build_elf({{".modinfo", 1, modinfo_bytes({"name=other", "name=m"})},
						  {".gnu.linkonce.this_module", 1, this_module_bytes("m")}})
					       .bytes),
			   ContainsSubstring("differs from name=\"other\""));
	}
	SECTION("an empty name= is not compared with struct module, nor is a later one")
	{
		CHECK(mk({"name=", "name=other"}).name == "m");
	}
}

TEST_CASE(".modinfo padding and empty values are accepted", "[module]")
{
	std::vector<uint8_t> info = modinfo_bytes({"", "license=GPL", "", "", "livepatch=", "vermagic=6.12.117 "});
	info.push_back(0);
	auto m = ModuleImage::from_bytes(build_elf({{".modinfo", 1, info},
						    {".gnu.linkonce.this_module", 1, this_module_bytes("pad")}})
						 .bytes);
	CHECK(m.modinfo.size() == 3);
	REQUIRE(m.livepatch);
	CHECK(m.livepatch->empty());
	CHECK(m.is_livepatch());
}

TEST_CASE("the module name comes from .gnu.linkonce.this_module", "[module]")
{
	CHECK(parse_this_module_name(this_module_bytes("abc")) == "abc");
	CHECK_THROWS_WITH(parse_this_module_name(std::vector<uint8_t>(79, 0)), ContainsSubstring("too small"));
	CHECK_THROWS_WITH(parse_this_module_name(this_module_bytes("")), ContainsSubstring("empty"));
	auto full = this_module_bytes(std::string(56, 'a'));
	CHECK_THROWS_WITH(parse_this_module_name(full), ContainsSubstring("not NUL-terminated"));
	CHECK(parse_this_module_name(this_module_bytes(std::string(55, 'a'))) == std::string(55, 'a'));
	// The kernel refuses a module without the section, whatever name= says.
	CHECK_THAT(parse_error(build_elf({{".modinfo", 1, modinfo_bytes({"name=fromi"})}}).bytes),
		   ContainsSubstring("no .gnu.linkonce.this_module"));
}

TEST_CASE("the signature trailer is parsed strictly", "[module][signature]")
{
	std::vector<uint8_t> body(100, 0xaa);
	auto with_trailer = [&](std::size_t sig_len, std::vector<uint8_t> trailer) {
		auto b = body;
		b.insert(b.end(), trailer.begin(), trailer.end());
		(void)sig_len;
		return b;
	};
	CHECK_FALSE(parse_signature_trailer(body));
	auto t = make_signature_trailer(60);
	REQUIRE(t.size() == 40);
	CHECK(t[2] == 2);
	CHECK(t[8] == 0);
	CHECK(t[11] == 60);
	auto ok = parse_signature_trailer(with_trailer(60, t));
	REQUIRE(ok);
	CHECK(ok->sig_len == 60);
	CHECK(ok->payload_size == 40);

	CHECK_THROWS_WITH(parse_signature_trailer(with_trailer(0, make_signature_trailer(101))),
			  ContainsSubstring("nothing of the 100 bytes"));
	// A signature that takes every byte leaves no module: the kernel's
	// mod_check_sig() and lpguard refuse it.
	CHECK_THROWS_WITH(parse_signature_trailer(with_trailer(0, make_signature_trailer(100))),
			  ContainsSubstring("nothing of the 100 bytes"));
	CHECK(parse_signature_trailer(with_trailer(0, make_signature_trailer(99)))->payload_size == 1);
	auto zero = make_signature_trailer(1);
	zero[11] = 0;
	CHECK_THROWS_WITH(parse_signature_trailer(with_trailer(0, zero)), ContainsSubstring("length is zero"));
	for (int i : {0, 1, 3, 4, 5, 6, 7}) {
		auto bad = make_signature_trailer(10);
		bad[i] = 1;
		CHECK_THROWS_WITH(parse_signature_trailer(with_trailer(10, bad)), ContainsSubstring("byte " + std::to_string(i)));
	}
	auto id = make_signature_trailer(10);
	id[2] = 1;
	CHECK_THROWS_WITH(parse_signature_trailer(with_trailer(10, id)), ContainsSubstring("id_type is 1"));
	// Big-endian length: 0x00000100 is 256, which does not fit into 100 bytes.
	auto be = make_signature_trailer(1);
	be[10] = 1;
	be[11] = 0;
	CHECK_THROWS_WITH(parse_signature_trailer(with_trailer(0, be)), ContainsSubstring("256"));
	// Only the magic, no room for struct module_signature.
	std::vector<uint8_t> tiny(kModuleSigMagic, kModuleSigMagic + kModuleSigMagicLen);
	CHECK_THROWS_WITH(parse_signature_trailer(tiny), ContainsSubstring("too short"));
}

TEST_CASE("an image whose signature blob is garbage is refused", "[module][signature]")
{
	auto b = build_module().bytes;
	std::vector<uint8_t> junk(50, 0x30);
	b.insert(b.end(), junk.begin(), junk.end());
	auto t = make_signature_trailer(junk.size());
	b.insert(b.end(), t.begin(), t.end());
	CHECK_THAT(parse_error(b), ContainsSubstring("PKCS#7"));
}

TEST_CASE("strip_signatures removes stacked signatures", "[module][signature]")
{
	std::vector<uint8_t> b(64, 1);
	for (int i = 0; i < 3; i++) {
		b.insert(b.end(), 5, uint8_t(i));
		auto t = make_signature_trailer(5);
		b.insert(b.end(), t.begin(), t.end());
	}
	CHECK(strip_signatures(b).size() == 64);
}

TEST_CASE("vermagic_release is the first word of the vermagic, for deploy and the pre-check alike", "[image]")
{
	CHECK(vermagic_release("6.12.117 SMP preempt mod_unload ") == "6.12.117");
	CHECK(vermagic_release("6.12.117\tSMP") == "6.12.117");
	CHECK(vermagic_release("6.15.2") == "6.15.2");
	CHECK(vermagic_release("") == "");
}
