#!/usr/bin/env bash
# train_cli: `inspectd train anogan`, `train encoder`, `train parts`, `eval anogan` and `eval
# oneclass` end to end on a tiny model (width 4) and a few MNIST digits from the shared folder:
# the files beside --out (model, checkpoint, CSV, sample grids), --resume, an interrupt that
# leaves a resumable checkpoint, recalibration, the detectors beside the AnoGAN and their fused
# score, the eval JSON lines and plots, and the usage errors. Seconds, not minutes.
# Skips (exit 77) when ../shared/datasets/mnist is absent.
set -euo pipefail

src="${INSPECTD_SOURCE:-$(cd "$(dirname "$0")/.." && pwd)}"
bin="${INSPECTD_BIN:-$src/build/inspectd}"
shared="${INSPECTD_SHARED:-$src/../shared}"
mnist="$shared/datasets/mnist"

[ -f "$mnist/images-idx3-ubyte.gz" ] || { echo "SKIP train_cli: $mnist absent"; exit 77; }
[ -x "$bin" ] || { echo "FAIL train_cli: no binary at $bin"; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL train_cli: $*"; exit 1; }

tiny=(--data "$mnist" --classes 7,8 --range 0:5000 --limit 48 --width 4 --batch 8 --seed 1
      --checkpoint-every 1 --threads 1 --transform-epochs 1)

# a full tiny run: GAN, encoder, calibration
"$bin" train anogan "${tiny[@]}" --epochs 2 --encoder-epochs 1 --out "$tmp/m.safetensors" \
    2>"$tmp/train.log" || { cat "$tmp/train.log"; fail "train anogan"; }
for f in m.safetensors m.ckpt.safetensors m.losses.csv m-gan-e001.png m-gan-e002.png \
         m-encoder-e001.png; do
    [ -s "$tmp/$f" ] || fail "missing $f"
done
grep -q "threshold" "$tmp/train.log" || fail "no calibration line"
grep -q "on the fused score" "$tmp/train.log" || fail "the threshold is not on the fused score"
# every detector of the default recipe is in the model, and the score command reports each;
# the pixel bank (weight 0 in the recipe: docs/detection.md) is not trained
"$bin" score --model "$tmp/m.safetensors" --threads 1 "$src/examples/normal-7.png" >"$tmp/score.json"
for part in anogan transform knn knn_transform; do
    grep -q "\"$part\":" "$tmp/score.json" || fail "score lacks part $part: $(cat "$tmp/score.json")"
done
! grep -q '"knn_pixels":' "$tmp/score.json" || fail "the default recipe trained the pixel bank"
head -1 "$tmp/m.losses.csv" | grep -q "^phase,epoch,step" || fail "CSV header"
# 43 training images (5 held out) in batches of 8: 6 steps per epoch, 2 GAN + 1 encoder epochs
[ "$(grep -c '^gan,' "$tmp/m.losses.csv")" = 12 ] || fail "GAN rows: $(grep -c '^gan,' "$tmp/m.losses.csv")"
[ "$(grep -c '^encoder,' "$tmp/m.losses.csv")" = 6 ] || fail "encoder rows"

# --resume of a finished run with more GAN epochs is refused once the encoder phase began, and
# a fresh run interrupted by SIGINT leaves a checkpoint that --resume finishes
"$bin" train anogan "${tiny[@]}" --epochs 200 --encoder-epochs 0 --out "$tmp/r.safetensors" \
    2>"$tmp/r.log" &
pid=$!
for _ in $(seq 100); do [ -s "$tmp/r.ckpt.safetensors" ] && break; sleep 0.2; done
kill -INT "$pid"
if wait "$pid"; then fail "interrupted run exited 0"; fi
grep -q "interrupted" "$tmp/r.log" || { cat "$tmp/r.log"; fail "no interrupt message"; }
[ ! -e "$tmp/r.safetensors" ] || fail "an interrupted run wrote the final model"
"$bin" train anogan "${tiny[@]}" --epochs 3 --encoder-epochs 0 --resume \
    --out "$tmp/r.safetensors" 2>"$tmp/r2.log" || { cat "$tmp/r2.log"; fail "resume"; }
grep -q "resuming from" "$tmp/r2.log" || fail "resume message"
[ -s "$tmp/r.safetensors" ] || fail "resume wrote no model"

# train encoder: add one to the GAN-only model, then recalibrate only at another percentile
"$bin" train encoder --model "$tmp/r.safetensors" "${tiny[@]}" --epochs 1 \
    --out "$tmp/e.safetensors" 2>"$tmp/e.log" || { cat "$tmp/e.log"; fail "train encoder"; }
"$bin" train encoder --model "$tmp/e.safetensors" "${tiny[@]}" --epochs 0 --percentile 50 \
    --out "$tmp/e50.safetensors" 2>"$tmp/e50.log" || { cat "$tmp/e50.log"; fail "recalibrate"; }
grep -q "p50 of held-out" "$tmp/e50.log" || fail "recalibration at p50"

# train parts: the detectors added to a GAN-only model, the GAN itself untouched
"$bin" train parts --model "$tmp/e.safetensors" "${tiny[@]}" --parts transform,knn_pixels \
    --out "$tmp/p.safetensors" 2>"$tmp/p.log" || { cat "$tmp/p.log"; fail "train parts"; }
grep -q "detectors beside the AnoGAN: transform knn_pixels" "$tmp/p.log" || fail "train parts log"
"$bin" score --model "$tmp/p.safetensors" --threads 1 "$src/examples/anomalous-2.png" >"$tmp/p.json"
grep -q '"transform":' "$tmp/p.json" && grep -q '"knn_pixels":' "$tmp/p.json" &&
    ! grep -q '"knn":' "$tmp/p.json" || fail "train parts: wrong parts: $(cat "$tmp/p.json")"
"$bin" score --model "$tmp/e.safetensors" --threads 1 "$src/examples/anomalous-2.png" >"$tmp/e.json"
gan_e=$(sed 's/.*"anogan":\([^,}]*\).*/\1/' "$tmp/e.json")
gan_p=$(sed 's/.*"anogan":\([^,}]*\).*/\1/' "$tmp/p.json")
[ "$gan_e" = "$gan_p" ] || fail "train parts changed the AnoGAN score: $gan_e -> $gan_p"
if "$bin" train parts --model "$tmp/e.safetensors" "${tiny[@]}" --parts nope \
    --out "$tmp/x.safetensors" 2>"$tmp/x.log"; then fail "unknown part accepted"; fi
grep -q "unknown part 'nope'" "$tmp/x.log" || fail "unknown part message"

# eval oneclass: a tiny run of the protocol, one JSON line with every part and both baselines
"$bin" eval oneclass --data "$mnist" --class 1 --train-limit 40 --test-limit 200 --epochs 1 \
    --encoder-epochs 1 --transform-epochs 1 --threads 1 --json --models "$tmp/oc" \
    --scores "$tmp/oc" >"$tmp/oc.json" 2>"$tmp/oc.log" || { cat "$tmp/oc.log"; fail "eval oneclass"; }
for key in '"class":"1"' '"fused":' '"anogan":' '"transform":' '"knn":' '"pca40":' '"nn1":' \
           '"gan":' '"transform":' '"scoring":' '"reused":false'; do
    grep -q "$key" "$tmp/oc.json" || fail "eval oneclass lacks $key: $(cat "$tmp/oc.json")"
done
grep -q "halves protocol" "$tmp/oc.log" || fail "MNIST is not run as halves"
[ -s "$tmp/oc/mnist-class-1.safetensors" ] || fail "eval oneclass kept no model"
[ "$(grep -c '^te,' "$tmp/oc/mnist-class-1.csv")" = 200 ] || fail "scores CSV rows"
# a kept model is used instead of training again
"$bin" eval oneclass --data "$mnist" --class 1 --train-limit 40 --test-limit 200 --threads 1 \
    --json --models "$tmp/oc" >"$tmp/oc2.json" 2>"$tmp/oc2.log" || fail "eval oneclass reuse"
grep -q '"reused":true' "$tmp/oc2.json" || fail "kept model not reused"
[ "$(sed 's/"seconds.*//' "$tmp/oc.json")" = "$(sed 's/"seconds.*//' "$tmp/oc2.json")" ] ||
    fail "the kept model scores differently: $(cat "$tmp/oc.json") / $(cat "$tmp/oc2.json")"

# eval: one JSON line with the documented keys, and the plots
"$bin" eval anogan --model "$tmp/e.safetensors" --data "$mnist" --range 5000: --limit 30 \
    --normal 7,8 --anomalous 2 --threads 1 --plot "$tmp/plots" --scores "$tmp/s.csv" \
    >"$tmp/eval.json" 2>"$tmp/eval.log" || { cat "$tmp/eval.log"; fail "eval"; }
[ "$(wc -l <"$tmp/eval.json")" = 1 ] || fail "eval printed more than one line"
for k in auroc average_precision f1 ms_per_image n settings; do
    grep -q "\"$k\":" "$tmp/eval.json" || fail "eval JSON lacks $k: $(cat "$tmp/eval.json")"
done
grep -q '"n":30' "$tmp/eval.json" || fail "eval n"
[ -s "$tmp/plots/histogram.png" ] && [ -s "$tmp/plots/roc.png" ] || fail "plots"
[ "$(wc -l <"$tmp/s.csv")" = 31 ] || fail "scores CSV rows"

# usage and data errors: exit 2 for usage, 1 for bad data, with a message
set +e
"$bin" train anogan --data "$mnist" 2>/dev/null; [ $? = 2 ] || fail "missing --out not a usage error"
"$bin" train anogan --data "$mnist" --out "$tmp/x.safetensors" --epochs -1 2>/dev/null
[ $? = 2 ] || fail "bad --epochs not a usage error"
"$bin" train anogan "${tiny[@]}" --classes 7,x --out "$tmp/x.safetensors" 2>"$tmp/err.log"
[ $? = 1 ] && grep -q "no class 'x'" "$tmp/err.log" || fail "unknown class"
mkdir "$tmp/empty"
"$bin" train anogan --data "$tmp/empty" --out "$tmp/x.safetensors" 2>"$tmp/err.log"
[ $? = 1 ] && grep -q "no IDX pair and no PNG" "$tmp/err.log" || fail "empty folder"
"$bin" eval anogan --model "$tmp/e.safetensors" --data "$mnist" --normal 7,8 --search nope \
    2>/dev/null
[ $? = 2 ] || fail "bad --search not a usage error"
set -e
echo "PASS train_cli"
