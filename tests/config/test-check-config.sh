#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Tests of scripts/check-config.sh.
#   test-check-config.sh            synthetic .config files (fast, in `make check`)
#   test-check-config.sh --kernel KSRC  also a real merge in which merge_config.sh
#                                   silently drops an option with an unmet dependency
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
check=$top/scripts/check-config.sh
d=$(mktemp -d)
trap 'rm -rf "$d"' EXIT
pass=0 fail=0

expect() { # expect 0|1 NAME DOTCONFIG FRAGMENT [STDERR-PATTERN]
	local want=$1 name=$2 out rc
	out=$("$check" "$3" "$4" 2>&1)
	rc=$?
	[ $rc -ne 0 ] && rc=1
	if [ "$rc" = "$want" ] && { [ -z "${5:-}" ] || grep -qF -- "$5" <<< "$out"; }; then
		pass=$((pass + 1)); echo "ok - $name"
	else
		fail=$((fail + 1)); echo "not ok - $name (exit $rc, wanted $want)"; echo "$out" | sed 's/^/#   /'
	fi
}

cat > "$d/frag" <<'F'
# a comment
CONFIG_A=y
CONFIG_S="x,y"
# CONFIG_B is not set
F
printf 'CONFIG_A=y\nCONFIG_S="x,y"\n# CONFIG_B is not set\n' > "$d/all"
printf 'CONFIG_A=y\nCONFIG_S="x,y"\n' > "$d/b-absent"
printf '# CONFIG_A is not set\nCONFIG_S="x,y"\n' > "$d/a-dropped"
printf 'CONFIG_S="x,y"\n' > "$d/a-absent"
printf 'CONFIG_A=m\nCONFIG_S="x,y"\n' > "$d/a-module"
printf 'CONFIG_A=y\nCONFIG_S="x"\n' > "$d/s-changed"
printf 'CONFIG_A=y\nCONFIG_S="x,y"\nCONFIG_B=y\n' > "$d/b-selected"
printf 'CONFIG_AB=y\nCONFIG_S="x,y"\n' > "$d/prefix"

expect 0 "all options survived" "$d/all" "$d/frag"
expect 0 "not-set option absent counts as not set" "$d/b-absent" "$d/frag"
expect 1 "dropped =y option fails" "$d/a-dropped" "$d/frag" "wanted 'CONFIG_A=y', got '# CONFIG_A is not set'"
expect 1 "absent =y option fails" "$d/a-absent" "$d/frag" "got '<absent>'"
expect 1 "=y became =m fails" "$d/a-module" "$d/frag" "got 'CONFIG_A=m': something else sets another value"
expect 1 "changed string fails" "$d/s-changed" "$d/frag" "wanted 'CONFIG_S=\"x,y\"'"
expect 1 "selected not-set option fails" "$d/b-selected" "$d/frag" "got 'CONFIG_B=y'"
expect 1 "a longer symbol does not satisfy a shorter one" "$d/prefix" "$d/frag" "CONFIG_A=y"

# A later fragment overrides an earlier one (merge_config.sh's order).
printf 'CONFIG_A=y\n# CONFIG_B is not set\n' > "$d/base"
printf '# CONFIG_A is not set\nCONFIG_B=y\n' > "$d/override"
printf '# CONFIG_A is not set\nCONFIG_B=y\n' > "$d/overridden"
out=$("$check" "$d/overridden" "$d/base" "$d/override" 2>&1)
if [ $? -eq 0 ]; then pass=$((pass + 1)); echo "ok - a later fragment's line overrides an earlier one"
else fail=$((fail + 1)); echo "not ok - a later fragment's line overrides an earlier one"; echo "$out" | sed 's/^/#   /'; fi
out=$("$check" "$d/overridden" "$d/override" "$d/base" 2>&1)
if [ $? -ne 0 ] && grep -qF "wanted 'CONFIG_A=y'" <<< "$out"; then pass=$((pass + 1)); echo "ok - the last fragment is the one checked"
else fail=$((fail + 1)); echo "not ok - the last fragment is the one checked"; echo "$out" | sed 's/^/#   /'; fi

if [ "${1:-}" = --kernel ]; then
	ksrc=$(realpath "$2")
	# VIRTIO_NET depends on NETDEVICES and NET_CORE, which tinyconfig lacks:
	# merge_config.sh drops it without failing; the check must catch it.
	printf '# Without NETDEVICES this cannot survive.\nCONFIG_64BIT=y\nCONFIG_VIRTIO_NET=y\n' > "$d/unmet.config"
	if make -s -C "$ksrc" O="$d/k" ARCH=x86_64 tinyconfig >"$d/k.log" 2>&1 &&
	   (cd "$d/k" && "$ksrc/scripts/kconfig/merge_config.sh" -m -O "$d/k" "$d/k/.config" "$d/unmet.config") >>"$d/k.log" 2>&1 &&
	   make -s -C "$ksrc" O="$d/k" ARCH=x86_64 olddefconfig >>"$d/k.log" 2>&1; then
		pass=$((pass + 1)); echo "ok - merge_config.sh accepted the fragment (exit 0)"
		expect 1 "real kernel: option with an unmet dependency is caught" "$d/k/.config" "$d/unmet.config" \
			"wanted 'CONFIG_VIRTIO_NET=y'"
	else
		fail=$((fail + 1)); echo "not ok - real kernel config step failed"; tail -20 "$d/k.log"
	fi
fi
echo "check-config: $pass passed, $fail failed"
[ $fail -eq 0 ]
