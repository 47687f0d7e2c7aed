// SPDX-License-Identifier: GPL-2.0
/* Replace (cumulative) livepatch: /proc/cmdline reads "lpguard test: replace A". */
#define LPG_MESSAGE "lpguard test: replace A"
#define LPG_REPLACE true
#include "lpg_cmdline.h"
MODULE_DESCRIPTION("lpguard test livepatch: replace A");
