#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkpatchkit.sh KOUT [KITDIR]: the patch kit of a built kernel, everything a
# patch builder and cvm-cli need to target exactly this kernel, in KITDIR
# (default KOUT/patch-kit):
#   config           KOUT/.config
#   vmlinux          KOUT/vmlinux, with its debug information
#   Module.symvers   KOUT/Module.symvers
#   kernel.release   the release (KOUT/include/config/kernel.release)
#   bzImage          KOUT/arch/x86/boot/bzImage: the kernel cvm-cli preflight boots
#   preflight-initramfs.cpio.gz
#                    cvm-cli preflight's guest (mkinitramfs.sh --preflight) with
#                    lp-load from LP_LOAD (default build/cmake/bin/lp-load); left
#                    out, with a warning, when lp-load is not built
#   patch-kit.json   the manifest (schema in docs/kpatch.md), written last:
#                    a kit without it is incomplete
# Runs on any finished build directory; files already in the kit with the same
# SHA-256 are not copied again.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib/progress.sh"
[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: mkpatchkit.sh KOUT [KITDIR]" >&2; exit 2; }
fail() { echo "patch-kit: $*" >&2; exit 1; }
[ -d "$1" ] || fail "$1 is not a kernel build directory: pass the KOUT of a finished build (e.g. build/image-kernel)"
kout=$(realpath "$1")
kit=$(realpath -m "${2:-$kout/patch-kit}")
for f in .config vmlinux Module.symvers arch/x86/boot/bzImage include/config/kernel.release include/generated/compile.h; do
	[ -f "$kout/$f" ] || fail "$kout/$f missing: the kit is made from a finished build; build the kernel first (make image-kernel)"
done
release=$(cat "$kout/include/config/kernel.release")
[ -n "$release" ] || fail "$kout/include/config/kernel.release is empty: rebuild the kernel"

# The compiler as vmlinux records it: the .comment entry kpatch-build compares
# with the compiler of the patch build ("GCC: (Debian 12.2.0-14+deb12u1) 12.2.0").
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
readelf -p .comment "$kout/vmlinux" > "$tmp/comment" 2>"$tmp/err" ||
	fail "cannot read $kout/vmlinux as ELF ($(head -n1 "$tmp/err")): pass the build directory of an x86_64 kernel"
compiler=$(sed -n 's/^ *\[ *[0-9a-f]*\]  //p' "$tmp/comment" | grep -E -m1 '^GCC: |clang version' || true)
[ -n "$compiler" ] ||
	fail "$kout/vmlinux has no compiler in its .comment section: kpatch-build cannot check the patch compiler against it; rebuild the kernel with an unmodified toolchain"
banner=$(sed -n 's/^#define[[:space:]]\{1,\}LINUX_COMPILER[[:space:]]\{1,\}"\(.*\)"$/\1/p' "$kout/include/generated/compile.h")
cc_text=$(sed -n 's/^CONFIG_CC_VERSION_TEXT="\(.*\)"$/\1/p' "$kout/.config")
# The kernel compares a module's vermagic with its VERMAGIC_STRING, which
# vmlinux carries as a string starting with the release.
vermagic=$(strings -a "$kout/vmlinux" | awk -v r="$release " 'index($0, r) == 1 && /mod_unload/ { print; exit }' || true)
[ -n "$vermagic" ] || fail "no vermagic string for $release in $kout/vmlinux: $kout/vmlinux is not the kernel of this build; rebuild it"
if readelf -S "$kout/vmlinux" | grep -q ' \.debug_info '; then debug_info=true; else debug_info=false; fi

mkdir -p "$kit"
rm -f "$kit/patch-kit.json"
start=$(date +%s)
echo "patch-kit: $kit ($release) ..."
declare -A sha
for pair in config:.config vmlinux:vmlinux Module.symvers:Module.symvers bzImage:arch/x86/boot/bzImage; do
	name=${pair%%:*} src=$kout/${pair#*:}
	sha[$name]=$(sha256sum < "$src" | cut -d' ' -f1)
	if [ ! -f "$kit/$name" ] || [ "$(sha256sum < "$kit/$name" | cut -d' ' -f1)" != "${sha[$name]}" ]; then
		cp --reflink=auto "$src" "$kit/$name.new"
		mv "$kit/$name.new" "$kit/$name"
	fi
done
printf '%s\n' "$release" > "$kit/kernel.release"
lpload=${LP_LOAD:-$top/build/cmake/bin/lp-load}
sha_initramfs=
if [ -x "$lpload" ]; then
	"$here/mkinitramfs.sh" --preflight "$kit/preflight-initramfs.cpio.gz" "$lpload" >/dev/null
	sha_initramfs=$(sha256sum < "$kit/preflight-initramfs.cpio.gz" | cut -d' ' -f1)
else
	rm -f "$kit/preflight-initramfs.cpio.gz"
fi
builders=$("$here/readiness.sh" --builders "$kit/config")
lpguard=absent
grep -qx 'CONFIG_SECURITY_LPGUARD=y' "$kit/config" && lpguard=builtin

KIT_RELEASE=$release KIT_COMPILER=$compiler KIT_BANNER=$banner KIT_CC_TEXT=$cc_text KIT_VERMAGIC=$vermagic \
KIT_DEBUG_INFO=$debug_info KIT_BUILDERS=$builders KIT_LPGUARD=$lpguard KIT_KOUT=$kout \
KIT_SHA_CONFIG=${sha[config]} KIT_SHA_VMLINUX=${sha[vmlinux]} KIT_SHA_SYMVERS=${sha[Module.symvers]} \
KIT_SHA_BZIMAGE=${sha[bzImage]} KIT_SHA_INITRAMFS=$sha_initramfs \
python3 - "$kit/patch-kit.json.new" <<'PY'
import json, os, sys
e = os.environ
manifest = {
    "schema": "lpguard-patch-kit/1",
    "kernel_release": e["KIT_RELEASE"],
    "arch": "x86_64",
    "vermagic": e["KIT_VERMAGIC"],
    "compiler": e["KIT_COMPILER"],
    "compiler_banner": e["KIT_BANNER"],
    "cc_version_text": e["KIT_CC_TEXT"],
    "debug_info": e["KIT_DEBUG_INFO"] == "true",
    "lpguard": e["KIT_LPGUARD"],
    "builders": [b for b in e["KIT_BUILDERS"].split("\n") if b],
    "files": {
        "config": {"path": "config", "sha256": e["KIT_SHA_CONFIG"]},
        "vmlinux": {"path": "vmlinux", "sha256": e["KIT_SHA_VMLINUX"]},
        "module_symvers": {"path": "Module.symvers", "sha256": e["KIT_SHA_SYMVERS"]},
        "kernel_release": {"path": "kernel.release"},
        "bzimage": {"path": "bzImage", "sha256": e["KIT_SHA_BZIMAGE"]},
    },
    "build_dir": e["KIT_KOUT"],
}
if e["KIT_SHA_INITRAMFS"]:
    manifest["files"]["preflight_initramfs"] = {"path": "preflight-initramfs.cpio.gz",
                                                "sha256": e["KIT_SHA_INITRAMFS"]}
with open(sys.argv[1], "w") as f:
    json.dump(manifest, f, indent=2)
    f.write("\n")
PY
mv "$kit/patch-kit.json.new" "$kit/patch-kit.json"
[ "$debug_info" = true ] ||
	echo "patch-kit: warning: $kout/vmlinux has no debug information: kpatch-build cannot use this kit; build with CONFIG_DEBUG_INFO=y (kconfig/kpatch.config)" >&2
[ -n "$sha_initramfs" ] ||
	echo "patch-kit: warning: $lpload missing: the kit has no preflight guest, so cvm-cli preflight cannot use it; build lp-load (make build) or set LP_LOAD, then make the kit again" >&2
[ -n "$builders" ] ||
	echo "patch-kit: warning: no patch builder can target this kernel (scripts/readiness.sh $kit/config says why)" >&2
echo "patch-kit: $kit/patch-kit.json: done in $(($(date +%s) - start))s"
