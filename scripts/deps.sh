#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# deps.sh: install, as root, from Debian's archive only, everything lpguard's
# build, tests and demo need on Debian 12 (bookworm) x86_64. Idempotent: quiet
# and fast when everything is already there.
set -euo pipefail
PACKAGES=(
	# C++ build
	build-essential g++ cmake pkg-config make git
	libssl-dev openssl libkmod-dev kmod libcli11-dev nlohmann-json3-dev
	# lp-load attest: tpm2-tss (ESYS, MU, TCTI loader; the device and swtpm TCTIs come with it)
	libtss2-dev
	# fuzzing (libFuzzer comes with clang's runtime)
	clang libclang-rt-14-dev
	# kernel build (linux-config-6.12: Debian's own configurations, for the image configuration test)
	linux-source-6.12 linux-config-6.12 bc bison flex libelf-dev dwarves cpio gawk xz-utils zstd rsync python3 perl
	# QEMU guest and tests
	qemu-system-x86 busybox-static openssh-server openssh-client keyutils e2fsprogs python3-pytest
	# the guest's TPM 2.0 (swtpm) and the tools to read its PCRs
	swtpm tpm2-tools
	# kpatch-build (built from Debian trixie's kpatch source, see docs/kpatch.md); klp-build (7.x) needs
	# patchutils' recountdiff too, and objtool's klp subcommand libxxhash (0.8 or later)
	patch patchutils libxxhash-dev
	# tests/archive: signs the fake archive's Release with a throwaway key
	gnupg
	# make deb: the Debian packages, their man pages (pandoc) and lintian; the Debian test guest (debootstrap)
	debhelper dh-dkms dkms dpkg-dev fakeroot lintian pandoc debootstrap
	# the Ansible collection (ansible/): ansible 7.7 (with the clouds' inventory plugins), ansible-lint
	ansible ansible-lint
)
BACKPORTS=(libcatch2-dev)
BPO_LIST=/etc/apt/sources.list.d/lpguard-bookworm-backports.sources

[ "$(id -u)" -eq 0 ] || { echo "deps: run as root (apt-get install needs it): sudo make deps" >&2; exit 1; }
. /etc/os-release
[ "${VERSION_CODENAME:-}" = bookworm ] || echo "deps: warning: written for Debian 12 (bookworm), this is ${PRETTY_NAME:-unknown}" >&2

missing() {
	local p
	for p in "$@"; do
		dpkg-query -W -f='${db:Status-Status}\n' "$p" 2>/dev/null | grep -qx installed || echo "$p"
	done
}

need=$(missing "${PACKAGES[@]}")
need_bpo=$(missing "${BACKPORTS[@]}")
if [ -z "$need" ] && [ -z "$need_bpo" ]; then
	echo "deps: all packages present"
	exit 0
fi

if [ -n "$need_bpo" ] && [ ! -f "$BPO_LIST" ]; then
	echo "deps: adding $BPO_LIST (Catch2 v3 is in bookworm-backports)"
	cat > "$BPO_LIST" <<'SRC'
# Added by lpguard's `make deps`: Catch2 v3 (libcatch2-dev) from bookworm-backports.
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
fi
echo "deps: installing:" $need $need_bpo
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
[ -z "$need" ] || apt-get install -y -qq --no-install-recommends $need >/dev/null
[ -z "$need_bpo" ] || apt-get install -y -qq --no-install-recommends -t bookworm-backports $need_bpo >/dev/null
left=$(missing "${PACKAGES[@]}" "${BACKPORTS[@]}")
[ -z "$left" ] || { echo "deps: still missing after apt-get install: $left" >&2; exit 1; }
echo "deps: done"
