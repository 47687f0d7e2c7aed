#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkdebian-guest.sh OUT.img SSH_DIR: a Debian 12 guest for the QEMU tests, an
# ext4 disk image booted with the test kernel as its root file system
# (tests/qemu/vm.py, debian=True). debootstrap --variant=minbase bookworm from
# Debian's archive with systemd, openssh-server, python3 and kmod; the test's
# ssh keys; DHCP on the virtio NIC (systemd-networkd); the serial console.
#
# Made once: rebuilt only when this script, the guest's files
# (tests/debian-guest/) or the ssh keys change (a stamp next to OUT.img).
# MIRROR (default http://deb.debian.org/debian) names the archive.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
. "$here/lib/progress.sh"
fail() { echo "debian-guest: $*" >&2; exit 1; }
[ $# -eq 2 ] || { echo "usage: mkdebian-guest.sh OUT.img SSH_DIR" >&2; exit 2; }
out=$(realpath -m "$1") ssh=$(realpath "$2")
mirror=${MIRROR:-http://deb.debian.org/debian}
[ "$(id -u)" -eq 0 ] || fail "debootstrap needs root: run the tests as root (CI does)"
command -v debootstrap >/dev/null || fail "debootstrap missing: run 'make deps'"
for k in id_ed25519.pub ssh_host_ed25519_key ssh_host_ed25519_key.pub; do
	[ -f "$ssh/$k" ] || fail "$ssh/$k missing: run 'make test-artifacts' (it makes the test ssh keys)"
done

stamp=$( (cat "$0"; find "$top/tests/debian-guest" -type f -print0 | sort -z | xargs -0 cat;
	cat "$ssh/id_ed25519.pub" "$ssh/ssh_host_ed25519_key.pub"; echo "$mirror") | sha256sum | cut -d' ' -f1)
if [ -f "$out" ] && [ "$(cat "$out.stamp" 2>/dev/null)" = "$stamp" ]; then
	echo "debian-guest: $out is up to date"
	exit 0
fi
rm -f "$out.stamp"
work=$out.d
rm -rf "$work" && mkdir -p "$work"
root=$work/root
# What the lp-load package depends on beyond minbase (the test installs it with
# dpkg -i, without network): libkmod, OpenSSL, tpm2-tss and its device TCTI.
deps=libkmod2,libssl3,libtss2-esys-3.0.2-0,libtss2-mu0,libtss2-rc0,libtss2-tctildr0,libtss2-tcti-device0
run_step "debian-guest: debootstrap bookworm (minbase) from $mirror" "$work/debootstrap.log" \
	debootstrap --variant=minbase \
	--include=systemd,systemd-sysv,udev,openssh-server,python3,kmod,iproute2,procps,$deps \
	bookworm "$root" "$mirror"

# The guest's own files: network, console, sshd.
cp -a "$top/tests/debian-guest/rootfs/." "$root/"
echo lpguard-debian > "$root/etc/hostname"
install -d -m 700 "$root/root/.ssh"
install -m 600 "$ssh/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
rm -f "$root"/etc/ssh/ssh_host_*
install -m 600 "$ssh/ssh_host_ed25519_key" "$root/etc/ssh/ssh_host_ed25519_key"
install -m 644 "$ssh/ssh_host_ed25519_key.pub" "$root/etc/ssh/ssh_host_ed25519_key.pub"
chroot "$root" systemctl enable systemd-networkd.service ssh.service serial-getty@ttyS0.service >/dev/null 2>&1
# No password anywhere; root logs in with the test key only.
chroot "$root" passwd -d root >/dev/null
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*

size=$(( $(du -sm "$root" | cut -f1) + 512 ))
run_step "debian-guest: ext4 image ($size MiB)" "$work/mkfs.log" \
	mkfs.ext4 -q -F -L lpguard-root -d "$root" "$out.new" "${size}M"
mv "$out.new" "$out"
rm -rf "$work"
echo "$stamp" > "$out.stamp"
echo "debian-guest: $out"
