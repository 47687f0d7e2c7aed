// SPDX-License-Identifier: GPL-2.0
/*
 * KUnit suite lpguard_parse: the module image, .modinfo, signature
 * trailer and PKCS#7 signer parsers (parse.c) on valid and malformed
 * images. Signed images come from gen-kunit-data.sh.
 */
#include <kunit/test.h>
#include <linux/elf.h>
#include <linux/err.h>
#include <linux/slab.h>
#include <linux/string.h>

#include "kunit_data.h"
#include "../lpguard.h"
#define MARKER "~Module signature appended~\n"
#define MARKER_LEN (sizeof(MARKER) - 1)
#define MS_LEN 12	/* struct module_signature */

/*
 * Build an ELF64 relocatable with a section name table and @nmodinfo
 * sections named .modinfo, all holding @info (@info_len bytes); with
 * @nmodinfo == 0, one .text section holds it instead.
 */
static u8 *build_elf(struct kunit *test, int nmodinfo, const char *info,
		     size_t info_len, size_t *len)
{
	static const char names[] = "\0.shstrtab\0.modinfo\0.text";
	unsigned int i, nsec = 2 + max(nmodinfo, 1);
	size_t off_names = sizeof(struct elf64_hdr);
	size_t off_info = off_names + sizeof(names);
	size_t off_sh = ALIGN(off_info + info_len, 8);
	struct elf64_shdr *sh;
	struct elf64_hdr *eh;
	u8 *buf;

	*len = off_sh + nsec * sizeof(struct elf64_shdr);
	buf = kunit_kzalloc(test, *len, GFP_KERNEL);
	KUNIT_ASSERT_NOT_NULL(test, buf);
	eh = (struct elf64_hdr *)buf;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_REL;
	eh->e_machine = EM_X86_64;
	eh->e_shoff = off_sh;
	eh->e_ehsize = sizeof(*eh);
	eh->e_shentsize = sizeof(struct elf64_shdr);
	eh->e_shnum = nsec;
	eh->e_shstrndx = 1;
	memcpy(buf + off_names, names, sizeof(names));
	memcpy(buf + off_info, info, info_len);

	sh = (struct elf64_shdr *)(buf + off_sh);
	sh[1].sh_name = 1;
	sh[1].sh_type = SHT_STRTAB;
	sh[1].sh_offset = off_names;
	sh[1].sh_size = sizeof(names);
	for (i = 2; i < nsec; i++) {
		sh[i].sh_name = nmodinfo ? 11 : 20;	/* .modinfo / .text */
		sh[i].sh_type = SHT_PROGBITS;
		sh[i].sh_flags = SHF_ALLOC;
		sh[i].sh_offset = off_info;
		sh[i].sh_size = info_len;
	}
	return buf;
}

static const char lp_info[] = "license=GPL\0livepatch=Y\0name=lp_test";

static void parse_valid_signed(struct kunit *test)
{
	size_t len = lpguard_kunit_lp_a_len;
	struct lpguard_image img;
	const char *why = NULL;

	KUNIT_ASSERT_EQ(test, lpguard_parse_image(lpguard_kunit_lp_a, len,
						  &img, &why), 0);
	KUNIT_EXPECT_TRUE(test, img.livepatch);
	KUNIT_EXPECT_STREQ(test, img.name, "kunit_lp");
	KUNIT_ASSERT_NOT_NULL(test, img.sig);
	KUNIT_EXPECT_PTR_EQ(test, img.sig, lpguard_kunit_lp_a + img.payload_len);
	KUNIT_EXPECT_EQ(test, img.payload_len + img.sig_len + MS_LEN + MARKER_LEN,
			len);
}

static void parse_valid_built(struct kunit *test)
{
	struct lpguard_image img;
	const char *why = NULL;
	size_t len;
	u8 *elf = build_elf(test, 1, lp_info, sizeof(lp_info), &len);

	KUNIT_ASSERT_EQ(test, lpguard_parse_image(elf, len, &img, &why), 0);
	KUNIT_EXPECT_TRUE(test, img.livepatch);
	KUNIT_EXPECT_STREQ(test, img.name, "lp_test");
	KUNIT_EXPECT_NULL(test, img.sig);
	KUNIT_EXPECT_EQ(test, img.payload_len, len);
}

static void parse_no_trailer(struct kunit *test)
{
	size_t len = lpguard_kunit_lp_unsigned_len;
	struct lpguard_image img;
	const char *why = NULL;

	KUNIT_ASSERT_EQ(test, lpguard_parse_image(lpguard_kunit_lp_unsigned,
						  len, &img, &why), 0);
	KUNIT_EXPECT_NULL(test, img.sig);
	KUNIT_EXPECT_EQ(test, img.payload_len, len);
	KUNIT_EXPECT_TRUE(test, img.livepatch);
}

static void parse_truncated(struct kunit *test)
{
	struct lpguard_image img;
	const char *why = NULL;
	size_t len;
	u8 *elf = build_elf(test, 1, lp_info, sizeof(lp_info), &len);

	/* Shorter than the ELF header. */
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(elf, 40, &img, &why),
			-EBADMSG);
	KUNIT_EXPECT_STREQ(test, why, "image is shorter than an ELF header");
	/* Section headers cut off. */
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(elf, len - 1, &img, &why),
			-EBADMSG);
	KUNIT_EXPECT_STREQ(test, why,
			   "ELF section headers run past the end of the image");
	/* A signed image with its marker cut is an unsigned image. */
	KUNIT_EXPECT_EQ(test, lpguard_parse_trailer(lpguard_kunit_lp_a,
						    lpguard_kunit_lp_a_len - 1,
						    &img, &why), 0);
	KUNIT_EXPECT_NULL(test, img.sig);
	/* Marker with no room for struct module_signature. */
	KUNIT_EXPECT_EQ(test, lpguard_parse_trailer("xx" MARKER, MARKER_LEN + 2,
						    &img, &why), -EBADMSG);
	KUNIT_EXPECT_STREQ(test, why, "signature trailer is truncated");
}

static void parse_not_elf(struct kunit *test)
{
	static const u8 gz[] = { 0x1f, 0x8b, 0x08, 0x00, 0, 0, 0, 0, 0, 3 };
	static const u8 xz[] = { 0xfd, '7', 'z', 'X', 'Z', 0x00 };
	struct lpguard_image img;
	const char *why = NULL;

	KUNIT_EXPECT_EQ(test, lpguard_parse_image(gz, sizeof(gz), &img, &why),
			-EBADMSG);
	KUNIT_EXPECT_STREQ(test, why,
			   "not an ELF image (compressed modules are not accepted)");
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(xz, sizeof(xz), &img, &why),
			-EBADMSG);
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(xz, 0, &img, &why), -EBADMSG);
}

static void parse_modinfo_count(struct kunit *test)
{
	struct lpguard_image img;
	const char *why = NULL;
	size_t len;
	u8 *elf;

	elf = build_elf(test, 0, lp_info, sizeof(lp_info), &len);
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(elf, len, &img, &why),
			-EBADMSG);
	KUNIT_EXPECT_STREQ(test, why, "image has no .modinfo section");

	elf = build_elf(test, 2, lp_info, sizeof(lp_info), &len);
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(elf, len, &img, &why),
			-EBADMSG);
	KUNIT_EXPECT_STREQ(test, why, "image has more than one .modinfo section");
}

static void parse_bad_sections(struct kunit *test)
{
	struct lpguard_image img;
	const char *why = NULL;
	struct elf64_hdr *eh;
	struct elf64_shdr *sh;
	size_t len;
	u8 *elf;

	elf = build_elf(test, 1, lp_info, sizeof(lp_info), &len);
	eh = (struct elf64_hdr *)elf;
	sh = (struct elf64_shdr *)(elf + eh->e_shoff);
	sh[2].sh_size = len;	/* .modinfo past the end */
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(elf, len, &img, &why),
			-EBADMSG);
	KUNIT_EXPECT_STREQ(test, why, ".modinfo section is out of bounds");

	elf = build_elf(test, 1, lp_info, sizeof(lp_info), &len);
	eh = (struct elf64_hdr *)elf;
	sh = (struct elf64_shdr *)(elf + eh->e_shoff);
	sh[2].sh_name = 0x7fffffff;
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(elf, len, &img, &why),
			-EBADMSG);
	KUNIT_EXPECT_STREQ(test, why, "ELF section name is out of bounds");

	elf = build_elf(test, 1, lp_info, sizeof(lp_info), &len);
	eh = (struct elf64_hdr *)elf;
	eh->e_shoff = ~0ULL - 8;	/* overflowing offset */
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(elf, len, &img, &why),
			-EBADMSG);

	elf = build_elf(test, 1, lp_info, sizeof(lp_info), &len);
	eh = (struct elf64_hdr *)elf;
	eh->e_shstrndx = eh->e_shnum;
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(elf, len, &img, &why),
			-EBADMSG);
	KUNIT_EXPECT_STREQ(test, why, "ELF section header table is malformed");

	elf = build_elf(test, 1, lp_info, sizeof(lp_info), &len);
	elf[EI_CLASS] = ELFCLASS32;
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(elf, len, &img, &why),
			-EBADMSG);
	KUNIT_EXPECT_STREQ(test, why, "not a 64-bit ELF image");
}

/* Trailer field offsets, counted back from the end of the image. */
#define MS_AT(len) ((len) - MARKER_LEN - MS_LEN)

static void parse_sig_len_past_end(struct kunit *test)
{
	size_t len = lpguard_kunit_lp_a_len;
	u8 *c = dup_blob(test, lpguard_kunit_lp_a, len);
	struct lpguard_image img;
	const char *why = NULL;
	size_t room = len - MARKER_LEN - MS_LEN;

	/* sig_len == everything before the trailer: no payload left. */
	c[MS_AT(len) + 8] = room >> 24;
	c[MS_AT(len) + 9] = room >> 16;
	c[MS_AT(len) + 10] = room >> 8;
	c[MS_AT(len) + 11] = room;
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(c, len, &img, &why), -EBADMSG);
	KUNIT_EXPECT_STREQ(test, why,
			   "signature trailer sig_len runs past the start of the image");
	c[MS_AT(len) + 8] = 0xff;
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(c, len, &img, &why), -EBADMSG);
	memset(c + MS_AT(len) + 8, 0, 4);
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(c, len, &img, &why), -EBADMSG);
	KUNIT_EXPECT_STREQ(test, why, "signature trailer has a zero sig_len");
}

static void parse_wrong_id_type(struct kunit *test)
{
	size_t len = lpguard_kunit_lp_a_len;
	u8 *c = dup_blob(test, lpguard_kunit_lp_a, len);
	struct lpguard_image img;
	const char *why = NULL;

	c[MS_AT(len) + 2] = 1;	/* PKEY_ID_X509 */
	KUNIT_EXPECT_EQ(test, lpguard_parse_image(c, len, &img, &why), -EBADMSG);
	KUNIT_EXPECT_STREQ(test, why, "signature trailer id_type is not PKCS#7");
}

static void parse_reserved_fields(struct kunit *test)
{
	static const unsigned int fields[] = { 0, 1, 3, 4, 5, 6, 7 };
	size_t len = lpguard_kunit_lp_a_len;
	struct lpguard_image img;
	const char *why = NULL;
	unsigned int i;
	u8 *c;

	for (i = 0; i < ARRAY_SIZE(fields); i++) {
		c = dup_blob(test, lpguard_kunit_lp_a, len);
		c[MS_AT(len) + fields[i]] = 1;
		KUNIT_EXPECT_EQ(test, lpguard_parse_image(c, len, &img, &why),
				-EBADMSG);
		KUNIT_EXPECT_STREQ(test, why,
				   "signature trailer has non-zero reserved fields");
	}
}

struct modinfo_case {
	const char *info;
	size_t len;
	bool livepatch;
};

#define MI(s, lp) { s, sizeof(s), lp }

static void parse_livepatch_variants(struct kunit *test)
{
	static const struct modinfo_case cases[] = {
		MI("livepatch=Y", true),
		MI("livepatch=", true),		/* any value counts */
		MI("livepatch=N", true),
		MI("license=GPL\0\0\0livepatch=Y", true),
		MI("name=x\0livepatch=1\0name=y", true),
		MI("livepatch", false),		/* no '=': not a tag */
		MI("xlivepatch=Y", false),
		MI("LIVEPATCH=Y", false),
		MI("livepatches=Y", false),
		MI("description=livepatch=Y", false),
		MI("", false),
	};
	static const char two_names[] = "name=x\0livepatch=1\0name=y";
	static const char no_nul[] = "livepatch=Y";
	static const char long_name[] =
		"name=a_module_name_that_is_far_too_long_for_the_kernel_to_accept";
	struct lpguard_image img;
	const char *why = NULL;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&img, 0, sizeof(img));
		KUNIT_EXPECT_EQ(test, lpguard_parse_modinfo(cases[i].info,
							    cases[i].len,
							    &img, &why), 0);
		KUNIT_EXPECT_EQ_MSG(test, img.livepatch, cases[i].livepatch,
				    "case %u", i);
	}
	memset(&img, 0, sizeof(img));
	lpguard_parse_modinfo(two_names, sizeof(two_names), &img, &why);
	KUNIT_EXPECT_STREQ(test, img.name, "x");	/* first name= wins */
	KUNIT_EXPECT_EQ(test, lpguard_parse_modinfo(no_nul, sizeof(no_nul) - 1,
						    &img, &why), -EBADMSG);
	KUNIT_EXPECT_STREQ(test, why, ".modinfo does not end with a NUL byte");
	KUNIT_EXPECT_EQ(test, lpguard_parse_modinfo(long_name, sizeof(long_name),
						    &img, &why), -EBADMSG);
	KUNIT_EXPECT_STREQ(test, why, ".modinfo name= is too long");
}

static void parse_signers(struct kunit *test)
{
	struct lpguard_signer s[LPGUARD_MAX_SIGNERS];
	struct lpguard_image img;
	const char *why = NULL;
	bool certs = true;
	u8 *c;

	KUNIT_ASSERT_EQ(test, lpguard_parse_image(lpguard_kunit_lp_a,
						  lpguard_kunit_lp_a_len,
						  &img, &why), 0);
	KUNIT_ASSERT_EQ(test, lpguard_parse_signers(img.sig, img.sig_len, s,
						    ARRAY_SIZE(s), &certs, &why), 1);
	KUNIT_EXPECT_FALSE(test, s[0].by_skid);
	KUNIT_EXPECT_FALSE(test, certs);	/* sign-file's -nocerts form */
	KUNIT_EXPECT_GT(test, s[0].issuer_len, 0);
	KUNIT_EXPECT_GT(test, s[0].serial_len, 0);

	KUNIT_ASSERT_EQ(test, lpguard_parse_image(lpguard_kunit_lp_a_skid,
						  lpguard_kunit_lp_a_skid_len,
						  &img, &why), 0);
	KUNIT_ASSERT_EQ(test, lpguard_parse_signers(img.sig, img.sig_len, s,
						    ARRAY_SIZE(s), &certs, &why), 1);
	KUNIT_EXPECT_TRUE(test, s[0].by_skid);
	KUNIT_EXPECT_EQ(test, s[0].skid_len, 20);

	/* Truncated and corrupted messages. */
	KUNIT_EXPECT_EQ(test, lpguard_parse_signers(img.sig, img.sig_len - 1, s,
						    ARRAY_SIZE(s), &certs, &why), -EBADMSG);
	c = dup_blob(test, img.sig, img.sig_len);
	c[6] ^= 0x01;	/* first byte of the signedData OID */
	KUNIT_EXPECT_EQ(test, lpguard_parse_signers(c, img.sig_len, s,
						    ARRAY_SIZE(s), &certs, &why), -EBADMSG);
	c = dup_blob(test, img.sig, img.sig_len);
	c[1] = 0x80;	/* indefinite length */
	KUNIT_EXPECT_EQ(test, lpguard_parse_signers(c, img.sig_len, s,
						    ARRAY_SIZE(s), &certs, &why), -EBADMSG);
}

/* A signature that carries its signer's certificate (openssl cms default). */
static void parse_signers_with_certs(struct kunit *test)
{
	struct lpguard_signer s[LPGUARD_MAX_SIGNERS];
	struct lpguard_image img;
	const char *why = NULL;
	bool certs = false;

	KUNIT_ASSERT_EQ(test, lpguard_parse_image(lpguard_kunit_plain_chain,
						  lpguard_kunit_plain_chain_len,
						  &img, &why), 0);
	KUNIT_ASSERT_EQ(test, lpguard_parse_signers(img.sig, img.sig_len, s,
						    ARRAY_SIZE(s), &certs, &why), 1);
	KUNIT_EXPECT_TRUE(test, certs);
}

/* The symbol table the COMING cross-check compares with the kernel's. */
static void parse_symtab(struct kunit *test)
{
	const u8 *p = lpguard_kunit_lp_a;
	size_t len = lpguard_kunit_lp_a_len;
	struct lpguard_image img;
	const char *why = NULL;
	struct elf64_shdr *sh;
	struct elf64_hdr *eh;
	unsigned int i;
	u8 *elf, *c;

	KUNIT_ASSERT_EQ(test, lpguard_parse_image(p, len, &img, &why), 0);
	KUNIT_EXPECT_GT(test, img.nsyms, 1);
	KUNIT_ASSERT_NOT_NULL(test, img.strtab);
	KUNIT_EXPECT_TRUE(test, img.strtab >= p &&
			  img.strtab + img.strtab_len <= p + img.payload_len);
	KUNIT_EXPECT_EQ(test, img.strtab[0], 0);
	KUNIT_EXPECT_EQ(test, img.strtab[img.strtab_len - 1], 0);

	/* No SHT_SYMTAB at all: nothing recorded, not an error here. */
	elf = build_elf(test, 1, lp_info, sizeof(lp_info), &len);
	KUNIT_ASSERT_EQ(test, lpguard_parse_image(elf, len, &img, &why), 0);
	KUNIT_EXPECT_EQ(test, img.nsyms, 0);
	KUNIT_EXPECT_NULL(test, img.strtab);

	/* Two symbol tables: the kernel refuses those, nothing recorded. */
	len = lpguard_kunit_lp_a_len;
	c = dup_blob(test, p, len);
	eh = (struct elf64_hdr *)c;
	sh = (struct elf64_shdr *)(c + eh->e_shoff);
	for (i = 1; i < eh->e_shnum; i++) {
		if (sh[i].sh_type == SHT_PROGBITS && !(sh[i].sh_flags & SHF_ALLOC)) {
			sh[i].sh_type = SHT_SYMTAB;
			break;
		}
	}
	KUNIT_ASSERT_LT(test, i, eh->e_shnum);
	KUNIT_ASSERT_EQ(test, lpguard_parse_image(c, len, &img, &why), 0);
	KUNIT_EXPECT_EQ(test, img.nsyms, 0);
	KUNIT_EXPECT_NULL(test, img.strtab);
}

/* lpguard.generation=: absent, 0, max, overflow, junk, two tags. */
static void parse_generation(struct kunit *test)
{
	static const struct {
		const char *info;
		size_t len;
		int ret;
		u32 generation;
	} cases[] = {
#define GEN(s, r, g) { s, sizeof(s), r, g }
		GEN("livepatch=Y", 0, 0),
		GEN("lpguard.generation=0", 0, 0),
		GEN("lpguard.generation=7\0livepatch=Y", 0, 7),
		GEN("lpguard.generation=4294967295", 0, U32_MAX),
		GEN("lpguard.generation=4294967296", -EBADMSG, 0),
		GEN("lpguard.generation=99999999999", -EBADMSG, 0),
		GEN("lpguard.generation=", -EBADMSG, 0),
		GEN("lpguard.generation=07", -EBADMSG, 0),
		GEN("lpguard.generation=+7", -EBADMSG, 0),
		GEN("lpguard.generation=-1", -EBADMSG, 0),
		GEN("lpguard.generation=7a", -EBADMSG, 0),
		GEN("lpguard.generation= 7", -EBADMSG, 0),
		GEN("lpguard.generation=1\0lpguard.generation=1", -EBADMSG, 0),
		GEN("xlpguard.generation=9", 0, 0),
		GEN("lpguard.generations=9", 0, 0),
#undef GEN
	};
	struct lpguard_image img;
	const char *why = NULL;
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(cases); i++) {
		memset(&img, 0, sizeof(img));
		KUNIT_EXPECT_EQ_MSG(test, lpguard_parse_modinfo(cases[i].info,
								cases[i].len,
								&img, &why),
				    cases[i].ret, "case %u", i);
		if (!cases[i].ret)
			KUNIT_EXPECT_EQ_MSG(test, img.generation,
					    cases[i].generation, "case %u", i);
	}
	lpguard_parse_modinfo(cases[12].info, cases[12].len, &img, &why);
	KUNIT_EXPECT_STREQ(test, why,
			   ".modinfo has more than one lpguard.generation= tag");
	lpguard_parse_modinfo(cases[4].info, cases[4].len, &img, &why);
	KUNIT_EXPECT_STREQ(test, why,
			   ".modinfo lpguard.generation= is not a number 0..4294967295");
}

static struct kunit_case lpguard_parse_cases[] = {
	KUNIT_CASE(parse_valid_signed),
	KUNIT_CASE(parse_valid_built),
	KUNIT_CASE(parse_no_trailer),
	KUNIT_CASE(parse_truncated),
	KUNIT_CASE(parse_not_elf),
	KUNIT_CASE(parse_modinfo_count),
	KUNIT_CASE(parse_bad_sections),
	KUNIT_CASE(parse_sig_len_past_end),
	KUNIT_CASE(parse_wrong_id_type),
	KUNIT_CASE(parse_reserved_fields),
	KUNIT_CASE(parse_livepatch_variants),
	KUNIT_CASE(parse_signers),
	KUNIT_CASE(parse_signers_with_certs),
	KUNIT_CASE(parse_symtab),
	KUNIT_CASE(parse_generation),
	{}
};

static struct kunit_suite lpguard_parse_suite = {
	.name = "lpguard_parse",
	.test_cases = lpguard_parse_cases,
};

kunit_test_suite(lpguard_parse_suite);
