#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the libFuzzer targets of tests/fuzz/CMakeLists.txt with clang
# (-fsanitize=fuzzer,address,undefined; CMake option LPGUARD_FUZZ) and runs
# each for SECONDS (default 20) on a copy of its seed corpus. Exits non-zero
# on the first crash, leak or sanitizer report; the reproducer is left in
# build/fuzz. The targets of the in-kernel parser (kmod/parse.c, built
# unchanged against tests/fuzz/kshim/) and module_edit share the corpus of
# whole images.
#
#   tests/fuzz/run.sh [SECONDS]
set -euo pipefail

secs=${1:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${LPGUARD_FUZZ_OUT:-$top/build/fuzz}
cxx=${CXX_FUZZ:-clang++}
cc=${CC_FUZZ:-clang}

command -v "$cxx" >/dev/null || { echo "run.sh: $cxx not found (install clang and libclang-rt-14-dev)" >&2; exit 1; }
mkdir -p "$out"
[ -f "$out/cmake/CMakeCache.txt" ] ||
	cmake -S "$top" -B "$out/cmake" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DLPGUARD_FUZZ=ON \
		-DCMAKE_CXX_COMPILER="$cxx" -DCMAKE_C_COMPILER="$cc" >/dev/null
cmake --build "$out/cmake" --target fuzz -j"$(nproc)" >/dev/null

for bin in "$out"/cmake/fuzz/fuzz_*; do
	t=$(basename "$bin")
	t=${t#fuzz_}
	work=$out/corpus-$t
	mkdir -p "$work"
	case $t in
	kparse_image | kparse_trailer | kparse_diff | module_edit) seeds=$top/tests/fuzz/corpus/kparse ;;
	*) seeds=$top/tests/fuzz/corpus/$t ;;
	esac
	[ -d "$seeds" ] || { echo "run.sh: fuzz_$t has no seed corpus $seeds (add a few inputs there)" >&2; exit 1; }
	echo "fuzz_$t: ${secs}s"
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"$bin" "$work" "$seeds" -max_total_time="$secs" -max_len=65536 \
		-print_final_stats=1 2>"$out/fuzz_$t.log") || {
		tail -40 "$out/fuzz_$t.log" >&2
		echo "run.sh: fuzz_$t found a failure; see $out/fuzz_$t.log and the crash-* file in $out" >&2
		exit 1
	}
	grep -E '^stat::number_of_executed_units|^#[0-9]+ +DONE' "$out/fuzz_$t.log" | tail -1 || true
done
echo "run.sh: all fuzz targets ran ${secs}s without a failure"
