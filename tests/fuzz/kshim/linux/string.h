/* SPDX-License-Identifier: GPL-2.0 */
/* User-space stand-in for <linux/string.h>: memcmp, memcpy, strnlen, ... */
#ifndef _LPGUARD_KSHIM_STRING_H
#define _LPGUARD_KSHIM_STRING_H

#include <string.h>

#endif
