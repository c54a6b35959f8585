#!/usr/bin/env bash
# integration: starts the real `inspectd serve` on free loopback ports and speaks HTTP to it with
# curl (and python for raw sockets): every endpoint, every error status of the contract, the
# line's verdict fields (evaluation, band, part_id, station, result_id, model_version), a
# malformed PNG, a truncated body, a 20 MB body, 50 concurrent requests (each answered 200 or
# 503, none lost or hung), the API key, SIGTERM during work, a bad model file at start-up, the
# access log, and every response checked against openapi.yaml (tests/openapi_check.py), which
# is also linted with `@redocly/cli lint` when npm can install it.
# Models are random (tools/random_model): the scores mean nothing, the plumbing is what is tested.
# Exit 77 = skipped (a tool is missing).
set -u
SRC=${INSPECTD_SOURCE:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/scripts/test-lib.sh"
BIN=${INSPECTD_BIN:-$SRC/build/inspectd}
BUILD=${INSPECTD_BUILD:-$(dirname "$BIN")}
SHARED=${INSPECTD_SHARED:-$SRC/../shared}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=$(command -v python3 || true)
for tool in curl "$PY"; do
    if [ -z "$tool" ] || ! command -v "$tool" > /dev/null; then
        echo "SKIP: $tool not installed"; exit 77
    fi
done
if ! "$PY" -c 'import yaml' 2> /dev/null; then echo "SKIP: python3 yaml module missing"; exit 77; fi
if [ ! -x "$BIN" ] || [ ! -x "$BUILD/random_model" ]; then
    echo "SKIP: $BIN or $BUILD/random_model not built"; exit 77
fi

tl_init inspectd-integration
T=$TL_TMP

echo "[$(date +%T)] fixtures"
mkdir -p "$T/models" "$T/bad" "$T/resp"
"$BUILD/random_model" --out "$T/models/a-tiny.safetensors" --name tiny --encoder --threshold 50 --width 4 || exit 1
"$BUILD/random_model" --out "$T/models/b-plain.safetensors" --name plain --width 4 --seed 7 || exit 1
head -c 4000 "$T/models/a-tiny.safetensors" > "$T/bad/broken.safetensors"
DIGIT=$SRC/examples/normal-7.png
TWO=$SRC/examples/anomalous-2.png
"$PY" - "$T" << 'EOF'
import struct, sys, zlib
t = sys.argv[1]
def png(w, h):
    raw = b"".join(b"\0" + bytes((x * 3 + y) & 255 for x in range(w)) for y in range(h))
    def chunk(k, d):
        return struct.pack(">I", len(d)) + k + d + struct.pack(">I", zlib.crc32(k + d))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))
open(f"{t}/wide.png", "wb").write(png(600, 4))      # over --max-side 512
open(f"{t}/small.png", "wb").write(png(30, 20))
good = png(30, 20)
open(f"{t}/truncated.png", "wb").write(good[: len(good) // 2])
open(f"{t}/notpng.png", "wb").write(b"GIF89a this is not a png")
open(f"{t}/big.bin", "wb").write(b"\0" * (20 << 20))  # 20 MB
EOF

GCN_ARGS=()
if [ -f "$SHARED/golden/gcn_cora_random.safetensors" ] && [ -d "$SHARED/datasets/cora" ]; then
    GCN_ARGS=(--gcn "$SHARED/golden/gcn_cora_random.safetensors" --graph "$SHARED/datasets/cora")
else
    echo "note: $SHARED not found; graph checks are skipped"
fi

# start NAME ARGS...: starts a daemon on a free port, sets PORT and PID (log in $T/NAME.log)
start() {
    local name=$1
    shift
    tl_start_daemon "$BIN" 0 "$T/$name.log" "$@"
    PID=$TL_LAST_PID
    PORT=$TL_PORT
    if [ -z "$PORT" ]; then
        echo "FAIL: daemon $name did not start"; cat "$T/$name.log"; exit 1
    fi
}

# req NAME METHOD PATH [curl args]: sets CODE; body in $T/resp/NAME, headers in $T/resp/NAME.h
req() {
    local name=$1 method=$2 path=$3
    shift 3
    local how=(-X "$method")
    [ "$method" = HEAD ] && how=(--head)
    CODE=$(curl -sS -o "$T/resp/$name" -D "$T/resp/$name.h" -w '%{http_code}' --max-time 60 \
        "${how[@]}" "$@" "http://127.0.0.1:$PORT$path")
    echo "$method $path $CODE" > "$T/resp/$name.req"
}

# conforms NAME: queue the saved response for the check against openapi.yaml (run once, at the end)
conforms() {
    local name=$1 method path code ctype
    read -r method path code < "$T/resp/$name.req"
    ctype=$(sed -n 's/^[Cc]ontent-[Tt]ype: *\([^\r]*\).*/\1/p' "$T/resp/$name.h" | tail -1)
    printf '%s\t%s\t%s\t%s\t%s\n' "$method" "$path" "$code" "$ctype" "$T/resp/$name" >> "$T/conforms.list"
}

# error NAME WANT_STATUS WANT_CODE METHOD PATH [curl args]: an error answer, its JSON and schema
error() {
    local name=$1 status=$2 code=$3
    shift 3
    req "$name" "$@"
    tl_expect "$name status" "$CODE" "$status"
    tl_expect "$name code" "$(jq_get "$T/resp/$name" error.code)" "$code"
    conforms "$name"
}

# jq_get FILE a.b.0.c: a value of a JSON file (strings bare, null for absent); jq when installed
if command -v jq > /dev/null; then
    jq_get() {
        local filter
        filter=$(echo ".$2" | sed -E 's/\.([0-9]+)/[\1]/g')
        jq -r "$filter | if type == \"object\" or type == \"array\" then tojson else . end" "$1" 2> /dev/null
    }
else
    jq_get() {
        "$PY" -c 'import json,sys
v = json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."):
    v = v[int(k)] if isinstance(v, list) else v.get(k) if isinstance(v, dict) else None
print("null" if v is None else json.dumps(v) if not isinstance(v, str) else v)' "$1" "$2" 2> /dev/null
    }
fi

header() { # header NAME Header-Name -> value
    sed -n "s/^$2: *\([^\r]*\).*/\1/Ip" "$T/resp/$1.h" | tail -1
}

JSON=(-H 'Content-Type: application/json')
PNG=(-H 'Content-Type: image/png')
B64=$(base64 -w0 "$DIGIT")

echo "[$(date +%T)] a daemon with two models (and the GCN when ../shared is there)"
start main --models "$T/models" --workers 2 --max-side 512 --max-body 8M --max-images 4 \
    --max-iterations 500 "${GCN_ARGS[@]}"

req health GET /healthz
tl_expect "healthz" "$CODE" 200
conforms health
req ready GET /readyz
tl_expect "readyz" "$CODE" 200
conforms ready
req models GET /models
tl_expect "models" "$CODE" 200
conforms models
tl_expect "default model" "$(jq_get "$T/resp/models" default)" tiny
tl_expect "model 0" "$(jq_get "$T/resp/models" models.0.name)" tiny
tl_expect "model 1" "$(jq_get "$T/resp/models" models.1.name)" plain
tl_expect "model 0 encoder" "$(jq_get "$T/resp/models" models.0.has_encoder)" true
tl_expect "model 0 threshold" "$(jq_get "$T/resp/models" models.0.threshold)" 50
req console GET /
tl_expect "console" "$CODE" 200
conforms console
req head HEAD /healthz
tl_expect "HEAD healthz" "$CODE" 200

# /score with a PNG body, options in the query
req png POST '/score?iterations=3&reconstruction=true&anomaly_map=true' "${PNG[@]}" --data-binary @"$DIGIT"
tl_expect "score png" "$CODE" 200
conforms png
tl_expect "score png search" "$(jq_get "$T/resp/png" search)" encoder
tl_expect "score png iterations" "$(jq_get "$T/resp/png" iterations)" 3
tl_expect "score png width" "$(jq_get "$T/resp/png" width)" 28
tl_expect "score png anomalous" "$(jq_get "$T/resp/png" anomalous)" true
for k in reconstruction anomaly_map; do
    "$PY" -c 'import base64,json,struct,sys
d = json.load(open(sys.argv[1])); b = base64.b64decode(d[sys.argv[2] + "_png_base64"])
assert b[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", b[16:24]); assert (w, h) == (28, 28), (w, h)' "$T/resp/png" "$k" \
        && tl_ok || tl_bad "$k PNG is not a 28x28 PNG"
done
SCORE_PNG=$(jq_get "$T/resp/png" score)

# the line's verdict: a band of zero width at the threshold (random_model stores none), so the
# verdict is `anomalous`; identifiers echoed; the model's version is its file's SHA-256 prefix
tl_expect "verdict png" "$(jq_get "$T/resp/png" evaluation)" NOT_OK
tl_expect "band low = threshold" "$(jq_get "$T/resp/png" band.low)" 50
tl_expect "band source" "$(jq_get "$T/resp/png" band.source)" model
SHA=$(jq_get "$T/resp/models" models.0.sha256)
tl_expect "model_version" "$(jq_get "$T/resp/png" model_version)" "${SHA:0:12}"
tl_expect "regions array" "$("$PY" -c 'import json,sys; print(type(json.load(open(sys.argv[1]))["regions"]).__name__)' "$T/resp/png")" list
req line POST '/score?iterations=1&part_id=P-0042&station=st.7' "${PNG[@]}" --data-binary @"$DIGIT"
tl_expect "line ids" "$CODE $(jq_get "$T/resp/line" part_id) $(jq_get "$T/resp/line" station)" "200 P-0042 st.7"
conforms line
RID1=$(jq_get "$T/resp/line" result_id)
req line2 POST /score "${JSON[@]}" -d "{\"image\": {\"png_base64\": \"$B64\"}, \"iterations\": 1, \"part_id\": \"P-0043\", \"band_low\": 0, \"band_high\": 1e9}"
tl_expect "band per request" "$CODE $(jq_get "$T/resp/line2" evaluation) $(jq_get "$T/resp/line2" band.source)" "200 NOT_DECIDABLE request"
[ -n "$RID1" ] && [ "$RID1" != "$(jq_get "$T/resp/line2" result_id)" ] && tl_ok || tl_bad "result_id not unique: $RID1"
# the Open Inference Protocol beside (tests/v2_conformance.sh drives it in depth): its answers
# against openapi.yaml
for path in /v2 /v2/health/live /v2/health/ready /v2/models/tiny /v2/models/tiny/ready; do
    n=v2$(echo "$path" | tr '/' '_')
    req "$n" GET "$path"
    tl_expect "GET $path" "$CODE" 200
    conforms "$n"
done
req v2infer POST /v2/models/tiny/infer "${JSON[@]}" -d "{\"id\": \"a\", \"parameters\": {\"iterations\": 3}, \"inputs\": [{\"name\": \"image\", \"datatype\": \"BYTES\", \"shape\": [1], \"data\": [\"$B64\"]}]}"
tl_expect "v2 infer" "$CODE" 200
conforms v2infer
tl_expect "v2 score = /score" "$(jq_get "$T/resp/v2infer" outputs.0.data.0)" "$SCORE_PNG"
req v2bad POST /v2/models/tiny/infer "${JSON[@]}" -d '{"inputs": [{"name": "image", "datatype": "FP32", "shape": [1], "data": [1]}]}'
tl_expect "v2 wrong datatype" "$CODE" 400
conforms v2bad
req v2unknown GET /v2/models/nope
tl_expect "v2 unknown model" "$CODE" 404
conforms v2unknown
error bad_station 422 invalid_value POST '/score?station=a%2Fb' "${PNG[@]}" --data-binary @"$DIGIT"
error bad_band 422 invalid_value POST '/score?band_low=60&band_high=70' "${PNG[@]}" --data-binary @"$DIGIT"

# the same image as JSON base64 and as raw pixels: the same score (same settings, same seed)
req b64 POST /score "${JSON[@]}" -d "{\"image\": {\"png_base64\": \"$B64\"}, \"iterations\": 3}"
tl_expect "score json" "$CODE" 200
conforms b64
tl_expect "same score png/json" "$(jq_get "$T/resp/b64" score)" "$SCORE_PNG"
PIXELS=$("$PY" -c 'import zlib,struct,sys
b = open(sys.argv[1], "rb").read(); i = 8; idat = b""
while i < len(b):
    n, k = struct.unpack(">I4s", b[i:i+8]); d = b[i+8:i+8+n]; i += 12 + n
    if k == b"IHDR": w, h, depth, ct = struct.unpack(">IIBB", d[:10])
    if k == b"IDAT": idat += d
assert depth == 8 and ct == 0
raw = zlib.decompress(idat); rows = []; prev = bytes(w)
for y in range(h):
    f = raw[y*(w+1)]; line = bytearray(raw[y*(w+1)+1:(y+1)*(w+1)])
    for x in range(w):
        a = line[x-1] if x else 0; up = prev[x]; c = prev[x-1] if x else 0
        p = a + up - c; pa, pb, pc = abs(p-a), abs(p-up), abs(p-c)
        pr = a if pa <= pb and pa <= pc else up if pb <= pc else c
        line[x] = (line[x] + [0, a, up, (a+up)//2, pr][f]) & 255
    rows.append(bytes(line)); prev = bytes(line)
print(",".join(str(v) for r in rows for v in r))' "$DIGIT")
req pixels POST /score "${JSON[@]}" -d "{\"image\": {\"width\": 28, \"height\": 28, \"pixels\": [$PIXELS]}, \"iterations\": 3}"
tl_expect "score pixels" "$CODE" 200
tl_expect "same score png/pixels" "$(jq_get "$T/resp/pixels" score)" "$SCORE_PNG"
req plain POST '/score?model=plain&iterations=2&seed=5' "${PNG[@]}" --data-binary @"$DIGIT"
tl_expect "score other model" "$CODE" 200
tl_expect "other model name" "$(jq_get "$T/resp/plain" model)" plain
tl_expect "other model search" "$(jq_get "$T/resp/plain" search)" random
tl_expect "no threshold" "$(jq_get "$T/resp/plain" anomalous)" null
tl_expect "no threshold, no verdict" "$(jq_get "$T/resp/plain" evaluation)" NOT_DECIDABLE

# /score/batch: one answer each, each equal to the image's score alone
B64_2=$(base64 -w0 "$TWO")
req batch POST /score/batch "${JSON[@]}" \
    -d "{\"images\": [{\"png_base64\": \"$B64\"}, {\"png_base64\": \"$B64_2\"}], \"iterations\": 3}"
tl_expect "batch" "$CODE" 200
conforms batch
tl_expect "batch count" "$(jq_get "$T/resp/batch" count)" 2
tl_expect "batch size" "$(jq_get "$T/resp/batch" batch)" 2
tl_expect "batch[0] = alone" "$(jq_get "$T/resp/batch" results.0.score)" "$SCORE_PNG"
tl_expect "batch[0] verdict" "$(jq_get "$T/resp/batch" results.0.evaluation)" NOT_OK
req two POST '/score?iterations=3' "${PNG[@]}" --data-binary @"$TWO"
tl_expect "batch[1] = alone" "$(jq_get "$T/resp/batch" results.1.score)" "$(jq_get "$T/resp/two" score)"

# graph
if [ ${#GCN_ARGS[@]} -gt 0 ]; then
    req graph POST /graph/classify "${JSON[@]}" -d '{"nodes": [0, 1, 2707]}'
    tl_expect "graph" "$CODE" 200
    conforms graph
    tl_expect "graph node 0 training" "$(jq_get "$T/resp/graph" nodes.0.training)" true
    req graph2 POST /graph/classify "${JSON[@]}" \
        -d '{"graph": {"features": [[1, 0, 1], {"7": 2}], "edges": [[0, 1]]}, "nodes": [1]}'
    tl_expect "graph inductive" "$CODE" 200
    conforms graph2
    tl_expect "graph inductive name" "$(jq_get "$T/resp/graph2" graph)" request
    error g404 404 unknown_node POST /graph/classify "${JSON[@]}" -d '{"nodes": [0, 99999]}'
    error g422 422 invalid_value POST /graph/classify "${JSON[@]}" -d '{"nodes": ["a"]}'
    error g422b 422 invalid_value POST /graph/classify "${JSON[@]}" \
        -d '{"graph": {"features": [[1]], "edges": [[0, 5]]}}'
    error gmodel 404 unknown_model POST /graph/classify "${JSON[@]}" -d '{"nodes": [0], "model": "x"}'
    error g415 415 unsupported_media_type POST /graph/classify -H 'Content-Type: text/plain' -d 'x'
fi

# every error of the contract
error e400json 400 bad_json POST /score "${JSON[@]}" -d '{"image": '
error e400png 400 bad_png POST /score "${PNG[@]}" --data-binary @"$T/notpng.png"
error e400trunc 400 bad_png POST /score "${PNG[@]}" --data-binary @"$T/truncated.png"
error e400b64 400 bad_base64 POST /score "${JSON[@]}" -d '{"image": {"png_base64": "%%%"}}'
error e400empty 400 empty_body POST /score "${PNG[@]}"
error e404 404 not_found GET /nothing-here
error e404model 404 unknown_model POST '/score?model=nope' "${PNG[@]}" --data-binary @"$DIGIT"
error e405 405 method_not_allowed GET /score
tl_expect "405 Allow" "$(header e405 Allow)" POST
error e405b 405 method_not_allowed DELETE /models
error e413 413 body_too_large POST /score "${PNG[@]}" --data-binary @"$T/big.bin"
error e413chunked 413 body_too_large POST /score "${PNG[@]}" -H 'Transfer-Encoding: chunked' \
    --data-binary @"$T/big.bin"
error e413img 413 image_too_large POST /score "${PNG[@]}" --data-binary @"$T/wide.png"
error e413many 413 too_many_images POST /score/batch "${JSON[@]}" -d "{\"images\": [$(printf '{"png_base64": "%s"},' "$B64" "$B64" "$B64" "$B64"){\"png_base64\": \"$B64\"}]}"
error e415 415 unsupported_media_type POST /score -H 'Content-Type: image/gif' --data-binary @"$DIGIT"
error e415b 415 unsupported_media_type POST /score/batch "${PNG[@]}" --data-binary @"$DIGIT"
error e422pix 422 invalid_value POST /score "${JSON[@]}" -d '{"image": {"width": 2, "height": 2, "pixels": [1, 2, 3]}}'
error e422it 422 invalid_value POST '/score?iterations=501' "${PNG[@]}" --data-binary @"$DIGIT"
error e422enc 422 invalid_value POST '/score?model=plain&search=encoder' "${PNG[@]}" --data-binary @"$DIGIT"
error e422img 422 invalid_value POST /score "${JSON[@]}" -d '{"picture": {}}'

# a truncated body (Content-Length promises more than is sent, then the client goes away) and a
# client that never finishes its headers: the daemon stays healthy
"$PY" - "$PORT" << 'EOF'
import socket, sys
port = int(sys.argv[1])
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n\x89PNG\r\n")
s.close()
s = socket.create_connection(("127.0.0.1", port))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
s.close()
EOF
req after_trunc GET /healthz
tl_expect "healthy after truncated bodies" "$CODE" 200

echo "[$(date +%T)] 50 concurrent requests on a small queue: every one answered, 200 or 503," \
     "each 503 held for the refusal delay"
start busy --models "$T/models" --workers 2 --queue 4 --max-batch 4 --refusal-delay-ms 300
mkdir -p "$T/conc"
CONC=()
for i in $(seq 1 50); do
    curl -s -o "$T/conc/$i.body" -D "$T/conc/$i.h" -w '%{http_code} %{time_total}' --max-time 120 \
        "${PNG[@]}" --data-binary @"$DIGIT" "http://127.0.0.1:$PORT/score?iterations=40" \
        > "$T/conc/$i.code" &
    CONC+=($!)
done
wait "${CONC[@]}" # each curl gives up after --max-time, so this cannot hang
n200=0; n503=0; other=0
for i in $(seq 1 50); do
    read -r c secs < "$T/conc/$i.code"
    case $c in
    200) n200=$((n200 + 1)) ;;
    503) n503=$((n503 + 1))
         grep -qi '^Retry-After: ' "$T/conc/$i.h" || tl_bad "503 without Retry-After"
         grep -q '"queue_full"' "$T/conc/$i.body" || tl_bad "503 is not queue_full"
         awk -v s="$secs" 'BEGIN { exit !(s >= 0.29) }' || tl_bad "a 503 came after ${secs}s, before the 0.3 s refusal delay" ;;
    *) other=$((other + 1)) ;;
    esac
done
echo "concurrency: 50 requests -> $n200 x 200, $n503 x 503, $other other"
tl_expect "50 concurrent all answered 200/503" "$((n200 + n503))" 50
[ "$n200" -ge 6 ] && tl_ok || tl_bad "too few 200s under load ($n200)"
[ "$n503" -ge 1 ] && tl_ok || tl_bad "a queue of 4 took 50 simultaneous requests without a 503"
maxbatch=$(cat "$T"/conc/*.body | grep -o '"batch":[0-9]*' | cut -d: -f2 | sort -n | tail -1)
[ "${maxbatch:-0}" -ge 2 ] && tl_ok || tl_bad "no request was batched with another under load (max batch ${maxbatch:-?})"
req m GET /metrics
tl_expect "metrics" "$CODE" 200
conforms m
grep -q "^inspectd_http_requests_total{route=\"/score\",status=\"200\"} $n200$" "$T/resp/m" && tl_ok \
    || tl_bad "metrics do not count $n200 answers 200 on /score"
grep -q "^inspectd_queue_rejected_total $n503$" "$T/resp/m" && tl_ok || tl_bad "metrics do not count $n503 rejections"
grep -q '^inspectd_images_scored_total ' "$T/resp/m" && tl_ok || tl_bad "no images_scored metric"
lines=$(grep -c '^access .* path=/score status=' "$T/busy.log")
tl_expect "one access-log line per request" "$lines" 50
grep -q '^access .*status=200 ms=[0-9.]* .*batch=' "$T/busy.log" && tl_ok || tl_bad "access log line lacks ms/batch"

echo "[$(date +%T)] the API key, and the idle timeout"
echo "s3cret-key" > "$T/key"
start keyed --models "$T/models" --api-key-file "$T/key" --timeout 1
"$PY" - "$PORT" << 'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # headers never finished
s.settimeout(10)
t = time.time()
data = s.recv(1000)
sys.exit(0 if data == b"" and time.time() - t < 5 else 1)
EOF
if [ $? -eq 0 ]; then tl_ok; else tl_bad "a stalled connection was not closed after --timeout 1"; fi
req k1 GET /healthz
tl_expect "healthz without key" "$CODE" 200
error k2 401 unauthorized GET /models
[ -n "$(header k2 WWW-Authenticate)" ] && tl_ok || tl_bad "401 without WWW-Authenticate"
error k3 401 unauthorized GET /models -H 'Authorization: Bearer wrong'
error k4 401 unauthorized POST /score "${PNG[@]}" --data-binary @"$DIGIT"
req k5 GET /models -H 'Authorization: Bearer s3cret-key'
tl_expect "models with key" "$CODE" 200
req k6 POST '/score?iterations=1' "${PNG[@]}" -H 'Authorization: Bearer s3cret-key' --data-binary @"$DIGIT"
tl_expect "score with key" "$CODE" 200

echo "[$(date +%T)] deadlines: work still queued past its deadline is dropped with 504, counted"
start deadline --models "$T/models" --workers 1 --max-iterations 5000
curl -s -o /dev/null --max-time 120 "${PNG[@]}" --data-binary @"$DIGIT" \
    "http://127.0.0.1:$PORT/score?iterations=3000&search=random" &
LONG=$!
for _ in $(seq 1 400); do
    curl -s "http://127.0.0.1:$PORT/metrics" | grep -q '^inspectd_workers_busy 1$' && break
    sleep 0.02
done
error late_header 504 deadline_exceeded POST '/score?iterations=1' "${PNG[@]}" -H 'X-Deadline-Ms: 1' --data-binary @"$DIGIT"
error late_body 504 deadline_exceeded POST /score "${JSON[@]}" -d "{\"image\": {\"png_base64\": \"$B64\"}, \"iterations\": 1, \"deadline_ms\": 1}"
req late_v2 POST /v2/models/tiny/infer "${JSON[@]}" -d "{\"parameters\": {\"deadline_ms\": 1}, \"inputs\": [{\"name\": \"image\", \"datatype\": \"BYTES\", \"shape\": [1], \"data\": [\"$B64\"]}]}"
tl_expect "v2 deadline" "$CODE" 504
error bad_deadline 422 invalid_value POST '/score' "${PNG[@]}" -H 'X-Deadline-Ms: soon' --data-binary @"$DIGIT"
wait "$LONG"
req in_time POST '/score?iterations=1&deadline_ms=60000' "${PNG[@]}" --data-binary @"$DIGIT"
tl_expect "in time" "$CODE" 200
req dm GET /metrics
grep -q '^inspectd_deadline_expired_total 3$' "$T/resp/dm" && tl_ok || tl_bad "metrics do not count 3 expired jobs: $(grep deadline "$T/resp/dm")"
kill -TERM "$PID"; wait "$PID"

echo "[$(date +%T)] SIGTERM during work: in-flight requests finish, the daemon exits 0, the port closes"
start term --models "$T/models" --workers 1 --max-iterations 5000 --shutdown-timeout 600
CONC=()
for i in 1 2 3; do
    curl -s -o "$T/resp/t$i" -w '%{http_code}' --max-time 120 "${PNG[@]}" --data-binary @"$DIGIT" \
        "http://127.0.0.1:$PORT/score?iterations=800&search=random" > "$T/resp/t$i.code" &
    CONC+=($!)
done
# all three received (in flight: those three and this /metrics request), the worker searching
for _ in $(seq 1 400); do
    curl -s "http://127.0.0.1:$PORT/metrics" > "$T/term.metrics"
    grep -q '^inspectd_workers_busy 1$' "$T/term.metrics" && grep -q '^inspectd_http_in_flight 4$' "$T/term.metrics" && break
    sleep 0.02
done
grep -q '^inspectd_http_in_flight 4$' "$T/term.metrics" && tl_ok || tl_bad "the three requests never got in flight"
kill -TERM "$PID"
wait "$PID"
tl_expect "exit status after SIGTERM" "$?" 0
wait "${CONC[@]}"
for i in 1 2 3; do tl_expect "in-flight request $i after SIGTERM" "$(cat "$T/resp/t$i.code")" 200; done
grep -q '^shutdown signal=SIGTERM' "$T/term.log" && tl_ok || tl_bad "no shutdown line"
grep -q '^stopped' "$T/term.log" && tl_ok || tl_bad "no stopped line"
curl -s --max-time 2 "http://127.0.0.1:$PORT/healthz" > /dev/null && tl_bad "port still open after exit" || tl_ok

echo "[$(date +%T)] a bad model file: clear message, non-zero exit, port never opened"
"$BIN" serve --port 0 --models "$T/bad" > "$T/bad.log" 2>&1
rc=$?
[ "$rc" -ne 0 ] && tl_ok || tl_bad "bad model file: exit status 0"
grep -q 'broken.safetensors' "$T/bad.log" && tl_ok || tl_bad "bad model message does not name the file: $(cat "$T/bad.log")"
grep -q '^listening' "$T/bad.log" && tl_bad "bad model: port opened" || tl_ok
"$BIN" serve --port 0 --models "$T/nonexistent" > "$T/bad2.log" 2>&1 && tl_bad "missing models folder: exit 0" || tl_ok
"$BIN" serve --port 99999 > /dev/null 2>&1
tl_expect "bad flag exit status" "$?" 2
"$BIN" serve --port 0 --precision fp64 > "$T/prec.log" 2>&1
tl_expect "bad --precision exit status" "$?" 2
grep -q "expected fp32 or bf16" "$T/prec.log" && tl_ok || tl_bad "bad --precision message: $(cat "$T/prec.log")"

echo "[$(date +%T)] the compute line: OpenBLAS never left on its generic kernels where the CPU has AVX2"
compute=$(grep '^compute: ' "$T/main.log")
[ -n "$compute" ] && tl_ok || tl_bad "no compute line in the start-up log"
if grep -qw avx2 /proc/cpuinfo && [ -z "${OPENBLAS_CORETYPE:-}" ]; then
    case "$compute" in
    *"Prescott kernels"* | *"Nehalem kernels"* | *"Core2 kernels"*) tl_bad "slow BLAS kernels: $compute" ;;
    *) tl_ok ;;
    esac
fi
echo "$compute"

echo "[$(date +%T)] every saved response against openapi.yaml"
if "$PY" "$SRC/tests/openapi_check.py" "$SRC/openapi.yaml" "$T/conforms.list"; then tl_ok
else tl_bad "responses that do not match openapi.yaml (above)"; fi

echo "[$(date +%T)] openapi.yaml lint (needs node/npm and the registry, else skipped)"
if command -v npx > /dev/null && command -v npm > /dev/null; then
    LINT=$BUILD/openapi-lint
    if [ ! -x "$LINT/node_modules/.bin/redocly" ]; then
        mkdir -p "$LINT"
        timeout 300 npm install --no-audit --no-fund --prefix "$LINT" @redocly/cli > "$LINT/install.log" 2>&1 \
            || echo "note: could not install @redocly/cli (offline?); openapi lint skipped"
    fi
    if [ -x "$LINT/node_modules/.bin/redocly" ]; then
        if "$LINT/node_modules/.bin/redocly" lint "$SRC/openapi.yaml" > "$T/lint.log" 2>&1; then tl_ok
        else tl_bad "redocly lint openapi.yaml"; cat "$T/lint.log"; fi
    fi
else
    echo "note: node/npm not installed; openapi lint skipped"
fi

echo "[$(date +%T)] every daemon stops cleanly on SIGTERM; no sanitizer reports in any log"
for p in "${TL_PIDS[@]}"; do
    if kill -TERM "$p" 2> /dev/null; then
        wait "$p"
        tl_expect "exit status of daemon $p after SIGTERM" "$?" 0
    fi
done
TL_PIDS=()
if grep -l -E 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:|WARNING: ThreadSanitizer' "$T"/*.log; then
    tl_bad "sanitizer reports in the daemon logs (above)"
    grep -h -A20 -E 'ERROR: |runtime error:|WARNING: ThreadSanitizer' "$T"/*.log | head -80
else
    tl_ok
fi

tl_checks_done integration
