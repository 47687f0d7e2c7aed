/* SPDX-License-Identifier: GPL-2.0 */
/* <linux/limits.h> for kmod/parse.c in user space: the fixed-width maxima. */
#pragma once
#include <stdint.h>

#define U32_MAX UINT32_MAX
#define U64_MAX UINT64_MAX
