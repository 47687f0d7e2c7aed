#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build-kernel.sh: configure and build a kernel out of tree, incrementally.
#
#   KSRC=<source tree> KOUT=<build dir> FRAGMENTS="<fragment> ..." \
#   [BASECONFIG=tinyconfig|defconfig|/path/to/.config] [LPGUARD_CERTS=a.der[,b.pem]] [LPGUARD_BUILTIN=y|n] \
#   scripts/build-kernel.sh
#
# LPGUARD_CERTS go both into lpguard's .livepatch keyring and into the kernel's
# builtin trusted keys (CONFIG_SYSTEM_TRUSTED_KEYS), so the kernel's own
# module signature check accepts patches signed by them.
# Every fragment line is checked against the final .config (check-config.sh).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib/progress.sh"
: "${KSRC:?}" "${KOUT:?}" "${FRAGMENTS:?}"
BASECONFIG=${BASECONFIG:-tinyconfig}
LPGUARD_BUILTIN=${LPGUARD_BUILTIN:-y}
LPGUARD_CERTS=${LPGUARD_CERTS:-}
jobs=$(nproc)
mkdir -p "$KOUT"
KOUT=$(realpath "$KOUT")
KSRC=$(realpath "$KSRC")
kmake() { make -C "$KSRC" O="$KOUT" ARCH=x86_64 "$@"; }

"$here/graft-lpguard.sh" "$KSRC" "$top/kmod"

# Certificates: one PEM bundle for the kernel's trusted keys, the list for lpguard.
gen="$KOUT/lpguard-generated.config"
: > "$gen.new"
if [ -n "$LPGUARD_CERTS" ]; then
	: > "$KOUT/lpguard-trusted.pem.new"
	abs=()
	IFS=, read -ra certs <<< "$LPGUARD_CERTS"
	for c in "${certs[@]}"; do
		[ -r "$c" ] || { echo "build-kernel: certificate $c not found: create it with 'cvm-cli generate-livepatch-keys' or fix LPGUARD_CERTS" >&2; exit 1; }
		c=$(realpath "$c")
		abs+=("$c")
		if ! openssl x509 -in "$c" -inform DER -outform PEM >> "$KOUT/lpguard-trusted.pem.new" 2>/dev/null &&
		   ! openssl x509 -in "$c" -inform PEM -outform PEM >> "$KOUT/lpguard-trusted.pem.new" 2>/dev/null; then
			echo "build-kernel: $c is not an X.509 certificate (DER or PEM)" >&2; exit 1
		fi
	done
	cmp -s "$KOUT/lpguard-trusted.pem.new" "$KOUT/lpguard-trusted.pem" 2>/dev/null ||
		mv "$KOUT/lpguard-trusted.pem.new" "$KOUT/lpguard-trusted.pem"
	rm -f "$KOUT/lpguard-trusted.pem.new"
	echo "CONFIG_SYSTEM_TRUSTED_KEYS=\"$KOUT/lpguard-trusted.pem\"" >> "$gen.new"
	if [ "$LPGUARD_BUILTIN" = y ]; then
		(IFS=,; echo "CONFIG_SECURITY_LPGUARD_CERTS=\"${abs[*]}\"") >> "$gen.new"
	fi
fi
if [ "$LPGUARD_BUILTIN" = y ]; then
	echo "CONFIG_SECURITY_LPGUARD=y" >> "$gen.new"
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

stamp=$( (echo "$BASECONFIG"; [ -f "$BASECONFIG" ] && cat "$BASECONFIG"; cat "${frags[@]}"; cat "$KOUT/lpguard-trusted.pem" 2>/dev/null; head -c 200 "$KSRC/Makefile") | sha256sum | cut -d' ' -f1)
if [ -f "$BASECONFIG" ]; then
	basecmd="cp '$(realpath "$BASECONFIG")' '$KOUT/.config'"
else
	basecmd="make -C '$KSRC' O='$KOUT' ARCH=x86_64 $BASECONFIG"
fi
if [ ! -f "$KOUT/.config" ] || [ "$(cat "$KOUT/.lpguard-config-stamp" 2>/dev/null)" != "$stamp" ]; then
	run_step "kernel: configure ($BASECONFIG + $(basename -a "${frags[@]}" | paste -sd,))" "$KOUT/config.log" \
		bash -c "$basecmd &&
			 cd '$KOUT' && '$KSRC/scripts/kconfig/merge_config.sh' -m -O '$KOUT' '$KOUT/.config' ${frags[*]} &&
			 make -C '$KSRC' O='$KOUT' ARCH=x86_64 olddefconfig"
	rm -f "$KOUT/.lpguard-config-stamp"
fi
"$here/check-config.sh" "$KOUT/.config" "${frags[@]}"
echo "$stamp" > "$KOUT/.lpguard-config-stamp"

run_step "kernel: build $(kmake -s kernelrelease 2>/dev/null) in $KOUT (-j$jobs)" "$KOUT/build.log" \
	make -C "$KSRC" O="$KOUT" ARCH=x86_64 -j"$jobs" bzImage modules
