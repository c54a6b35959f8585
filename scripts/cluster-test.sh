#!/bin/bash
# cluster-test.sh: the docker-compose topology without Docker. Starts three inspectd replicas and
# nginx (the Debian package) with docker/nginx.conf, templated only for loopback ports, drives
# load through nginx with wrk, kills one replica with SIGKILL in the middle, restarts it later,
# and checks from nginx's access log and wrk's counts that
#   - no request was lost except ones in flight on the killed replica at the moment it died,
#   - the other replicas kept answering without a stall, and the restarted one rejoined,
#   - passive health checks kept traffic off the dead replica,
#   - under overload every answer is 200 or 503 with Retry-After, nothing hangs or resets,
#   - the body limit answers 413 in the daemon's JSON error shape at nginx and at the daemon,
#   - a replica stopped with SIGTERM under load drains and exits 0 without losing a request,
#   - the commented TLS server block works when uncommented (when openssl is installed),
#   - docker/healthcheck.sh tells a live replica from a dead one.
# Everything on 127.0.0.1, bounded in time (about a minute; CLUSTER_SECONDS, default 24, sets the
# load phase; under two minutes on a busy 2-core machine), processes cleaned up by trap.
# Exit 0 pass, 1 fail, 77 skipped (a tool or the model missing).
#
#   scripts/cluster-test.sh [path/to/inspectd]
set -u
SRC=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
. "$SRC/scripts/test-lib.sh"

NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
for tool in "$NGINX" wrk curl awk; do
    command -v "$tool" >/dev/null 2>&1 || [ -x "$tool" ] || tl_skip "$tool is not installed"
done
BIN=${1:-$(tl_find_bin "$SRC")} || tl_skip "no inspectd binary (build it, or set INSPECTD_BIN)"
tl_init inspectd-cluster
T=$TL_TMP
MODELS=$(tl_find_models "$SRC") || tl_skip "no model: models/*.safetensors or ../shared/golden"
DURATION=${CLUSTER_SECONDS:-24}
CONNS=12
WORKERS=1
QUEUE=8
# Small searches keep the test quick on 2 cores; the topology is what is under test.
ITERS=1

tl_log "binary $BIN, models $MODELS, load ${DURATION}s at $CONNS connections"

# --- replicas -----------------------------------------------------------------------------
PORTS=()
PIDS=()
for i in 0 1 2; do
    tl_pick_port "PORTS[$i]" || tl_fail "no free port"
done
start_replica() {
    local i=$1
    tl_start_daemon "$BIN" "${PORTS[i]}" "$T/replica$i.log" --models "$MODELS" \
        --workers "$WORKERS" --queue "$QUEUE" --iterations "$ITERS"
    PIDS[i]=$TL_LAST_PID
}
for i in 0 1 2; do start_replica "$i"; done
for i in 0 1 2; do
    tl_wait_status "http://127.0.0.1:${PORTS[i]}/readyz" 200 60 "${PIDS[i]}" || {
        tail -20 "$T/replica$i.log"
        tl_fail "replica $i on port ${PORTS[i]} did not become ready"
    }
done
tl_log "replicas ready on ports ${PORTS[*]}"

# The container health check script against a live and a dead port.
INSPECTD_PORT=${PORTS[0]} bash "$SRC/docker/healthcheck.sh" || tl_fail "healthcheck.sh: live replica reported unhealthy"
tl_pick_port DEAD_PORT
if INSPECTD_PORT=$DEAD_PORT bash "$SRC/docker/healthcheck.sh" 2>/dev/null; then
    tl_fail "healthcheck.sh: a closed port reported healthy"
fi

# --- nginx --------------------------------------------------------------------------------
tl_pick_port NPORT || tl_fail "no free port"
TLS_PORT=""
if command -v openssl >/dev/null; then
    tl_pick_port TLS_PORT
    mkdir -p "$T/certs"
    openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
        -keyout "$T/certs/tls.key" -out "$T/certs/tls.crt" >/dev/null 2>&1 || TLS_PORT=""
fi
mkdir -p "$T/nginx"
tl_nginx_conf "$SRC/docker/nginx.conf" "$T/nginx/nginx.conf" "$NPORT" "$T/nginx" \
    "${PORTS[*]}" "$TLS_PORT" "$T/certs" || tl_fail "could not template docker/nginx.conf"
NGX=("$NGINX" -p "$T/nginx" -e "$T/nginx/error.log" -c "$T/nginx/nginx.conf")
"${NGX[@]}" -t -g "pid $T/nginx/nginx.pid;" >"$T/nginx-t.log" 2>&1 || {
    cat "$T/nginx-t.log" "$T/nginx/error.log" 2>/dev/null
    tl_fail "nginx -t rejected the templated docker/nginx.conf"
}
"${NGX[@]}" -g "pid $T/nginx/nginx.pid; daemon off;" >"$T/access.log" 2>"$T/nginx.stderr" &
NGINX_PID=$!
tl_track "$NGINX_PID"
tl_wait_status "http://127.0.0.1:$NPORT/nginx-health" 200 10 "$NGINX_PID" || {
    cat "$T/nginx.stderr" "$T/nginx/error.log" 2>/dev/null
    tl_fail "nginx did not start"
}
tl_wait_status "http://127.0.0.1:$NPORT/healthz" 200 10 || tl_fail "/healthz through nginx"
tl_log "nginx on port $NPORT${TLS_PORT:+, TLS on $TLS_PORT}"

# --- single requests through nginx ----------------------------------------------------------
tl_score_json "$T/score.json" "$ITERS" 7
code=$(curl -s -o "$T/score.out" -w '%{http_code}' -m 60 -H 'Content-Type: application/json' \
    --data-binary @"$T/score.json" "http://127.0.0.1:$NPORT/score")
[ "$code" = 200 ] || { cat "$T/score.out"; tl_fail "POST /score through nginx: HTTP $code"; }
grep -q '"score"' "$T/score.out" || tl_fail "POST /score through nginx: no score in $(head -c 300 "$T/score.out")"

# Body limit: nginx's client_max_body_size and the daemon's --max-body (8 MiB both) answer 413
# with the same JSON error shape. 9 MiB of JSON-looking bytes.
head -c $((9 << 20)) /dev/zero | tr '\0' ' ' >"$T/big.json"
for target in "nginx:$NPORT" "replica:${PORTS[0]}"; do
    code=$(curl -s -o "$T/big.out" -w '%{http_code}' -m 30 -H 'Content-Type: application/json' \
        --data-binary @"$T/big.json" "http://127.0.0.1:${target#*:}/score")
    [ "$code" = 413 ] || tl_fail "9 MiB body at ${target%%:*}: HTTP $code, want 413"
    grep -q '"error"' "$T/big.out" && grep -q '"code"' "$T/big.out" ||
        tl_fail "413 at ${target%%:*} is not the JSON error shape: $(head -c 200 "$T/big.out")"
done
# 8 MiB minus a little passes nginx and reaches the daemon (which rejects it as bad JSON, 400),
# so nginx's limit is not tighter than the daemon's.
head -c $(((8 << 20) - 4096)) /dev/zero | tr '\0' ' ' >"$T/big.json"
code=$(curl -s -o "$T/big.out" -w '%{http_code}' -m 30 -H 'Content-Type: application/json' \
    --data-binary @"$T/big.json" "http://127.0.0.1:$NPORT/score")
[ "$code" != 413 ] || tl_fail "a body just under 8 MiB was refused by nginx (client_max_body_size below --max-body)"
rm -f "$T/big.json"

if [ -n "$TLS_PORT" ]; then
    code=$(curl -sk -o "$T/tls.out" -w '%{http_code}' -m 60 -H 'Content-Type: application/json' \
        --data-binary @"$T/score.json" "https://127.0.0.1:$TLS_PORT/score")
    [ "$code" = 200 ] || tl_fail "POST /score over TLS (the commented server block): HTTP $code"
    hsts=$(curl -sk -D - -o /dev/null "https://127.0.0.1:$TLS_PORT/healthz" | grep -ci '^strict-transport-security')
    [ "$hsts" = 1 ] || tl_fail "TLS block: no Strict-Transport-Security header"
    tl_log "TLS server block answers"
fi

# --- load, kill, restart --------------------------------------------------------------------
echo "POST /score application/json $T/score.json" >"$T/spec"
: >"$T/access.log" # only the load phase from here on (nginx appends to the same open file)
t_start=$(date +%s.%N)
# wrk runs until interrupted (SIGINT: it stops and prints its counts), with a hard upper bound.
wrk -t2 -c"$CONNS" -d120s --timeout 30s -s "$SRC/scripts/wrk-mix.lua" \
    "http://127.0.0.1:$NPORT" -- "$T/spec" >"$T/wrk.out" 2>&1 &
WRK_PID=$!
tl_track "$WRK_PID"
QUARTER=$(awk -v d="$DURATION" 'BEGIN { print d / 4 }')
sleep "$QUARTER"
KILLED=1
t_kill=$(date +%s.%N)
kill -9 "${PIDS[KILLED]}"
wait "${PIDS[KILLED]}" 2>/dev/null
tl_log "killed replica $KILLED (port ${PORTS[KILLED]}) with SIGKILL"
sleep "$QUARTER"
t_restart=$(date +%s.%N)
start_replica "$KILLED"
# Loading takes seconds on a busy machine (more under ASan); keep the load on until nginx has had
# fail_timeout (5 s) and a few requests to take the replica back, and at least a quarter more.
tl_wait_status "http://127.0.0.1:${PORTS[KILLED]}/readyz" 200 60 "${PIDS[KILLED]}" ||
    tl_fail "the restarted replica did not become ready"
t_ready=$(date +%s.%N)
tl_log "restarted replica $KILLED, ready after $(awk -v a="$t_restart" -v b="$t_ready" 'BEGIN { printf "%.1f", b - a }') s"
sleep "$(awk -v q="$QUARTER" 'BEGIN { print (q > 8 ? q : 8) }')"
kill -INT "$WRK_PID"
wait "$WRK_PID"
wrk_rc=$?
t_end=$(date +%s.%N)
sleep 0.5
cat "$T/wrk.out"
[ "$wrk_rc" = 0 ] || tl_fail "wrk exited with $wrk_rc"

# --- accounting ---------------------------------------------------------------------------
# One line per /score request: t status start upstreams ustatuses (upstream lists joined by ',').
awk '/"POST \/score / {
    status = $6
    match($0, / rt=[^ ]+/); rt = substr($0, RSTART + 4, RLENGTH - 4)
    match($0, / upstream=.* ustatus=/); up = substr($0, RSTART + 10, RLENGTH - 19)
    match($0, / ustatus=.* urt=/); us = substr($0, RSTART + 9, RLENGTH - 14)
    match($0, / t=[^ ]+/); t = substr($0, RSTART + 3, RLENGTH - 3)
    gsub(/ /, "", up); gsub(/ /, "", us); gsub(/:/, ",", us)
    printf "%s %s %.3f %s %s\n", t, status, t - rt, up, us
}' "$T/access.log" >"$T/requests"

wrk_done=$(awk '/^wrk-requests/ { print $2 }' "$T/wrk.out")
read -r e_connect e_read e_write e_timeout < <(awk '/^wrk-errors/ {
    for (i = 2; i <= 5; i++) { split($i, kv, "="); printf "%s ", kv[2] } }' "$T/wrk.out")
[ -n "$wrk_done" ] || tl_fail "no counts from wrk"

dead="127.0.0.1:${PORTS[KILLED]}"
# Median latency of the answers before the kill: what "slow" means on this machine today.
med=$(awk -v tk="$t_kill" '$2 == 200 && $1 < tk { print $1 - $3 }' "$T/requests" | sort -n |
    awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : 0 }')
sort -n "$T/requests" | awk -v dead="$dead" -v tk="$t_kill" -v tr="$t_restart" -v te="$t_end" -v trd="$t_ready" \
    -v med="$med" -v p0="127.0.0.1:${PORTS[0]}" -v p2="127.0.0.1:${PORTS[2]}" '
{
    t = $1; st = $2; start = $3; n = split($4, up, ","); last = up[n]
    nu = split($5, us, ","); lastus = us[nu]
    total++
    on_dead = index($4, dead) && start <= tk + 0.2 && t >= tk - 0.2
    if (on_dead) inflight++
    if (t > tk + 1 && t < tr) { after++; if (index($4, dead)) tried_dead++ }
    if (st == 200) {
        ok++
        if (t > tk && t < tr && last == p0) ok0++
        if (t > tk && t < tr && last == p2) ok2++
        if (t > trd && last == dead) rejoined++
        # longest time without any answer, from the kill to the end of the load
        if (t > tk) { from = prev > tk ? prev : tk; if (t - from > gap) gap = t - from }
        prev = t
    } else if (st == 503 && lastus == 503) {
        busy++
    } else if (st == 499 && t >= te - 1) {
        cut++
    } else {
        lost++
        if (!on_dead) stray++
        printf "lost: %s\n", $0
    }
}
END {
    if (te - 1 - prev > gap) gap = te - 1 - prev
    # a stall is a gap longer than 5 s or 3 median latencies before the kill (slow machines)
    bound = 3 * med > 5 ? 3 * med : 5
    printf "requests=%d ok=%d busy503=%d cut_at_end=%d lost=%d inflight_on_killed=%d\n", total, ok, busy, cut, lost, inflight
    printf "after the kill: ok_replica0=%d ok_replica2=%d tried_dead=%d of %d; rejoined_ok=%d; longest gap %.1f s (bound %.1f s)\n", ok0, ok2, tried_dead, after, rejoined, gap, bound
    printf "SUMMARY %d %d %d %d %d %d %d %d %d %d %d %d %d\n", total, ok, busy, cut, lost, inflight, stray, ok0, ok2, tried_dead, after, rejoined, (gap <= bound)
}' | tee "$T/summary"
read -r _ total ok busy cut lost inflight stray ok0 ok2 tried_dead after rejoined gap_ok < <(grep '^SUMMARY' "$T/summary")
dead_s=$(awk -v a="$t_kill" -v b="$t_restart" 'BEGIN { printf "%d", b - a + 0.999 }')

fails=0
check() { if ! eval "$1"; then echo "FAIL: $2"; fails=$((fails + 1)); fi; }
check '[ "$total" -gt 0 ]' "nginx logged no requests"
check '[ "$e_connect" = 0 ] && [ "$e_read" = 0 ] && [ "$e_write" = 0 ] && [ "$e_timeout" = 0 ]' \
    "wrk saw socket errors (connect=$e_connect read=$e_read write=$e_write timeout=$e_timeout): a client got no answer"
# Every request nginx logged was counted by wrk, except at most one per connection still open when
# wrk stopped (logged 499, or answered by nginx but not yet read by wrk).
check '[ "$wrk_done" -le "$total" ] && [ $((total - wrk_done)) -le "$CONNS" ]' \
    "wrk counted $wrk_done answers, nginx logged $total requests (at most $CONNS may differ)"
check '[ "$stray" = 0 ]' "$stray requests failed that were not in flight on the killed replica"
check '[ "$lost" -le "$inflight" ]' "$lost lost, more than the $inflight in flight on the killed replica"
check '[ "$ok0" -gt 0 ] && [ "$ok2" -gt 0 ]' "a surviving replica stopped answering after the kill"
check '[ "$gap_ok" = 1 ]' "the surviving replicas stalled after the kill (see the longest gap)"
# Passive health check: after max_fails (3) failures the dead replica is tried once per
# fail_timeout (5 s) at most; without it, least_conn would try it first for every request.
check '[ "$tried_dead" -le $((3 + dead_s / 5 + 2)) ]' \
    "$tried_dead of $after requests after the kill were tried on the dead replica first (passive health check)"
check '[ "$rejoined" -gt 0 ]' "the restarted replica got no traffic back"
check '[ $((ok * 10)) -ge $(((total - cut) * 9)) ]' "only $ok of $((total - cut)) requests answered 200 at moderate load"
[ "$fails" = 0 ] || { TL_KEEP=1; tl_fail "$fails cluster checks failed"; }
tl_log "load phase: $ok of $total answered 200, $busy answered 503, $lost lost (in flight on the killed replica: $inflight)"

# --- overload: every answer is 200 or 503 with Retry-After ---------------------------------
: >"$T/access.log"
wrk -t2 -c64 -d5s --timeout 30s -s "$SRC/scripts/wrk-mix.lua" \
    "http://127.0.0.1:$NPORT" -- "$T/spec" >"$T/wrk2.out" 2>&1
cat "$T/wrk2.out"
bad=$(awk '/^wrk-status/ && $2 != 200 && $2 != 503 { n += $3 } END { print n + 0 }' "$T/wrk2.out")
n503=$(awk '/^wrk-status 503/ { print $3 }' "$T/wrk2.out")
noretry=$(awk '/^wrk-no-retry-after/ { print $2 }' "$T/wrk2.out")
errs=$(awk '/^wrk-errors/ { n = 0; for (i = 2; i <= 5; i++) { split($i, kv, "="); n += kv[2] } print n }' "$T/wrk2.out")
[ "$bad" = 0 ] || tl_fail "overload: $bad answers neither 200 nor 503"
[ "$errs" = 0 ] || tl_fail "overload: $errs socket errors (requests without an answer)"
[ "$noretry" = 0 ] || tl_fail "overload: $noretry answers 503 without Retry-After"
# 503s made by nginx (no replica would take it) rather than passed on from a replica's full queue.
nginx503=$(awk '/"POST \/score / && $6 == 503 { match($0, / ustatus=.* urt=/); us = substr($0, RSTART + 9, RLENGTH - 14)
    n = split(us, a, ", "); if (a[n] != "503") c++ } END { print c + 0 }' "$T/access.log")
# Busy replicas must not look failed to nginx: the 503s are the replicas' own, not nginx's "no live
# upstreams" (which is what replaying 503s led to: nearly every request refused by nginx). The
# served rates are printed, not checked: on a shared 2-core machine the 503 storm of the test
# itself competes with the searches for the CPU.
ok_over=$(awk '/^wrk-status 200/ { print $3 }' "$T/wrk2.out")
rates=$(awk -v tb="$t_start" -v tk="$t_kill" -v n="${ok_over:-0}" '$2 == 200 && $1 < tk { c++ }
    END { printf "%.1f %.1f", c / (tk - tb), n / 5 }' "$T/requests")
read -r rate_load rate_over <<<"$rates"
tl_log "overload at 64 connections: ${ok_over:-0} answered 200 (${rate_over}/s; ${rate_load}/s under moderate load), ${n503:-0} answered 503 with Retry-After (${nginx503} of them from nginx)"
[ $((nginx503 * 100)) -le "${n503:-0}" ] ||
    tl_fail "overload: nginx itself refused $nginx503 of ${n503:-0} requests (replicas marked failed for being busy)"

for i in 0 1 2; do
    kill -0 "${PIDS[i]}" 2>/dev/null || tl_fail "replica $i died"
done

# --- graceful stop under load (an upgrade): SIGTERM, drain, exit 0, nothing lost ------------
for i in 0 1 2; do
    tl_wait_status "http://127.0.0.1:${PORTS[i]}/readyz" 200 30 || tl_fail "replica $i did not drain its queue"
done
: >"$T/access.log"
wrk -t2 -c"$CONNS" -d8s --timeout 30s -s "$SRC/scripts/wrk-mix.lua" \
    "http://127.0.0.1:$NPORT" -- "$T/spec" >"$T/wrk3.out" 2>&1 &
WRK_PID=$!
tl_track "$WRK_PID"
sleep 3
kill -TERM "${PIDS[0]}"
wait "${PIDS[0]}"
term_rc=$?
wait "$WRK_PID"
grep -q '^stopped' "$T/replica0.log" && [ "$term_rc" = 0 ] ||
    tl_fail "replica 0 did not stop cleanly on SIGTERM (exit $term_rc): $(tail -3 "$T/replica0.log")"
bad=$(awk '/^wrk-status/ && $2 != 200 && $2 != 503 { n += $3 } END { print n + 0 }' "$T/wrk3.out")
errs=$(awk '/^wrk-errors/ { n = 0; for (i = 2; i <= 5; i++) { split($i, kv, "="); n += kv[2] } print n }' "$T/wrk3.out")
ok3=$(awk '/^wrk-status 200/ { print $3 }' "$T/wrk3.out")
drain503=$(grep -c 'status=503.*shutting_down' "$T/replica0.log")
nginx503=$(awk '/"POST \/score / && $6 == 503 { match($0, / ustatus=.* urt=/); us = substr($0, RSTART + 9, RLENGTH - 14)
    n = split(us, a, ", "); if (a[n] != "503") c++ } END { print c + 0 }' "$T/access.log")
[ "$bad" = 0 ] && [ "$errs" = 0 ] || tl_fail "graceful stop: $bad answers neither 200 nor 503, $errs without an answer"
[ "$nginx503" = 0 ] || tl_fail "graceful stop: nginx refused $nginx503 requests (lost on the stopping replica)"
tl_log "graceful stop: replica 0 drained and exited 0; ${ok3:-0} answered 200, $drain503 answered 503 shutting_down by the draining replica"

# The other replicas stop cleanly too, and no replica log holds a sanitizer report (ASan builds).
for i in 1 2; do
    kill -TERM "${PIDS[i]}"
    wait "${PIDS[i]}" || tl_fail "replica $i exited $? on SIGTERM"
done
if grep -qE 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error' "$T"/replica*.log; then
    grep -E 'AddressSanitizer|LeakSanitizer|ThreadSanitizer|runtime error' "$T"/replica*.log | head -5
    TL_KEEP=1
    tl_fail "sanitizer report in a replica log"
fi
echo "PASS: cluster test"
