#!/bin/bash
# soak.sh: a bounded soak of one inspectd (SOAK_SECONDS, default 120): mixed valid and invalid
# requests at high concurrency (wrk, 64 connections) in bursts, with oversized, truncated and
# stalled clients between them, against a daemon with a small queue. Checks that
#   - every request gets an answer: no socket errors, no timeouts, and every status is one the
#     API defines for that kind of request (2xx, 4xx) or 503 with Retry-After; never a 5xx else,
#   - each kind of request answers the same after the soak as before it,
#   - /healthz keeps answering during the bursts,
#   - resident memory (VmRSS) does not grow after warm-up beyond a small margin,
#   - open file descriptors come back to their idle count (no leak from any client behaviour).
# Prints the RSS and fd samples. Exit 0 pass, 1 fail, 77 skipped (wrk/curl or model missing).
set -u
SRC=${INSPECTD_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
. "$SRC/scripts/test-lib.sh"

for tool in wrk curl awk; do
    command -v "$tool" >/dev/null || tl_skip "$tool is not installed"
done
[ -d /proc/self/fd ] || tl_skip "no /proc (RSS and fd counts come from /proc/PID)"
BIN=${1:-$(tl_find_bin "$SRC")} || tl_skip "no inspectd binary (build it, or set INSPECTD_BIN)"
tl_init inspectd-soak
T=$TL_TMP
MODELS=$(tl_find_models "$SRC") || tl_skip "no model: models/*.safetensors or ../shared/golden"

SECONDS_TOTAL=${SOAK_SECONDS:-120}
[ "$SECONDS_TOTAL" -ge 30 ] || SECONDS_TOTAL=30
CONNS=${SOAK_CONNECTIONS:-64}
BURST=10          # seconds per wrk burst
WARMUP=$((SECONDS_TOTAL / 5))
MAX_BODY=262144   # small, so oversized bodies are cheap to send
IDLE_TIMEOUT=3    # the daemon closes idle and stalled connections after this
# RSS may grow after warm-up by at most this (KiB): allocator arenas settle within it.
RSS_MARGIN_KB=${SOAK_RSS_MARGIN_KB:-16384}
ITERS=3

tl_pick_port PORT || tl_fail "no free port"
tl_start_daemon "$BIN" "$PORT" "$T/daemon.log" --models "$MODELS" --workers 2 --queue 16 \
    --iterations "$ITERS" --max-body "$MAX_BODY" --timeout "$IDLE_TIMEOUT"
DPID=$TL_LAST_PID
URL="http://127.0.0.1:$PORT"
tl_wait_status "$URL/readyz" 200 60 "$DPID" || { tail -20 "$T/daemon.log"; tl_fail "daemon did not become ready"; }
tl_log "daemon pid $DPID on port $PORT, models $MODELS, soak ${SECONDS_TOTAL}s at $CONNS connections"

# --- request bodies: one file per kind, and the status each kind must get -----------------
B="$T/bodies"
mkdir -p "$B"
tl_score_json "$B/score.json" "$ITERS" 1
tl_score_json "$B/recon.json" "$ITERS" 2 ', "reconstruction": true, "anomaly_map": true'
# A real PNG made by the daemon itself: the reconstruction of the image above.
curl -s -m 120 -H 'Content-Type: application/json' --data-binary @"$B/recon.json" "$URL/score" >"$T/recon.out"
sed -n 's/.*"reconstruction_png_base64" *: *"\([^"]*\)".*/\1/p' "$T/recon.out" | base64 -d >"$B/digit.png" 2>/dev/null
[ -s "$B/digit.png" ] || tl_fail "no reconstruction PNG in the /score answer: $(head -c 300 "$T/recon.out")"
{
    printf '{"images": ['
    sed -n 's/^{"image": \({[^}]*}\).*/\1/p' "$B/score.json"
    printf ','
    sed -n 's/^{"image": \({[^}]*}\).*/\1/p' "$B/score.json"
    printf '], "iterations": %d}\n' "$ITERS"
} >"$B/batch.json"
printf '{"image": [1, 2' >"$B/bad.json"
printf '{"image": {"width": 28, "height": 28, "channels": 1, "pixels": [1, 2, 3]}}' >"$B/short.json"
printf '{"image": {"width": 100000, "height": 100000, "channels": 1, "pixels": []}}' >"$B/huge.json"
sed 's/"iterations": [0-9]*/"iterations": 999999999/' "$B/score.json" >"$B/toomany.json"
sed 's/"iterations"/"model": "no-such-model", "iterations"/' "$B/score.json" >"$B/nomodel.json"
head -c 3000 /dev/urandom >"$B/garbage.png"
head -c 40 "$B/digit.png" >"$B/truncated.png"
printf 'hello' >"$B/text.txt"
: >"$B/empty"

# kind  method path content-type body  allowed statuses (besides 503 where a search is queued)
cat >"$T/kinds" <<EOF
score POST /score application/json $B/score.json 200
recon POST /score application/json $B/recon.json 200
png POST /score?iterations=$ITERS image/png $B/digit.png 200
batch POST /score/batch application/json $B/batch.json 200
models GET /models - - 200
metrics GET /metrics - - 200
healthz GET /healthz - - 200
readyz GET /readyz - - 200
bad_json POST /score application/json $B/bad.json 400
short_pixels POST /score application/json $B/short.json 400,422
huge_dims POST /score application/json $B/huge.json 400,413,422
too_many_iterations POST /score application/json $B/toomany.json 400,422
unknown_model POST /score application/json $B/nomodel.json 404
garbage_png POST /score image/png $B/garbage.png 400,415,422
truncated_png POST /score image/png $B/truncated.png 400,422
wrong_type POST /score text/plain $B/text.txt 400,415
empty_body POST /score application/json $B/empty 400
unknown_path GET /no/such/path - - 404
wrong_method DELETE /score - - 405
EOF
awk '{ print $2, $3, $4, $5 }' "$T/kinds" >"$T/spec"

# Sends each kind once; writes "kind status" lines to $1. A failure to answer is status 000.
probe_kinds() {
    local out="$1" kind method path ctype body allowed code
    : >"$out"
    while read -r kind method path ctype body allowed; do
        local args=(-s -o /dev/null -w '%{http_code}' -m 120 -X "$method")
        [ "$ctype" != - ] && args+=(-H "Content-Type: $ctype")
        [ "$body" != - ] && args+=(--data-binary @"$body")
        code=$(curl "${args[@]}" "$URL$path")
        echo "$kind $code $allowed" >>"$out"
    done <"$T/kinds"
}
check_kinds() {
    awk '{ n = split($3, a, ","); ok = 0; for (i = 1; i <= n; i++) if ($2 == a[i]) ok = 1
           if (!ok) { printf "  %s answered %s, want %s\n", $1, $2, $3; bad++ } }
         END { exit bad > 0 }' "$1"
}
probe_kinds "$T/kinds.before"
check_kinds "$T/kinds.before" || tl_fail "a request kind got the wrong answer before the soak"
tl_log "each of $(wc -l <"$T/kinds") request kinds answers as the API says: $(awk '{ printf "%s=%s ", $1, $2 }' "$T/kinds.before")"

# --- samplers: RSS and fds every second; /healthz during the bursts -----------------------
(
    while kill -0 "$DPID" 2>/dev/null; do
        echo "$(date +%s) $(tl_rss_kb "$DPID") $(tl_fds "$DPID")"
        sleep 1
    done
) >"$T/samples" &
tl_track $!

# Clients that misbehave: bodies over --max-body, bodies cut short, headers never finished.
misbehave() {
    local i pids=()
    head -c $((MAX_BODY + 1)) /dev/zero | tr '\0' 'x' >"$T/over.bin"
    for i in 1 2 3 4 5; do
        code=$(curl -s -o /dev/null -w '%{http_code}' -m 10 -H 'Content-Type: application/json' \
            --data-binary @"$T/over.bin" "$URL/score")
        [ "$code" = 413 ] || echo "oversized body answered $code, want 413" >>"$T/misbehave.err"
    done
    for i in $(seq 10); do
        # Content-Length promises 5000 bytes; 100 come, then the client hangs up.
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT" &&
            printf 'POST /score HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 5000\r\n\r\n%0100d' 0 >&3) 2>/dev/null
        # Headers never finished; the daemon's idle timeout must drop these.
        (exec 3<>"/dev/tcp/127.0.0.1/$PORT" && printf 'GET /healthz HTTP/1.1\r\nHost: x\r\n' >&3 &&
            sleep $((IDLE_TIMEOUT + 2))) 2>/dev/null &
        pids+=($!)
    done
    wait "${pids[@]}"
}

# --- the soak ---------------------------------------------------------------------------
t0=$(date +%s)
burst=0
: >"$T/health"
while [ $(($(date +%s) - t0 + BURST)) -le "$SECONDS_TOTAL" ]; do
    burst=$((burst + 1))
    wrk -t2 -c"$CONNS" -d"${BURST}s" --timeout 60s -s "$SRC/scripts/wrk-mix.lua" "$URL" -- "$T/spec" \
        >"$T/wrk.$burst" 2>&1 &
    wpid=$!
    tl_track "$wpid"
    for _ in $(seq $((BURST - 2))); do
        sleep 1
        echo "$(tl_status -m 5 "$URL/healthz")" >>"$T/health"
    done
    wait "$wpid" || tl_fail "wrk burst $burst failed: $(tail -3 "$T/wrk.$burst")"
    misbehave
    # Warm-up: the first burst, and any that end within the first fifth of the run.
    if [ "$burst" = 1 ] || [ $(($(date +%s) - t0)) -le "$WARMUP" ]; then
        date +%s >"$T/warm_until"
    fi
    kill -0 "$DPID" 2>/dev/null || { tail -20 "$T/daemon.log"; tl_fail "the daemon died in burst $burst"; }
done
# Let stalled connections time out, then take the idle figures.
sleep $((IDLE_TIMEOUT + 2))
final_rss=$(tl_rss_kb "$DPID")
final_fds=$(tl_fds "$DPID")
probe_kinds "$T/kinds.after"

# --- verdict ------------------------------------------------------------------------------
fails=0
check() { if ! eval "$1"; then echo "FAIL: $2"; fails=$((fails + 1)); fi; }

cat "$T"/wrk.* | awk '/^wrk-status/ { s[$2] += $3 } /^wrk-requests/ { n += $2 }
    /^wrk-errors/ { for (i = 2; i <= 5; i++) { split($i, kv, "="); e[kv[1]] += kv[2] } }
    /^wrk-no-retry-after/ { nr += $2 }
    END { printf "answers %d:", n; for (k in s) printf " %s=%d", k, s[k]; printf "\n"
          printf "socket errors: connect=%d read=%d write=%d timeout=%d; 503 without Retry-After: %d\n",
                 e["connect"], e["read"], e["write"], e["timeout"], nr
          bad = 0; for (k in s) if (k >= 500 && k != 503) bad += s[k]
          printf "TOTALS %d %d %d %d\n", n, bad, e["connect"] + e["read"] + e["write"] + e["timeout"], nr }' |
    tee "$T/totals"
read -r _ answers bad5xx sockerr noretry < <(grep '^TOTALS' "$T/totals")
check '[ "$answers" -gt 0 ]' "wrk got no answers"
check '[ "$bad5xx" = 0 ]' "$bad5xx answers were 5xx other than 503"
check '[ "$sockerr" = 0 ]' "$sockerr requests got no answer (socket errors or timeouts)"
check '[ "$noretry" = 0 ]' "$noretry answers 503 without Retry-After"
check '[ ! -s "$T/misbehave.err" ]' "$(sort "$T/misbehave.err" 2>/dev/null | uniq -c | head -3)"
check 'check_kinds "$T/kinds.after"' "a request kind answered differently after the soak"
hfail=$(grep -vc '^200$' "$T/health")
hall=$(wc -l <"$T/health")
check '[ "$hfail" = 0 ]' "/healthz failed $hfail of $hall times during the bursts"
echo "/healthz during the bursts: $((hall - hfail)) of $hall answered 200"

warm_until=$(cat "$T/warm_until" 2>/dev/null || echo "$t0")
awk -v w="$warm_until" -v t0="$t0" -v m="$RSS_MARGIN_KB" '
    $2 != "" { i++; t[i] = $1; r[i] = $2; f[i] = $3 }
    END {
        for (k = 1; k <= i; k++) {
            if (t[k] <= w) { base = r[k]; basef = f[k] }
            if (t[k] > w && r[k] > peak) peak = r[k]
            if ((t[k] - t0) % 10 == 0) printf "  t=%3ds rss=%6d KiB fds=%d\n", t[k] - t0, r[k], f[k]
        }
        printf "RSS %d %d\n", base, peak
    }' "$T/samples" | tee "$T/rss"
read -r _ base_rss peak_rss < <(grep '^RSS' "$T/rss")
idle_fds=$(awk 'NR == 1 { print $3 }' "$T/samples")
echo "rss: end of warm-up ${base_rss} KiB, peak after ${peak_rss} KiB, final ${final_rss} KiB; fds: idle ${idle_fds}, final ${final_fds}"
check '[ -n "$base_rss" ] && [ "$base_rss" -gt 0 ]' "no RSS samples"
check '[ "$peak_rss" -le $((base_rss + RSS_MARGIN_KB)) ]' \
    "RSS grew after warm-up: ${base_rss} -> ${peak_rss} KiB (margin ${RSS_MARGIN_KB} KiB)"
check '[ "$final_fds" -le $((idle_fds + 2)) ]' "open fds ${idle_fds} idle before, ${final_fds} after the soak (leak)"
kill -0 "$DPID" 2>/dev/null || check false "the daemon is not running at the end"
# A clean stop after all that: SIGTERM, exit 0 (under ASan, LeakSanitizer reports at this exit).
kill -TERM "$DPID"
wait "$DPID"
stop_rc=$?
check '[ "$stop_rc" = 0 ]' "the daemon exited $stop_rc on SIGTERM after the soak"
if grep -qE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error' "$T/daemon.log"; then
    grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error' "$T/daemon.log" | head -5
    check false "sanitizer report in the daemon log"
fi

[ "$fails" = 0 ] || { TL_KEEP=1; tl_fail "$fails soak checks failed"; }
echo "PASS: soak ($burst bursts, $answers answers)"
