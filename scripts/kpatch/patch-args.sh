# SPDX-License-Identifier: GPL-2.0
# patch-args.sh: what scripts/kpatch/kpatch-build.sh and klp-build.sh share,
# sourced by both: their command line and the module's name. Each defines
# fail() (its own prefix) before sourcing this file.
#
# parse_patch_args "$@"   sets force, replace, name, outdir, patches and
#                         abs_patches (every PATCH readable, made absolute)
# patch_module_name       sets modname (-n NAME, else livepatch-<patch file
#                         name>, in the builders' own renaming) and
#                         ko=$outdir/$modname.ko; call it once outdir is absolute

usage() {
	echo "usage: $0 [-f] [-R] [-n NAME] PATCH [PATCH...] OUTDIR" >&2
	exit 2
}

parse_patch_args() {
	replace=1
	name=
	force=0
	local opt OPTIND=1 p
	while getopts "fRn:h" opt; do
		case $opt in
		f) force=1 ;;
		R) replace=0 ;;
		n) name=$OPTARG ;;
		*) usage ;;
		esac
	done
	shift $((OPTIND - 1))
	[ $# -ge 2 ] || usage
	outdir=${!#}
	patches=("${@:1:$#-1}")
	abs_patches=()
	for p in "${patches[@]}"; do
		[ -r "$p" ] || fail "patch $p not found"
		abs_patches+=("$(realpath "$p")")
	done
}

patch_module_name() {
	if [ -n "$name" ]; then
		modname=$name
	elif [ ${#abs_patches[@]} -eq 1 ]; then
		modname=$(basename "${abs_patches[0]}")
		modname=livepatch-${modname%.patch}
		modname=${modname%.diff}
	else
		modname=livepatch-patch
	fi
	# Both builders' own renaming: [A-Za-z0-9_-] only, at most 55 characters.
	modname=$(echo "$modname" | sed 's/[^a-zA-Z0-9_-]/-/g' | cut -c 1-55)
	ko=$outdir/$modname.ko
}
