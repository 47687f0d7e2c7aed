#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# kpatch-tools.sh: fetch Debian's kpatch source, check it, and build
# kpatch-build's tools (create-diff-object, create-klp-module, ...).
# Prints the path of the kpatch-build script on the last line of stdout.
#
#   [KPATCH_DIR=build/kpatch] scripts/kpatch/kpatch-tools.sh
#
# Only Debian's archive is used: a deb-src entry for sid lives in its own
# sources file under $KPATCH_DIR/apt/ and apt runs with its own lists and
# cache there, so the machine's apt configuration is neither read nor changed.
# The upstream tarball is checked against the SHA256 that the signed sid
# Sources index gives for it (sid's .dsc and Debian tarball are often missing
# from mirrors; the upstream tarball is all kpatch-build needs).
# A second run reuses the unpacked, built tree and does not touch the network.
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

# Cached: the tree recorded by the last successful run.
if [ -f "$KPATCH_DIR/tools.path" ]; then
	tree=$(cat "$KPATCH_DIR/tools.path")
	if tools_ready "$tree"; then
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

# apt with its own sources file, lists and cache: nothing outside $KPATCH_DIR changes.
mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial"
cat > "$apt/lpguard-kpatch-sid-src.sources" <<'EOF'
# kpatch source for lpguard's kpatch-build (scripts/kpatch/kpatch-tools.sh).
# Used only through apt's -o Dir::Etc::sourcelist option, never from /etc/apt.
Types: deb-src
URIs: http://deb.debian.org/debian
Suites: sid
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
aptopts=(-o "Dir::Etc::sourcelist=$apt/lpguard-kpatch-sid-src.sources" -o Dir::Etc::sourceparts=-
	 -o "Dir::State::Lists=$apt/lists" -o "Dir::Cache=$apt/cache" -o APT::Sandbox::User=root)

echo "kpatch-tools: reading Debian sid's Sources index" >&2
apt-get "${aptopts[@]}" -qq update >"$log" 2>&1 ||
	{ cat "$log" >&2; fail "apt-get update of the sid Sources index failed (see above): check access to deb.debian.org"; }

# 'URI' name size SHA256:hash, as given by the signed Sources index.
uris=$(apt-get "${aptopts[@]}" -qq source --print-uris kpatch 2>>"$log") ||
	fail "Debian sid has no kpatch source package: see $log"
line=$(grep -E "^'[^']+' kpatch_[^ ]+\.orig\.tar\.[a-z0-9]+ [0-9]+ SHA256:[0-9a-f]{64}$" <<< "$uris" | head -n1) ||
	fail "no upstream tarball with a SHA256 in sid's kpatch source entry: $uris"
read -r _ orig size sha <<< "$line"
sha=${sha#SHA256:}
version=${orig#kpatch_}
version=${version%.orig.tar.*}

verify() { [ -f "$src/$orig" ] && echo "$sha  $src/$orig" | sha256sum -c --status; }

if ! verify; then
	rm -f "$src/$orig"
	echo "kpatch-tools: downloading $orig ($size bytes)" >&2
	# apt checks each file's hash; the missing .dsc/.debian.tar make it exit non-zero,
	# so success is judged by the tarball's own check below.
	(cd "$src" && apt-get "${aptopts[@]}" source --download-only kpatch) >>"$log" 2>&1 || true
	verify || fail "$orig is missing or its SHA256 is not $sha (the value in sid's signed Sources index): see $log"
fi
echo "kpatch-tools: $orig: SHA256 $sha matches sid's Sources index" >&2

tree=$src/kpatch-$version
if ! tools_ready "$tree"; then
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
	echo "kpatch $version ($orig, SHA256 $sha)" > "$tree/.lpguard-built"
fi
tools_ready "$tree" || fail "kpatch-build tools missing in $tree after the build: see $log"
echo "$tree" > "$KPATCH_DIR/tools.path"
echo "kpatch-tools: using $(cat "$tree/.lpguard-built")" >&2
echo "$tree/kpatch-build/kpatch-build"
