/* SPDX-License-Identifier: GPL-2.0 */
/*
 * lpguard: the one encoding of untrusted strings in log lines.
 */
#ifndef _SECURITY_LPGUARD_ESCAPE_H
#define _SECURITY_LPGUARD_ESCAPE_H

#include <linux/types.h>

/* Room for @n source bytes once escaped, with the terminating NUL. */
#define LPGUARD_ESCAPED_LEN(n) (4 * (n) + 1)

size_t lpguard_escape(char *dst, size_t size, const char *src, size_t len);

#endif /* _SECURITY_LPGUARD_ESCAPE_H */
