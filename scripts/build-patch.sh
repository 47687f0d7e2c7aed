#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# build-patch.sh: build a livepatch module from source patches for a kernel
# built by scripts/build-kernel.sh, with the builder that kernel's tree takes:
#   klp-build     the kernel's own scripts/livepatch/klp-build (Linux 6.19 and
#                 later): scripts/kpatch/klp-build.sh
#   kpatch-build  for 6.x trees without it: scripts/kpatch/kpatch-build.sh
#                 (Debian's kpatch, docs/kpatch.md)
# Both take the same arguments and write the same thing: OUTDIR/<name>.ko,
# unsigned, replace unless --no-replace; its path is the last line of stdout.
#
#   scripts/build-patch.sh [-f] [-R|--no-replace] [-n NAME] [--builder B] PATCH [PATCH...] OUTDIR
#   scripts/build-patch.sh [--builder B] --which      print the builder and exit
#   scripts/build-patch.sh ... --dry-run              print the command and exit
#
#   KOUT  the kernel's build directory (default build/kernel-6.12-kpatch)
#   KSRC  its source tree (default: KOUT/source, the link Kbuild leaves in an
#         out-of-tree build directory)
#   JOBS  make jobs (default 2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")

USAGE="usage: scripts/build-patch.sh [-f] [-R|--no-replace] [-n NAME] [--builder auto|kpatch-build|klp-build] [--which] [--dry-run] PATCH [PATCH...] OUTDIR"
usage() { echo "$USAGE" >&2; exit 2; }
# A command-line mistake: one line saying what is wrong, then the usage line.
usage_error() { echo "build-patch: $*" >&2; usage; }
fail() { echo "build-patch: $*" >&2; exit 1; }

force=0 replace=1 name='' builder=auto which=0 dry_run=0
args=()
while [ $# -gt 0 ]; do
	case $1 in
	-h | --help)
		echo "$USAGE"
		echo "Builds OUTDIR/livepatch-<patch name>.ko (or NAME.ko) with klp-build when KSRC ships"
		echo "scripts/livepatch/klp-build, else with kpatch-build; see docs/kpatch.md."
		exit 0
		;;
	-f | --force) force=1 ;;
	-R | --no-replace) replace=0 ;;
	-n | --name)
		{ [ $# -ge 2 ] && [ -n "$2" ]; } || usage_error "$1 needs a module name (e.g. $1 livepatch-fix)"
		name=$2
		shift
		;;
	-n?*) name=${1#-n} ;;
	--name=*) name=${1#--name=} ;;
	--builder)
		[ $# -ge 2 ] || usage_error "--builder needs a value: auto, kpatch-build or klp-build"
		builder=$2
		shift
		;;
	--builder=*) builder=${1#--builder=} ;;
	--which) which=1 ;;
	--dry-run) dry_run=1 ;;
	--)
		shift
		args+=("$@")
		break
		;;
	-?*) usage_error "unknown option '$1'" ;;
	*) args+=("$1") ;;
	esac
	shift
done
case $builder in
auto | kpatch-build | klp-build) ;;
*) usage_error "--builder '$builder': use auto (the default: klp-build when the tree ships it, else kpatch-build), kpatch-build or klp-build" ;;
esac
if [ $which -eq 0 ]; then
	[ ${#args[@]} -ge 1 ] || usage_error "no PATCH and no OUTDIR given: name the .patch files, then the directory for the module"
	[ ${#args[@]} -ge 2 ] || usage_error "only '${args[0]}' given: name the .patch files, then the directory for the module"
	outdir=${args[-1]}
	patches=("${args[@]:0:${#args[@]}-1}")
	for p in "${patches[@]}"; do
		[ -e "$p" ] || fail "patch $p not found: pass an existing unified diff (e.g. tests/kpatch/cmdline-v1.patch)"
		{ [ -f "$p" ] && [ -r "$p" ]; } || fail "patch $p is not a readable file"
	done
	[ ! -e "$outdir" ] || [ -d "$outdir" ] ||
		fail "OUTDIR $outdir exists and is not a directory: the module is written into OUTDIR; name a directory (the last argument)"
	case $outdir in
	*.ko) [ -d "$outdir" ] || fail "OUTDIR $outdir ends in .ko: the last argument is the directory the module goes into; name it with -n" ;;
	*.patch | *.diff) [ -d "$outdir" ] || fail "the last argument $outdir looks like a patch: the last argument is the output directory" ;;
	esac
fi

KOUT=${KOUT:-$top/build/kernel-6.12-kpatch}
[ -f "$KOUT/.config" ] ||
	fail "KOUT=$KOUT is not a configured kernel build directory (no .config): build the kernel first (make kernel-kpatch for 6.12, make KVER=7.3 kernel for 7.x) or set KOUT"
if [ -z "${KSRC:-}" ]; then
	{ KSRC=$(readlink -f "$KOUT/source" 2>/dev/null) && [ -f "$KSRC/Makefile" ]; } ||
		fail "KOUT=$KOUT has no source link to its kernel tree (not an out-of-tree build?): set KSRC to the tree it was built from"
fi
[ -f "$KSRC/Makefile" ] || fail "KSRC=$KSRC is not a kernel source tree (no Makefile): set KSRC to the tree $KOUT was built from"
major=$(sed -n 's/^VERSION = //p' "$KSRC/Makefile" | head -n 1)
minor=$(sed -n 's/^PATCHLEVEL = //p' "$KSRC/Makefile" | head -n 1)
[[ $major =~ ^[0-9]+$ && $minor =~ ^[0-9]+$ ]] ||
	fail "cannot read the kernel version from $KSRC/Makefile (VERSION, PATCHLEVEL): set KSRC to a kernel source tree"
version=$major.$minor

has_klp=0
[ ! -f "$KSRC/scripts/livepatch/klp-build" ] || has_klp=1
# kpatch 0.9.x handles the kernel's build flags and special sections up to 6.x.
kpatch_ok=0
[ "$major" -gt 6 ] || kpatch_ok=1
case $builder in
auto)
	if [ $has_klp -eq 1 ]; then
		builder=klp-build why="the tree ships scripts/livepatch/klp-build"
	elif [ $kpatch_ok -eq 1 ]; then
		builder=kpatch-build why="a $version tree without scripts/livepatch/klp-build"
	else
		fail "no patch builder for Linux $version in $KSRC: it has no scripts/livepatch/klp-build (6.19 and later ship it), and kpatch-build builds for kernels up to 6.x; use a kernel tree that has one of them"
	fi
	;;
klp-build)
	[ $has_klp -eq 1 ] ||
		fail "--builder klp-build: $KSRC (Linux $version) has no scripts/livepatch/klp-build, which the kernel ships from 6.19; use kpatch-build for this tree (--builder auto)"
	why="asked for"
	;;
kpatch-build)
	[ $kpatch_ok -eq 1 ] ||
		fail "--builder kpatch-build: kpatch-build builds for kernels up to 6.x, $KSRC is Linux $version; use klp-build (--builder auto)"
	why="asked for"
	;;
esac

if [ $which -eq 1 ]; then
	echo "$builder"
	exit 0
fi

case $builder in
klp-build) script=$here/kpatch/klp-build.sh ;;
kpatch-build) script=$here/kpatch/kpatch-build.sh ;;
esac
cmd=("$script")
[ $force -eq 0 ] || cmd+=(-f)
[ $replace -eq 1 ] || cmd+=(-R)
[ -z "$name" ] || cmd+=(-n "$name")
cmd+=("${patches[@]}" "$outdir")
echo "build-patch: $builder for Linux $version ($why); KOUT=$KOUT" >&2
if [ $dry_run -eq 1 ]; then
	echo "KOUT=$KOUT KSRC=$KSRC ${cmd[*]}"
	exit 0
fi
KOUT=$KOUT KSRC=$KSRC exec "${cmd[@]}"
