#!/usr/bin/env bash
# bench-overload: goodput (200 answers per second) of `POST /score` at rising concurrency with
# no client back-off, and the daemon's resident memory before, after and 10 s after the load.
#   scripts/bench-overload.sh [BIN] [MODELS]      (defaults: build/inspectd, models/)
# Environment: SECONDS_EACH (10), CONCURRENCY ("1 2 4 8 16 64 256"), PORT (18191),
# SERVE_ARGS (extra flags for `inspectd serve`). Prints one markdown row per concurrency.
# A benchmark, not a test: run it on a quiet machine; docs/benchmarks.md has its figures.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$src/build/inspectd}
models=${2:-$src/models}
each=${SECONDS_EACH:-10}
port=${PORT:-18191}
command -v wrk >/dev/null || { echo "wrk is not installed (apt-get install wrk)"; exit 1; }
log=$(mktemp)
# shellcheck disable=SC2086 # SERVE_ARGS is a list of flags
"$bin" serve --models "$models" --port "$port" --access-log 0 ${SERVE_ARGS:-} 2>"$log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -f "$log"' EXIT
for _ in $(seq 100); do
    curl -sf -o /dev/null "http://127.0.0.1:$port/readyz" && break
    sleep 0.2
done
rss() { awk '/^VmRSS:/ { printf "%.0f", $2 / 1024 }' "/proc/$pid/status"; }
echo "daemon: $("$bin" --version), RSS idle $(rss) MB"
echo "| concurrency | 200/s (goodput) | 503/s | other errors | p50 | p99 |"
echo "|---|---|---|---|---|---|"
cd "$src"
for c in ${CONCURRENCY:-1 2 4 8 16 64 256}; do
    t=$((c < 2 ? 1 : 2))
    out=$(wrk -t"$t" -c"$c" -d"${each}s" --timeout 30s -s examples/wrk-score.lua \
        "http://127.0.0.1:$port/score" 2>&1)
    echo "$out" | awk -v c="$c" -v d="$each" '
        /^requests [0-9]+, errors/ { gsub(",", ""); n = $2; sock = $5 + $7 + $9 + $11; st = $13 }
        /^latency p50/ { p50 = $3; p99 = $9 }
        END { printf "| %d | %.1f | %.1f | %d | %s ms | %s ms |\n", c, (n - st) / d, st / d, sock, p50, p99 }'
done
echo "RSS after the load $(rss) MB"
sleep 10
echo "RSS 10 s later $(rss) MB"
