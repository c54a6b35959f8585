#!/usr/bin/env bash
# browser: the web console in a real browser. Drives Debian's chromium headless through
# playwright-core (tests/browser/console.test.mjs) against the real daemon on a loopback port.
# Skips (exit 77, with the reason) when node, npm or /usr/bin/chromium is missing, or when
# playwright-core cannot be installed; never downloads a browser.
#
# Models the daemon serves, first found: $INSPECTD_MODELS; the shipped models/ (when it holds a
# model file); else a temporary folder with the random-weights golden files from the shared
# folder (AnoGAN, and the GCN with the Cora graph), which exercise everything but the verdict.
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
    anogan="$shared/golden/anogan_seed_random.safetensors"
    gcn="$shared/golden/gcn_cora_random.safetensors"
    [ -f "$anogan" ] || skip "no model: models/ is empty and $anogan is absent (set INSPECTD_MODELS)"
    models="$tmp/models"
    mkdir -p "$models"
    cp "$anogan" "$models/digits-random.safetensors"
    if [ -f "$gcn" ] && [ -f "$shared/datasets/cora/edges.tsv" ]; then
        args+=(--graph "$shared/datasets/cora" --gcn "$gcn")
    fi
fi

cd "$dir"
rc=0
INSPECTD_BIN="$bin" INSPECTD_BUILD="$build" INSPECTD_SOURCE="$src" INSPECTD_MODELS="$models" \
    node console.test.mjs "${args[@]}" || rc=$?
exit "$rc"
