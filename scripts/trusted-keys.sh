#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# trusted-keys.sh BASECONFIG KSRC KOUT CERT...: the kernel's builtin trusted
# keys for an image kernel: the image's own CONFIG_SYSTEM_TRUSTED_KEYS plus the
# owner's livepatch certificates.
#
# Writes KOUT/lpguard-trusted.pem (only when its content changes, so Kbuild
# does not rebuild the certificate list for nothing) and prints the one line
#   CONFIG_SYSTEM_TRUSTED_KEYS="KOUT/lpguard-trusted.pem"
# for the generated fragment. The bundle holds, in this order, every
# certificate of the file BASECONFIG names (copied verbatim; none when the
# option is empty or absent) and each CERT (DER or PEM) converted to PEM.
# A relative path in BASECONFIG is found as Kbuild finds it: in the build
# directory KOUT first, then in the source tree KSRC (make's VPATH).
# CONFIG_SYSTEM_REVOCATION_KEYS and the other key options are not touched.
set -euo pipefail
[ $# -ge 4 ] || { echo "usage: trusted-keys.sh BASECONFIG KSRC KOUT CERT..." >&2; exit 2; }
base=$1 ksrc=$2 kout=$3
shift 3
bundle="$kout/lpguard-trusted.pem"
fail() { echo "trusted-keys: $*" >&2; rm -f "$bundle.new"; exit 1; }

[ -r "$base" ] || fail "cannot read the base configuration $base: pass a readable .config as BASECONFIG (make image-kernel: IMAGE_CONFIG)"
# The image's value; Kconfig writes it as CONFIG_SYSTEM_TRUSTED_KEYS="..." with \" and \\ escaped.
line=$(grep -E '^CONFIG_SYSTEM_TRUSTED_KEYS=' "$base" | tail -n1 || true)
value=${line#CONFIG_SYSTEM_TRUSTED_KEYS=}
value=${value#\"}
value=${value%\"}
value=${value//\\\"/\"}
value=${value//\\\\/\\}
image_file=
if [ -n "$value" ]; then
	case $value in
	pkcs11:*) fail "$base: CONFIG_SYSTEM_TRUSTED_KEYS=\"$value\" is a PKCS#11 URI, which Kbuild cannot use for trusted keys: export the certificates to a PEM file and set its path" ;;
	/*) image_file=$value ;;
	*) if [ -e "$kout/$value" ]; then image_file=$kout/$value; else image_file=$ksrc/$value; fi ;;
	esac
	[ -r "$image_file" ] ||
		fail "the image's CONFIG_SYSTEM_TRUSTED_KEYS=\"$value\" (from $base) is not readable as $image_file: put that PEM bundle there (relative paths are looked up in KOUT, then in the kernel source tree) or fix the value in the base configuration"
	[ "$(realpath "$image_file")" != "$(realpath -m "$bundle")" ] ||
		fail "$base already names lpguard's bundle $bundle as CONFIG_SYSTEM_TRUSTED_KEYS: use the image's own .config as the base, not one this build wrote"
	if [ -s "$image_file" ] && ! grep -q -- '-----BEGIN CERTIFICATE-----' "$image_file"; then
		fail "the image's trusted keys $image_file hold no PEM certificate: Kbuild reads only PEM there; convert it (openssl x509 -inform DER -in FILE -out FILE.pem) and set the .pem path"
	fi
fi

{
	echo "# Builtin trusted keys written by lpguard's scripts/trusted-keys.sh; do not edit."
	if [ -n "$image_file" ]; then
		echo "# The image's CONFIG_SYSTEM_TRUSTED_KEYS=\"$value\" ($image_file):"
		cat "$image_file"
		[ ! -s "$image_file" ] || [ -z "$(tail -c1 "$image_file")" ] || echo
	fi
	for c in "$@"; do
		[ -r "$c" ] || fail "certificate $c not found: create it with 'cvm-cli generate-livepatch-keys' or fix LPGUARD_CERTS"
		echo "# The owner's livepatch certificate $(realpath "$c"):"
		openssl x509 -in "$c" -inform DER -outform PEM 2>/dev/null ||
			openssl x509 -in "$c" -inform PEM -outform PEM 2>/dev/null ||
			fail "$c is not an X.509 certificate (DER or PEM): pass the certificate cvm-cli generate-livepatch-keys wrote (livepatch.der)"
	done
} > "$bundle.new"
if cmp -s "$bundle.new" "$bundle"; then rm -f "$bundle.new"; else mv "$bundle.new" "$bundle"; fi
echo "CONFIG_SYSTEM_TRUSTED_KEYS=\"$bundle\""
