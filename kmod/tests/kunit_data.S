/* SPDX-License-Identifier: GPL-2.0 */
/* lpguard KUnit material generated at build time by gen-kunit-data.sh. */
#include <linux/stringify.h>

/* sym: the bytes; sym##_len: their length (a size_t). */
#define BLOB(sym, file)					\
	.section ".rodata", "a";			\
	.globl sym;					\
sym:							\
	.incbin __stringify(LPGUARD_OBJ/kunit/file);	\
sym##_end:						\
	.balign 8;					\
	.globl sym##_len;				\
sym##_len:						\
	.quad sym##_end - sym

BLOB(lpguard_kunit_cert_a, cert_a.der)
BLOB(lpguard_kunit_cert_b, cert_b.der)
BLOB(lpguard_kunit_cert_e, cert_e.der)
BLOB(lpguard_kunit_lp_e, lp_e.ko)
BLOB(lpguard_kunit_lp_a, lp_a.ko)
BLOB(lpguard_kunit_lp_b, lp_b.ko)
BLOB(lpguard_kunit_lp_a_skid, lp_a_skid.ko)
BLOB(lpguard_kunit_lp_unsigned, lp_unsigned.ko)
BLOB(lpguard_kunit_plain_a, plain_a.ko)
BLOB(lpguard_kunit_plain_b, plain_b.ko)
BLOB(lpguard_kunit_plain_chain, plain_chain.ko)
