#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kpatch-tools.sh: fetch Debian's kpatch source, check it, and build
# kpatch-build's tools (create-diff-object, create-klp-module, ...).
# Prints the path of the kpatch-build script on the last line of stdout.
#
#   [KPATCH_DIR=build/kpatch] [KPATCH_SID=1] scripts/kpatch/kpatch-tools.sh
#
# The source is pinned (KPATCH_PIN below): one version from one Debian stable
# release, and the SHA256 of its upstream tarball. The tarball is taken only
# when the release's signed Sources index gives that same SHA256 and the
# download has it (the mirror serves the upstream tarball; kpatch-build needs
# nothing else). apt runs with a private configuration under $KPATCH_DIR/apt
# (scripts/lib/debian-archive.sh). A second run reuses the tarball or the
# built tree and does not touch the network.
#
# KPATCH_SID=1 takes the newest kpatch in Debian sid instead, checked against
# sid's signed index only (not pinned; sid changes without notice).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
KPATCH_DIR=${KPATCH_DIR:-$top/build/kpatch}
mkdir -p "$KPATCH_DIR"
KPATCH_DIR=$(realpath "$KPATCH_DIR")
src=$KPATCH_DIR/src
apt=$KPATCH_DIR/apt
log=$KPATCH_DIR/logs/kpatch-tools.log
mkdir -p "$src" "$KPATCH_DIR/logs"

fail() { echo "kpatch-tools: $*" >&2; exit 1; }

tools_ready() {
	local d=$1
	[ -x "$d/kpatch-build/kpatch-build" ] && [ -x "$d/kpatch-build/create-diff-object" ] &&
		[ -x "$d/kpatch-build/create-klp-module" ] && [ -f "$d/.lpguard-built" ]
}

# The pin: Debian release, kpatch's Debian version, SHA256 of kpatch_<upstream>.orig.tar.gz.
# Moving to another kpatch is this one line; then run 'make test-kpatch'.
KPATCH_PIN=${KPATCH_PIN:-"trixie 0.9.10-1 94a87a24570d3e202c3732726169af07af3754caa6eff73a179f362cead57028"}
read -r suite version pin_sha <<< "$KPATCH_PIN"
if [ "${KPATCH_SID:-0}" = 1 ]; then
	suite=sid version= pin_sha=
	echo "kpatch-tools: KPATCH_SID=1: taking the newest kpatch in Debian sid instead of the pinned $KPATCH_PIN; it is checked against sid's signed index only" >&2
elif [ "${KPATCH_SID:-0}" != 0 ]; then
	fail "KPATCH_SID='$KPATCH_SID': use 1 (kpatch from Debian sid, unpinned) or leave it unset (the pinned $suite $version)"
fi

built_as() { echo "kpatch $1 from Debian $suite ($2, SHA256 $3)"; }

# Cached: the tree recorded by the last successful run, if it is the pinned one.
if [ -n "$pin_sha" ] && [ -f "$KPATCH_DIR/tools.path" ]; then
	tree=$(cat "$KPATCH_DIR/tools.path")
	if tools_ready "$tree" && [ "$(cat "$tree/.lpguard-built")" = "$(built_as "$version" "kpatch_${version%-*}.orig.tar.gz" "$pin_sha")" ]; then
		echo "kpatch-tools: using $(cat "$tree/.lpguard-built")" >&2
		echo "$tree/kpatch-build/kpatch-build"
		exit 0
	fi
fi

for t in gawk gcc make patch lsdiff readelf; do
	command -v "$t" >/dev/null || fail "$t not found: kpatch-build needs it; run 'make deps'"
done
[ -f /usr/include/libelf.h ] || [ -f /usr/include/elfutils/libelf.h ] || [ -f /usr/include/gelf.h ] ||
	fail "libelf headers not found: create-diff-object needs them; run 'make deps' (package libelf-dev)"

da_tool=kpatch-tools da_pin_where="KPATCH_PIN in scripts/kpatch/kpatch-tools.sh"
[ "$suite" != sid ] || da_also=", or unset KPATCH_SID to use the pinned kpatch"
. "$top/scripts/lib/debian-archive.sh"
da_setup "$apt" "$suite" deb-src

orig=kpatch_${version%-*}.orig.tar.gz
if [ -n "$pin_sha" ] && [ -f "$src/$orig" ] && echo "$pin_sha  $src/$orig" | sha256sum -c --status; then
	sha=$pin_sha
	echo "kpatch-tools: $orig: SHA256 $sha, the pinned value (downloaded before; no network needed)" >&2
else
	da_update
	if [ -z "$version" ]; then
		version=$(da_newest_source kpatch)
		[ -n "$version" ] || da_fail "Debian $suite has no package kpatch (at $da_mirror): unset KPATCH_SID to use the pinned $KPATCH_PIN"
	fi
	da_lookup_source kpatch "$version" 'kpatch_[^ ]+\.orig\.tar\.[a-z0-9]+'
	orig=$da_file sha=$da_sha
	[ -z "$pin_sha" ] || da_check_pin "$pin_sha"
	da_fetch "$src/$orig" "${pin_sha:-$sha}"
	if [ -n "$pin_sha" ]; then
		echo "kpatch-tools: $orig: SHA256 $sha, as the signed Debian $suite index and the pin give it" >&2
	else
		echo "kpatch-tools: $orig: SHA256 $sha, as the signed Debian $suite index gives it (not pinned)" >&2
	fi
fi

tree=$src/kpatch-$version
if ! tools_ready "$tree" || [ "$(cat "$tree/.lpguard-built")" != "$(built_as "$version" "$orig" "$sha")" ]; then
	rm -rf "$tree" "$tree.tmp"
	mkdir "$tree.tmp"
	tar -C "$tree.tmp" --strip-components=1 -xf "$src/$orig"
	[ -f "$tree.tmp/kpatch-build/kpatch-build" ] || fail "$orig does not contain kpatch-build/kpatch-build"
	mv "$tree.tmp" "$tree"
	echo "kpatch-tools: building kpatch-build $version tools" >&2
	# Only kpatch-build's own tools: the kpatch core module, man pages and the kpatch
	# script are not needed to make livepatches.
	make -C "$tree/kpatch-build" -j"${JOBS:-2}" >>"$log" 2>&1 ||
		{ tail -n 30 "$log" >&2; fail "building kpatch-build's tools failed: see $log"; }
	built_as "$version" "$orig" "$sha" > "$tree/.lpguard-built"
fi
tools_ready "$tree" || fail "kpatch-build tools missing in $tree after the build: see $log"
echo "$tree" > "$KPATCH_DIR/tools.path"
echo "kpatch-tools: using $(cat "$tree/.lpguard-built")" >&2
echo "$tree/kpatch-build/kpatch-build"
