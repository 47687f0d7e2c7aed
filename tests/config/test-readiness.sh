#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tests of scripts/readiness.sh and scripts/trusted-keys.sh on synthetic
# .config files and certificate bundles (fast, in `make check`; no kernel tree).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
ready=$top/scripts/readiness.sh
tkeys=$top/scripts/trusted-keys.sh
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
nok() { fail=$((fail + 1)); echo "not ok - $1"; [ -z "${2:-}" ] || echo "$2" | sed 's/^/#   /'; }

# expect 0|1 NAME CONFIG PATTERN... : exit status and lines the output must hold.
expect() {
	local want=$1 name=$2 cfg=$3 out rc p
	shift 3
	out=$(LPGUARD_ALLOW_UNPATCHABLE=${ALLOW:-0} "$ready" $OPTS "$cfg" 2>&1)
	rc=$?
	[ $rc -ne 0 ] && rc=1
	for p in "$@"; do grep -qF -- "$p" <<< "$out" || { nok "$name (no '$p')" "$out"; return; }; done
	[ "$rc" = "$want" ] && ok "$name" || nok "$name (exit $rc, wanted $want)" "$out"
}
OPTS=
good6() {
	printf '# Linux/x86 6.12.117 Kernel Configuration\n'
	printf 'CONFIG_SECURITY_LPGUARD=y\nCONFIG_LSM="landlock,lockdown,yama,lpguard,apparmor"\n'
	printf 'CONFIG_SECURITY_LOCKDOWN_LSM=y\nCONFIG_SECURITY_LOCKDOWN_LSM_EARLY=y\nCONFIG_LOCK_DOWN_KERNEL_FORCE_INTEGRITY=y\n'
	printf 'CONFIG_LIVEPATCH=y\nCONFIG_DEBUG_INFO=y\n# CONFIG_DEBUG_INFO_SPLIT is not set\n'
}
good6 > "$d/good6"
expect 0 "6.x with every requirement: kpatch-build can target it" "$d/good6" \
	"readiness: ok   lpguard: in the LSM order after lockdown" "readiness: ok   lpguard: lockdown forced to integrity" \
	"readiness: ok   kpatch-build: no indirect branch tracking" "readiness: n/a  klp-build" \
	"readiness: livepatches for this kernel can be built with kpatch-build"
[ "$("$ready" "$d/good6" | grep -c '^readiness: \(ok  \|FAIL\|n/a \)')" = 10 ] &&
	ok "one line per requirement: 2 lpguard, 7 kpatch-build, 1 klp-build n/a" || nok "one line per requirement" "$("$ready" "$d/good6")"

for o in X86_KERNEL_IBT DEBUG_INFO_SPLIT DEBUG_INFO_REDUCED GCC_PLUGIN_RANDSTRUCT GCC_PLUGIN_LATENT_ENTROPY; do
	{ good6; echo "CONFIG_$o=y"; } > "$d/$o"
	expect 1 "CONFIG_$o=y: no builder, the option named" "$d/$o" \
		"readiness: FAIL kpatch-build:" "no patch builder can target this kernel (kpatch-build: CONFIG_$o=y)" "LPGUARD_ALLOW_UNPATCHABLE=1"
done
good6 | grep -v DEBUG_INFO=y > "$d/nodebug"
expect 1 "no CONFIG_DEBUG_INFO: no builder" "$d/nodebug" "(kpatch-build: CONFIG_DEBUG_INFO not set)"
ALLOW=1 expect 0 "LPGUARD_ALLOW_UNPATCHABLE=1: a warning instead of a failure" "$d/X86_KERNEL_IBT" \
	"readiness: warning: no patch builder can target this kernel (kpatch-build: CONFIG_X86_KERNEL_IBT=y)"

good6 | sed 's/lockdown,yama,lpguard/lpguard,yama,lockdown/' > "$d/order"
ALLOW=1 expect 1 "lpguard before lockdown fails even with LPGUARD_ALLOW_UNPATCHABLE=1" "$d/order" \
	"readiness: FAIL lpguard: in the LSM order after lockdown" "this kernel cannot enforce lpguard"
good6 | sed 's/,lpguard//' > "$d/nolsm"
expect 1 "lpguard missing from CONFIG_LSM fails" "$d/nolsm" "readiness: FAIL lpguard: in the LSM order"
good6 | sed 's/FORCE_INTEGRITY=y/FORCE_NONE=y/' > "$d/nolock"
expect 1 "lockdown not forced fails" "$d/nolock" "readiness: FAIL lpguard: lockdown forced to integrity" "CONFIG_LOCK_DOWN_KERNEL_FORCE_NONE=y"
good6 | sed 's/FORCE_INTEGRITY=y/FORCE_CONFIDENTIALITY=y/' > "$d/conf"
expect 0 "lockdown forced to confidentiality covers integrity" "$d/conf" "readiness: ok   lpguard: lockdown forced"
OPTS=--loadable expect 0 "--loadable: lpguard's lines inform only" "$d/nolsm" "readiness: n/a  lpguard: in the LSM order"

good7() {
	printf '# Linux/x86 7.0.1 Kernel Configuration\n'
	good6 | sed 1d
	printf 'CONFIG_HAVE_KLP_BUILD=y\nCONFIG_KLP_BUILD=y\nCONFIG_X86_KERNEL_IBT=y\n'
}
good7 > "$d/good7"
expect 0 "7.x with CONFIG_KLP_BUILD: klp-build (IBT is fine for it), kpatch-build n/a" "$d/good7" \
	"readiness: n/a  kpatch-build" "readiness: ok   klp-build: klp-build support (CONFIG_KLP_BUILD=y)" \
	"can be built with klp-build"
{ good7; echo CONFIG_LD_DEAD_CODE_DATA_ELIMINATION=y; } > "$d/dce"
expect 1 "7.x with LD_DEAD_CODE_DATA_ELIMINATION: no builder" "$d/dce" "(klp-build: CONFIG_LD_DEAD_CODE_DATA_ELIMINATION=y)"
good7 | grep -v KLP_BUILD=y > "$d/noklp"
expect 1 "7.x without CONFIG_KLP_BUILD: no builder" "$d/noklp" "(klp-build: CONFIG_KLP_BUILD not set)"
[ "$("$ready" --builders "$d/good7")" = klp-build ] && [ -z "$("$ready" --builders "$d/X86_KERNEL_IBT")" ] &&
	ok "--builders prints the builders that can target the kernel" || nok "--builders"

# trusted-keys.sh: the image's bundle plus the owner's certificates.
cert() { openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout /dev/null -subj "/CN=$1" -days 2 -outform "$2" -out "$3" 2>/dev/null; }
subjects() { openssl storeutl -noout -text -certs "$1" 2>/dev/null | sed -n 's/^ *Subject: *//p' | paste -sd' '; }
mkdir -p "$d/src/certs" "$d/out" "$d/out2/certs"
cert owner DER "$d/owner.der"
cert owner2 PEM "$d/owner2.pem"
cert image-a PEM "$d/a.pem"; cert image-b PEM "$d/b.pem"
cat "$d/a.pem" "$d/b.pem" > "$d/image-bundle.pem"
cp "$d/a.pem" "$d/src/certs/image.pem"
cert objtree PEM "$d/out2/certs/image.pem"
tk() { # NAME BASE-VALUE KOUT WANT-SUBJECTS [WANT-VALUE]
	local name=$1 kout=$3 out
	if [ -n "$2" ]; then printf 'CONFIG_X=y\nCONFIG_SYSTEM_TRUSTED_KEYS="%s"\n' "$2" > "$d/base"; else echo 'CONFIG_X=y' > "$d/base"; fi
	out=$("$tkeys" "$d/base" "$d/src" "$kout" "$d/owner.der" "$d/owner2.pem" 2>&1)
	if [ $? -eq 0 ] && [ "$out" = "CONFIG_SYSTEM_TRUSTED_KEYS=\"$kout/lpguard-trusted.pem\"" ] &&
	   [ "$(subjects "$kout/lpguard-trusted.pem")" = "$4" ]; then ok "trusted keys: $name"
	else nok "trusted keys: $name (got $(subjects "$kout/lpguard-trusted.pem" 2>/dev/null))" "$out"; fi
}
tk "absent in the image: the owner's only" "" "$d/out" "CN=owner CN=owner2"
printf 'CONFIG_SYSTEM_TRUSTED_KEYS=""\n' > "$d/empty"
out=$("$tkeys" "$d/empty" "$d/src" "$d/out" "$d/owner.der") && [ "$(subjects "$d/out/lpguard-trusted.pem")" = "CN=owner" ] &&
	ok "trusted keys: empty in the image: the owner's only" || nok "trusted keys: empty value" "$out"
tk "an absolute PEM bundle: all of it, then the owner's" "$d/image-bundle.pem" "$d/out" "CN=image-a CN=image-b CN=owner CN=owner2"
tk "a relative path: found in the source tree" "certs/image.pem" "$d/out" "CN=image-a CN=owner CN=owner2"
tk "a relative path: the build directory first, as make's VPATH" "certs/image.pem" "$d/out2" "CN=objtree CN=owner CN=owner2"
touch -d 2000-01-01 "$d/out/lpguard-trusted.pem"; m1=$(stat -c %Y "$d/out/lpguard-trusted.pem")
"$tkeys" "$d/base" "$d/src" "$d/out" "$d/owner.der" "$d/owner2.pem" >/dev/null
[ "$(stat -c %Y "$d/out/lpguard-trusted.pem")" = "$m1" ] && ok "trusted keys: an unchanged bundle is not rewritten" || nok "unchanged bundle rewritten"
one_line_error() { # NAME PATTERN BASE-VALUE
	printf 'CONFIG_SYSTEM_TRUSTED_KEYS="%s"\n' "$3" > "$d/base"
	local out
	out=$("$tkeys" "$d/base" "$d/src" "$d/out" "$d/owner.der" 2>&1)
	[ $? -ne 0 ] && [ "$(wc -l <<< "$out")" = 1 ] && grep -qF -- "$2" <<< "$out" && ok "trusted keys: $1" || nok "trusted keys: $1" "$out"
}
one_line_error "a missing image bundle is refused" "is not readable as $d/src/certs/missing.pem" certs/missing.pem
one_line_error "a PKCS#11 URI is refused" "is a PKCS#11 URI" "pkcs11:token=x"
openssl x509 -in "$d/a.pem" -outform DER -out "$d/src/certs/image.der"
one_line_error "a DER file as the image's bundle is refused" "hold no PEM certificate" certs/image.der
one_line_error "the build's own bundle as the base is refused" "already names lpguard's bundle" "$d/out/lpguard-trusted.pem"
echo 'CONFIG_X=y' > "$d/base"
out=$("$tkeys" "$d/base" "$d/src" "$d/out" "$d/nothere.der" 2>&1)
[ $? -ne 0 ] && grep -qF "certificate $d/nothere.der not found" <<< "$out" && ok "trusted keys: a missing owner certificate is refused" || nok "missing owner cert" "$out"

echo "readiness: $pass passed, $fail failed"
[ $fail -eq 0 ]
