#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkdeb.sh OUTDIR: build the Debian packages (cvm-cli, lp-load, lpguard-dkms)
# from a copy of this tree with dpkg-buildpackage -us -uc -b, then run lintian
# on them. The .deb files end up in OUTDIR; lintian's report in
# OUTDIR/lintian.txt. Fails on any lintian error or warning.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib/progress.sh"
out=$(realpath -m "${1:?usage: mkdeb.sh OUTDIR}")
version=$(cd "$top" && dpkg-parsechangelog -SVersion)
src=$out/src/lpguard-$version
rm -rf "$out" && mkdir -p "$src"
# The tree as it is (committed or not), without build products and git data.
rsync -a --exclude=/build --exclude=/.git --exclude='/keys/*' "$top/" "$src/"
run_step "deb: dpkg-buildpackage (lpguard $version)" "$out/build.log" \
	bash -c "cd '$src' && dpkg-buildpackage -us -uc -b"
mv "$out"/src/*.deb "$out"/src/*.changes "$out"/src/*.buildinfo "$out/"
changes=$(ls "$out"/*.changes)
# --fail-on warning: a warning fails the build like an error.
if ! lintian --fail-on error,warning --info "$changes" > "$out/lintian.txt" 2>&1; then
	echo "deb: lintian reports problems ($out/lintian.txt):" >&2
	grep -E '^[EW]: ' "$out/lintian.txt" >&2 || cat "$out/lintian.txt" >&2
	exit 1
fi
echo "deb: $(cd "$out" && ls *.deb | paste -sd' ') in $out, lintian clean"
