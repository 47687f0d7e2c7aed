#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# test-image-config.sh KSRC: make image-kernel's configure step (build-kernel.sh
# CONFIGURE_ONLY=1) on Debian's own 6.12 cloud configuration (package
# linux-config-6.12) as the image's .config, in a scratch build directory.
#   - with lpguard.config only: the readiness report flags X86_KERNEL_IBT and
#     fails; the trusted keys are Debian's (none in the published config) plus ours
#   - with kpatch.config too, and Debian's build value for the trusted keys
#     (a relative path) and a revocation list: it passes; the bundle holds
#     Debian's certificate and ours, as the kernel's extract-cert reads it;
#     the revocation keys and the signing key are left as the image has them
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
[ $# -eq 1 ] && [ -f "$1/Makefile" ] || { echo "usage: test-image-config.sh KSRC (an unpacked kernel source tree)" >&2; exit 2; }
ksrc=$(realpath "$1")
debian=${DEBIAN_CONFIG:-/usr/src/linux-config-6.12/config.amd64_none_cloud-amd64.xz}
[ -r "$debian" ] || { echo "test-image-config: $debian missing: install Debian's kernel configurations (make deps, package linux-config-6.12)" >&2; exit 1; }
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
nok() { fail=$((fail + 1)); echo "not ok - $1"; [ -z "${2:-}" ] || echo "$2" | tail -n 20 | sed 's/^/#   /'; }
subjects() { openssl storeutl -noout -text -certs "$1" 2>/dev/null | sed -n 's/^ *Subject: *//p' | paste -sd' '; }
cert() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null -subj "/CN=$1" -days 2 -outform "$2" -out "$3" 2>/dev/null; }
configure() { # KOUT BASE FRAGMENTS...
	local kout=$1 base=$2
	shift 2
	KSRC=$ksrc KOUT=$kout BASECONFIG=$base FRAGMENTS="$*" LPGUARD_BUILTIN=y LPGUARD_CERTS=$d/owner.der \
		CONFIGURE_ONLY=1 "$top/scripts/build-kernel.sh" 2>&1
}
cert "lpguard test owner" DER "$d/owner.der"
xz -dc "$debian" > "$d/debian.config"

# 1. Debian's configuration as published, lpguard.config merged.
start=$(date +%s)
out=$(configure "$d/k1" "$d/debian.config" "$top/kconfig/lpguard.config")
rc=$?
[ $rc -ne 0 ] && grep -qF "readiness: FAIL kpatch-build: no indirect branch tracking: CONFIG_X86_KERNEL_IBT=y" <<< "$out" &&
	grep -qF "readiness: no patch builder can target this kernel (kpatch-build: CONFIG_X86_KERNEL_IBT=y)" <<< "$out" &&
	ok "Debian's cloud config + lpguard.config: the report flags X86_KERNEL_IBT and fails" ||
	nok "Debian's cloud config + lpguard.config: IBT flagged (exit $rc)" "$out"
grep -qF "readiness: ok   lpguard: in the LSM order after lockdown" <<< "$out" &&
	grep -qF "readiness: ok   lpguard: lockdown forced to integrity" <<< "$out" &&
	ok "... and lpguard's own requirements hold" || nok "lpguard's requirements on Debian's config" "$out"
grep -qx "CONFIG_SYSTEM_TRUSTED_KEYS=\"$d/k1/lpguard-trusted.pem\"" "$d/k1/.config" &&
	[ "$(subjects "$d/k1/lpguard-trusted.pem")" = "CN=lpguard test owner" ] &&
	ok "... trusted keys: Debian's published config sets none, so the bundle holds ours" ||
	nok "trusted keys on Debian's published config" "$(grep TRUSTED_KEYS "$d/k1/.config")"
echo "# configure took $(($(date +%s) - start))s"

# 2. Debian's build value for the trusted keys (relative to the tree; Kbuild
# looks in the build directory first) and a revocation list; kpatch.config too.
mkdir -p "$d/k2/debian/certs"
cert "Debian test UEFI CA" PEM "$d/k2/debian/certs/debian-uefi-certs.pem"
cert "revoked" PEM "$d/k2/debian/certs/revoked.pem"
{
	grep -v -E '^(# )?CONFIG_SYSTEM_(TRUSTED_KEYS|REVOCATION_LIST|REVOCATION_KEYS)[= ]' "$d/debian.config"
	echo 'CONFIG_SYSTEM_TRUSTED_KEYS="debian/certs/debian-uefi-certs.pem"'
	echo 'CONFIG_SYSTEM_REVOCATION_LIST=y'
	echo 'CONFIG_SYSTEM_REVOCATION_KEYS="debian/certs/revoked.pem"'
} > "$d/debian-keys.config"
start=$(date +%s)
out=$(configure "$d/k2" "$d/debian-keys.config" "$top/kconfig/lpguard.config" "$top/kconfig/kpatch.config")
rc=$?
[ $rc -eq 0 ] && grep -qF "readiness: livepatches for this kernel can be built with kpatch-build" <<< "$out" &&
	! grep -q "readiness: FAIL" <<< "$out" &&
	ok "Debian's cloud config + lpguard.config + kpatch.config: the report passes" || nok "with kpatch.config it passes (exit $rc)" "$out"
[ "$(subjects "$d/k2/lpguard-trusted.pem")" = "CN=Debian test UEFI CA CN=lpguard test owner" ] &&
	grep -qx "CONFIG_SYSTEM_TRUSTED_KEYS=\"$d/k2/lpguard-trusted.pem\"" "$d/k2/.config" &&
	ok "... trusted keys: Debian's certificate, then ours" || nok "Debian's trusted keys kept" "$(subjects "$d/k2/lpguard-trusted.pem")"
grep -qx 'CONFIG_SYSTEM_REVOCATION_KEYS="debian/certs/revoked.pem"' "$d/k2/.config" &&
	grep -qx 'CONFIG_MODULE_SIG_KEY="certs/signing_key.pem"' "$d/k2/.config" &&
	ok "... revocation keys and the module signing key left as the image has them" ||
	nok "revocation keys untouched" "$(grep -E 'REVOCATION|MODULE_SIG_KEY' "$d/k2/.config")"
if gcc -O1 -Wno-deprecated-declarations -I"$ksrc/scripts" -o "$d/extract-cert" "$ksrc/certs/extract-cert.c" -lcrypto 2>"$d/cc.log" &&
   "$d/extract-cert" "$d/k2/lpguard-trusted.pem" "$d/list" 2>>"$d/cc.log"; then
	n=$(python3 -c 'import sys
d=open(sys.argv[1],"rb").read(); i=n=0
while i < len(d): i += 4 + int.from_bytes(d[i+2:i+4], "big"); n += 1
print(n)' "$d/list")
	[ "$n" = 2 ] && ok "... the kernel's extract-cert reads both certificates from the bundle" || nok "extract-cert read $n certificates"
else nok "the kernel's extract-cert reads the bundle" "$(cat "$d/cc.log")"; fi
echo "# configure took $(($(date +%s) - start))s"

echo "image-config: $pass passed, $fail failed"
[ $fail -eq 0 ]
