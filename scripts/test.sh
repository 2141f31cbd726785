#!/bin/sh
# Builds hessgen twice, plainly and with AddressSanitizer + UndefinedBehaviorSanitizer, and
# runs the whole test suite (ctest) in both builds. Exits non-zero if anything fails.
set -e
cd "$(dirname "$0")/.."
jobs=$(nproc 2>/dev/null || echo 2)
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$jobs"
(cd build && ctest -j"$jobs" --output-on-failure --timeout 600)
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DHESSGEN_SANITIZE=ON >/dev/null
cmake --build build-asan -j"$jobs"
(cd build-asan && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest -j"$jobs" --output-on-failure --timeout 900)
