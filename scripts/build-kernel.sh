#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build-kernel.sh: configure and build a kernel out of tree, incrementally.
#
#   KSRC=<source tree> KOUT=<build dir> FRAGMENTS="<fragment> ..." \
#   [BASECONFIG=tinyconfig|defconfig|/path/to/.config] [LPGUARD_CERTS=a.der[,b.pem]] [LPGUARD_BUILTIN=y|n] \
#   [LPGUARD_READINESS=check|skip] [LPGUARD_ALLOW_UNPATCHABLE=1] [LPGUARD_LOCK_ACTIVE=y|n] [CONFIGURE_ONLY=1] \
#   scripts/build-kernel.sh
#
# LPGUARD_LOCK_ACTIVE (built-in form, default y): CONFIG_SECURITY_LPGUARD_LOCK_ACTIVE,
# disabling the active livepatch refused (docs/lpguard.md). The QEMU test
# kernels build it off and turn it on per VM with lpguard.lock_active=1.
#
# LPGUARD_CERTS go both into lpguard's .livepatch keyring and into the kernel's
# builtin trusted keys: they are added to the base configuration's own
# CONFIG_SYSTEM_TRUSTED_KEYS (scripts/trusted-keys.sh), so the kernel's module
# signature check accepts patches signed by them and still trusts what the
# image trusted before.
# Every fragment line is checked against the final .config (check-config.sh),
# then the readiness report (readiness.sh) says whether lpguard is enforced and
# which patch builder can target the kernel; it fails the build when none can,
# unless LPGUARD_ALLOW_UNPATCHABLE=1. LPGUARD_READINESS=skip leaves the report
# out (the small QEMU test kernels, which no patch builder is meant to target).
# CONFIGURE_ONLY=1 stops before compiling.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib/progress.sh"
: "${KSRC:?}" "${KOUT:?}" "${FRAGMENTS:?}"
BASECONFIG=${BASECONFIG:-tinyconfig}
LPGUARD_BUILTIN=${LPGUARD_BUILTIN:-y}
LPGUARD_LOCK_ACTIVE=${LPGUARD_LOCK_ACTIVE:-y}
LPGUARD_CERTS=${LPGUARD_CERTS:-}
LPGUARD_READINESS=${LPGUARD_READINESS:-check}
CONFIGURE_ONLY=${CONFIGURE_ONLY:-0}
case $LPGUARD_LOCK_ACTIVE in
y | n) ;;
*) echo "build-kernel: LPGUARD_LOCK_ACTIVE=$LPGUARD_LOCK_ACTIVE: use y (the default) or n" >&2; exit 1 ;;
esac
case $LPGUARD_READINESS in
check | skip) ;;
*) echo "build-kernel: LPGUARD_READINESS=$LPGUARD_READINESS: use check (the default) or skip" >&2; exit 1 ;;
esac
jobs=$(nproc)
mkdir -p "$KOUT"
KOUT=$(realpath "$KOUT")
KSRC=$(realpath "$KSRC")
kmake() { make -C "$KSRC" O="$KOUT" ARCH=x86_64 "$@"; }

"$here/graft-lpguard.sh" "$KSRC" "$top/kmod"

# The base configuration as a file: a copy of BASECONFIG, or what the make
# target BASECONFIG (tinyconfig, defconfig) writes, kept until the tree changes.
base="$KOUT/lpguard-base.config"
if [ -f "$BASECONFIG" ]; then
	cmp -s "$BASECONFIG" "$base" || cp "$BASECONFIG" "$base"
else
	bstamp=$( (echo "$BASECONFIG"; head -c 200 "$KSRC/Makefile") | sha256sum | cut -d' ' -f1)
	if [ ! -f "$base" ] || [ "$(cat "$base.stamp" 2>/dev/null)" != "$bstamp" ]; then
		rm -f "$KOUT/.lpguard-config-stamp" "$base.stamp"
		run_step "kernel: base configuration ($BASECONFIG)" "$KOUT/config.log" kmake "$BASECONFIG"
		cp "$KOUT/.config" "$base"
		echo "$bstamp" > "$base.stamp"
	fi
fi

# Certificates: the base's trusted keys plus the owner's for the kernel, the list for lpguard.
gen="$KOUT/lpguard-generated.config"
: > "$gen.new"
if [ -n "$LPGUARD_CERTS" ]; then
	IFS=, read -ra certs <<< "$LPGUARD_CERTS"
	"$here/trusted-keys.sh" "$base" "$KSRC" "$KOUT" "${certs[@]}" >> "$gen.new"
	if [ "$LPGUARD_BUILTIN" = y ]; then
		abs=()
		for c in "${certs[@]}"; do abs+=("$(realpath "$c")"); done
		(IFS=,; echo "CONFIG_SECURITY_LPGUARD_CERTS=\"${abs[*]}\"") >> "$gen.new"
	fi
fi
if [ "$LPGUARD_BUILTIN" = y ]; then
	echo "CONFIG_SECURITY_LPGUARD=y" >> "$gen.new"
	if [ "$LPGUARD_LOCK_ACTIVE" = y ]; then
		echo "CONFIG_SECURITY_LPGUARD_LOCK_ACTIVE=y" >> "$gen.new"
	else
		echo "# CONFIG_SECURITY_LPGUARD_LOCK_ACTIVE is not set" >> "$gen.new"
	fi
else
	echo "# CONFIG_SECURITY_LPGUARD is not set" >> "$gen.new"
fi
mv "$gen.new" "$gen"

# A fragment X.config comes with X-<major>.x.config when the tree's major
# version needs options of its own (README, Layout).
kmajor=$(sed -n 's/^VERSION = //p' "$KSRC/Makefile")
frags=()
for f in $FRAGMENTS; do
	f=$(realpath "$f")
	frags+=("$f")
	[ ! -f "${f%.config}-$kmajor.x.config" ] || frags+=("${f%.config}-$kmajor.x.config")
done
frags+=("$gen")

stamp=$( (cat "$base" "${frags[@]}"; cat "$KOUT/lpguard-trusted.pem" 2>/dev/null; head -c 200 "$KSRC/Makefile") | sha256sum | cut -d' ' -f1)
if [ ! -f "$KOUT/.config" ] || [ "$(cat "$KOUT/.lpguard-config-stamp" 2>/dev/null)" != "$stamp" ]; then
	rm -f "$KOUT/.lpguard-config-stamp"
	run_step "kernel: configure ($BASECONFIG + $(basename -a "${frags[@]}" | paste -sd,))" "$KOUT/config.log" \
		bash -c "cp '$base' '$KOUT/.config' &&
			 cd '$KOUT' && '$KSRC/scripts/kconfig/merge_config.sh' -m -O '$KOUT' '$KOUT/.config' ${frags[*]} &&
			 make -C '$KSRC' O='$KOUT' ARCH=x86_64 olddefconfig"
fi
"$here/check-config.sh" "$KOUT/.config" "${frags[@]}"
echo "$stamp" > "$KOUT/.lpguard-config-stamp"
if [ "$LPGUARD_READINESS" = check ]; then
	"$here/readiness.sh" $([ "$LPGUARD_BUILTIN" = y ] || echo --loadable) "$KOUT/.config"
fi
[ "$CONFIGURE_ONLY" != 1 ] || exit 0

RUN_STEP_PHASES='^  [A-Z0-9_]+ +[^ ]' \
	run_step "kernel: build $(kmake -s kernelrelease 2>/dev/null) in $KOUT (-j$jobs)" "$KOUT/build.log" \
	make -C "$KSRC" O="$KOUT" ARCH=x86_64 -j"$jobs" bzImage modules
