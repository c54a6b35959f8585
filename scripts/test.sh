#!/usr/bin/env bash
# Runs every test: installs what the tests need (Debian packages) when missing, then
#  1. a warnings-as-errors build and the whole suite (unit, golden, integration, browser, cluster,
#     containers: the image and the compose cluster under podman),
#  2. the whole suite again under AddressSanitizer + UndefinedBehaviorSanitizer,
#  3. the concurrency tests under ThreadSanitizer,
#  4. every fuzz target for FUZZ_SECONDS (default 60) each.
# QUICK=1 runs step 1 only.
# INSPECTD_REQUIRE_SHARED=1 (.ci/run sets it: CI always has ../shared) makes a golden test that
# skips a failure: the Check suites' golden halves fail instead of skipping (tests/testutil.h),
# and every ctest run below is checked for a skipped *_golden test, so a run without the golden
# files cannot come out green.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh test
jobs=$(nproc)
export INSPECTD_SHARED="${INSPECTD_SHARED:-$(cd .. && pwd)/shared}"
export INSPECTD_REQUIRE_SHARED="${INSPECTD_REQUIRE_SHARED:-0}"

step() { printf '\n=== %s\n' "$*"; }

if [ "$INSPECTD_REQUIRE_SHARED" = 1 ] && [ ! -d "$INSPECTD_SHARED" ]; then
    echo "FAIL: INSPECTD_REQUIRE_SHARED=1 but $INSPECTD_SHARED is not there (the golden files)"
    exit 1
fi
ctest_log=$(mktemp)
trap 'rm -f "$ctest_log"' EXIT

# ctest with its arguments; a failed test ends the run (set -e), and so, under
# INSPECTD_REQUIRE_SHARED=1, does a skipped golden test.
run_ctest() {
    ctest "$@" 2>&1 | tee "$ctest_log"
    if [ "$INSPECTD_REQUIRE_SHARED" = 1 ] && grep -E ' - [A-Za-z0-9_]+_golden \(Skipped\)' "$ctest_log"; then
        echo "FAIL: golden tests skipped (above) although INSPECTD_REQUIRE_SHARED=1"
        return 1
    fi
}

step "build + tests (warnings are errors)"
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINSPECTD_WERROR=ON >/dev/null
cmake --build build -j"$jobs"
run_ctest --test-dir build --output-on-failure -j"$jobs"
[ "${QUICK:-0}" = 1 ] && exit 0

step "ASan + UBSan: whole suite"
cmake -S . -B build-asan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="-O1" -DINSPECTD_WERROR=ON \
      -DINSPECTD_SANITIZE="address;undefined" >/dev/null
cmake --build build-asan -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
  INSPECTD_SANITIZED=1 run_ctest --test-dir build-asan --output-on-failure -j"$jobs" -E 'browser|cluster|soak|containers'

step "TSan: concurrency tests"
cmake -S . -B build-tsan -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS="-O1" -DINSPECTD_WERROR=ON \
      -DINSPECTD_SANITIZE=thread >/dev/null
cmake --build build-tsan -j"$jobs"
TSAN_OPTIONS=halt_on_error=1 INSPECTD_SANITIZED=1 \
  run_ctest --test-dir build-tsan --output-on-failure -j"$jobs" -R 'pool|tarpit|integration|http|server'

step "fuzz: every target for ${FUZZ_SECONDS:-60} s"
bash scripts/fuzz.sh
