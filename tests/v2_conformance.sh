#!/usr/bin/env bash
# v2_conformance: starts the real `inspectd serve` with a random AnoGAN model (and the GCN when
# ../shared has one) and drives its Open Inference Protocol routes with tests/v2_conformance.py,
# as a KServe v2 / Triton client would (python3 standard library only). Exit 77 = skipped.
set -u
SRC=${INSPECTD_SOURCE:-$(cd "$(dirname "$0")/.." && pwd)}
BIN=${INSPECTD_BIN:-$SRC/build/inspectd}
BUILD=${INSPECTD_BUILD:-$(dirname "$BIN")}
SHARED=${INSPECTD_SHARED:-$SRC/../shared}
PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "SKIP: python3 not installed"; exit 77; }
if [ ! -x "$BIN" ] || [ ! -x "$BUILD/random_model" ]; then
    echo "SKIP: $BIN or $BUILD/random_model not built"; exit 77
fi
T=$(mktemp -d /tmp/inspectd-v2.XXXXXX)
PID=
cleanup() { [ -n "$PID" ] && kill -KILL "$PID" 2> /dev/null && wait "$PID" 2> /dev/null; rm -rf "$T"; }
trap cleanup EXIT
mkdir -p "$T/models"
"$BUILD/random_model" --out "$T/models/tiny.safetensors" --name tiny --threshold 50 \
    --band-low 40 --band-high 60 --width 4 || exit 1
ARGS=()
GCN=
if [ -f "$SHARED/golden/gcn_cora_random.safetensors" ] && [ -d "$SHARED/datasets/cora" ]; then
    ARGS=(--gcn "$SHARED/golden/gcn_cora_random.safetensors" --graph "$SHARED/datasets/cora")
    GCN=gcn_cora_random
else
    echo "note: $SHARED not found; the GCN checks are skipped"
fi
"$BIN" serve --port 0 --bind 127.0.0.1 --models "$T/models" --workers 2 "${ARGS[@]}" > "$T/log" 2>&1 &
PID=$!
PORT=
for _ in $(seq 1 200); do
    PORT=$(sed -n 's/^listening .*port=\([0-9]*\).*/\1/p' "$T/log" 2> /dev/null)
    [ -n "$PORT" ] && break
    kill -0 "$PID" 2> /dev/null || break
    sleep 0.05
done
[ -n "$PORT" ] || { echo "FAIL: the daemon did not start"; cat "$T/log"; exit 1; }
# ready once the warm-up scores are done
for _ in $(seq 1 100); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT/v2/health/ready")" = 200 ] && break
    sleep 0.1
done
"$PY" "$SRC/tests/v2_conformance.py" "http://127.0.0.1:$PORT" tiny "$SRC/examples/normal-7.png" $GCN
rc=$?
if ! kill -0 "$PID" 2> /dev/null; then echo "FAIL: the daemon died"; cat "$T/log"; exit 1; fi
kill -TERM "$PID"; wait "$PID"
PID=
# a sanitizer build (INSPECTD_SANITIZE) reports into the daemon's log
if grep -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$T/log"; then
    echo "FAIL: sanitizer reports in the daemon's log"; exit 1
fi
exit $rc
