#!/usr/bin/env bash
# containers.sh: docker/Dockerfile and docker/docker-compose.yml built and run for real with
# Debian's podman and podman-compose (tests/deploy_config.sh only reads them):
#  0. set-up: a Debian base image made with debootstrap from this machine's mirror and imported
#     under the Dockerfile's FROM names, an nginx image from it plus Debian's nginx-light (both
#     kept for the next run, as is the build stage of the last build; INSPECTD_CTR_REFRESH=1
#     remakes the first two), then the project image built from docker/Dockerfile (--format
#     docker, so its HEALTHCHECK stays);
#  1. one container, --read-only: /healthz, /readyz, POST /score on examples/*.png, uid and gid
#     10001 with a named group, the image's HEALTHCHECK, no writable root, and `podman stop`
#     letting a search in flight finish, then exiting 0 well within the stop timeout;
#  2. the compose cluster (3 replicas + nginx) under a steady stream of POST /score through nginx,
#     one replica killed (SIGKILL) in the middle: only requests in flight on it may fail;
#  3. scaled up to 4 replicas and down to 2 under the stream, nginx neither restarted nor
#     reloaded: the new replica gets requests, nothing fails;
#  4. a model rolled (the file replaced, each replica restarted in turn) under the stream: no
#     request lost, every replica serving the new file afterwards.
# Skips (77) with the reason only where podman cannot run a container (missing tools, not root:
# the base image needs debootstrap, and rootless podman needs subuid set-up). Prints each phase's
# time. Containers, the network and the project image are removed on exit, also after a failure.
set -u
SRC=${INSPECTD_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
. "$SRC/scripts/test-lib.sh"

for tool in podman podman-compose debootstrap curl; do
    command -v "$tool" >/dev/null || tl_skip "$tool is not installed (scripts/deps.sh test installs it)"
done
[ "$(id -u)" = 0 ] || tl_skip "needs root: debootstrap makes the base image, and rootless podman needs subuid set-up"

tl_init inspectd-containers
T=$TL_TMP
ID=$$
PROJ="ictest$ID"                        # compose project: containers ${PROJ}_inspectd_N, ${PROJ}_nginx_1
ONE="inspectd-ctest-$ID"                # the single container of phase 1
TAG="ctest-$ID"                         # the project image, inspectd:$TAG (removed on exit)
BASE=docker.io/library/debian           # the Dockerfile's FROM debian:${DEBIAN}[-slim]
NGINX_IMAGE=localhost/inspectd-nginx:bookworm
BUILD_CACHE=localhost/inspectd-ctest-cache:build # the Dockerfile's build stage, kept as a cache
COMPOSE=(podman-compose -p "$PROJ" -f "$SRC/docker/docker-compose.yml")
IMG="$SRC/examples/normal-7.png"
CLIENTS=3   # concurrent clients of the request stream
ITER=30     # Adam steps per streamed request: short searches, many requests

# --- podman set-up for this host -------------------------------------------------------------
# runc (crun refuses this kind of host's hybrid cgroups), ulimits within the host's hard limits
# (podman's defaults are above them), netavark with aardvark-dns for the service names.
hard() { local v; v=$(ulimit -H "$1"); [ "$v" = unlimited ] || [ "$v" -gt "$2" ] && v=$2; echo "$v"; }
nofile=$(hard -n 20000)
nproc=$(hard -u 32768)
cat >"$T/containers.conf" <<EOF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
[network]
network_backend = "netavark"
EOF
export CONTAINERS_CONF="$T/containers.conf"
export BUILDAH_FORMAT=docker # podman-compose's builds keep HEALTHCHECK too

cleanup() {
    local rc=$? c
    for c in $(podman ps -aq --filter "label=io.podman.compose.project=$PROJ" 2>/dev/null) \
        $(podman ps -aq --filter "name=^$ONE\$" 2>/dev/null); do
        podman rm -f -t 0 "$c" >/dev/null 2>&1
    done
    podman network rm -f "${PROJ}_default" "$ONE" >/dev/null 2>&1
    podman rmi -f "inspectd:$TAG" >/dev/null 2>&1
    (exit "$rc")
    tl_cleanup
}
trap cleanup EXIT

# Leftovers of runs that were killed before their trap ran (their pid is gone).
for c in $(podman ps -a --format '{{.Names}}' 2>/dev/null | grep -E '^(ictest[0-9]+_|inspectd-ctest-[0-9]+$)'); do
    pid=${c#ictest}; pid=${pid#inspectd-ctest-}; pid=${pid%%_*}
    kill -0 "$pid" 2>/dev/null || podman rm -f -t 0 "$c" >/dev/null 2>&1
done
for n in $(podman network ls --format '{{.Name}}' 2>/dev/null |
    grep -E '^(ictest[0-9]+_default|inspectd-ctest-[0-9]+)$'); do
    pid=${n#ictest}; pid=${pid#inspectd-ctest-}; pid=${pid%%_*}
    kill -0 "$pid" 2>/dev/null || podman network rm -f "$n" >/dev/null 2>&1
done

PHASES=()
phase_t0=0
phase_start() { phase_t0=$(date +%s.%N); tl_log "== $*"; }
phase_end() {
    local s
    s=$(awk -v a="$phase_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
    PHASES+=("$1 ${s}s")
    tl_log "== $1: ${s} s"
}

# The Debian mirror this machine's apt uses (deb822 .sources or a one-line sources.list).
debian_mirror() {
    local m
    m=$(awk '/^URIs:/ { u = $2 } /^Suites:/ && / bookworm( |$)/ { print u; exit }' \
        /etc/apt/sources.list.d/*.sources 2>/dev/null)
    [ -n "$m" ] || m=$(awk '$1 == "deb" && $3 == "bookworm" { print $2; exit }' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null)
    echo "${INSPECTD_DEBIAN_MIRROR:-${m:-http://deb.debian.org/debian}}"
}

# --- 0. images ---------------------------------------------------------------------------------
phase_start "0. images"
podman run --rm --network none "$BASE:bookworm" true >/dev/null 2>&1 || true # warm, ignored
if [ "${INSPECTD_CTR_REFRESH:-0}" = 1 ] || ! podman image exists "$BASE:bookworm" ||
    ! podman image exists "$BASE:bookworm-slim"; then
    mirror=$(debian_mirror)
    t0=$(date +%s)
    tl_log "base image: debootstrap --variant=minbase bookworm from $mirror"
    debootstrap --variant=minbase bookworm "$T/rootfs" "$mirror" >"$T/debootstrap.log" 2>&1 || {
        tail -20 "$T/debootstrap.log"
        tl_fail "debootstrap from $mirror failed"
    }
    rm -rf "$T/rootfs"/var/cache/apt/archives/*.deb "$T/rootfs"/var/lib/apt/lists/*
    tar -C "$T/rootfs" -c . | podman import -q --change 'CMD ["bash"]' - "$BASE:bookworm" >/dev/null ||
        tl_fail "podman import of the base image failed"
    podman tag "$BASE:bookworm" "$BASE:bookworm-slim"
    rm -rf "$T/rootfs"
    tl_log "base image made in $(($(date +%s) - t0)) s"
fi
# The one place a skip is right: this machine's podman cannot run a container at all.
podman run --rm --network none "$BASE:bookworm" true >"$T/run.log" 2>&1 ||
    tl_skip "podman cannot run a container here: $(tail -3 "$T/run.log")"

if [ "${INSPECTD_CTR_REFRESH:-0}" = 1 ] || ! podman image exists "$NGINX_IMAGE"; then
    t0=$(date +%s)
    mkdir -p "$T/nginx-image"
    cat >"$T/nginx-image/Containerfile" <<EOF
FROM $BASE:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends nginx-light curl \\
 && apt-get clean && rm -rf /var/lib/apt/lists/*
EOF
    podman build -q -t "$NGINX_IMAGE" "$T/nginx-image" >"$T/nginx-build.log" 2>&1 || {
        tail -20 "$T/nginx-build.log"
        tl_fail "building the nginx image failed"
    }
    tl_log "nginx image built in $(($(date +%s) - t0)) s"
fi
tb=$(date +%s)
podman images -q --filter dangling=true | sort >"$T/dangling.before"
old_cache=$(podman image inspect --format '{{.Id}}' "$BUILD_CACHE" 2>/dev/null)
podman build --format docker -f "$SRC/docker/Dockerfile" -t "inspectd:$TAG" "$SRC" >"$T/build.log" 2>&1 || {
    tail -40 "$T/build.log"
    tl_fail "podman build of docker/Dockerfile failed"
}
# The build stage's image (untagged) is the layer cache of the next run: tag it, and remove the
# previous run's, so reruns do not pile up build stages (their shared package layer stays).
podman images -q --filter dangling=true | sort | comm -13 "$T/dangling.before" - >"$T/dangling.new"
if [ -s "$T/dangling.new" ]; then
    podman tag "$(tail -1 "$T/dangling.new")" "$BUILD_CACHE"
    new_cache=$(podman image inspect --format '{{.Id}}' "$BUILD_CACHE")
    [ -z "$old_cache" ] || [ "$old_cache" = "$new_cache" ] || podman rmi "$old_cache" >/dev/null 2>&1
fi
size=$(podman image inspect --format '{{.Size}}' "inspectd:$TAG")
tl_log "project image built in $(($(date +%s) - tb)) s, $((size / 1000000)) MB"
phase_end "0. images"

# --- helpers ---------------------------------------------------------------------------------
# GET path $2 inside container $1 (the image has bash, no curl): the whole answer.
get_inside() {
    podman exec "$1" bash -c 'exec 3<>/dev/tcp/127.0.0.1/8080
        printf "GET %s HTTP/1.0\r\n\r\n" "$1" >&3; cat <&3' _ "$2"
}
in_flight() { get_inside "$1" /metrics 2>/dev/null | awk '$1 == "inspectd_http_in_flight" { print $2 }'; }
# Address of container $1 on its (only) network.
ip_of() { podman inspect --format '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
score() { # POST /score of $2 to base URL $1; prints the HTTP status, the body in $3
    curl -s -m 120 -o "$3" -w '%{http_code}' -H 'Content-Type: image/png' \
        --data-binary @"$2" "$1/score?iterations=$ITER"
}
# Waits up to $2 s for `podman healthcheck run $1` to pass.
wait_healthy() {
    local i
    for ((i = 0; i < $2 * 2; i++)); do
        podman healthcheck run "$1" >/dev/null 2>&1 && return 0
        sleep 0.5
    done
    return 1
}

# A stream of POST /score through $1 by $CLIENTS clients, each sending one after the other until
# $T/stop exists; one line per request in $T/stream.N: start end status.
STREAM_PIDS=()
stream_start() {
    local url="$1" n
    rm -f "$T/stop" "$T"/stream.*
    STREAM_PIDS=()
    for ((n = 0; n < CLIENTS; n++)); do
        (
            while [ ! -e "$T/stop" ]; do
                s=$(date +%s.%N)
                code=$(curl -s -m 120 -o /dev/null -w '%{http_code}' -H 'Content-Type: image/png' \
                    --data-binary @"$IMG" "$url/score?iterations=$ITER")
                echo "$s $(date +%s.%N) $code"
            done
        ) >"$T/stream.$n" &
        STREAM_PIDS+=("$!")
        tl_track "$!"
    done
}
stream_stop() {
    local p
    touch "$T/stop"
    for p in "${STREAM_PIDS[@]}"; do wait "$p"; done
    cat "$T"/stream.* >"$T/stream.all"
}
# Counts of the stream: "total ok failed".
stream_counts() { awk '{ n++; if ($3 == 200) ok++ } END { printf "%d %d %d\n", n, ok, n - ok }' "$T/stream.all"; }

# nginx's access log lines of the requests to /score (stdout of the nginx container).
nginx_log() { podman logs "${PROJ}_nginx_1" 2>/dev/null | grep '"POST /score'; }

# --- 1. one container --------------------------------------------------------------------------
phase_start "1. one container"
tl_pick_port SPORT || tl_fail "no free port"
# Its own network, not podman's default one (whose fixed subnet another network backend's
# bridge on the host may already route).
podman network create "$ONE" >/dev/null || tl_fail "podman network create $ONE"
podman run -d --name "$ONE" --network "$ONE" --read-only --tmpfs /tmp \
    -p "127.0.0.1:$SPORT:8080" "inspectd:$TAG" \
    >"$T/one.id" 2>"$T/one.err" || tl_fail "podman run: $(cat "$T/one.err")"
U="http://127.0.0.1:$SPORT"
tl_wait_status "$U/healthz" 200 60 || { podman logs "$ONE" | tail -20; tl_fail "/healthz did not answer 200"; }
tl_wait_status "$U/readyz" 200 60 || { podman logs "$ONE" | tail -20; tl_fail "/readyz did not answer 200"; }
for png in "$SRC"/examples/*.png; do
    code=$(score "$U" "$png" "$T/score.json")
    { [ "$code" = 200 ] && grep -q '"score"' "$T/score.json"; } ||
        tl_fail "POST /score $(basename "$png"): HTTP $code $(head -c 300 "$T/score.json")"
done
pngs=("$SRC"/examples/*.png)
tl_log "/healthz, /readyz and POST /score on ${#pngs[@]} examples: 200"
idline=$(podman exec "$ONE" id)
[ "$idline" = "uid=10001(inspectd) gid=10001(inspectd) groups=10001(inspectd)" ] ||
    tl_fail "inside the container: '$idline', not uid=10001(inspectd) gid=10001(inspectd)"
tl_log "id: $idline"
[ -n "$(podman inspect --format '{{.Config.Healthcheck}}' "$ONE")" ] ||
    tl_fail "the image has no HEALTHCHECK (built without --format docker?)"
podman healthcheck run "$ONE" >"$T/hc.log" 2>&1 || tl_fail "podman healthcheck run: $(cat "$T/hc.log")"
tl_log "HEALTHCHECK: healthy"
[ "$(podman inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$ONE")" = true ] ||
    tl_fail "the root filesystem is not read-only"
if podman exec "$ONE" sh -c ': >/usr/local/bin/x' 2>/dev/null; then tl_fail "could write to the root filesystem"; fi
podman exec "$ONE" sh -c ': >/tmp/x' || tl_fail "the /tmp tmpfs is not writable"
tl_log "read-only root, writable /tmp"
# A search that takes a few seconds is in flight when `podman stop` sends SIGTERM: it must be
# answered, and the daemon must exit 0 by itself long before the stop timeout's SIGKILL.
idle=$(in_flight "$ONE") # the /metrics request itself, if it counts itself
curl -s -m 120 -o "$T/long.json" -w '%{http_code}' -H 'Content-Type: image/png' \
    --data-binary @"$IMG" "$U/score?iterations=500" >"$T/long.code" &
long_pid=$!
tl_track "$long_pid"
for _ in $(seq 50); do
    [ "$(in_flight "$ONE")" -gt "${idle:-0}" ] 2>/dev/null && break
done
STOP_TIMEOUT=30
ts=$(date +%s.%N)
podman stop -t "$STOP_TIMEOUT" "$ONE" >/dev/null || tl_fail "podman stop failed"
stop_s=$(awk -v a="$ts" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
wait "$long_pid"
exit_code=$(podman inspect --format '{{.State.ExitCode}}' "$ONE")
podman logs "$ONE" >"$T/one.log" 2>&1
[ "$exit_code" = 0 ] || { tail -20 "$T/one.log"; tl_fail "exit code $exit_code after podman stop (SIGTERM)"; }
awk -v s="$stop_s" -v t="$STOP_TIMEOUT" 'BEGIN { exit !(s < t - 5) }' ||
    tl_fail "podman stop took $stop_s s of the $STOP_TIMEOUT s timeout: the daemon did not exit on SIGTERM"
{ grep -q '^shutdown signal=SIGTERM' "$T/one.log" && grep -q '^stopped' "$T/one.log"; } ||
    { tail -20 "$T/one.log"; tl_fail "no orderly shutdown in the log"; }
[ "$(cat "$T/long.code")" = 200 ] || tl_fail "the search in flight at SIGTERM got HTTP $(cat "$T/long.code")"
tl_log "podman stop: exit code 0 after $stop_s s (timeout $STOP_TIMEOUT s), the search in flight answered 200"
podman rm "$ONE" >/dev/null
podman network rm "$ONE" >/dev/null
phase_end "1. one container"

# --- 2. compose cluster, one replica killed ------------------------------------------------------
phase_start "2. cluster, a replica killed"
tl_pick_port NPORT || tl_fail "no free port"
mkdir -p "$T/models"
cp "$SRC"/models/*.safetensors "$T/models/"
chmod -R a+rX "$T/models" "$T"
export INSPECTD_TAG="$TAG" INSPECTD_HTTP_PORT="$NPORT" INSPECTD_NGINX_IMAGE="$NGINX_IMAGE" \
    INSPECTD_MODELS="$T/models" INSPECTD_REPLICAS=3
# A key set in the environment reaches every replica as it is (podman-compose 1.0.3 once passed
# the literal text of ${INSPECTD_API_KEY:-}); dry run: the commands, nothing started.
keyed=$(INSPECTD_API_KEY=k3y-$ID "${COMPOSE[@]}" --dry-run up -d --no-build 2>&1 | grep -c -- "-e INSPECTD_API_KEY=k3y-$ID ")
[ "$keyed" = 3 ] || tl_fail "INSPECTD_API_KEY=k3y-$ID reached $keyed of 3 replicas' commands"
unset INSPECTD_API_KEY
"${COMPOSE[@]}" up -d --no-build >"$T/compose-up.log" 2>&1 || {
    tail -30 "$T/compose-up.log"
    tl_fail "podman-compose up failed"
}
N="http://127.0.0.1:$NPORT"
for r in 1 2 3; do
    wait_healthy "${PROJ}_inspectd_$r" 90 || {
        podman logs "${PROJ}_inspectd_$r" 2>&1 | tail -20
        tl_fail "replica $r did not become healthy"
    }
done
tl_wait_status "$N/readyz" 200 60 || {
    podman logs "${PROJ}_nginx_1" 2>&1 | tail -20
    tl_fail "/readyz through nginx did not answer 200"
}
grep -q 'resolver ' <(podman logs "${PROJ}_nginx_1" 2>&1) || tl_fail "nginx-entrypoint.sh wrote no resolver"
for r in 1 2 3; do
    podman logs "${PROJ}_inspectd_$r" 2>&1 | grep -q 'api_key=none' ||
        tl_fail "replica $r has an API key although INSPECTD_API_KEY is unset"
done
tl_log "3 replicas healthy, nginx answering on port $NPORT; no API key set, none used"

victim="${PROJ}_inspectd_2"
vip=$(ip_of "$victim")
idle=$(in_flight "$victim") # the /metrics request itself, if it counts itself
stream_start "$N"
sleep 6
# Kill it while it is working on a streamed request, the case that may cost an answer.
for _ in $(seq 40); do
    [ "$(in_flight "$victim")" -gt "${idle:-0}" ] 2>/dev/null && break
done
tkill=$(date +%s.%N)
podman kill --signal KILL "$victim" >/dev/null || tl_fail "podman kill $victim"
tl_log "killed $victim ($vip) with SIGKILL"
sleep 10
stream_stop
read -r total ok failed < <(stream_counts)
# Requests nginx had sent to the killed replica that started before the kill and ended after it.
inflight=$(nginx_log | awk -v ip="$vip:8080" -v tk="$tkill" '
    index($0, "upstream=") && index($0, ip) {
        match($0, / rt=[0-9.]+/); rt = substr($0, RSTART + 4, RLENGTH - 4) + 0
        match($0, / t=[0-9.]+/); t = substr($0, RSTART + 3, RLENGTH - 3) + 0
        if (t - rt <= tk && t >= tk) n++
    } END { print n + 0 }')
retried=$(nginx_log | grep -c "upstream=[^ ]*$vip:8080, ")
tl_log "stream: $total requests, $ok answered 200, $failed failed; $inflight in flight on the killed replica, $retried replayed on another replica"
[ "$total" -gt 20 ] || tl_fail "only $total requests in the stream"
[ "$failed" -le "$inflight" ] ||
    { grep -hv ' 200$' "$T/stream.all" | head; tl_fail "$failed requests failed, more than the $inflight in flight on the killed replica"; }
tail -n 3 -q "$T"/stream.[0-9]* | awk '$3 != 200 { exit 1 }' || tl_fail "requests still failing at the end of the stream"
phase_end "2. cluster, a replica killed"

# --- 3. scale up and down, no nginx reload ----------------------------------------------------
phase_start "3. scale 3 -> 4 -> 2"
ng="${PROJ}_nginx_1"
nginx_procs() { podman top "$ng" pid args 2>/dev/null | awk 'NR > 1' | sort; }
ng_before="$(podman inspect --format '{{.State.Pid}} {{.State.StartedAt}}' "$ng") $(nginx_procs | tr '\n' ' ')"
# The killed replica: restarted by its restart policy, or by `up` below.
stream_start "$N"
sleep 3
export INSPECTD_REPLICAS=4
"${COMPOSE[@]}" up -d --no-build >"$T/compose-scale.log" 2>&1
new="${PROJ}_inspectd_4"
podman container exists "$new" || { tail -20 "$T/compose-scale.log"; tl_fail "scale up made no 4th replica"; }
wait_healthy "$new" 90 || tl_fail "the 4th replica did not become healthy"
nip=$(ip_of "$new")
# nginx caches the service's addresses for 5 s; give it time to send the new one requests.
sleep 12
to_new=$(nginx_log | grep -c "upstream=$nip:8080 ")
[ "$to_new" -gt 0 ] || tl_fail "nginx sent the new replica ($nip) no request within 12 s"
tl_log "scaled up: the new replica $nip got $to_new requests"
# Down to 2, as `compose up --scale inspectd=2` would: stop (SIGTERM, in-flight work finishes)
# and remove the highest-numbered replicas.
gone_ips=""
for r in 4 3; do
    gone_ips+=" $(ip_of "${PROJ}_inspectd_$r"):8080"
    { podman stop -t 30 "${PROJ}_inspectd_$r" >/dev/null && podman rm "${PROJ}_inspectd_$r" >/dev/null; } ||
        tl_fail "could not stop replica $r"
done
tdown=$(date +%s.%N)
sleep 12
stream_stop
read -r total ok failed < <(stream_counts)
late=$(nginx_log | awk -v ips="$gone_ips" -v td="$tdown" '
    { match($0, / t=[0-9.]+/); t = substr($0, RSTART + 3, RLENGTH - 3) + 0 }
    t > td + 7 && $6 == 200 { n = split(ips, a, " "); for (i = 1; i <= n; i++) if (index($0, "upstream=" a[i] " ")) late++ }
    END { print late + 0 }')
ng_after="$(podman inspect --format '{{.State.Pid}} {{.State.StartedAt}}' "$ng") $(nginx_procs | tr '\n' ' ')"
tl_log "stream: $total requests, $ok answered 200, $failed failed; $late answered by removed replicas 7 s after"
[ "$failed" = 0 ] || { grep -hv ' 200$' "$T/stream.all" | head; tl_fail "$failed requests failed while scaling"; }
[ "$late" = 0 ] || {
    podman ps -a --format '{{.Names}} {{.Status}}' | grep "$PROJ"
    for c in $(podman ps -q --filter "label=io.podman.compose.project=$PROJ"); do echo "$c $(ip_of "$c")"; done
    nginx_log | tail -5
    tl_fail "$late requests answered by removed replicas ($gone_ips) 7 s after they went"
}
[ "$ng_before" = "$ng_after" ] || tl_fail "nginx was restarted or reloaded: '$ng_before' -> '$ng_after'"
tl_log "nginx: same master and workers throughout (no restart, no reload)"
phase_end "3. scale 3 -> 4 -> 2"

# --- 4. model roll -------------------------------------------------------------------------------
phase_start "4. model roll"
models=("$T"/models/anogan*.safetensors)
model=$(basename "${models[0]}")
newmodel="${INSPECTD_SHARED:-$SRC/../shared}/golden/anogan_seed_random.safetensors"
if [ -r "$newmodel" ]; then
    cp "$newmodel" "$T/models/.new"
else
    # No other model here: the same weights with another file hash are still a new file.
    cp "$T/models/$model" "$T/models/.new"
    echo "  (no $newmodel: the roll replaces the file with a copy)"
fi
chmod a+r "$T/models/.new"
want=$(sha256sum "$T/models/.new" | cut -d' ' -f1)
stream_start "$N"
sleep 3
mv "$T/models/.new" "$T/models/$model" # atomic: a replica starting now reads one file or the other
for r in 1 2; do
    c="${PROJ}_inspectd_$r"
    podman restart -t 30 "$c" >/dev/null || tl_fail "podman restart $c"
    wait_healthy "$c" 90 || tl_fail "$c did not come back healthy"
    sleep 6 # nginx's DNS cache: the replica's address is back before the next one goes
done
sleep 3
stream_stop
read -r total ok failed < <(stream_counts)
tl_log "stream: $total requests, $ok answered 200, $failed failed"
[ "$failed" = 0 ] || { grep -hv ' 200$' "$T/stream.all" | head; tl_fail "$failed requests lost while rolling the model"; }
for r in 1 2; do
    get_inside "${PROJ}_inspectd_$r" /models >"$T/models.$r" 2>&1 # the loaded files' sha256
    grep -q "$want" "$T/models.$r" || tl_fail "replica $r does not serve the new model: $(head -c 400 "$T/models.$r")"
done
tl_log "both replicas restarted in turn onto the new $model (sha256 ${want:0:12}), no request lost"
phase_end "4. model roll"

"${COMPOSE[@]}" down >"$T/compose-down.log" 2>&1 || tl_fail "podman-compose down failed"
printf 'phase times:'; printf ' %s;' "${PHASES[@]}"; echo
echo "PASS: container image and compose cluster (image $((size / 1000000)) MB)"
