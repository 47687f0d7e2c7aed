#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# graft-lsm-count.sh KSRC: count lpguard in MAX_LSM_COUNT.
#
# Since 6.12 the LSM static-call slots are sized by MAX_LSM_COUNT
# (include/linux/lsm_count.h), which only counts in-tree LSMs; without
# this, security_add_hooks() panics ("Too many LSMs registered").
# Idempotent; a no-op on trees without lsm_count.h.
set -eu
f=$1/include/linux/lsm_count.h
[ -f "$f" ] || exit 0
grep -q LPGUARD_ENABLED "$f" && exit 0
grep -q '^		IPE_ENABLED)$' "$f" || {
	echo "graft-lsm-count: unexpected $f layout: add lpguard to MAX_LSM_COUNT by hand" >&2
	exit 1
}
sed -i \
	-e 's/^		IPE_ENABLED)$/		IPE_ENABLED		\\\n		LPGUARD_ENABLED)/' \
	-e '/^#define __COUNT_LSMS(/{
i\
#if IS_ENABLED(CONFIG_SECURITY_LPGUARD)\
#define LPGUARD_ENABLED 1,\
#else\
#define LPGUARD_ENABLED\
#endif\

}' "$f"
grep -q '^		LPGUARD_ENABLED)$' "$f"
