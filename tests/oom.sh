#!/usr/bin/env bash
# oom.sh: the daemon when memory runs out on the request path. tests/failmalloc.c, loaded with
# LD_PRELOAD, makes every allocation of FAILMALLOC_MIN_BYTES or more fail, as a machine out of
# memory would for a large request, while everything smaller works. Three places are hit, each
# with its own daemon:
#   1. 32 MiB: a 4096x4096 PNG (the pixel cap) decodes (16 MiB), but its grey float plane in
#      anogan_preprocess (64 MiB) cannot be had: once an ASSERT that killed the daemon;
#   2. 12 MiB: the PNG decoder's own buffers (stb_image) cannot be had: once a 400 "corrupt PNG";
#   3. 12 MiB: a 13 MB body announced by Content-Length cannot be buffered (server/http.c).
# Each must answer 503 out_of_memory with Retry-After and a message saying what had no memory,
# the shim's log must show that it refused the allocation, and the same daemon must then answer
# a normal image 200 and /healthz 200, three times over. Exit 0 pass, 1 fail, 77 skipped.
set -u
SRC=${INSPECTD_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
. "$SRC/scripts/test-lib.sh"

[ "${INSPECTD_SANITIZED:-0}" = 1 ] &&
    tl_skip "a sanitizer build: ASan owns malloc, an LD_PRELOAD allocator cannot stand before it"
for tool in curl python3; do
    command -v "$tool" >/dev/null || tl_skip "$tool is not installed"
done
BIN=$(tl_find_bin "$SRC") || tl_skip "no inspectd binary (build it, or set INSPECTD_BIN)"
BUILD=${INSPECTD_BUILD:-$(dirname "$BIN")}
SHIM="$BUILD/failmalloc.so"
[ -r "$SHIM" ] && [ -x "$BUILD/random_model" ] || tl_skip "$SHIM or $BUILD/random_model not built"
tl_init inspectd-oom
T=$TL_TMP
FAILS=0
bad() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }

mkdir -p "$T/models"
"$BUILD/random_model" --out "$T/models/tiny.safetensors" --name tiny --encoder --width 4 >/dev/null ||
    tl_fail "random_model"
# The largest PNG the daemon takes (--max-side 4096, --max-pixels 16M): a grey gradient, which
# deflates to a small body. A 13 MB body for the HTTP buffer.
python3 - "$T/big.png" <<'PY'
import struct, sys, zlib
w = h = 4096
row = bytes(range(256)) * (w // 256)
raw = b"".join(b"\0" + row for _ in range(h))
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 0, 0, 0, 0))
png += chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
open(sys.argv[1], "wb").write(png)
PY
head -c $((13 << 20)) /dev/zero >"$T/huge.bin"
SMALL="$SRC/examples/normal-7.png"

# POSTs file $2 as $3 to $1; prints "STATUS CODE RETRY_AFTER" and keeps the body in $T/out.
post() {
    local status
    status=$(curl -s -m 60 -D "$T/headers" -o "$T/out" -w '%{http_code}' \
        -H "Content-Type: $3" --data-binary @"$2" "$1/score")
    local code retry
    code=$(sed -n 's/.*"code":"\([^"]*\)".*/\1/p' "$T/out")
    retry=$(tr -d '\r' <"$T/headers" | sed -n 's/^[Rr]etry-[Aa]fter: *//p')
    echo "$status ${code:--} ${retry:--}"
}

# run NAME MIN_BYTES FILE CONTENT_TYPE MESSAGE [daemon flags]: one daemon, one kind of failure.
run() {
    local name="$1" min="$2" file="$3" ctype="$4" message="$5"
    shift 5
    local port url pid got msg=""
    tl_pick_port port || tl_fail "no free port"
    url="http://127.0.0.1:$port"
    LD_PRELOAD="$SHIM" FAILMALLOC_MIN_BYTES="$min" \
        tl_start_daemon "$BIN" "$port" "$T/$name.log" --models "$T/models" --workers 1 \
        --iterations 2 "$@"
    pid=$TL_LAST_PID
    tl_wait_status "$url/readyz" 200 60 "$pid" ||
        { tail -20 "$T/$name.log"; tl_fail "$name: daemon did not start under the failing allocator"; }
    got=$(post "$url" "$SMALL" image/png)
    [ "${got%% *}" = 200 ] || bad "$name: a normal image before: $got $(head -c 200 "$T/out")"
    for round in 1 2 3; do
        got=$(post "$url" "$file" "$ctype")
        if [ "$got" != "503 out_of_memory 1" ]; then
            bad "$name, round $round: got '$got', want '503 out_of_memory 1': $(head -c 300 "$T/out")"
        elif ! grep -q "$message" "$T/out"; then
            bad "$name: the message does not say '$message': $(cat "$T/out")"
        fi
        msg=$(sed -n 's/.*"message":"\([^"]*\)".*/\1/p' "$T/out")
        kill -0 "$pid" 2>/dev/null || { tail -20 "$T/$name.log"; tl_fail "$name: the daemon died"; }
        got=$(post "$url" "$SMALL" image/png)
        [ "${got%% *}" = 200 ] || bad "$name, round $round: a normal image after: $got"
        [ "$(tl_status "$url/healthz")" = 200 ] || bad "$name, round $round: /healthz after"
    done
    grep -q '^failmalloc: refused ' "$T/$name.log" ||
        bad "$name: the shim refused nothing (is LD_PRELOAD honoured?)"
    tl_log "$name: $(grep -c '^failmalloc: refused ' "$T/$name.log") allocations refused; 3 x 503 ($msg), 4 x 200"
    kill "$pid"
    wait "$pid" 2>/dev/null
}

run preprocess $((32 << 20)) "$T/big.png" image/png "no memory to preprocess"
run decode $((12 << 20)) "$T/big.png" image/png "no memory to decode"
run body $((12 << 20)) "$T/huge.bin" image/png "no memory for the request body" --max-body 16777216

[ "$FAILS" = 0 ] || tl_fail "$FAILS checks failed"
echo "PASS: oom (preprocess, decode and body allocations refused: 503 each time, the daemon kept serving)"
