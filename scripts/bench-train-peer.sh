#!/usr/bin/env bash
# Training speed of inspectd against the PyTorch peer, same machine, same run, same work:
#  - GAN: the seed's recipe (batch 128, a D step and a G step per batch) on the first 400 sevens
#    and eights of the first half of MNIST (`ref_anogan.py train`), GAN_EPOCHS epochs;
#  - transformation classifier: 72 transforms, width 32, 4 blocks, batch 128, Adam 1e-3, on the
#    seed task's normal images less a tenth held out (`ref_geom.py --task seed --K 72`), 1 epoch.
# Prints images (GAN) and (image, transform) pairs (classifier) per second for both sides.
# Needs: a built inspectd, Debian's python3-torch, python3-sklearn and python3-scipy.
#   THREADS=2 scripts/bench-train-peer.sh     (INSPECTD_BIN, default build/inspectd)
set -euo pipefail
cd "$(dirname "$0")/.."
threads=${THREADS:-$(nproc)}
shared=${INSPECTD_SHARED:-../shared}
bin=${INSPECTD_BIN:-./build/inspectd}
epochs=${GAN_EPOCHS:-2}
[ -x "$bin" ] || { echo "build first: cmake -S . -B build && cmake --build build" >&2; exit 1; }
/usr/bin/python3 -c 'import torch, sklearn, scipy' 2>/dev/null ||
    { echo "needs: apt-get install python3-torch python3-sklearn python3-scipy" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mnist="$shared/datasets/mnist"
phase() { sed -n 's/^phases (s):.* '"$1"' \([0-9.]*\).*/\1/p' "$2"; }
echo "# $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), $threads threads, $(date -u '+%F %H:%M')"

# GAN, inspectd: 400 images, a tenth held out for calibration, so 360 trained on
"$bin" train anogan --data "$mnist" --range 0:5000 --classes 7,8 --limit 400 --recipe seed \
    --epochs "$epochs" --encoder-epochs 0 --parts none --no-samples --threads "$threads" \
    --out "$tmp/gan.safetensors" > "$tmp/gan.log" 2>&1
ours_gan=$(awk -v e="$epochs" -v s="$(phase gan "$tmp/gan.log")" 'BEGIN { print 360 * e / s }')
# GAN, peer: 400 images
(cd "$tmp" && THREADS=$threads /usr/bin/python3 "$OLDPWD/$shared/peer/ref_anogan.py" train "$epochs" gan.pt) \
    > "$tmp/peer-gan.log" 2>&1
peer_gan=$(awk -v e="$epochs" '/^train seconds/ { print 400 * e / $3 }' "$tmp/peer-gan.log")

# Transformation classifier, inspectd: the seed task's first-half sevens and eights
"$bin" train parts --model "$tmp/gan.safetensors" --data "$mnist" --range 0:5000 --classes 7,8 \
    --parts transform --transforms 72 --transform-epochs 1 --threads "$threads" \
    --out "$tmp/parts.safetensors" > "$tmp/parts.log" 2>&1
n=$(sed -n 's/^training on \([0-9]*\) images.*/\1/p' "$tmp/parts.log")
ours_geom=$(awk -v n="$n" -v s="$(phase transform "$tmp/parts.log")" 'BEGIN { print n * 72 / s }')
/usr/bin/python3 "$shared/peer/ref_geom.py" --task seed --K 72 --epochs 1 --test_sub 200 \
    > "$tmp/peer-geom.log" 2>&1
peer_geom=$(/usr/bin/python3 -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{\"task")][-1]
print(d["n_fit"] * 72 / d["train_s"])' "$tmp/peer-geom.log")

echo
echo "| phase | inspectd | PyTorch peer | inspectd / peer |"
echo "|---|---|---|---|"
awk -v a="$ours_gan" -v b="$peer_gan" 'BEGIN { printf "| GAN (seed recipe, batch 128) | %.1f images/s | %.1f images/s | %.2f× |\n", a, b, a / b }'
awk -v a="$ours_geom" -v b="$peer_geom" 'BEGIN { printf "| transformation classifier (K 72, batch 128) | %.0f pairs/s | %.0f pairs/s | %.2f× |\n", a, b, a / b }'
