#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# lpload-bench.sh [TRIALS]: lp-load's transition wait against 1 s polling
# (kpatch) on the same fake transitions; see bench/lpload_bench.cpp. Built
# as the CMake target lpload-bench (bench/CMakeLists.txt).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=${LPGUARD_CMAKE_BUILD:-$top/build/cmake}
[ -f "$build/CMakeCache.txt" ] || cmake -S "$top" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$build" --target lpload-bench -j2 >/dev/null
exec "$build/bin/lpload-bench" "${1:-20}"
