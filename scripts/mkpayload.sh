#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkpayload.sh KOUT OUT KEYDIR OTHERKEYDIR [--loadable]
# Builds the test modules (tests/foundation, tests/modules) against the kernel
# build KOUT and writes the guest payload tree OUT/:
#   OUT/opt/lpguard-tests/<mod>.ko           unsigned
#   OUT/opt/lpguard-tests/<mod>.lp.ko        signed with the livepatch key (KEYDIR)
#   OUT/opt/lpguard-tests/<mod>.build.ko     signed with the kernel's build key
#   OUT/opt/lpguard-tests/<mod>.other.ko     signed with an unrelated key (OTHERKEYDIR)
#   OUT/opt/lpguard-tests/<mod>.tampered.ko  .lp.ko with one byte of code flipped
#   OUT/lib/lpguard/lpguard.ko               with --loadable: kmod/ built as a module, build key
# Signing uses the kernel tree's own scripts/sign-file: an independent oracle.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kout=$(realpath "$1") out=$(realpath -m "$2") keys=$(realpath "$3") other=$(realpath "$4")
loadable=${5:-}
signfile="$kout/scripts/sign-file"
[ -x "$signfile" ] || { echo "mkpayload: $signfile missing: build the kernel first (make kernel)" >&2; exit 1; }
work="$out.work"
rm -rf "$out" && mkdir -p "$out/opt/lpguard-tests" "$work"

sign() { # sign KEY CERT IN OUT
	cp "$3" "$4"
	"$signfile" sha256 "$1" "$2" "$4"
}

for src in "$top/tests/foundation" "$top/tests/modules"; do
	[ -d "$src" ] || continue
	[ -e "$src/Kbuild" ] || [ -e "$src/Makefile" ] || continue
	dst="$work/$(basename "$src")"
	rm -rf "$dst" && mkdir -p "$dst" && cp -a "$src/." "$dst/"
	make -s -C "$kout" M="$dst" modules >"$work/$(basename "$src").log" 2>&1 ||
		{ echo "mkpayload: building $src against $kout failed:" >&2; tail -30 "$work/$(basename "$src").log" >&2; exit 1; }
	for ko in "$dst"/*.ko; do
		m=$(basename "$ko" .ko)
		t="$out/opt/lpguard-tests/$m"
		cp "$ko" "$t.ko"
		sign "$keys/livepatch.key" "$keys/livepatch.der" "$ko" "$t.lp.ko"
		sign "$kout/certs/signing_key.pem" "$kout/certs/signing_key.x509" "$ko" "$t.build.ko"
		sign "$other/livepatch.key" "$other/livepatch.der" "$ko" "$t.other.ko"
		cp "$t.lp.ko" "$t.tampered.ko"
		# Flip one byte in the middle of the signed content (not the signature).
		off=$(($(stat -c %s "$ko") / 2))
		b=$(od -An -tu1 -j "$off" -N1 "$t.tampered.ko" | tr -d ' ')
		printf "$(printf '\\%03o' $((b ^ 0xff)))" | dd of="$t.tampered.ko" bs=1 seek="$off" conv=notrunc status=none
	done
done

if [ "$loadable" = --loadable ]; then
	dst="$work/kmod"
	rm -rf "$dst" && mkdir -p "$dst" && cp -a "$top/kmod/." "$dst/"
	make -s -C "$kout" M="$dst" LPGUARD_CERTS="$keys/livepatch.der" modules >"$work/kmod.log" 2>&1 ||
		{ echo "mkpayload: building the loadable lpguard against $kout failed:" >&2; tail -30 "$work/kmod.log" >&2; exit 1; }
	mkdir -p "$out/lib/lpguard"
	sign "$kout/certs/signing_key.pem" "$kout/certs/signing_key.x509" "$dst/lpguard.ko" "$out/lib/lpguard/lpguard.ko"
fi
echo "payload: $(find "$out" -name '*.ko' | wc -l) modules in $out"
