#!/usr/bin/env bash
# browser: the web console in a real browser. Drives Debian's chromium headless through
# playwright-core (tests/browser/console.test.mjs) against the real daemon on a loopback port.
# Skips (exit 77, with the reason) when node, npm or /usr/bin/chromium is missing, or when
# playwright-core cannot be installed; never downloads a browser.
#
# Models the daemon serves, first found: $INSPECTD_MODELS; the shipped models/ (when it holds a
# model file); else two untrained models made by tools/random_model in a temporary folder. The
# graph tab gets the Cora graph from the shared folder when it is there.
# UPDATE_SCREENSHOT=1 copies the 1280x800 screenshot to docs/console.png.
set -euo pipefail

src="${INSPECTD_SOURCE:-$(cd "$(dirname "$0")/.." && pwd)}"
build="${INSPECTD_BUILD:-$src/build}"
bin="${INSPECTD_BIN:-$build/inspectd}"
shared="${INSPECTD_SHARED:-$src/../shared}"
dir="$src/tests/browser"

skip() { echo "SKIP browser: $*"; exit 77; }
command -v node >/dev/null || skip "node is not installed (apt-get install nodejs npm)"
command -v npm >/dev/null || skip "npm is not installed (apt-get install npm)"
[ -x /usr/bin/chromium ] || skip "/usr/bin/chromium is missing (apt-get install chromium)"
[ -x "$bin" ] || { echo "FAIL browser: no daemon at $bin"; exit 1; }
bin="$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")" # the test runs from tests/browser
mkdir -p "$build"
build="$(cd "$build" && pwd)"

if [ ! -f "$dir/node_modules/playwright-core/package.json" ]; then
    echo "installing playwright-core with npm ci (no browser download)"
    (cd "$dir" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error) ||
        skip "npm ci failed in tests/browser (offline?)"
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
args=()
if [ -n "${INSPECTD_MODELS:-}" ]; then
    models="$INSPECTD_MODELS"
elif compgen -G "$src/models/*.safetensors" >/dev/null; then
    models="$src/models"
else
    # Untrained models from tools/random_model: one calibrated so that any digit is anomalous
    # (threshold 1) and one so that any digit is normal (threshold 1e9), to see both verdicts.
    tool="$(dirname "$bin")/random_model"
    [ -x "$tool" ] || { echo "FAIL browser: models/ is empty and $tool was not built"; exit 1; }
    models="$tmp/models"
    mkdir -p "$models"
    "$tool" --out "$models/a-digits.safetensors" --name digits --encoder --threshold 1 --seed 1
    "$tool" --out "$models/b-digits.safetensors" --name digits-lenient --threshold 1e9 --seed 2
fi
# The graph tab needs a GCN and a graph: the shipped GCN is found in the models folder; without
# one, the random-weights golden GCN for Cora from the shared folder.
if [ -f "$shared/datasets/cora/edges.tsv" ]; then
    args+=(--graph "$shared/datasets/cora")
    if ! grep -lqs '"format":"inspectd-gcn"\|"W0"' "$models"/*.safetensors; then
        if [ -f "$shared/golden/gcn_cora_random.safetensors" ]; then
            args+=(--gcn "$shared/golden/gcn_cora_random.safetensors")
        else
            args=()
        fi
    fi
else
    echo "note: $shared/datasets/cora is absent: the graph tab is checked without a graph"
fi

cd "$dir"
rc=0
INSPECTD_BIN="$bin" INSPECTD_BUILD="$build" INSPECTD_SOURCE="$src" INSPECTD_MODELS="$models" \
    node console.test.mjs "${args[@]}" || rc=$?
exit "$rc"
