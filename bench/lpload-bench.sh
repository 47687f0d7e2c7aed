#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lpload-bench.sh [TRIALS]: lp-load's transition wait against 1 s polling
# (kpatch) on the same fake transitions; see bench/lpload_bench.cpp.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${LPGUARD_CMAKE_BUILD:-$top/build/cmake}
[ -f "$build/CMakeCache.txt" ] || cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target lpguard-loader -j2 >/dev/null
out="$build/bench"
mkdir -p "$out"
g++ -std=c++20 -O2 -Wall -Wextra -Werror -I "$top/loader/include" -I "$top/tests/unit" \
	-o "$out/lpload-bench" "$top/bench/lpload_bench.cpp" \
	"$build/loader/liblpguard-loader.a" $(pkg-config --libs libkmod) -lcrypto -pthread
exec "$out/lpload-bench" "${1:-20}"
