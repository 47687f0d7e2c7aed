#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tests of scripts/mkpatchkit.sh on a fake build directory (no kernel build):
# the kit holds byte copies of the build's files and a manifest whose fields
# come from the build (release, vermagic, the compiler vmlinux records).
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
mkkit=$top/scripts/mkpatchkit.sh
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
pass=0 fail=0
ok() { pass=$((pass + 1)); echo "ok - $1"; }
nok() { fail=$((fail + 1)); echo "not ok - $1"; [ -z "${2:-}" ] || echo "$2" | sed 's/^/#   /'; }
field() { python3 -c 'import json,sys; v=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): v=v[k]
print(json.dumps(v) if not isinstance(v, str) else v)' "$@"; }

# A build directory as Kbuild leaves it, with a vmlinux that is an ELF object
# carrying debug information, the compiler's .comment and a vermagic string.
fake_build() { # DIR RELEASE CFLAGS
	local k=$1 rel=$2
	mkdir -p "$k/include/config" "$k/include/generated" "$k/arch/x86/boot"
	echo "bzImage of $rel" > "$k/arch/x86/boot/bzImage"
	printf '# Linux/x86 6.12.117 Kernel Configuration\nCONFIG_CC_VERSION_TEXT="gcc (test) 12.2.0"\nCONFIG_LIVEPATCH=y\nCONFIG_DEBUG_INFO=y\nCONFIG_SECURITY_LPGUARD=y\nCONFIG_LSM="lockdown,lpguard"\n' > "$k/.config"
	printf '0x12345678\tprintk\tvmlinux\tEXPORT_SYMBOL\t\n' > "$k/Module.symvers"
	echo "$rel" > "$k/include/config/kernel.release"
	# As scripts/mkcompile_h writes it, with tabs.
	printf '#define UTS_MACHINE\t\t"x86_64"\n#define LINUX_COMPILER\t\t"gcc (test) 12.2.0, GNU ld (test) 2.40"\n' > "$k/include/generated/compile.h"
	printf 'const char vermagic[] = "%s SMP preempt mod_unload ";\nint f(void) { return 1; }\n' "$rel" > "$k/v.c"
	gcc $3 -c -o "$k/vmlinux" "$k/v.c"
}
fake_build "$d/k" 6.12.117-lpg "-g"
# The compiler string kpatch-build would compare: the .comment of anything this gcc compiles.
echo 'int g;' > "$d/probe.c" && gcc -c -o "$d/probe.o" "$d/probe.c"
want_cc=$(readelf -p .comment "$d/probe.o" | sed -n 's/^ *\[ *[0-9]*\] *//p' | grep -m1 '^GCC: ')

# A stand-in lp-load for the preflight guest (mkinitramfs.sh --preflight copies it).
printf '#!/bin/sh\necho stand-in lp-load\n' > "$d/lp-load" && chmod +x "$d/lp-load"
out=$(LP_LOAD=$d/lp-load "$mkkit" "$d/k" 2>&1)
rc=$?
m=$d/k/patch-kit/patch-kit.json
if [ $rc -eq 0 ] && [ -f "$m" ]; then ok "a kit is made from a finished build directory"; else nok "a kit is made from a finished build directory" "$out"; fi
same=1
for pair in config:.config vmlinux:vmlinux Module.symvers:Module.symvers bzImage:arch/x86/boot/bzImage; do
	cmp -s "$d/k/patch-kit/${pair%%:*}" "$d/k/${pair#*:}" || same=0
	[ "$(field "$m" "files.$(echo "${pair%%:*}" | sed 's/Module.symvers/module_symvers/; s/bzImage/bzimage/').sha256")" = "$(sha256sum < "$d/k/${pair#*:}" | cut -d' ' -f1)" ] || same=0
done
[ $same = 1 ] && ok "config, vmlinux, Module.symvers and bzImage are byte copies, with their SHA-256 in the manifest" || nok "kit files are copies with their SHA-256" "$(cat "$m")"
ird=$d/k/patch-kit/preflight-initramfs.cpio.gz
if [ "$(field "$m" files.preflight_initramfs.path)" = preflight-initramfs.cpio.gz ] &&
   [ "$(field "$m" files.preflight_initramfs.sha256)" = "$(sha256sum < "$ird" | cut -d' ' -f1)" ] &&
   zcat "$ird" | cpio -i --to-stdout --quiet usr/sbin/lp-load | grep -qx 'echo stand-in lp-load' &&
   zcat "$ird" | cpio -i --to-stdout --quiet init | cmp -s - "$top/scripts/preflight-init.sh"; then
	ok "the preflight guest holds LP_LOAD and preflight-init.sh as /init, with its SHA-256 in the manifest"
else nok "preflight guest" "$(cat "$m")"; fi
[ "$(field "$m" kernel_release)" = 6.12.117-lpg ] && [ "$(cat "$d/k/patch-kit/kernel.release")" = 6.12.117-lpg ] &&
	ok "the release is the build's" || nok "the release is the build's" "$(cat "$m")"
[ "$(field "$m" compiler)" = "$want_cc" ] && ok "the compiler is vmlinux's .comment entry ($want_cc)" || nok "compiler from .comment" "$(cat "$m")"
[ "$(field "$m" compiler_banner)" = "gcc (test) 12.2.0, GNU ld (test) 2.40" ] && [ "$(field "$m" cc_version_text)" = "gcc (test) 12.2.0" ] &&
	ok "compile.h's banner and CONFIG_CC_VERSION_TEXT are recorded" || nok "banner and cc_version_text" "$(cat "$m")"
[ "$(field "$m" vermagic)" = "6.12.117-lpg SMP preempt mod_unload " ] && ok "the vermagic is vmlinux's" || nok "vermagic" "$(cat "$m")"
[ "$(field "$m" debug_info)" = true ] && [ "$(field "$m" lpguard)" = builtin ] && [ "$(field "$m" builders)" = '["kpatch-build"]' ] &&
	ok "debug information, lpguard built in, kpatch-build can target it" || nok "debug_info, lpguard, builders" "$(cat "$m")"
[ "$(field "$m" schema)" = lpguard-patch-kit/1 ] && ok "schema lpguard-patch-kit/1" || nok "schema" "$(cat "$m")"

# A rebuilt vmlinux replaces the kit's; an unchanged file is left alone.
touch -d '2000-01-01' "$d/k/patch-kit/config"
printf 'const char vermagic[] = "6.12.117-lpg SMP preempt mod_unload ";\nint f(void) { return 2; }\n' > "$d/k/v.c"
gcc -g -c -o "$d/k/vmlinux" "$d/k/v.c"
out=$("$mkkit" "$d/k" 2>&1)
if cmp -s "$d/k/vmlinux" "$d/k/patch-kit/vmlinux" && [ "$(field "$m" files.vmlinux.sha256)" = "$(sha256sum < "$d/k/vmlinux" | cut -d' ' -f1)" ] &&
   [ "$(stat -c %Y "$d/k/patch-kit/config")" = "$(date -d 2000-01-01 +%s)" ]; then
	ok "a second run follows a rebuilt vmlinux and leaves unchanged files alone"
else nok "a second run follows a rebuilt vmlinux" "$out"; fi

# Another kit directory; IBT on: no builder, a warning, still a kit.
fake_build "$d/k2" 6.12.117 "-g0"
echo 'CONFIG_X86_KERNEL_IBT=y' >> "$d/k2/.config"
out=$(LP_LOAD=$d/no-lp-load "$mkkit" "$d/k2" "$d/kit2" 2>&1)
if [ $? -eq 0 ] && [ "$(field "$d/kit2/patch-kit.json" builders)" = '[]' ] && [ "$(field "$d/kit2/patch-kit.json" debug_info)" = false ] &&
   grep -qF "no debug information" <<< "$out" && grep -qF "no patch builder can target this kernel" <<< "$out"; then
	ok "without debug information and with IBT: builders [], debug_info false, both warned"
else nok "no debug info and IBT" "$out"; fi
if python3 -c 'import json,sys; sys.exit("preflight_initramfs" in json.load(open(sys.argv[1]))["files"])' "$d/kit2/patch-kit.json" &&
   [ ! -e "$d/kit2/preflight-initramfs.cpio.gz" ] && grep -qF "$d/no-lp-load missing: the kit has no preflight guest" <<< "$out"; then
	ok "without lp-load: no preflight guest in the kit, and a warning"
else nok "no lp-load: no preflight guest" "$out"; fi

# An unfinished build: one line naming the missing file, no manifest.
rm "$d/k2/Module.symvers" "$d/kit2/patch-kit.json"
out=$("$mkkit" "$d/k2" "$d/kit2" 2>&1)
if [ $? -ne 0 ] && [ "$(echo "$out" | wc -l)" = 1 ] && grep -qF "$d/k2/Module.symvers missing" <<< "$out" && [ ! -e "$d/kit2/patch-kit.json" ]; then
	ok "a build without Module.symvers is refused in one line"
else nok "missing Module.symvers refused" "$out"; fi

echo "patch-kit: $pass passed, $fail failed"
[ $fail -eq 0 ]
