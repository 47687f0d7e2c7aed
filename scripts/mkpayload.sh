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
#   OUT/opt/lpguard-tests/lpg_plain.chain.ko  signed by a certificate issued by the
#                                            livepatch key, which the signature carries
#   OUT/opt/lpguard-tests/samename/lpg_plain.*.ko  another lpg_plain, other symbols
#   OUT/opt/lpguard-tests/name_quote.ko, name_newline.ko  lpg_replace_a with a
#                                            .modinfo name that tries to forge log fields
#   OUT/opt/lpguard-tests/<mod>.gen<N>.lp.ko  with lpguard.generation=N, livepatch key
#   OUT/lib/lpguard/lpguard.ko               with --loadable: kmod/ built as a module, build key
# Signing uses the kernel tree's own scripts/sign-file: an independent oracle.
# The generation files are written by `cvm-cli sign --generation N` (CVM_CLI,
# default build/bin/cvm-cli from `make build`): the QEMU tests load them.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
kout=$(realpath "$1") out=$(realpath -m "$2") keys=$(realpath "$3") other=$(realpath "$4")
loadable=${5:-}
signfile="$kout/scripts/sign-file"
[ -x "$signfile" ] || { echo "mkpayload: $signfile missing: build the kernel first (make kernel)" >&2; exit 1; }
cvm_cli=${CVM_CLI:-$top/build/bin/cvm-cli}
[ -x "$cvm_cli" ] || { echo "mkpayload: $cvm_cli missing: build the tools first (make build)" >&2; exit 1; }
work="$out.work"
rm -rf "$out" && mkdir -p "$out/opt/lpguard-tests" "$work"

sign() { # sign KEY CERT IN OUT
	cp "$3" "$4"
	"$signfile" sha256 "$1" "$2" "$4"
}

# sign_carrying KEY CERT IN OUT: signed the way sign-file signs, but the
# signer's certificate goes into the PKCS#7 message.
sign_carrying() {
	openssl cms -sign -binary -noattr -nosmimecap -md sha256 -outform DER \
		-in "$3" -signer "$2" -inkey "$1" -out "$work/sig.p7s"
	"$PYTHON" - "$3" "$work/sig.p7s" "$4" <<'PY'
import struct, sys
body, sig = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
trailer = struct.pack(">BBBBB3xI", 0, 0, 2, 0, 0, len(sig)) + b"~Module signature appended~\n"
open(sys.argv[3], "wb").write(body + sig + trailer)
PY
}

# set_modinfo IN OUT TAG VALUE: IN with .modinfo's TAG= set to VALUE (one
# tag, replacing any; backslash escapes in VALUE decoded), unsigned.
set_modinfo() {
	objcopy -O binary --only-section=.modinfo "$1" "$work/modinfo"
	"$PYTHON" - "$work/modinfo" "$3" "$4" <<'PY'
import sys
path, tag = sys.argv[1], sys.argv[2].encode() + b"="
value = sys.argv[3].encode().decode("unicode_escape").encode("latin-1")
tags = [t for t in open(path, "rb").read().split(b"\0") if t and not t.startswith(tag)]
open(path, "wb").write(b"\0".join(tags + [tag + value]) + b"\0")
PY
	objcopy --update-section .modinfo="$work/modinfo" "$1" "$2"
}
PYTHON=${PYTHON:-python3}

for src in "$top/tests/foundation" "$top/tests/modules" "$top/tests/modules/samename"; do
	[ -d "$src" ] || continue
	[ -e "$src/Kbuild" ] || [ -e "$src/Makefile" ] || continue
	sub=
	[ "$(basename "$src")" != samename ] || sub=samename/
	dst="$work/$(basename "$src")"
	rm -rf "$dst" && mkdir -p "$dst" && cp -a "$src/." "$dst/"
	make -s -C "$kout" M="$dst" modules >"$work/$(basename "$src").log" 2>&1 ||
		{ echo "mkpayload: building $src against $kout failed:" >&2; tail -30 "$work/$(basename "$src").log" >&2; exit 1; }
	mkdir -p "$out/opt/lpguard-tests/$sub"
	for ko in "$dst"/*.ko; do
		m=$(basename "$ko" .ko)
		t="$out/opt/lpguard-tests/$sub$m"
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

# A certificate issued by the livepatch key, for lpg_plain.chain.ko.
openssl req -new -newkey rsa:2048 -nodes -subj "/CN=lpguard test certificate issued by the livepatch key" \
	-keyout "$work/leaf.key" -out "$work/leaf.csr" 2>/dev/null
printf '%s\n' "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
	"extendedKeyUsage=codeSigning" "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid" > "$work/leaf.ext"
openssl x509 -req -in "$work/leaf.csr" -CA "$keys/livepatch.der" -CAform DER -CAkey "$keys/livepatch.key" \
	-set_serial 4242 -days 3650 -sha256 -extfile "$work/leaf.ext" -out "$work/leaf.pem" 2>/dev/null
sign_carrying "$work/leaf.key" "$work/leaf.pem" "$out/opt/lpguard-tests/lpg_plain.ko" \
	"$out/opt/lpguard-tests/lpg_plain.chain.ko"
set_modinfo "$out/opt/lpguard-tests/lpg_replace_a.ko" "$out/opt/lpguard-tests/name_quote.ko" name \
	'x" reason="signature verifies against .livepatch'
set_modinfo "$out/opt/lpguard-tests/lpg_replace_a.ko" "$out/opt/lpguard-tests/name_newline.ko" name \
	'e\nlpguard: livepatch allowed obj="e" \\'
# Generations: <m>.gen<N>.lp.ko carries lpguard.generation=N, signed.
for mg in lpg_replace_a:1 lpg_replace_b:2 lpg_replace_a:3 lpg_busy:4 lpg_replace_b:4; do
	m=${mg%:*} g=${mg#*:} t="$out/opt/lpguard-tests/$m"
	"$cvm_cli" sign --key "$keys/livepatch.key" --cert "$keys/livepatch.der" --generation "$g" \
		-o "$t.gen$g.lp.ko" "$t.ko" >/dev/null
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
