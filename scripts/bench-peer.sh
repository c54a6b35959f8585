#!/usr/bin/env bash
# inspectd against the PyTorch peer (../shared/peer/ref_anogan.py bench), same machine, same run:
# milliseconds per image per latent-search step at batch 1, 5, 16, 64 and the ratio.
# Needs: a built ./build/inspectd, Debian's python3-torch and libopenblas0-pthread.
#   THREADS=2 scripts/bench-peer.sh        (THREADS: threads for both, default: all cores)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-$(nproc)}
shared=${INSPECTD_SHARED:-../shared}
bin=${INSPECTD_BIN:-./build/inspectd}
[ -x "$bin" ] || { echo "build first: cmake -S . -B build -DCMAKE_BUILD_TYPE=Release && cmake --build build" >&2; exit 1; }
/usr/bin/python3 -c 'import torch' 2>/dev/null || { echo "needs: apt-get install python3-torch libopenblas0-pthread" >&2; exit 1; }
ours=$(mktemp) peer=$(mktemp)
trap 'rm -f "$ours" "$peer"' EXIT
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $threads threads, $(date -u +%F)"
"$bin" bench --json --threads "$threads" | tee "$ours"
THREADS=$threads /usr/bin/python3 "$shared/peer/ref_anogan.py" bench | tee "$peer"
/usr/bin/python3 - "$ours" "$peer" <<'PY'
import json, sys
ours = {d['batch']: d for d in map(json.loads, open(sys.argv[1])) if 'batch' in d}
peer = {d['batch']: d for d in map(json.loads, open(sys.argv[2])) if 'batch' in d}
print(f"\n| batch | inspectd ms/image-step | PyTorch ms/image-step | speed-up | inspectd GFLOP/s |")
print(f"|---|---|---|---|---|")
for b in sorted(ours):
    if b in peer:
        o, p = ours[b]['ms_per_image_step'], peer[b]['ms_per_image_step']
        print(f"| {b} | {o:.2f} | {p:.2f} | {p / o:.1f}x | {ours[b]['gflops']:.0f} |")
PY
