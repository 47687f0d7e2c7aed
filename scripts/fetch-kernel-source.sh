#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# fetch-kernel-source.sh SRCDIR: download Debian's newest linux-source-7.x from
# trixie-backports (never installed: an apt pin keeps it at priority -1),
# unpack it once into SRCDIR/linux-source-7.N and print that path.
# 7.x brackets the image's 6.15 from above; 6.12 (bookworm) brackets it from below.
set -euo pipefail
src=$(realpath -m "$1")
list=/etc/apt/sources.list.d/lpguard-trixie-backports.sources
pin=/etc/apt/preferences.d/lpguard-trixie-backports
if [ ! -f "$list" ]; then
	[ "$(id -u)" -eq 0 ] || { echo "fetch-kernel-source: needs root once to add $list (apt source for linux-source-7.x)" >&2; exit 1; }
	cat > "$list" <<'SRC'
# Added by lpguard's `make test-kernels`: only to download linux-source-7.x (never installed from; see the pin).
Types: deb
URIs: http://deb.debian.org/debian
Suites: trixie-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
	printf 'Package: *\nPin: release n=trixie-backports\nPin-Priority: -1\n' > "$pin"
	apt-get update -qq >&2
fi
pkg=$(apt-cache pkgnames linux-source-7. | sort -V | tail -n1)
[ -n "$pkg" ] || { echo "fetch-kernel-source: no linux-source-7.x in trixie-backports: run 'apt-get update' and retry" >&2; exit 1; }
ver=${pkg#linux-source-}
if [ ! -f "$src/$pkg/Makefile" ]; then
	mkdir -p "$src/deb"
	deb=$(ls "$src/deb/${pkg}_"*.deb 2>/dev/null | sort -V | tail -n1 || true)
	if [ -z "$deb" ]; then
		v=$(apt-cache madison "$pkg" | awk '{print $3}' | sort -V | tail -n1)
		(cd "$src/deb" && apt-get download -q "$pkg=$v" >&2)
		deb=$(ls "$src/deb/${pkg}_"*.deb | sort -V | tail -n1)
	fi
	echo "fetch-kernel-source: unpacking $(basename "$deb")" >&2
	dpkg-deb --fsys-tarfile "$deb" | tar -x -O "./usr/src/$pkg.tar.xz" | tar -C "$src" -xJ
	[ -f "$src/$pkg/Makefile" ] || { echo "fetch-kernel-source: $deb did not contain $pkg.tar.xz" >&2; exit 1; }
fi
echo "$src/$pkg"
