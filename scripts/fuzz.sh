#!/usr/bin/env bash
# fuzz.sh: build the libFuzzer targets (fuzz/fuzz_*.c) with clang, ASan and UBSan, and run each
# for FUZZ_SECONDS (default 60) from a scratch copy of its seed corpus fuzz/corpus/<target>/
# (plus fuzz/regress/<target>/), so the repository's corpus never grows. Crashing inputs stay in
# $FUZZ_BUILD/fuzz-artifacts/<target>/. Exits non-zero if any target crashed.
#
#   scripts/fuzz.sh                  every target, 60 s each
#   FUZZ_SECONDS=10 scripts/fuzz.sh fuzz_png fuzz_idx
#   FUZZ_ARGS="-max_len=65536" scripts/fuzz.sh fuzz_png    extra libFuzzer flags
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${FUZZ_BUILD:-$root/build-fuzz}
seconds=${FUZZ_SECONDS:-60}
jobs=${FUZZ_BUILD_JOBS:-2}

if ! command -v clang >/dev/null; then
    echo "fuzz.sh: clang not found (apt-get install clang)" >&2
    exit 2
fi

if [ $# -gt 0 ]; then
    targets=("$@")
else
    targets=()
    for src in "$root"/fuzz/fuzz_*.c; do
        [ -e "$src" ] && targets+=("$(basename "$src" .c)")
    done
fi
if [ ${#targets[@]} -eq 0 ]; then
    echo "fuzz.sh: no fuzz/fuzz_*.c targets" >&2
    exit 2
fi

# -fsanitize=fuzzer-no-link instruments the libraries too, not only the harness, so the fuzzer
# gets coverage feedback from inside the parsers; FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION lets
# it past checksums (PNG chunk CRCs).
flags="-fsanitize=fuzzer-no-link -DFUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION"
cache="$build/CMakeCache.txt"
if [ -f "$cache" ] && ! grep -q "^CMAKE_C_COMPILER:.*clang" "$cache"; then
    echo "fuzz.sh: $build was configured with another compiler than clang; remove it first" >&2
    exit 2
fi
if [ ! -f "$cache" ] || ! grep -q "^INSPECTD_FUZZ:BOOL=ON" "$cache" || ! grep -q "^CMAKE_C_FLAGS:.*fuzzer-no-link" "$cache"; then
    CC=clang cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINSPECTD_FUZZ=ON \
        -DINSPECTD_SANITIZE="address;undefined" -DINSPECTD_WERROR=ON -DCMAKE_C_FLAGS="$flags" >/dev/null
fi
cmake --build "$build" -j"$jobs" --target "${targets[@]}"

failed=()
for t in "${targets[@]}"; do
    bin="$build/$t"
    if [ ! -x "$bin" ]; then
        echo "fuzz.sh: $bin was not built" >&2
        failed+=("$t")
        continue
    fi
    work=$(mktemp -d "${TMPDIR:-/tmp}/inspectd-$t-XXXXXX")
    for seeds in "$root/fuzz/corpus/$t" "$root/fuzz/regress/$t"; do
        if [ -d "$seeds" ] && [ -n "$(ls -A "$seeds")" ]; then
            cp "$seeds"/* "$work"/
        fi
    done
    artifacts="$build/fuzz-artifacts/$t"
    mkdir -p "$artifacts"
    dict=()
    [ -f "$root/fuzz/dict/$t.dict" ] && dict=(-dict="$root/fuzz/dict/$t.dict")
    echo "== $t: ${seconds}s, corpus $(find "$work" -type f | wc -l) files, artifacts in $artifacts"
    # shellcheck disable=SC2086
    if "$bin" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        -artifact_prefix="$artifacts/" "${dict[@]}" ${FUZZ_ARGS:-} "$work" 2>"$build/fuzz-$t.log"; then
        grep -E "^(Done|stat::number_of_executed_units|stat::peak_rss_mb)" "$build/fuzz-$t.log" || true
        echo "== $t: ok (corpus grew to $(find "$work" -type f | wc -l) files)"
    else
        tail -n 40 "$build/fuzz-$t.log"
        echo "== $t: CRASH, inputs in $artifacts, log $build/fuzz-$t.log"
        failed+=("$t")
    fi
    rm -rf "$work"
done

if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz.sh: crashes in ${failed[*]}" >&2
    exit 1
fi
echo "fuzz.sh: ${#targets[@]} target(s) ran ${seconds}s each without a crash"
