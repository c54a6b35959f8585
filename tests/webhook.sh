#!/usr/bin/env bash
# webhook: verdicts POSTed to configured URLs. A local receiver (python3 http.server) gets every
# verdict of N scored images exactly once, as JSON with the result_id the HTTP answer gave; with
# receivers that hang or answer 500 (short timeout, retries with backoff), /score stays as fast
# as without webhooks, every answer is 200, and the undeliverable verdicts are counted as
# dropped in /metrics. Exit 77 (skip) when python3/curl are missing or libcurl support is not
# built in.
set -u
SRC=${INSPECTD_SOURCE:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/scripts/test-lib.sh"
BIN=${INSPECTD_BIN:-$SRC/build/inspectd}
BUILD=${INSPECTD_BUILD:-$(dirname "$BIN")}
PY=$(command -v python3 || true)
for tool in curl "$PY"; do
    if [ -z "$tool" ] || ! command -v "$tool" > /dev/null; then echo "SKIP: $tool not installed"; exit 77; fi
done
if [ ! -x "$BIN" ] || [ ! -x "$BUILD/random_model" ]; then
    echo "SKIP: $BIN or $BUILD/random_model not built"; exit 77
fi
tl_init inspectd-webhook
T=$TL_TMP

# receivers: good (200, bodies appended to $T/got), hang (never answers), fail (500); ports in $T/ports
"$PY" - "$T" << 'PY_END' &
import http.server, json, socketserver, sys, threading, time
t = sys.argv[1]
lock = threading.Lock()
class Good(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        with lock, open(f"{t}/got", "ab") as f:
            f.write(body.replace(b"\n", b" ") + b"\n")
        self.send_response(200); self.send_header("Content-Length", "0"); self.end_headers()
    def log_message(self, *a): pass
class Hang(Good):
    def do_POST(self):
        time.sleep(60)
class Fail(Good):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        with lock, open(f"{t}/fails", "ab") as f:
            f.write(b"x\n")
        self.send_response(500); self.send_header("Content-Length", "0"); self.end_headers()
class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
servers = [Server(("127.0.0.1", 0), h) for h in (Good, Hang, Fail)]
for s in servers:
    threading.Thread(target=s.serve_forever, daemon=True).start()
open(f"{t}/ports.tmp", "w").write(" ".join(str(s.server_address[1]) for s in servers))
import os; os.rename(f"{t}/ports.tmp", f"{t}/ports")
while True:
    time.sleep(3600)
PY_END
tl_track "$!"
for _ in $(seq 1 100); do [ -f "$T/ports" ] && break; sleep 0.05; done
read -r GOOD HANG FAIL < "$T/ports"

mkdir -p "$T/models"
"$BUILD/random_model" --out "$T/models/tiny.safetensors" --name tiny --threshold 50 --width 4 || exit 1
start() { # start NAME ARGS...
    local name=$1; shift
    tl_start_daemon "$BIN" 0 "$T/$name.log" --models "$T/models" --workers 2 "$@"
    PID=$TL_LAST_PID
    PORT=$TL_PORT
    if [ -z "$PORT" ]; then
        grep -q 'built without libcurl' "$T/$name.log" && { echo "SKIP: built without libcurl"; exit 77; }
        echo "FAIL: daemon $name did not start"; cat "$T/$name.log"; exit 1
    fi
}
DIGIT=$SRC/examples/normal-7.png
# score_n N IDS: N /score requests; result_ids to IDS; the slowest time (ms) in SLOWEST, non-200s in NOT200
score_n() {
    : > "$2"; SLOWEST=0; NOT200=0
    for i in $(seq 1 "$1"); do
        t0=$(date +%s%N)
        code=$(curl -s -o "$T/r.json" -w '%{http_code}' --max-time 60 -H 'Content-Type: image/png' \
            --data-binary @"$DIGIT" "http://127.0.0.1:$PORT/score?iterations=1&part_id=W$i&station=s1")
        t=$((($(date +%s%N) - t0) / 1000000))
        [ "$t" -gt "$SLOWEST" ] && SLOWEST=$t
        [ "$code" = 200 ] || NOT200=$((NOT200 + 1))
        "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["result_id"])' "$T/r.json" >> "$2" 2> /dev/null
    done
}

echo "[$(date +%T)] baseline: no webhooks"
start base
score_n 10 "$T/ids0"
BASE=$SLOWEST
kill -TERM "$PID"; wait "$PID"

echo "[$(date +%T)] a receiver that answers: every verdict once"
start good --webhook "http://127.0.0.1:$GOOD/hook"
score_n 10 "$T/ids1"
for _ in $(seq 1 100); do [ "$(wc -l < "$T/got" 2> /dev/null || echo 0)" -ge 10 ] && break; sleep 0.1; done
sleep 0.5
"$PY" - "$T/got" "$T/ids1" << 'PY_END' && tl_ok || tl_bad "the receiver did not get every verdict exactly once"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1]).read().splitlines()]
ids = open(sys.argv[2]).read().split()
seen = [d["result_id"] for d in got]
print(f"webhook: {len(ids)} answers, {len(seen)} verdicts received, {len(set(seen))} unique")
ok = sorted(seen) == sorted(ids) and all(d["evaluation"] in ("OK", "NOT_OK", "NOT_DECIDABLE")
                                          and d["station"] == "s1" for d in got)
sys.exit(0 if ok else 1)
PY_END
curl -s "http://127.0.0.1:$PORT/metrics" | grep -q '^inspectd_webhook_delivered_total 10$' && tl_ok || tl_bad "delivered metric is not 10"
kill -TERM "$PID"; wait "$PID"

echo "[$(date +%T)] receivers that hang or fail: /score does not slow down"
start sick --webhook "http://127.0.0.1:$HANG/hook,http://127.0.0.1:$FAIL/hook" \
    --webhook-timeout-ms 300 --webhook-retries 2 --webhook-outbox 4
score_n 10 "$T/ids2"
echo "slowest /score: $SLOWEST ms with sick receivers, $BASE ms without webhooks"
[ "$NOT200" -eq 0 ] && tl_ok || tl_bad "$NOT200 answers were not 200"
[ "$SLOWEST" -le $((BASE * 3 + 500)) ] && tl_ok || tl_bad "/score slowed down: $SLOWEST ms vs $BASE ms"
[ -s "$T/fails" ] && tl_ok || tl_bad "the failing receiver was never tried"
sleep 1
DROPPED=$(curl -s "http://127.0.0.1:$PORT/metrics" | sed -n 's/^inspectd_webhook_dropped_total //p')
[ "${DROPPED:-0}" -gt 0 ] && tl_ok || tl_bad "no dropped verdicts counted ($DROPPED)"
t0=$(date +%s)
kill -TERM "$PID"; wait "$PID"
rc=$?
[ "$rc" -eq 0 ] && [ $(($(date +%s) - t0)) -le 10 ] && tl_ok || tl_bad "stop with a hanging receiver: rc $rc, $(($(date +%s) - t0)) s"

# a sanitizer build (INSPECTD_SANITIZE) reports into the daemons' logs
if grep -lE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$T"/*.log 2> /dev/null; then
    tl_bad "sanitizer reports in the daemon logs above"
else
    tl_ok
fi
tl_checks_done webhook
