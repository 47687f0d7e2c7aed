#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# klp-build.sh: build a livepatch module from a source patch with the kernel's
# own builder, scripts/livepatch/klp-build (Linux 6.19 and later), for a kernel
# built by scripts/build-kernel.sh. Same arguments and output as
# scripts/kpatch/kpatch-build.sh; scripts/build-patch.sh picks one of the two.
#
#   scripts/kpatch/klp-build.sh [-f] [-R] [-n NAME] PATCH [PATCH...] OUTDIR
#
#   -R       non-replace patch (klp-build --no-replace); default: the new
#            patch replaces every active livepatch (cumulative patches)
#   -n NAME  module name (default: livepatch-<patch file name without .patch>)
#   -f       build even when OUTDIR already has the module for the same
#            patches, options, klp-build and kernel (default: reuse it)
#   KOUT     the kernel's build directory (default build/kernel-7.3): its
#            .config describes the target kernel
#   KSRC     the kernel source tree KOUT was built from (default: KOUT/source,
#            the link Kbuild leaves in an out-of-tree build directory)
#   KLP_DIR  source copies and logs (default build/klp)
#   JOBS     make jobs (default 2)
#
# Writes OUTDIR/<name>.ko, unsigned (sign it with cvm-cli before loading).
#
# klp-build runs only from the top of a kernel tree and builds in place (make
# without O=); it starts with 'make clean' and a full build of the unpatched
# tree with -ffunction-sections -fdata-sections, then builds the patched tree
# and diffs the objects (objtool klp diff). KSRC stays clean for the
# out-of-tree builds, so the tree is a copy, $KLP_DIR/tree-<KOUT name>, with
# KOUT's .config. The first run builds that copy in full; later runs for the
# same kernel keep klp-build's unpatched objects (-T) and start at the patched
# build (-S patched), which recompiles only what the patches touch.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
. "$top/scripts/lib/progress.sh"

fail() { echo "klp-build: $*" >&2; exit 1; }
. "$here/patch-args.sh"
parse_patch_args "$@"

KOUT=${KOUT:-$top/build/kernel-7.3}
if [ -z "${KSRC:-}" ]; then
	KSRC=$(readlink -f "$KOUT/source" 2>/dev/null) ||
		fail "$KOUT/source missing: KOUT is not an out-of-tree kernel build directory; build the kernel first ('make KVER=7.3 kernel') or set KSRC"
fi
KLP_DIR=${KLP_DIR:-$top/build/klp}
JOBS=${JOBS:-2}

[ -f "$KSRC/Makefile" ] || fail "kernel source $KSRC missing: unpack it first ('make test-kernels' fetches linux-source-7.x)"
[ -x "$KSRC/scripts/livepatch/klp-build" ] ||
	fail "$KSRC has no scripts/livepatch/klp-build: the kernel ships it from 6.19; use kpatch-build for older trees (scripts/build-patch.sh picks it)"
for f in .config include/config/kernel.release; do
	[ -f "$KOUT/$f" ] || fail "$KOUT/$f missing: build the kernel first ('make KVER=7.3 kernel')"
done
cfg() { grep -qx "$1" "$KOUT/.config"; }
cfg 'CONFIG_LIVEPATCH=y' ||
	fail "$KOUT was built without CONFIG_LIVEPATCH: it cannot load livepatches; build it with kconfig/lpguard.config"
cfg 'CONFIG_KLP_BUILD=y' ||
	fail "$KOUT was built without CONFIG_KLP_BUILD: klp-build refuses such a kernel; it follows from CONFIG_LIVEPATCH=y on x86_64 (kconfig/qemu-7.x.config sets it for the test kernel)"
for o in LD_DEAD_CODE_DATA_ELIMINATION GCC_PLUGIN_RANDSTRUCT GCC_PLUGIN_LATENT_ENTROPY; do
	! cfg "CONFIG_$o=y" || fail "$KOUT has CONFIG_$o, which klp-build does not support; rebuild the kernel without it"
done

for t in gawk make patch recountdiff objcopy rsync flock; do
	command -v "$t" >/dev/null || fail "$t not found: klp-build needs it; run 'make deps'"
done
# objtool builds its klp subcommand only when it can link libxxhash (>= 0.8);
# without it the build runs to the end and klp-build fails after it. The same
# probe as tools/objtool/Makefile's:
${HOSTCC:-gcc} -xc - -o /dev/null -lxxhash 2>/dev/null <<< $'#include <xxhash.h>\nXXH3_state_t *state;int main() {}' ||
	fail "libxxhash headers not found: klp-build's objtool needs them (libxxhash 0.8 or later) for 'objtool klp'; run 'make deps' (package libxxhash-dev)"

mkdir -p "$KLP_DIR/logs" "$outdir"
KLP_DIR=$(realpath "$KLP_DIR")
KOUT=$(realpath "$KOUT")
KSRC=$(realpath "$KSRC")
outdir=$(realpath "$outdir")
release=$(cat "$KOUT/include/config/kernel.release")
[ -n "$release" ] || fail "$KOUT/include/config/kernel.release is empty: rebuild the kernel"

patch_module_name

# Reuse: the same patches, options, klp-build and kernel give the same module.
stamp=$( (sha256sum "$KSRC/scripts/livepatch/klp-build"; echo "$replace $modname"
	  cat "${abs_patches[@]}" "$KOUT/.config"; stat -c '%s %Y' "$KOUT/vmlinux" 2>/dev/null || true) |
	sha256sum | cut -d' ' -f1)
if [ "$force" -eq 0 ] && [ -f "$ko" ] && [ "$(cat "$outdir/.$modname.ko.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "klp-build: $ko is up to date (-f rebuilds it)" >&2
	echo "$ko"
	exit 0
fi

tag=$(basename "$KOUT")
tree=$KLP_DIR/tree-$tag
kmodcopy=$KLP_DIR/kmod-$tag
log=$KLP_DIR/logs/klp-build-$tag.log

# One klp-build at a time per tree: it patches and builds the tree in place.
exec 9>"$KLP_DIR/.lock-$tag"
flock 9

# The tree: a plain copy of KSRC, made once per source tree and kernel version.
srcstamp=$( (echo "$KSRC"; head -c 200 "$KSRC/Makefile") | sha256sum | cut -d' ' -f1)
if [ "$(cat "$tree/.lpguard-source-stamp" 2>/dev/null)" != "$srcstamp" ]; then
	rm -rf "$tree" "$tree.tmp"
	run_step "klp-build: copying $KSRC for in-tree builds" "$KLP_DIR/logs/copy-$tag.log" \
		cp -a "$KSRC" "$tree.tmp"
	# KSRC's lpguard link points into the repository; the copy gets its own (below).
	rm -f "$tree.tmp/security/lpguard"
	echo "$srcstamp" > "$tree.tmp/.lpguard-source-stamp"
	mv "$tree.tmp" "$tree"
fi

# lpguard's sources: an in-place build writes objects next to them, so the tree
# links to a private copy of kmod/. Files whose content changed get a new mtime
# (no -t), so make rebuilds exactly those; any change means klp-build's
# unpatched objects are out of date.
mkdir -p "$kmodcopy"
kmod_changes=$(rsync -rl --checksum --delete --itemize-changes \
	--exclude='*.o' --exclude='.*.cmd' --exclude='*.a' --exclude='*.ko' --exclude='*.mod' \
	--exclude='*.mod.c' --exclude='modules.order' --exclude='.*.d' \
	--exclude='/kunit/' --exclude='/lpguard_certs.*' \
	"$top/kmod/" "$kmodcopy/")
"$top/scripts/graft-lpguard.sh" "$tree" "$kmodcopy"

# klp-build reads ./.config: KOUT's, as the kernel that boots was configured.
cmp -s "$KOUT/.config" "$tree/.config" || cp "$KOUT/.config" "$tree/.config"

# objtool built before libxxhash was installed has no klp subcommand, and
# make does not rebuild it for that: start it again.
objtool=$tree/tools/objtool/objtool
if [ -x "$objtool" ] && "$objtool" klp 2>&1 | grep -q "not implemented"; then
	echo "klp-build: $objtool was built without libxxhash: rebuilding it" >&2
	make -s -C "$tree/tools/objtool" clean >/dev/null 2>&1 || rm -f "$objtool"
	rm -f "$tree/.lpguard-klp-orig"
fi

# klp-build's unpatched build (klp-tmp/1-orig) is kept between runs: valid while
# the tree, its .config, lpguard's sources and klp-build are the same.
orig_stamp=$( (echo "$srcstamp"; cat "$tree/.config"; sha256sum "$tree/scripts/livepatch/klp-build") |
	sha256sum | cut -d' ' -f1)
[ -z "$kmod_changes" ] || rm -f "$tree/.lpguard-klp-orig"
short=()
if [ -f "$tree/klp-tmp/1-orig/.complete" ] && [ "$(cat "$tree/.lpguard-klp-orig" 2>/dev/null)" = "$orig_stamp" ]; then
	short=(-S patched)
fi

# klp-build applies the patches to the tree and reverts them when it ends,
# also on SIGINT and SIGTERM; a run killed harder leaves them applied (and its
# edit of scripts/setlocalversion), and every later run would fail. So the
# files a run may change are listed first and put back from KSRC afterwards
# (cp gives them a new mtime, so make rebuilds their objects).
pending=$tree/.lpguard-klp-pending
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
	printf '%s\n' scripts/setlocalversion
} > "$pending.new"
mv "$pending.new" "$pending"

rm -f "$ko" "$outdir/.$modname.ko.stamp"

args=(-T -j "$JOBS" -o "$ko")
[ "$replace" -eq 1 ] || args+=(--no-replace)
kind=replace
[ "$replace" -eq 1 ] || kind=non-replace
if [ ${#short[@]} -gt 0 ]; then
	args+=("${short[@]}")
	what="patched build; unpatched objects kept from an earlier run"
else
	rm -f "$tree/.lpguard-klp-orig"
	what="first run for $release: full build of the tree copy, then the patched build"
fi
RUN_STEP_PHASES='^(Validating|Building|Copying|Fixing|Generating|Diffing|Finding|SUCCESS)' \
	run_step "klp-build: $modname.ko ($kind, $what)" "$log" \
	env -C "$tree" ./scripts/livepatch/klp-build "${args[@]}" "${abs_patches[@]}" || {
	restore_tree
	echo "klp-build: failed; its output is in $log, its work files in $tree/klp-tmp" >&2
	exit 1
}
restore_tree
# The unpatched objects are complete now: later runs start at the patched build.
[ ! -f "$tree/klp-tmp/1-orig/.complete" ] || echo "$orig_stamp" > "$tree/.lpguard-klp-orig"

[ -f "$ko" ] || fail "klp-build reported success but $ko is missing: see $log"
[ "$(modinfo -F livepatch "$ko")" = Y ] || fail "$ko is not marked as a livepatch (modinfo livepatch)"
vermagic=$(modinfo -F vermagic "$ko")
[ "${vermagic%% *}" = "$release" ] ||
	fail "$ko has vermagic '$vermagic' but the kernel is $release: the tree copy and $KOUT disagree; remove $tree and retry"
echo "$stamp" > "$outdir/.$modname.ko.stamp"
echo "$ko"
