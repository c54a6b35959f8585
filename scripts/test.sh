#!/usr/bin/env bash
# Runs every test: installs what the tests need (Debian packages) when missing, then
#  1. a warnings-as-errors build and the whole suite (unit, golden, integration, browser, cluster),
#  2. the whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer,
#  3. the concurrency tests under ThreadSanitizer,
#  4. every fuzz target for FUZZ_SECONDS (default 60) each.
# QUICK=1 runs step 1 only.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
jobs=$(nproc)
export INSPECTD_SHARED="${INSPECTD_SHARED:-$(cd .. && pwd)/shared}"

step() { printf '\n=== %s\n' "$*"; }

step "build + tests (warnings are errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINSPECTD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
ctest --test-dir build --output-on-failure -j"$jobs"
[ "${QUICK:-0}" = 1 ] && exit 0

step "ASan + UBSan: whole suite"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="-O1" -DINSPECTD_WERROR=ON \
      -DINSPECTD_SANITIZE="address;undefined" >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  INSPECTD_SANITIZED=1 ctest --test-dir build-asan --output-on-failure -j"$jobs" -E 'browser|cluster|soak'

step "TSan: concurrency tests"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="-O1" -DINSPECTD_WERROR=ON \
      -DINSPECTD_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$jobs"
TSAN_OPTIONS=halt_on_error=1 INSPECTD_SANITIZED=1 \
  ctest --test-dir build-tsan --output-on-failure -j"$jobs" -R 'pool|integration|http|server'

step "fuzz: every target for ${FUZZ_SECONDS:-60} s"
bash scripts/fuzz.sh
