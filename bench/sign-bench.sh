#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# cvm-cli sign against the kernel's scripts/sign-file, same key (RSA 4096,
# sha256) and same input, on a 1 MB and a 50 MB module, side by side in one
# run (alternating). Prints the median wall time of RUNS runs each and the
# ratio cvm-cli / sign-file (target: <= 1.00), and the same for CPU time
# (user + system), which other load on the machine disturbs less.
#
#   bench/sign-bench.sh [RUNS]     (default 7)
# Environment: CVM_CLI (default build/cmake/bin/cvm-cli), LPGUARD_SIGN_FILE
# (default build/kernel-6.12/scripts/sign-file, else compiled from
# build/src/linux-source-6.12/scripts/sign-file.c).
set -euo pipefail

runs=${1:-7}
top=$(cd "$(dirname "$0")/.." && pwd)
cvm=${CVM_CLI:-$top/build/cmake/bin/cvm-cli}
work=$(mktemp -d /tmp/sign-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

[ -x "$cvm" ] || { echo "sign-bench: $cvm missing (run make build)" >&2; exit 1; }
sf=${LPGUARD_SIGN_FILE:-$top/build/kernel-6.12/scripts/sign-file}
if [ ! -x "$sf" ]; then
	src=$top/build/src/linux-source-6.12/scripts
	[ -r "$src/sign-file.c" ] || { echo "sign-bench: no scripts/sign-file (set LPGUARD_SIGN_FILE)" >&2; exit 1; }
	gcc -O2 -I"$src" -o "$work/sign-file" "$src/sign-file.c" -lcrypto
	sf=$work/sign-file
fi

"$cvm" generate-livepatch-keys --out "$work/keys" --subject "sign bench" >/dev/null
key=$work/keys/livepatch.key crt=$work/keys/livepatch.crt

# A real module followed by random bytes up to the size (the ELF section
# table stays valid; both tools hash every byte).
seed=$top/tests/unit/data/x86_pkg_temp_thermal.ko
make_module() {
	cp "$seed" "$2"
	head -c $(( $1 * 1024 * 1024 - $(stat -c %s "$seed") )) /dev/urandom >>"$2"
}

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# timed CMD...: "wall_us cpu_us" of one run (bash's time: real, user + sys).
timed() {
	local TIMEFORMAT='%3R %3U %3S' t
	t=$( { time "$@" >/dev/null; } 2>&1 )
	awk '{ printf "%d %d\n", $1 * 1e6, ($2 + $3) * 1e6 }' <<< "$t"
}

printf '%-8s %14s %14s %8s %14s %14s %8s\n' size sign-file_ms cvm-cli_ms ratio sign-file_cpu cvm-cli_cpu ratio
for mb in 1 50; do
	in=$work/in-$mb.ko
	make_module "$mb" "$in"
	ws=() wc=() cs=() cc=()
	for ((i = 0; i < runs; i++)); do
		read -r w c < <(timed "$sf" sha256 "$key" "$crt" "$in" "$work/sf.ko")
		ws+=("$w") cs+=("$c")
		read -r w c < <(timed "$cvm" sign --key "$key" --cert "$crt" -o "$work/cvm.ko" "$in")
		wc+=("$w") cc+=("$c")
	done
	cmp -s "$work/sf.ko" "$work/cvm.ko" || { echo "sign-bench: outputs differ at ${mb} MB" >&2; exit 1; }
	m() { printf '%s\n' "$@" | median; }
	awk -v a="$(m "${ws[@]}")" -v b="$(m "${wc[@]}")" -v c="$(m "${cs[@]}")" -v d="$(m "${cc[@]}")" -v mb="$mb" \
		'BEGIN { printf "%-8s %14.2f %14.2f %8.2f %14.2f %14.2f %8.2f\n", mb " MB", a/1000, b/1000, b/a, c/1000, d/1000, d/c }'
done
