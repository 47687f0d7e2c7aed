#!/bin/sh
# SPDX-License-Identifier: GPL-2.0
# /init of cvm-cli preflight's guest (scripts/mkinitramfs.sh --preflight).
# cvm-cli appends a cpio with /preflight/patch.ko, /preflight/smoke.sh and
# /preflight/env (NONCE, APPLY_ARGS). This applies the patch with lp-load,
# runs the smoke command, and writes the report between
# "LPGUARD-PREFLIGHT <nonce> BEGIN|END <section> [rc]" markers on the second
# serial port (the first one is the kernel console), then powers off.
# The section names and their content are parsed by loader/host/preflight.cpp.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t securityfs securityfs /sys/kernel/security 2>/dev/null
mount -t tmpfs -o mode=0755 tmpfs /run
mount -t tmpfs tmpfs /tmp
out=/dev/ttyS1
[ -c "$out" ] || out=/dev/console
NONCE=none APPLY_ARGS=
[ -r /preflight/env ] && . /preflight/env

mark() { echo "LPGUARD-PREFLIGHT $NONCE $*" >"$out"; }
section() { # section NAME CMD...: CMD's stdout and stderr between markers
	name=$1
	shift
	mark BEGIN "$name"
	"$@" >"$out" 2>&1
	rc=$?
	mark END "$name" "$rc"
}
livepatches() { # one line per patch, object and patched function
	for p in /sys/kernel/livepatch/*; do
		[ -d "$p" ] || continue
		n=${p##*/}
		echo "patch $n enabled=$(cat "$p/enabled") transition=$(cat "$p/transition")"
		for o in "$p"/*; do
			[ -f "$o/patched" ] || continue
			echo "object $n ${o##*/} patched=$(cat "$o/patched")"
			for f in "$o"/*,*; do
				[ -d "$f" ] && echo "func $n ${o##*/} ${f##*/}"
			done
		done
	done
}
apply() { # lp-load's JSON alone on stdout; its stderr in the next section
	# shellcheck disable=SC2086 # APPLY_ARGS is a list of words
	lp-load apply /preflight/patch.ko --json $APPLY_ARGS 2>/tmp/apply.err
}

mark BEGIN release
cat /proc/sys/kernel/osrelease >"$out"
mark END release 0
section taint-boot cat /proc/sys/kernel/tainted
if [ -f /preflight/patch.ko ]; then
	echo "lpguard-preflight: $NONCE applying the patch" >/dev/kmsg
	mark BEGIN apply
	apply >"$out"
	mark END apply $?
	section apply-stderr cat /tmp/apply.err
	[ -f /preflight/smoke.sh ] && section smoke sh /preflight/smoke.sh
fi
section taint cat /proc/sys/kernel/tainted
section livepatch livepatches
section dmesg dmesg
mark DONE
poweroff -f
