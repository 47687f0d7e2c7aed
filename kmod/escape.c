// SPDX-License-Identifier: GPL-2.0
/*
 * lpguard: escaping of untrusted strings (a module's name from its
 * .modinfo, a task's comm) before they go into a quoted log field.
 *
 * Bytes 0x20..0x7e other than '"' and '\' are copied; every other byte,
 * those two included, is written as \xHH (two lower-case hex digits).
 * Nothing else is escaped, so a reader decodes exactly that and a value
 * can never end its field or its line early (docs/lpguard.md, Logs).
 * Pure code, no allocation: callable in atomic context.
 */
#include <linux/hex.h>
#include <linux/string.h>

#include "escape.h"

static bool plain(unsigned char c)
{
	return c >= 0x20 && c <= 0x7e && c != '"' && c != '\\';
}

/*
 * Escape the first @len bytes of @src (up to a NUL) into @dst of @size
 * bytes. An escape is never cut: what does not fit is dropped whole.
 * Returns the length written, without the NUL; @dst is always
 * terminated when @size > 0.
 */
size_t lpguard_escape(char *dst, size_t size, const char *src, size_t len)
{
	size_t i, o = 0;

	if (!size)
		return 0;
	for (i = 0; i < len && src[i]; i++) {
		unsigned char c = src[i];

		if (plain(c)) {
			if (o + 1 >= size)
				break;
			dst[o++] = c;
			continue;
		}
		if (o + 4 >= size)
			break;
		dst[o++] = '\\';
		dst[o++] = 'x';
		dst[o++] = hex_asc_hi(c);
		dst[o++] = hex_asc_lo(c);
	}
	dst[o] = '\0';
	return o;
}
