#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kpatch-build.sh: build a livepatch module from a source patch with
# kpatch-build, for a kernel built by scripts/build-kernel.sh.
#
#   scripts/kpatch/kpatch-build.sh [-f] [-R] [-n NAME] PATCH [PATCH...] OUTDIR
#
#   -R       non-replace patch (kpatch-build --non-replace); default: the new
#            patch replaces every active livepatch (cumulative patches)
#   -n NAME  module name (default: livepatch-<patch file name without .patch>)
#   -f       build even when OUTDIR already has the module for the same
#            patches, options, kpatch version and kernel (default: reuse it)
#   KOUT     the kernel's build directory (default build/kernel-6.12-kpatch):
#            its .config, vmlinux and Module.symvers describe the target kernel
#   KSRC     the kernel source tree KOUT was built from (default
#            build/src/linux-source-6.12)
#   KPATCH_DIR  tools, source copies and caches (default build/kpatch)
#   JOBS     make jobs (default 2)
#
# Writes OUTDIR/<name>.ko, unsigned (sign it with cvm-cli before loading).
#
# kpatch-build compiles the kernel in place (make without O=) and patches the
# tree while it works, so it cannot use KSRC, which stays clean for the
# out-of-tree builds. It gets its own copy, $KPATCH_DIR/tree-<KOUT name>,
# configured with KOUT's .config. The first run compiles that copy in full
# (with -ffunction-sections -fdata-sections); later runs only recompile what
# the previous patch touched.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/lib/progress.sh"

fail() { echo "kpatch-build: $*" >&2; exit 1; }
. "$here/patch-args.sh"
parse_patch_args "$@"

KOUT=${KOUT:-$top/build/kernel-6.12-kpatch}
KSRC=${KSRC:-$top/build/src/linux-source-6.12}
KPATCH_DIR=${KPATCH_DIR:-$top/build/kpatch}
JOBS=${JOBS:-2}

[ -f "$KSRC/Makefile" ] || fail "kernel source $KSRC missing: run 'make kernel' first (it unpacks linux-source)"
for f in .config vmlinux Module.symvers; do
	[ -f "$KOUT/$f" ] || fail "$KOUT/$f missing: build the kpatch kernel first ('make kernel-kpatch')"
done
grep -qx 'CONFIG_DEBUG_INFO=y' "$KOUT/.config" ||
	fail "$KOUT was built without CONFIG_DEBUG_INFO: kpatch-build needs it; build it with kconfig/kpatch.config"
! grep -qx 'CONFIG_X86_KERNEL_IBT=y' "$KOUT/.config" ||
	fail "$KOUT has CONFIG_X86_KERNEL_IBT, which kpatch-build does not support; build it with kconfig/kpatch.config"
grep -qx 'CONFIG_BUG=y' "$KOUT/.config" ||
	fail "$KOUT was built without CONFIG_BUG: kpatch-build needs struct bug_entry; build it with kconfig/kpatch.config"
grep -qx 'CONFIG_LIVEPATCH=y' "$KOUT/.config" ||
	fail "$KOUT was built without CONFIG_LIVEPATCH: it cannot load livepatches; build it with kconfig/lpguard.config"

mkdir -p "$KPATCH_DIR/logs" "$outdir"
KPATCH_DIR=$(realpath "$KPATCH_DIR")
KOUT=$(realpath "$KOUT")
KSRC=$(realpath "$KSRC")
outdir=$(realpath "$outdir")

kpatch_build=$("$here/kpatch-tools.sh")

patch_module_name

# Reuse: the same patches, options, kpatch and kernel give the same module.
stamp=$( (cat "$(dirname "$(dirname "$kpatch_build")")/.lpguard-built"; echo "$replace $modname"
	  cat "${abs_patches[@]}" "$KOUT/.config"; stat -c '%s %Y' "$KOUT/vmlinux") | sha256sum | cut -d' ' -f1)
if [ "$force" -eq 0 ] && [ -f "$ko" ] && [ "$(cat "$outdir/.$modname.ko.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "kpatch-build: $ko is up to date (-f rebuilds it)" >&2
	echo "$ko"
	exit 0
fi

tag=$(basename "$KOUT")
tree=$KPATCH_DIR/tree-$tag
kmodcopy=$KPATCH_DIR/kmod-$tag
cache=$KPATCH_DIR/cache-$tag
log=$KPATCH_DIR/logs/kpatch-build-$tag.log

# One kpatch-build at a time per tree: it patches the tree in place.
exec 9>"$KPATCH_DIR/.lock-$tag"
flock 9

# The tree: a plain copy of KSRC, made once per source tree and kernel version.
srcstamp=$( (echo "$KSRC"; head -c 200 "$KSRC/Makefile") | sha256sum | cut -d' ' -f1)
if [ "$(cat "$tree/.lpguard-source-stamp" 2>/dev/null)" != "$srcstamp" ]; then
	rm -rf "$tree" "$tree.tmp"
	run_step "kpatch-build: copying $KSRC for in-tree builds" "$KPATCH_DIR/logs/copy-$tag.log" \
		cp -a "$KSRC" "$tree.tmp"
	# KSRC's lpguard link points into the repository; the copy gets its own (below).
	rm -f "$tree.tmp/security/lpguard"
	echo "$srcstamp" > "$tree.tmp/.lpguard-source-stamp"
	mv "$tree.tmp" "$tree"
fi

# lpguard's sources: an in-place build writes objects next to them, so the tree
# links to a private copy of kmod/ rather than to the repository. Files whose
# content changed get a new mtime (no -t), so make rebuilds exactly those.
mkdir -p "$kmodcopy"
rsync -rl --checksum --delete \
	--exclude='*.o' --exclude='.*.cmd' --exclude='*.a' --exclude='*.ko' --exclude='*.mod' \
	--exclude='*.mod.c' --exclude='modules.order' --exclude='.*.d' \
	--exclude='/kunit/' --exclude='/lpguard_certs.*' \
	"$top/kmod/" "$kmodcopy/"
"$top/scripts/graft-lpguard.sh" "$tree" "$kmodcopy"

release=$(cat "$KOUT/include/config/kernel.release" 2>/dev/null) ||
	fail "cannot read the kernel release of $KOUT ($KOUT/include/config/kernel.release)"

args=(-s "$tree" -c "$KOUT/.config" -v "$KOUT/vmlinux" -j "$JOBS" -o "$outdir")
[ "$replace" -eq 1 ] || args+=(-R)
[ -z "$name" ] || args+=(-n "$name")

# kpatch-build applies the patches to the tree and reverts them when it ends; a
# run that was killed leaves them applied and every later run would fail. So the
# files a run may change are listed first and put back from KSRC afterwards
# (cp gives them a new mtime, so make rebuilds their objects).
pending=$tree/.lpguard-kpatch-pending
restore_tree() {
	local f
	while read -r f; do
		case $f in '' | /* | *..*) continue ;; esac
		if [ -e "$KSRC/$f" ]; then
			cmp -s "$KSRC/$f" "$tree/$f" || cp "$KSRC/$f" "$tree/$f"
		else
			rm -f "$tree/$f"
		fi
	done < "$pending"
	rm -f "$pending"
}
[ ! -f "$pending" ] || restore_tree
{
	for p in "${abs_patches[@]}"; do
		lsdiff --strip=1 "$p" || fail "$p is not a patch lsdiff can read"
	done
	# Files kpatch-build itself edits for some configurations.
	printf '%s\n' Makefile scripts/Makefile.modfinal scripts/link-vmlinux.sh scripts/setlocalversion
} > "$pending.new"
mv "$pending.new" "$pending"

rm -f "$ko" "$outdir/.$modname.ko.stamp"

kind=replace
[ "$replace" -eq 1 ] || kind=non-replace
# No ccache: kpatch-build puts /usr/lib/ccache on the PATH only for a
# distribution kernel's source, not with -s (docs/kpatch.md, Cost).
RUN_STEP_PHASES='^(Testing patch|Reading special|Building original|Building patched|Extracting new|Building patch module|SUCCESS)' \
	run_step "kpatch-build: $modname.ko ($kind) for $release from ${patches[*]}" "$log" \
	env CACHEDIR="$cache" "$kpatch_build" "${args[@]}" "${abs_patches[@]}" || {
	restore_tree
	echo "kpatch-build: failed; kpatch-build's own log: $cache/build.log" >&2
	exit 1
}
restore_tree

[ -f "$ko" ] || fail "kpatch-build reported success but $ko is missing: see $log"
[ "$(modinfo -F livepatch "$ko")" = Y ] || fail "$ko is not marked as a livepatch (modinfo livepatch)"
vermagic=$(modinfo -F vermagic "$ko")
[ "${vermagic%% *}" = "$release" ] ||
	fail "$ko has vermagic '$vermagic' but the kernel is $release: the tree copy and $KOUT disagree; remove $tree and retry"
echo "$stamp" > "$outdir/.$modname.ko.stamp"
echo "$ko"
