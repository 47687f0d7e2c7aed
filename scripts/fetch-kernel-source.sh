#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fetch-kernel-source.sh SRCDIR: download Debian's linux-source-7.x (the
# version pinned below) from trixie-backports, unpack it once into
# SRCDIR/linux-source-7.N and print that path. Never installed.
# 7.x brackets the image's 6.15 from above; 6.12 (bookworm) brackets it from below.
#
# The .deb is taken only when trixie-backports' signed Packages index gives
# the pinned SHA256 for it and the download has it. apt runs with a private
# configuration under SRCDIR/apt (scripts/lib/debian-archive.sh), so nothing
# under /etc/apt changes and root is not needed. A second run finds the
# unpacked tree (or the .deb) and does not touch the network.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
src=$(realpath -m "$1")

# The pin: suite, binary package, version, SHA256 of the .deb. Backports replace
# old versions quickly: when this one is gone the error names the versions on
# offer; pin one (version and SHA256 from the index) and run 'make test-kernels'.
LINUX_SOURCE_PIN=${LINUX_SOURCE_PIN:-"trixie-backports linux-source-7.3 7.3.4-1~bpo13+1 703e369ddd4cce971452f5a593ee55df3a5c10c83caf0fa0df039633ed181ee3"}
read -r suite pkg version pin_sha <<< "$LINUX_SOURCE_PIN"

fail() { echo "fetch-kernel-source: $*" >&2; exit 1; }

tree=$src/$pkg
stamp="$pkg $version SHA256 $pin_sha"
if [ -f "$tree/Makefile" ] && [ "$(cat "$tree/.lpguard-deb" 2>/dev/null)" = "$stamp" ]; then
	echo "$tree"
	exit 0
fi

da_tool=fetch-kernel-source da_pin_where="LINUX_SOURCE_PIN in scripts/fetch-kernel-source.sh"
. "$top/scripts/lib/debian-archive.sh"
mkdir -p "$src/deb"
da_setup "$src/apt" "$suite" deb

deb=$src/deb/${pkg}_${version//[:]/%3a}_all.deb
if [ -f "$deb" ] && echo "$pin_sha  $deb" | sha256sum -c --status; then
	echo "fetch-kernel-source: $(basename "$deb"): SHA256 $pin_sha, the pinned value (downloaded before; no network needed)" >&2
else
	da_update
	da_lookup_deb "$pkg" "$version"
	da_check_pin "$pin_sha"
	deb=$src/deb/$da_file
	da_fetch "$deb" "$pin_sha"
	echo "fetch-kernel-source: $da_file: SHA256 $pin_sha, as the signed Debian $suite index and the pin give it" >&2
fi

echo "fetch-kernel-source: unpacking $(basename "$deb")" >&2
rm -rf "$tree"
dpkg-deb --fsys-tarfile "$deb" | tar -x -O "./usr/src/$pkg.tar.xz" | tar -C "$src" -xJ ||
	fail "$(basename "$deb") does not hold usr/src/$pkg.tar.xz as linux-source packages do: see the errors above; delete $deb and retry"
[ -f "$tree/Makefile" ] || fail "$(basename "$deb") did not unpack to $tree: delete $deb and retry"
echo "$stamp" > "$tree/.lpguard-deb"
echo "$tree"
