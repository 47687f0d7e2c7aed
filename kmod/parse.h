/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lpguard: pure parsers for module images and their appended signatures.
 *
 * Nothing here allocates, sleeps or touches global state, so the KUnit
 * suite can feed it any byte string.
 */
#ifndef _SECURITY_LPGUARD_PARSE_H
#define _SECURITY_LPGUARD_PARSE_H

#include <linux/types.h>

#define LPGUARD_NAME_LEN 56	/* MODULE_NAME_LEN on 64-bit */

/* The .modinfo tag of a livepatch's generation (cvm-cli sign --generation). */
#define LPGUARD_GENERATION_TAG "lpguard.generation"

/* What lpguard needs to know about a module image. */
struct lpguard_image {
	size_t payload_len;	/* bytes covered by the signature */
	const u8 *sig;		/* PKCS#7 blob, NULL if unsigned */
	size_t sig_len;
	bool livepatch;		/* .modinfo carries a livepatch= tag */
	char name[LPGUARD_NAME_LEN];	/* .modinfo name=, or "" */
	u32 generation;		/* .modinfo lpguard.generation=, or 0 */
	/*
	 * The symbol table as the kernel will take it (exactly one
	 * SHT_SYMTAB, its sh_link string table): entries and the string
	 * table's bytes. nsyms == 0 and strtab == NULL when the image has
	 * none or several, or they are out of bounds (the kernel refuses
	 * such images; the COMING cross-check then finds a mismatch).
	 */
	size_t nsyms;
	const u8 *strtab;
	size_t strtab_len;
};

/*
 * Parse @data (@len bytes) as a module image: an ELF64 relocatable object
 * with exactly one .modinfo section, optionally followed by a PKCS#7
 * signature and the module signature trailer.
 *
 * Returns 0, or -EBADMSG with *reason set to a static description of the
 * first problem found.
 */
int lpguard_parse_image(const void *data, size_t len,
			struct lpguard_image *img, const char **reason);

/* Split an appended signature off @data; no trailer is not an error. */
int lpguard_parse_trailer(const void *data, size_t len,
			  struct lpguard_image *img, const char **reason);

/* Scan a .modinfo section body (sequence of NUL-terminated tag=value). */
int lpguard_parse_modinfo(const char *info, size_t size,
			  struct lpguard_image *img, const char **reason);

#define LPGUARD_MAX_SIGNERS 4

/* The SignerIdentifier of one SignerInfo, as raw DER contents. */
struct lpguard_signer {
	bool by_skid;		/* [0] subjectKeyIdentifier, else issuer+serial */
	const u8 *issuer;	/* Name contents (no tag/length) */
	size_t issuer_len;
	const u8 *serial;	/* INTEGER contents */
	size_t serial_len;
	const u8 *skid;		/* OCTET STRING contents */
	size_t skid_len;
};

/*
 * Extract the signer identifiers from a DER PKCS#7/CMS SignedData blob.
 * *@carries_certs tells whether its certificates field holds any
 * certificate (through which the kernel may chain the signer to a
 * trusted key). Returns the number of signers found (>= 1) or -EBADMSG.
 */
int lpguard_parse_signers(const u8 *sig, size_t len,
			  struct lpguard_signer *signers, int max,
			  bool *carries_certs, const char **reason);

#endif /* _SECURITY_LPGUARD_PARSE_H */
