#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# Build the loadable lpguard for DKMS: KERNEL_BUILD_DIR MODULE_DIR.
# The livepatch certificates (DER or PEM) in /etc/lp-load/certs/ are embedded;
# with none, lpguard refuses every livepatch (fail closed) and this says so.
set -eu
kdir=$1 mdir=$2
certs=
for c in /etc/lp-load/certs/*.der /etc/lp-load/certs/*.pem /etc/lp-load/certs/*.crt; do
	[ -f "$c" ] || continue
	certs=${certs:+$certs,}$c
done
[ -n "$certs" ] || echo "lpguard-dkms: warning: no livepatch certificate in /etc/lp-load/certs/: lpguard will refuse every livepatch; copy the owner's livepatch.der there and run 'dkms autoinstall'" >&2
exec make -C "$kdir" M="$mdir" LPGUARD_CERTS="$certs" modules
