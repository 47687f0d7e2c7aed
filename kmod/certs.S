/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lpguard: certificates embedded at build time (see gen-certs.sh):
 * the concatenated DER certificates for the .livepatch keyring and the
 * same certificates as a PEM bundle for securityfs.
 */
#include <linux/stringify.h>

	.section ".rodata", "a"
	.globl lpguard_certs_der
lpguard_certs_der:
	.incbin __stringify(LPGUARD_OBJ/lpguard_certs.der)
	.globl lpguard_certs_der_end
lpguard_certs_der_end:

	.globl lpguard_certs_pem
lpguard_certs_pem:
	.incbin __stringify(LPGUARD_OBJ/lpguard_certs.pem)
	.globl lpguard_certs_pem_end
lpguard_certs_pem_end:
