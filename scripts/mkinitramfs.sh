#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# mkinitramfs.sh OUT.cpio.gz SSHDIR [PAYLOAD_DIR]: the QEMU test guest's initramfs.
# busybox-static, an OpenSSH server (test-only host key, SSHDIR/id_ed25519.pub
# authorized for root), keyctl, modload, lp-load when built, and PAYLOAD_DIR
# copied over the root.
# mkinitramfs.sh --preflight OUT.cpio.gz [LP_LOAD]: the guest of cvm-cli
# preflight, for a patch kit: busybox-static, lp-load (default
# build/cmake/bin/lp-load) with its libraries, and scripts/preflight-init.sh
# as /init. No ssh, no keys: cvm-cli appends the patch at run time, and the
# kernel's own keyrings decide whether it is signed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(dirname "$here")
preflight=
if [ "${1:-}" = --preflight ]; then
	preflight=1
	shift
	[ $# -ge 1 ] && [ $# -le 2 ] || { echo "usage: mkinitramfs.sh --preflight OUT.cpio.gz [LP_LOAD]" >&2; exit 2; }
	out=$(realpath -m "$1") lpload=${2:-$top/build/cmake/bin/lp-load}
	[ -x "$lpload" ] || { echo "mkinitramfs: $lpload missing: build lp-load first (make build)" >&2; exit 1; }
else
	out=$(realpath -m "$1") sshdir=$(realpath "$2") payload=${3:-}
fi
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

copy_bin() { # copy_bin SRC DEST: a binary and every shared library it needs
	local src=$1 dest=$2 lib
	install -D -m 0755 "$src" "$root$dest"
	# A static binary or a script has none (ldd fails).
	for lib in $(ldd "$src" 2>/dev/null | grep -oE '/[^ ]+' || true); do
		[ -e "$root$lib" ] || install -D -m 0755 "$lib" "$root$lib"
	done
}

write_archive() {
	[ -e "$root/lib64/ld-linux-x86-64.so.2" ] || install -D -m 0755 /lib64/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
	mkdir -p "$(dirname "$out")"
	(cd "$root" && find . -print0 | cpio --null -o -H newc --owner 0:0 --quiet) | gzip -1 > "$out.tmp"
	mv "$out.tmp" "$out"
	echo "initramfs: $out ($(du -h "$out" | cut -f1))"
}

mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,proc,sys,dev,run,tmp}
install -m 0755 /bin/busybox "$root/bin/busybox"
for a in $(/bin/busybox --list); do
	[ "$a" = busybox ] || ln -sf busybox "$root/bin/$a"
done
if [ -n "$preflight" ]; then
	install -m 0755 "$here/preflight-init.sh" "$root/init"
	copy_bin "$lpload" /usr/sbin/lp-load
	write_archive
	exit 0
fi
mkdir -p "$root"/{etc/ssh,root/.ssh,var/empty,lib/lpguard}
install -m 0755 "$top/tests/guest/init" "$root/init"
copy_bin /usr/sbin/sshd /usr/sbin/sshd
copy_bin /bin/keyctl /bin/keyctl
# tpm2_pcrread, and the TCTI library it opens at run time (not in ldd's list)
copy_bin /usr/bin/tpm2_pcrread /usr/bin/tpm2_pcrread
for lib in /usr/lib/x86_64-linux-gnu/libtss2-tcti-device.so*; do
	[ -e "$lib" ] && copy_bin "$lib" "$lib"
done
for b in /usr/lib/openssh/sshd-session /usr/lib/openssh/sshd-auth; do
	[ -x "$b" ] && copy_bin "$b" "$b"
done
gcc -static -O2 -Wall -Wextra -Werror -o "$root/bin/modload" "$top/tests/guest/modload.c"
if [ -x "$top/build/cmake/bin/lp-load" ]; then
	copy_bin "$top/build/cmake/bin/lp-load" /usr/sbin/lp-load
fi

cat > "$root/etc/passwd" <<'P'
root:x:0:0:root:/root:/bin/sh
sshd:x:100:65534:sshd privsep:/run/sshd:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
P
cat > "$root/etc/group" <<'G'
root:x:0:
nogroup:x:65534:
G
echo 'root:*:19000:0:99999:7:::' > "$root/etc/shadow"
chmod 0600 "$root/etc/shadow"
cat > "$root/etc/ssh/sshd_config" <<'S'
# Test guest only: key login as root, nothing else.
Port 22
HostKey /etc/ssh/ssh_host_ed25519_key
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
AuthorizedKeysFile /root/.ssh/authorized_keys
PidFile /run/sshd.pid
Subsystem sftp internal-sftp
MaxSessions 32
MaxStartups 32
S
install -m 0600 "$sshdir/ssh_host_ed25519_key" "$root/etc/ssh/ssh_host_ed25519_key"
install -m 0600 "$sshdir/id_ed25519.pub" "$root/root/.ssh/authorized_keys"
chmod 0700 "$root/root/.ssh"

if [ -n "$payload" ] && [ -d "$payload" ]; then
	cp -a "$payload/." "$root/"
fi

write_archive
