#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Builds the libFuzzer targets with clang (ASan + UBSan) and runs each for
# SECONDS (default 20) on a copy of its seed corpus. Exits non-zero on the
# first crash, leak or sanitizer report; the reproducer is left in build/fuzz.
# The targets of the in-kernel parser (kmod/parse.c) and the differential
# one build with CMake (tests/fuzz/CMakeLists.txt).
#
#   tests/fuzz/run.sh [SECONDS]
set -euo pipefail

secs=${1:-20}
top=$(cd "$(dirname "$0")/../.." && pwd)
out=${LPGUARD_FUZZ_OUT:-$top/build/fuzz}
cxx=${CXX_FUZZ:-clang++}
targets=(module_image elf modinfo signature)
ktargets=(kparse_image kparse_modinfo kparse_trailer kparse_signers kparse_diff)
lib=(module_image.cpp module_verify.cpp certificate.cpp module_sign.cpp)

command -v "$cxx" >/dev/null || { echo "run.sh: $cxx not found (install clang and libclang-rt-14-dev)" >&2; exit 1; }
cc=${CC_FUZZ:-${cxx/clang++/clang}}
mkdir -p "$out"
flags=(-std=c++20 -O1 -g -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
       -I"$top/loader/include" -I"$top/loader/lib")

# The library objects once, then one binary per target.
objs=()
for src in "${lib[@]}"; do
	obj=$out/${src%.cpp}.o
	if [ ! -e "$obj" ] || [ "$top/loader/lib/$src" -nt "$obj" ] || [ "$0" -nt "$obj" ]; then
		"$cxx" "${flags[@]/-fsanitize=fuzzer,/-fsanitize=fuzzer-no-link,}" -c "$top/loader/lib/$src" -o "$obj"
	fi
	objs+=("$obj")
done
for t in "${targets[@]}"; do
	"$cxx" "${flags[@]}" "$top/tests/fuzz/fuzz_$t.cpp" "${objs[@]}" -lcrypto -o "$out/fuzz_$t"
done

cmake -S "$top/tests/fuzz" -B "$out/cmake" -DCMAKE_C_COMPILER="$cc" -DCMAKE_CXX_COMPILER="$cxx" \
	-DCMAKE_BUILD_TYPE= >/dev/null
cmake --build "$out/cmake" -j"$(nproc)" >/dev/null
for t in "${ktargets[@]}"; do
	ln -sf "cmake/fuzz_$t" "$out/fuzz_$t"
done

# Seed corpus of a target: whole module images are shared by the parse.c
# targets that take them.
seeds() {
	case $1 in
	kparse_image | kparse_trailer | kparse_diff) echo "$top/tests/fuzz/corpus/kparse" ;;
	*) echo "$top/tests/fuzz/corpus/$1" ;;
	esac
}

for t in "${targets[@]}" "${ktargets[@]}"; do
	work=$out/corpus-$t
	mkdir -p "$work"
	echo "fuzz_$t: ${secs}s"
	(cd "$out" && ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 \
		"./fuzz_$t" "$work" "$(seeds "$t")" -max_total_time="$secs" -max_len=65536 \
		-print_final_stats=1 2>"$out/fuzz_$t.log") || {
		tail -40 "$out/fuzz_$t.log" >&2
		echo "run.sh: fuzz_$t found a failure; see $out/fuzz_$t.log and the crash-* file in $out" >&2
		exit 1
	}
	grep -E '^stat::number_of_executed_units|^#[0-9]+ +DONE' "$out/fuzz_$t.log" | tail -1 || true
done
echo "run.sh: all fuzz targets ran ${secs}s without a failure"
