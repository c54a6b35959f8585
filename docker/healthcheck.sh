#!/bin/bash
# Container health check: GET a path of the local inspectd (default /healthz) and succeed only
# on HTTP 200. Plain bash (/dev/tcp), so the runtime image needs no curl and its libraries.
# The port is INSPECTD_PORT (default 8080); the daemon binds 0.0.0.0 in the image, so 127.0.0.1
# reaches it. When an API key is configured (INSPECTD_API_KEY or INSPECTD_API_KEY_FILE, as for
# the daemon) it is sent as a bearer token, so `healthcheck.sh /readyz` works behind the key too.
# Exit 0 healthy, 1 not.
path="${1:-/healthz}"
port="${INSPECTD_PORT:-8080}"
key="${INSPECTD_API_KEY:-}"
if [ -z "$key" ] && [ -n "${INSPECTD_API_KEY_FILE:-}" ] && [ -r "$INSPECTD_API_KEY_FILE" ]; then
    IFS= read -r key <"$INSPECTD_API_KEY_FILE"
    key="${key%$'\r'}"
fi
exec 3<>"/dev/tcp/127.0.0.1/${port}" || exit 1
{
    printf 'GET %s HTTP/1.0\r\nHost: localhost\r\nConnection: close\r\n' "$path"
    [ -n "$key" ] && printf 'Authorization: Bearer %s\r\n' "$key"
    printf '\r\n'
} >&3
IFS= read -r -t 5 status <&3 || exit 1
exec 3<&-
case "$status" in
    HTTP/1.?" 200 "*) exit 0 ;;
    *) echo "unhealthy: GET $path: ${status%$'\r'}" >&2; exit 1 ;;
esac
