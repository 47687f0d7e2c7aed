/* SPDX-License-Identifier: GPL-2.0 */
/*
 * User-space stand-in for <linux/errno.h>: the uapi header has the same
 * numbers (glibc's <errno.h> includes this name for them, too).
 */
#ifndef _LPGUARD_KSHIM_ERRNO_H
#define _LPGUARD_KSHIM_ERRNO_H

#include_next <linux/errno.h>

#endif
