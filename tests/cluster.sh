#!/bin/bash
# cluster.sh: CTest entry for scripts/cluster-test.sh (three replicas behind nginx with
# docker/nginx.conf, load with wrk, one replica killed). Skips (77) with the reason when nginx or
# wrk is not installed; the script itself skips when no model can be found.
SRC=${INSPECTD_SOURCE:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
NGINX=${NGINX:-$(command -v nginx || echo /usr/sbin/nginx)}
if [ ! -x "$NGINX" ]; then
    echo "SKIP: nginx is not installed (apt-get install nginx-light)"
    exit 77
fi
if ! command -v wrk >/dev/null; then
    echo "SKIP: wrk is not installed (apt-get install wrk)"
    exit 77
fi
NGINX="$NGINX" exec bash "$SRC/scripts/cluster-test.sh" ${INSPECTD_BIN:+"$INSPECTD_BIN"}
