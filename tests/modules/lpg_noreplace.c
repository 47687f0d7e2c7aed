// SPDX-License-Identifier: GPL-2.0
/* Non-replace livepatch (klp_patch.replace == false): lpguard refuses it. */
#define LPG_MESSAGE "lpguard test: non-replace"
#define LPG_REPLACE false
#include "lpg_cmdline.h"
MODULE_DESCRIPTION("lpguard test livepatch: non-replace");
