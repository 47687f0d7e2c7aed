#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# graft-lpguard.sh KSRC KMOD_DIR: make lpguard part of a kernel source tree
# (security/lpguard -> KMOD_DIR, plus one line each in security/Kconfig and
# security/Makefile). Idempotent.
set -euo pipefail
ksrc=$1 kmod=$(realpath "$2")
[ -f "$ksrc/security/Kconfig" ] || { echo "graft-lpguard: $ksrc is not a kernel source tree" >&2; exit 1; }
ln -sfn "$kmod" "$ksrc/security/lpguard"
grep -q 'security/lpguard/Kconfig' "$ksrc/security/Kconfig" ||
	sed -i '/^source "security\/loadpin\/Kconfig"/a source "security/lpguard/Kconfig"' "$ksrc/security/Kconfig"
grep -q 'security/lpguard/Kconfig' "$ksrc/security/Kconfig" || { echo "graft-lpguard: could not add to security/Kconfig" >&2; exit 1; }
grep -q 'CONFIG_SECURITY_LPGUARD)' "$ksrc/security/Makefile" ||
	printf 'obj-$(CONFIG_SECURITY_LPGUARD)\t\t+= lpguard/\n' >> "$ksrc/security/Makefile"
# Count lpguard in MAX_LSM_COUNT (6.12+), or security_add_hooks() panics.
"$(dirname "$0")/graft-lsm-count.sh" "$ksrc"
