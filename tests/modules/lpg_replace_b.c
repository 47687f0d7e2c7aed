// SPDX-License-Identifier: GPL-2.0
/* Second replace livepatch: /proc/cmdline reads "lpguard test: replace B". */
#define LPG_MESSAGE "lpguard test: replace B"
#define LPG_REPLACE true
#include "lpg_cmdline.h"
MODULE_DESCRIPTION("lpguard test livepatch: replace B");
