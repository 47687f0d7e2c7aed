// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: module image, .modinfo, signature trailer and PKCS#7 signer
 * parsers. Pure code: every input byte is untrusted and every length is
 * checked before use. Each failure names the first problem found.
 */
#include <linux/elf.h>
#include <linux/errno.h>
#include <linux/limits.h>
#include <linux/module_signature.h>
#include <linux/string.h>

#include "parse.h"

/* Newer kernels define the trailer in uapi, under other names. */
#ifdef MODULE_SIGNATURE_MARKER
#define LPGUARD_SIG_MARKER MODULE_SIGNATURE_MARKER
#define LPGUARD_SIG_PKCS7 MODULE_SIGNATURE_TYPE_PKCS7
#else
#define LPGUARD_SIG_MARKER MODULE_SIG_STRING
#define LPGUARD_SIG_PKCS7 PKEY_ID_PKCS7
#endif

#define MARKER_LEN (sizeof(LPGUARD_SIG_MARKER) - 1)

int lpguard_parse_trailer(const void *data, size_t len,
			  struct lpguard_image *img, const char **reason)
{
	struct module_signature ms;
	size_t room;
	u32 sig_len;

	img->payload_len = len;
	img->sig = NULL;
	img->sig_len = 0;
	if (len < MARKER_LEN ||
	    memcmp(data + len - MARKER_LEN, LPGUARD_SIG_MARKER, MARKER_LEN))
		return 0;

	room = len - MARKER_LEN;
	if (room < sizeof(ms)) {
		*reason = "signature trailer is truncated";
		return -EBADMSG;
	}
	memcpy(&ms, data + room - sizeof(ms), sizeof(ms));
	room -= sizeof(ms);
	if (ms.id_type != LPGUARD_SIG_PKCS7) {
		*reason = "signature trailer id_type is not PKCS#7";
		return -EBADMSG;
	}
	if (ms.algo || ms.hash || ms.signer_len || ms.key_id_len ||
	    ms.__pad[0] || ms.__pad[1] || ms.__pad[2]) {
		*reason = "signature trailer has non-zero reserved fields";
		return -EBADMSG;
	}
	sig_len = be32_to_cpu(ms.sig_len);
	if (!sig_len) {
		*reason = "signature trailer has a zero sig_len";
		return -EBADMSG;
	}
	if (sig_len >= room) {
		*reason = "signature trailer sig_len runs past the start of the image";
		return -EBADMSG;
	}
	img->payload_len = room - sig_len;
	img->sig = data + img->payload_len;
	img->sig_len = sig_len;
	return 0;
}

/*
 * A generation: decimal, no sign, no leading zero (one spelling per
 * number, as cvm-cli writes it), at most U32_MAX.
 */
static int parse_generation(const char *p, size_t l, u32 *out)
{
	u64 v = 0;
	size_t i;

	if (!l || l > 10 || (p[0] == '0' && l > 1))
		return -EBADMSG;
	for (i = 0; i < l; i++) {
		if (p[i] < '0' || p[i] > '9')
			return -EBADMSG;
		v = v * 10 + (p[i] - '0');
	}
	if (v > U32_MAX)
		return -EBADMSG;
	*out = v;
	return 0;
}

static int generation_tag(const char *value, size_t l, bool *seen,
			  struct lpguard_image *img, const char **reason)
{
	if (*seen) {
		*reason = ".modinfo has more than one lpguard.generation= tag";
		return -EBADMSG;
	}
	*seen = true;
	if (parse_generation(value, l, &img->generation)) {
		*reason = ".modinfo lpguard.generation= is not a number 0..4294967295";
		return -EBADMSG;
	}
	return 0;
}

int lpguard_parse_modinfo(const char *info, size_t size,
			  struct lpguard_image *img, const char **reason)
{
	static const char lp_tag[] = "livepatch=";
	static const char name_tag[] = "name=";
	static const char gen_tag[] = LPGUARD_GENERATION_TAG "=";
	const char *p = info, *end = info + size;
	bool have_name = false, have_gen = false;
	size_t l;

	if (size && info[size - 1] != '\0') {
		*reason = ".modinfo does not end with a NUL byte";
		return -EBADMSG;
	}
	/* Same tokenizing as the kernel: NUL-separated, NUL runs skipped. */
	for (; p < end; p += l + 1) {
		l = strnlen(p, end - p);
		if (!l)
			continue;
		if (!strncmp(p, lp_tag, sizeof(lp_tag) - 1)) {
			img->livepatch = true;
		} else if (!have_name &&
			   !strncmp(p, name_tag, sizeof(name_tag) - 1)) {
			l -= sizeof(name_tag) - 1;
			if (l >= sizeof(img->name)) {
				*reason = ".modinfo name= is too long";
				return -EBADMSG;
			}
			memcpy(img->name, p + sizeof(name_tag) - 1, l);
			img->name[l] = '\0';
			have_name = true;
			l += sizeof(name_tag) - 1;
		} else if (!strncmp(p, gen_tag, sizeof(gen_tag) - 1)) {
			if (generation_tag(p + sizeof(gen_tag) - 1,
					   l - (sizeof(gen_tag) - 1), &have_gen,
					   img, reason))
				return -EBADMSG;
		}
	}
	return 0;
}

static bool range_ok(u64 off, u64 size, size_t len)
{
	return off <= len && size <= len - off;
}

static void read_shdr(const void *data, const struct elf64_hdr *eh, unsigned int i,
		      struct elf64_shdr *sh)
{
	memcpy(sh, data + eh->e_shoff + (size_t)i * sizeof(*sh), sizeof(*sh));
}

/*
 * The one SHT_SYMTAB and its string table, as the kernel's
 * elf_validity_check() takes them; anything else leaves them unset.
 */
static void find_symtab(const void *data, size_t plen,
			const struct elf64_hdr *eh, struct lpguard_image *img)
{
	struct elf64_shdr sh, sym = { }, str;
	unsigned int i, n = 0;

	for (i = 1; i < eh->e_shnum; i++) {
		read_shdr(data, eh, i, &sh);
		if (sh.sh_type == SHT_SYMTAB) {
			sym = sh;
			n++;
		}
	}
	if (n != 1 || sym.sh_link >= eh->e_shnum ||
	    !range_ok(sym.sh_offset, sym.sh_size, plen))
		return;
	read_shdr(data, eh, sym.sh_link, &str);
	if (str.sh_type != SHT_STRTAB || !str.sh_size ||
	    !range_ok(str.sh_offset, str.sh_size, plen))
		return;
	img->nsyms = sym.sh_size / sizeof(struct elf64_sym);
	img->strtab = data + str.sh_offset;
	img->strtab_len = str.sh_size;
}

int lpguard_parse_image(const void *data, size_t len,
			struct lpguard_image *img, const char **reason)
{
	struct elf64_shdr sh, str, info;
	unsigned int i, found = 0;
	const char *names;
	struct elf64_hdr eh;
	size_t plen;
	int ret;

	memset(img, 0, sizeof(*img));
	ret = lpguard_parse_trailer(data, len, img, reason);
	if (ret)
		return ret;
	plen = img->payload_len;

	if (plen < SELFMAG || memcmp(data, ELFMAG, SELFMAG)) {
		*reason = "not an ELF image (compressed modules are not accepted)";
		return -EBADMSG;
	}
	if (plen < sizeof(eh)) {
		*reason = "image is shorter than an ELF header";
		return -EBADMSG;
	}
	memcpy(&eh, data, sizeof(eh));
	if (eh.e_ident[EI_CLASS] != ELFCLASS64) {
		*reason = "not a 64-bit ELF image";
		return -EBADMSG;
	}
#ifdef __LITTLE_ENDIAN
	if (eh.e_ident[EI_DATA] != ELFDATA2LSB) {
#else
	if (eh.e_ident[EI_DATA] != ELFDATA2MSB) {
#endif
		*reason = "ELF image has the wrong byte order";
		return -EBADMSG;
	}
	if (eh.e_type != ET_REL) {
		*reason = "ELF image is not a relocatable object";
		return -EBADMSG;
	}
	if (eh.e_shentsize != sizeof(struct elf64_shdr) || !eh.e_shnum ||
	    eh.e_shstrndx >= eh.e_shnum) {
		*reason = "ELF section header table is malformed";
		return -EBADMSG;
	}
	if (!range_ok(eh.e_shoff, (u64)eh.e_shnum * sizeof(struct elf64_shdr), plen)) {
		*reason = "ELF section headers run past the end of the image";
		return -EBADMSG;
	}

	read_shdr(data, &eh, eh.e_shstrndx, &str);
	if (str.sh_type == SHT_NOBITS || !str.sh_size ||
	    !range_ok(str.sh_offset, str.sh_size, plen)) {
		*reason = "ELF section name table is out of bounds";
		return -EBADMSG;
	}
	names = data + str.sh_offset;
	if (names[str.sh_size - 1] != '\0') {
		*reason = "ELF section name table does not end with a NUL byte";
		return -EBADMSG;
	}

	for (i = 0; i < eh.e_shnum; i++) {
		read_shdr(data, &eh, i, &sh);
		if (sh.sh_name >= str.sh_size) {
			*reason = "ELF section name is out of bounds";
			return -EBADMSG;
		}
		if (strcmp(names + sh.sh_name, ".modinfo"))
			continue;
		if (found++) {
			*reason = "image has more than one .modinfo section";
			return -EBADMSG;
		}
		info = sh;
	}
	if (!found) {
		*reason = "image has no .modinfo section";
		return -EBADMSG;
	}
	if (info.sh_type == SHT_NOBITS ||
	    !range_ok(info.sh_offset, info.sh_size, plen)) {
		*reason = ".modinfo section is out of bounds";
		return -EBADMSG;
	}
	find_symtab(data, plen, &eh, img);
	return lpguard_parse_modinfo(data + info.sh_offset, info.sh_size,
				     img, reason);
}

/* One DER TLV: definite lengths only, low tag numbers only. */
static int der_next(const u8 **p, const u8 *end, u8 *tag,
		    const u8 **val, size_t *vlen)
{
	size_t l, n;

	if (end - *p < 2)
		return -EBADMSG;
	*tag = *(*p)++;
	if ((*tag & 0x1f) == 0x1f)
		return -EBADMSG;
	l = *(*p)++;
	if (l & 0x80) {
		n = l & 0x7f;
		if (!n || n > 3 || (size_t)(end - *p) < n)
			return -EBADMSG;
		for (l = 0; n; n--)
			l = (l << 8) | *(*p)++;
	}
	if (l > (size_t)(end - *p))
		return -EBADMSG;
	*val = *p;
	*vlen = l;
	*p += l;
	return 0;
}

/* Read the next TLV and require tag @want. */
static int der_expect(const u8 **p, const u8 *end, u8 want,
		      const u8 **val, size_t *vlen)
{
	u8 tag;

	if (der_next(p, end, &tag, val, vlen) || tag != want)
		return -EBADMSG;
	return 0;
}

#define DER_INT		0x02
#define DER_OCTETS	0x04
#define DER_OID		0x06
#define DER_SEQ		0x30
#define DER_SET		0x31
#define DER_CTX0	0xa0	/* [0] constructed */
#define DER_CTX1	0xa1	/* [1] constructed */
#define DER_CTX0_PRIM	0x80	/* [0] IMPLICIT primitive */

static const u8 oid_signed_data[] = {	/* 1.2.840.113549.1.7.2 */
	0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x07, 0x02
};

static int parse_signer_info(const u8 *p, const u8 *end,
			     struct lpguard_signer *s)
{
	const u8 *v, *q, *qend;
	size_t vl;
	u8 tag;

	memset(s, 0, sizeof(*s));
	if (der_expect(&p, end, DER_INT, &v, &vl) ||
	    der_next(&p, end, &tag, &v, &vl))
		return -EBADMSG;
	if (tag == DER_CTX0_PRIM) {
		if (!vl)
			return -EBADMSG;
		s->by_skid = true;
		s->skid = v;
		s->skid_len = vl;
		return 0;
	}
	if (tag != DER_SEQ)
		return -EBADMSG;
	q = v;
	qend = v + vl;
	if (der_expect(&q, qend, DER_SEQ, &s->issuer, &s->issuer_len) ||
	    der_expect(&q, qend, DER_INT, &s->serial, &s->serial_len) ||
	    q != qend || !s->serial_len)
		return -EBADMSG;
	return 0;
}

int lpguard_parse_signers(const u8 *sig, size_t len,
			  struct lpguard_signer *signers, int max,
			  bool *carries_certs, const char **reason)
{
	const u8 *p = sig, *end = sig + len, *v, *sd, *sd_end;
	size_t vl;
	int n = 0;
	u8 tag;

	*carries_certs = false;
	*reason = "module signature is not a DER PKCS#7 SignedData message";
	if (der_expect(&p, end, DER_SEQ, &v, &vl) || p != end)
		return -EBADMSG;
	p = v;
	end = v + vl;
	if (der_expect(&p, end, DER_OID, &v, &vl) ||
	    vl != sizeof(oid_signed_data) ||
	    memcmp(v, oid_signed_data, vl) ||
	    der_expect(&p, end, DER_CTX0, &v, &vl) || p != end)
		return -EBADMSG;
	p = v;
	end = v + vl;
	if (der_expect(&p, end, DER_SEQ, &sd, &vl) || p != end)
		return -EBADMSG;
	p = sd;
	sd_end = sd + vl;
	if (der_expect(&p, sd_end, DER_INT, &v, &vl) ||
	    der_expect(&p, sd_end, DER_SET, &v, &vl) ||
	    der_expect(&p, sd_end, DER_SEQ, &v, &vl) ||
	    der_next(&p, sd_end, &tag, &v, &vl))
		return -EBADMSG;
	if (tag == DER_CTX0) {
		/* certificates [0] IMPLICIT SET OF CertificateChoices */
		*carries_certs = vl > 0;
		if (der_next(&p, sd_end, &tag, &v, &vl))
			return -EBADMSG;
	}
	if (tag == DER_CTX1 && der_next(&p, sd_end, &tag, &v, &vl))
		return -EBADMSG;
	if (tag != DER_SET || p != sd_end)
		return -EBADMSG;

	p = v;
	end = v + vl;
	while (p < end) {
		if (der_expect(&p, end, DER_SEQ, &v, &vl))
			return -EBADMSG;
		if (n == max) {
			*reason = "module signature has too many signers";
			return -EBADMSG;
		}
		if (parse_signer_info(v, v + vl, &signers[n])) {
			*reason = "module signature has a malformed signer identifier";
			return -EBADMSG;
		}
		n++;
	}
	if (!n) {
		*reason = "module signature has no signer";
		return -EBADMSG;
	}
	return n;
}
