# test-lib.sh: helpers shared by scripts/cluster-test.sh, tests/soak.sh, tests/integration.sh,
# tests/mqtt.sh, tests/webhook.sh and others (sourced, not run).
# shellcheck shell=bash
# Finding the binary and a model, free loopback ports, starting daemons whose processes are
# always cleaned up, waiting for HTTP answers, counted checks, request bodies, the nginx config
# templating.
# Everything listens on 127.0.0.1 only.

TL_PIDS=()
TL_TMP=""
TL_KEEP=0 # set to 1 (or INSPECTD_KEEP_TMP=1) to keep the temp dir for a post-mortem

tl_log() { printf '[%s] %s\n' "$(date +%H:%M:%S)" "$*"; }
tl_fail() { printf 'FAIL: %s\n' "$*"; exit 1; }
tl_skip() { printf 'SKIP: %s\n' "$*"; exit 77; }

# Creates the temp dir and installs the cleanup trap. $1: name prefix.
tl_init() {
    TL_TMP=$(mktemp -d "${TMPDIR:-/tmp}/$1.XXXXXX") || exit 1
    trap tl_cleanup EXIT
    trap 'exit 130' INT TERM
}

# Kills the processes this script started (by pid, never by name), then removes the temp dir.
tl_cleanup() {
    local rc=$? pid
    for pid in "${TL_PIDS[@]}"; do
        kill "$pid" 2>/dev/null
    done
    for pid in "${TL_PIDS[@]}"; do
        # a daemon finishing its in-flight work gets 5 s, then SIGKILL
        for _ in 1 2 3 4 5 6 7 8 9 10; do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$pid" 2>/dev/null
        wait "$pid" 2>/dev/null
    done
    if [ -n "$TL_TMP" ] && [ -d "$TL_TMP" ]; then
        if [ "$TL_KEEP" = 1 ] || [ "${INSPECTD_KEEP_TMP:-0}" = 1 ]; then
            echo "logs kept in $TL_TMP"
        else
            rm -rf "$TL_TMP"
        fi
    fi
    exit "$rc"
}

# Remembers a pid for cleanup.
tl_track() { TL_PIDS+=("$1"); }

# The inspectd binary: $INSPECTD_BIN (set by CTest), else build-deploy/ or build/ in the tree.
tl_find_bin() {
    local src="$1" b
    for b in "${INSPECTD_BIN:-}" "$src/build-deploy/inspectd" "$src/build/inspectd"; do
        if [ -n "$b" ] && [ -x "$b" ]; then
            echo "$b"
            return 0
        fi
    done
    return 1
}

# A models folder for the daemon: $INSPECTD_TEST_MODELS, else the shipped models/ when it holds
# a .safetensors file, else a temp folder linking the shared random-weights seed model.
tl_find_models() {
    local src="$1" shared="${INSPECTD_SHARED:-$1/../shared}"
    if [ -n "${INSPECTD_TEST_MODELS:-}" ]; then
        echo "$INSPECTD_TEST_MODELS"
        return 0
    fi
    if compgen -G "$src/models/*.safetensors" >/dev/null; then
        echo "$src/models"
        return 0
    fi
    if [ -r "$shared/golden/anogan_seed_random.safetensors" ]; then
        mkdir -p "$TL_TMP/models"
        ln -sf "$(cd "$shared/golden" && pwd)/anogan_seed_random.safetensors" "$TL_TMP/models/seed.safetensors"
        echo "$TL_TMP/models"
        return 0
    fi
    return 1
}

# Sets variable $1 to a free TCP port on 127.0.0.1: a random one below the kernel's ephemeral
# range (so no client socket holds it), not handed out before, that nothing listens on. A clash
# with another process binding it meanwhile shows up as a daemon that never becomes ready.
TL_PORTS_USED=" "
tl_pick_port() {
    local p
    for _ in $(seq 100); do
        p=$((20000 + RANDOM % 12000))
        case "$TL_PORTS_USED" in *" $p "*) continue ;; esac
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
            TL_PORTS_USED+="$p "
            printf -v "$1" '%s' "$p"
            return 0
        fi
    done
    return 1
}

# HTTP status of a GET (000 when no answer within 3 s).
tl_status() { curl -s -o /dev/null -m 3 -w '%{http_code}' "$@" 2>/dev/null; }

# Waits up to $3 s for URL $1 to answer status $2; $4 (optional) a pid that must stay alive.
tl_wait_status() {
    local url="$1" want="$2" secs="$3" pid="${4:-}" i
    for ((i = 0; i < secs * 5; i++)); do
        [ "$(tl_status "$url")" = "$want" ] && return 0
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            return 1
        fi
        sleep 0.2
    done
    return 1
}

# Starts `inspectd serve` on 127.0.0.1:$2 with log file $3 and extra flags; sets TL_LAST_PID
# and TL_PORT. Port 0 lets the kernel pick a free one: then it waits (10 s) for the daemon's
# "listening ... port=N" log line and sets TL_PORT to N, or returns 1 with TL_PORT empty when
# the daemon exits or never says (the caller reads the log to tell why).
tl_start_daemon() {
    local bin="$1" port="$2" logf="$3" i
    shift 3
    "$bin" serve --bind 127.0.0.1 --port "$port" "$@" >"$logf" 2>&1 &
    TL_LAST_PID=$!
    tl_track "$TL_LAST_PID"
    TL_PORT=$port
    [ "$port" != 0 ] && return 0
    TL_PORT=
    for ((i = 0; i < 200; i++)); do
        TL_PORT=$(sed -n 's/^listening .*port=\([0-9]*\).*/\1/p' "$logf" 2>/dev/null)
        [ -n "$TL_PORT" ] && return 0
        kill -0 "$TL_LAST_PID" 2>/dev/null || return 1
        sleep 0.05
    done
    return 1
}

# Counted checks, for scripts that go on past a failed check and fail at the end: tl_ok and
# tl_bad MESSAGE count one check each (tl_bad prints FAIL: MESSAGE); tl_expect WHAT GOT WANT is
# tl_ok when GOT = WANT, else tl_bad; tl_checks_done NAME prints the tally and fails (returns 1)
# when any check failed.
TL_CHECKS=0
TL_FAILS=0
tl_ok() { TL_CHECKS=$((TL_CHECKS + 1)); }
tl_bad() {
    TL_CHECKS=$((TL_CHECKS + 1))
    TL_FAILS=$((TL_FAILS + 1))
    echo "FAIL: $*"
}
tl_expect() {
    if [ "$2" = "$3" ]; then tl_ok; else tl_bad "$1: got '$2', want '$3'"; fi
}
tl_checks_done() {
    echo "$1: $TL_CHECKS checks, $TL_FAILS failed"
    [ "$TL_FAILS" -eq 0 ]
}

# Writes a 28x28 grey image as the JSON body of POST /score: a stroke from a seeded pattern,
# pixels 0..255. $1 file, $2 iterations, $3 seed, $4 extra JSON members (optional, ", ..." form).
tl_score_json() {
    awk -v it="$2" -v seed="$3" -v extra="${4:-}" 'BEGIN {
        printf "{\"image\": {\"width\": 28, \"height\": 28, \"channels\": 1, \"pixels\": [";
        for (y = 0; y < 28; y++) for (x = 0; x < 28; x++) {
            d = x - y - (seed % 5); if (d < 0) d = -d;
            v = (d < 3 && y > 4 && y < 24) ? 255 - 40 * d : 0;
            printf "%s%d", (y || x) ? "," : "", v;
        }
        printf "]}, \"iterations\": %d, \"seed\": %d%s}\n", it, seed, extra;
    }' >"$1"
}

# Templates docker/nginx.conf for loopback use: the `server inspectd:8080` line becomes one line
# per port in $5 (space-separated), `set $inspectd_upstream` names that static group, `listen 8080` becomes 127.0.0.1:$3, temp paths go under $4.
# With $6 (a port) and $7 (a folder with tls.crt and tls.key), the commented TLS server block is
# uncommented and moved to 127.0.0.1:$6 (the `http2 on` line is dropped: nginx < 1.25.1 lacks it).
tl_nginx_conf() {
    local src="$1" out="$2" listen="$3" prefix="$4" ports="$5" tls_port="${6:-}" certs="${7:-}"
    awk -v ports="$ports" -v listen="127.0.0.1:$listen" -v prefix="$prefix" \
        -v tls_port="$tls_port" -v certs="$certs" '
    # proxy_pass by the static group, not by the service name (no resolver on loopback)
    sub(/set \$inspectd_upstream inspectd:8080;/, "set $inspectd_upstream inspectd;") && $0 !~ /^[ \t]*#/ { found_set = 1 }
    /^[ \t]*server inspectd:8080 / {
        n = split(ports, p, " ")
        for (i = 1; i <= n; i++) { l = $0; sub(/inspectd:8080/, "127.0.0.1:" p[i], l); print l }
        found_server = 1; next
    }
    /^[ \t]*listen 8080;/ { sub(/8080/, listen); print; found_listen = 1; next }
    /^http \{/ {
        print
        print "    client_body_temp_path " prefix "/body;"
        print "    proxy_temp_path " prefix "/proxy;"
        print "    fastcgi_temp_path " prefix "/fastcgi;"
        print "    uwsgi_temp_path " prefix "/uwsgi;"
        print "    scgi_temp_path " prefix "/scgi;"
        next
    }
    tls_port != "" && /^    # server \{/ { tls = 1 }
    tls && /^    # }/ { print "    }"; tls = 0; found_tls = 1; next }
    tls && /^    #$/ { print ""; next }
    tls && /^    # / {
        sub(/^    # /, "    ")
        if ($0 ~ /http2 on;/) next
        sub(/listen 8443/, "listen 127.0.0.1:" tls_port)
        gsub(/\/etc\/nginx\/certs/, certs)
        print; next
    }
    { print }
    END {
        if (!found_server || !found_listen || !found_set) { print "tl_nginx_conf: marked lines not found" > "/dev/stderr"; exit 1 }
        if (tls_port != "" && !found_tls) { print "tl_nginx_conf: TLS block not found" > "/dev/stderr"; exit 1 }
    }' "$src" >"$out"
}

# Resident memory (KiB) and open descriptors of a pid, "RSS FDS".
tl_rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status" 2>/dev/null; }
tl_fds() { ls "/proc/$1/fd" 2>/dev/null | wc -l; }
