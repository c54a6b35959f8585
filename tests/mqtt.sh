#!/usr/bin/env bash
# mqtt: verdicts published to a real broker. Starts `mosquitto` on a free loopback port and the
# daemon with --mqtt, then: the retained birth message "online" on inspectd/<instance>/status;
# every verdict of N scored images (/score, /score/batch, /v2 infer) received exactly once by
# `mosquitto_sub` at QoS 1 on inspectd/<line>/<station>/result, with the result_id the HTTP
# answer gave; the broker stopped mid-run: scoring goes on (fast 200s), the verdicts wait in
# the outbox and arrive after the broker is back (reconnect with backoff), then new ones too;
# the daemon killed: the broker publishes its last will "offline". Exit 77 (skip) only when
# mosquitto, mosquitto_sub or libmosquitto support is missing.
set -u
SRC=${INSPECTD_SOURCE:-$(cd "$(dirname "$0")/.." && pwd)}
. "$SRC/scripts/test-lib.sh"
BIN=${INSPECTD_BIN:-$SRC/build/inspectd}
BUILD=${INSPECTD_BUILD:-$(dirname "$BIN")}
PY=$(command -v python3 || true)
for tool in mosquitto mosquitto_sub mosquitto_pub curl "$PY"; do
    if [ -z "$tool" ] || ! command -v "$tool" > /dev/null; then
        echo "SKIP: $tool not installed (Debian: mosquitto mosquitto-clients curl python3)"; exit 77
    fi
done
MOSQ=$(command -v mosquitto)
if [ ! -x "$BIN" ] || [ ! -x "$BUILD/random_model" ]; then
    echo "SKIP: $BIN or $BUILD/random_model not built"; exit 77
fi
tl_init inspectd-mqtt
T=$TL_TMP
free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

BPORT=$(free_port)
start_broker() {
    printf 'listener %s 127.0.0.1\nallow_anonymous true\n' "$BPORT" > "$T/broker.conf"
    "$MOSQ" -c "$T/broker.conf" >> "$T/broker.log" 2>&1 &
    BROKER=$!
    tl_track "$BROKER"
    for _ in $(seq 1 100); do
        mosquitto_pub -p "$BPORT" -t probe -m x 2> /dev/null && return 0
        sleep 0.05
    done
    echo "FAIL: the broker did not start"; cat "$T/broker.log"; exit 1
}
# sub NAME: a subscriber to every inspectd topic at QoS 1, lines "topic payload" in $T/NAME
sub() {
    mosquitto_sub -p "$BPORT" -q 1 -v -t 'inspectd/#' > "$T/$1" 2> "$T/$1.err" &
    SUB=$!
    tl_track "$SUB"
    sleep 0.3
}
# wait_lines FILE PATTERN N: until FILE has N lines matching PATTERN (30 s)
wait_lines() {
    for _ in $(seq 1 300); do
        [ "$(grep -c "$2" "$1" 2> /dev/null)" -ge "$3" ] && return 0
        sleep 0.1
    done
    return 1
}

echo "[$(date +%T)] broker on port $BPORT, daemon with --mqtt"
mkdir -p "$T/models"
"$BUILD/random_model" --out "$T/models/tiny.safetensors" --name tiny --threshold 50 --width 4 || exit 1
start_broker
sub s1
tl_start_daemon "$BIN" 0 "$T/daemon.log" --models "$T/models" --workers 2 \
    --mqtt "mqtt://127.0.0.1:$BPORT" --mqtt-line L1 --mqtt-instance cell7
PID=$TL_LAST_PID
PORT=$TL_PORT
if [ -z "$PORT" ]; then
    if grep -q 'built without libmosquitto' "$T/daemon.log"; then
        echo "SKIP: inspectd was built without libmosquitto"; exit 77
    fi
    echo "FAIL: the daemon did not start"; cat "$T/daemon.log"; exit 1
fi
wait_lines "$T/s1" '^inspectd/cell7/status online$' 1 && tl_ok || tl_bad "no birth message 'online'"
# the birth message is retained: a late subscriber sees it too
LATE=$(mosquitto_sub -p "$BPORT" -t inspectd/cell7/status -C 1 -W 5 2> /dev/null)
[ "$LATE" = online ] && tl_ok || tl_bad "birth message not retained: '$LATE'"

DIGIT=$SRC/examples/normal-7.png
B64=$(base64 -w0 "$DIGIT")
: > "$T/ids"
score() { # score PART STATION: one /score, result_id appended to $T/ids
    curl -s --max-time 60 -H 'Content-Type: image/png' --data-binary @"$DIGIT" \
        "http://127.0.0.1:$PORT/score?iterations=1&part_id=$1&station=$2" > "$T/r.json"
    "$PY" -c 'import json,sys; print(json.load(open(sys.argv[1]))["result_id"])' "$T/r.json" >> "$T/ids" \
        || tl_bad "score $1: $(head -c 300 "$T/r.json")"
}

echo "[$(date +%T)] N verdicts, each received exactly once"
N=0
for i in $(seq 1 12); do score "P$i" "st$((i % 3))"; N=$((N + 1)); done
curl -s --max-time 60 -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/score/batch" \
    -d "{\"iterations\": 1, \"station\": \"stB\", \"part_id\": \"PB\", \"images\": [{\"png_base64\": \"$B64\"}, {\"png_base64\": \"$B64\"}, {\"png_base64\": \"$B64\"}]}" > "$T/b.json"
"$PY" -c 'import json,sys; [print(r["result_id"]) for r in json.load(open(sys.argv[1]))["results"]]' "$T/b.json" >> "$T/ids"
N=$((N + 3))
curl -s --max-time 60 -H 'Content-Type: application/json' "http://127.0.0.1:$PORT/v2/models/tiny/infer" \
    -d "{\"parameters\": {\"iterations\": 1, \"station\": \"stV\", \"part_id\": \"PV\"}, \"inputs\": [{\"name\": \"image\", \"datatype\": \"BYTES\", \"shape\": [1], \"data\": [\"$B64\"]}]}" > "$T/v.json"
"$PY" -c 'import json,sys; d = json.load(open(sys.argv[1])); print([o for o in d["outputs"] if o["name"] == "result_id"][0]["data"][0])' "$T/v.json" >> "$T/ids"
N=$((N + 1))
wait_lines "$T/s1" '^inspectd/L1/[^ ]*/result ' "$N" && tl_ok || tl_bad "received $(grep -c '/result ' "$T/s1") of $N verdicts"
sleep 1 # anything extra (a duplicate) would have come by now
# exactly once: every result_id of the answers once, nothing else; topics by station
"$PY" - "$T/s1" "$T/ids" << 'PY_END' && tl_ok || tl_bad "verdicts not received exactly once"
import json, sys
got = [l.split(" ", 1) for l in open(sys.argv[1]).read().splitlines() if "/result " in l]
ids = open(sys.argv[2]).read().split()
seen = [json.loads(p)["result_id"] for _, p in got]
ok = sorted(seen) == sorted(ids) and len(set(ids)) == len(ids)
for topic, p in got:
    d = json.loads(p)
    want = f"inspectd/L1/{d['station']}/result"
    if topic != want or d["evaluation"] not in ("OK", "NOT_OK", "NOT_DECIDABLE"):
        ok = False
        print("bad message", topic, p[:200])
print(f"{len(ids)} answers, {len(seen)} verdicts received, {len(set(seen))} unique")
sys.exit(0 if ok else 1)
PY_END

echo "[$(date +%T)] the broker stops mid-run: scoring goes on, verdicts wait, then arrive"
kill -TERM "$BROKER"; wait "$BROKER" 2> /dev/null
kill "$SUB" 2> /dev/null
: > "$T/ids"
SLOW=0
for i in $(seq 1 5); do
    t0=$(date +%s%N)
    score "D$i" down
    t1=$(date +%s%N)
    [ $(((t1 - t0) / 1000000)) -gt 3000 ] && SLOW=$((SLOW + 1))
done
[ "$SLOW" -eq 0 ] && tl_ok || tl_bad "$SLOW requests slower than 3 s while the broker was down"
[ "$(wc -l < "$T/ids")" -eq 5 ] && tl_ok || tl_bad "scoring failed while the broker was down"
start_broker
sub s2
wait_lines "$T/s2" '^inspectd/cell7/status online$' 1 && tl_ok || tl_bad "no birth message after the broker came back"
for i in $(seq 1 3); do score "A$i" after; done
wait_lines "$T/s2" '/result ' 8 && tl_ok || tl_bad "after the restart: received $(grep -c '/result ' "$T/s2") of 8 verdicts (5 held, 3 new)"
sleep 1
"$PY" - "$T/s2" "$T/ids" << 'PY_END' && tl_ok || tl_bad "verdicts across the restart not received exactly once"
import json, sys
seen = [json.loads(l.split(" ", 1)[1])["result_id"] for l in open(sys.argv[1]).read().splitlines() if "/result " in l]
ids = open(sys.argv[2]).read().split()
print(f"across the restart: {len(ids)} answers, {len(seen)} received, {len(set(seen))} unique")
sys.exit(0 if sorted(seen) == sorted(ids) else 1)
PY_END
curl -s "http://127.0.0.1:$PORT/metrics" > "$T/metrics"
grep -q '^inspectd_mqtt_published_total 24$' "$T/metrics" && tl_ok || tl_bad "metrics: $(grep mqtt_ "$T/metrics" | grep -v '^#')"
grep -q '^inspectd_mqtt_dropped_total 0$' "$T/metrics" && tl_ok || tl_bad "dropped verdicts: $(grep mqtt_dropped "$T/metrics")"

echo "[$(date +%T)] the daemon dies: the broker publishes its last will"
kill -KILL "$PID"; wait "$PID" 2> /dev/null
wait_lines "$T/s2" '^inspectd/cell7/status offline$' 1 && tl_ok || tl_bad "no last will 'offline' (keepalive 30 s)"

# a sanitizer build (INSPECTD_SANITIZE) reports into the daemons' logs
if grep -lE 'ERROR: (Address|Leak|Thread)Sanitizer|runtime error:' "$T"/*.log 2> /dev/null; then
    tl_bad "sanitizer reports in the daemon logs above"
else
    tl_ok
fi
tl_checks_done mqtt
